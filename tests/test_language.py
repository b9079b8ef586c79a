import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from models.language import (
    LanguageError,
    NgramModel,
    char_ngrams,
    covered_languages,
    detect_language,
    load_language_model,
    prepare,
    script_counts,
)


@pytest.mark.parametrize(
    "text",
    ["gg wp", "ez", "kys noob", "report mid", "uninstall pls", "noob team", "wtf lol"],
)
def test_short_game_chat_stays_english(text: str) -> None:
    guess = detect_language(text)
    assert guess.language == "en"
    assert guess.script == "latin"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("you are the worst player i have ever seen", "en"),
        ("go back to your country, nobody wants you here", "en"),
        ("du bist so ein idiot, hör auf zu spielen", "de"),
        ("Ich hasse dieses Spiel so sehr", "de"),
        ("je suis content de jouer avec vous ce soir", "fr"),
        ("eres un idiota, no sabes jugar nada", "es"),
        ("иди нахуй", "ru"),
        ("привет всем, хорошая игра", "ru"),
    ],
)
def test_a_line_long_enough_to_tell_gets_its_language(text: str, language: str) -> None:
    assert detect_language(text).language == language


def test_look_alike_letters_do_not_change_the_script() -> None:
    # Cyrillic і and о inside a Latin word; Latin c and y inside a Russian one
    assert detect_language("you are an іdіоt").script == "latin"
    assert detect_language("you are an іdіоt").language == "en"
    assert detect_language("Пиcдyй отсюда").language == "ru"
    assert script_counts("іdіоt")["cyrillic"] == 0


def test_text_without_letters_has_no_language() -> None:
    for text in ("", "   ", "123 456", "!!!", "\u200b"):
        guess = detect_language(text)
        assert guess.language is None and guess.script == "none"


def test_other_scripts_are_named() -> None:
    assert detect_language("你好朋友们，今天一起玩吧").language == "zh"
    assert detect_language("안녕하세요 여러분 같이 게임해요").script == "other"


def test_russian_preparation_turns_disguises_into_cyrillic_letters() -> None:
    # Latin c and y, and the digit 9 for я, inside Russian words
    assert prepare("Пиcдyй", "ru") == "писдуй"
    assert prepare("д,билы 9ть", "ru") == "д,билы ять"
    # a Latin word in a Russian line is left alone
    assert prepare("gg вп", "ru") == "gg вп"


def test_char_ngrams_match_scikit_learn_char_wb() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["du bist ein idiot", "a  bb\tccc dddd", "x", "привет мир"]
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=False)
    analyze = analyzer.build_analyzer()
    for text in texts:
        assert char_ngrams(text) == analyze(text)


def test_ngram_model_scores_like_the_scikit_learn_pipeline_it_was_trained_as() -> None:
    from training.multilingual import train_ngram_model

    rng = np.random.default_rng(0)
    toxic = ["du bist ein idiot", "halt die fresse", "du opfer", "verpiss dich du penner"]
    clean = ["gutes spiel", "danke für die hilfe", "wir sehen uns morgen", "viel glück"]
    texts, truth = [], []
    for i in range(120):
        bad = i % 2 == 0
        base = (toxic if bad else clean)[int(rng.integers(4))]
        texts.append(f"{base} {i}")
        truth.append(bad)
    model, numbers = train_ngram_model(texts, np.array(truth), "de", validation_fraction=0.25)
    assert numbers["validation_f1"] > 0.9
    assert model.predict(["du bist ein idiot"])[0]
    assert not model.predict(["gutes spiel, danke"])[0]


def test_a_saved_ngram_model_loads_back_and_a_broken_one_is_a_language_error(
    tmp_path: Path,
) -> None:
    from training.multilingual import export_ngram_model

    model = NgramModel("de", {" a": (1.5, 2.0), "ab": (1.0, -1.0)}, 0.1, 0.5)
    path = tmp_path / "de.ngrams.json.gz"
    export_ngram_model(model, path, {"trained_on": "test"})
    loaded = NgramModel.load(path.read_bytes())
    assert loaded == model
    np.testing.assert_allclose(loaded.scores(["ab"]), model.scores(["ab"]))
    with pytest.raises(LanguageError):
        NgramModel.load(b"not gzip")
    with pytest.raises(LanguageError):
        NgramModel.load(gzip.compress(json.dumps({"language": "de"}).encode()))


def test_german_and_russian_models_ship_and_judge_clear_cases() -> None:
    assert covered_languages() == ("en", "de", "ru")
    german = load_language_model("de")
    russian = load_language_model("ru")
    assert german is not None and russian is not None
    assert load_language_model("fr") is None
    assert german.predict(["du bist ein dummer hurensohn"])[0]
    assert not german.predict(["danke für das schöne spiel heute abend"])[0]
    assert russian.predict(["иди нахуй, дебил"])[0]
    assert not russian.predict(["спасибо за игру, было весело"])[0]
