import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.classifier import Classifier, decide
from models.excerpts import Excerpt
from models.model_folder import ModelError
from tests.conftest import SHIPPED_MODEL, needs_shipped_model


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> Classifier:
    return Classifier(tiny_model_dir, threads=1, batch_size=4)


def test_every_excerpt_gets_a_verdict_with_all_category_probabilities(tiny: Classifier) -> None:
    texts = ["gg wp", "you are an idiot", Excerpt("report him", 0, 10), "nice game"]
    verdicts = tiny.classify(texts)
    assert len(verdicts) == 4
    for verdict in verdicts:
        assert set(verdict.scores) == set(tiny.labels)
        assert sum(verdict.scores.values()) == pytest.approx(1.0, abs=1e-4)
        assert verdict.score == pytest.approx(1.0 - verdict.scores["non_toxic"], abs=1e-6)
        assert verdict.toxic == (verdict.label != "non_toxic")


def test_empty_and_blank_excerpts_are_non_toxic(tiny: Classifier) -> None:
    for verdict in tiny.classify(["", "   ", "\u200b"]):
        assert verdict.label == "non_toxic"
        assert not verdict.toxic
        assert verdict.score == 0.0


def test_a_verdict_does_not_depend_on_what_else_is_in_the_batch(tiny: Classifier) -> None:
    alone = tiny.probabilities(["thanks for the heal"])
    mixed = tiny.probabilities(
        ["a much longer message about feeding mid " * 5, "thanks for the heal", "x"]
    )
    # activations are quantized row by row: only float summation order may differ
    np.testing.assert_allclose(alone[0], mixed[1], atol=1e-5)


def test_long_text_is_read_in_windows_and_the_most_toxic_window_decides(
    tiny: Classifier,
) -> None:
    long_text = " ".join(["nice game everyone well played"] * 60)
    encoding = tiny._tokenizer.encode(long_text)
    windows = [encoding, *encoding.overflowing]
    assert len(windows) > 2
    per_window = tiny._run([(0, w.ids, w.type_ids) for w in windows])
    expected = per_window[np.argmax(1.0 - per_window[:, 0])]
    np.testing.assert_allclose(tiny.probabilities([long_text])[0], expected, atol=2e-4)


def test_the_first_window_alone_can_be_read_as_a_truncating_model_reads_it(
    tiny: Classifier,
) -> None:
    from models.normalize import normalize

    text = "thanks for the heal " * 60 + "you are an idiot"
    first = tiny._tokenizer.encode(normalize(text))
    assert first.overflowing  # a long text: more than one window
    only_first = tiny.probabilities([text], windows=False)[0]
    np.testing.assert_allclose(only_first, tiny._run([(0, first.ids, first.type_ids)])[0])
    assert tiny.probabilities([text])[0, 0] <= only_first[0]  # windows add, never remove


def test_disguised_words_are_classified_like_the_plain_form(tiny: Classifier) -> None:
    pairs = [
        ("f*ck you", "fuck you"),
        ("f u c k you", "fuck you"),
        ("sh1t team", "shit team"),
        ("you are stuuupid", "you are stupid"),
        ("idiot!!!!!!", "idiot!"),
        ("id\u200biot", "idiot"),
    ]
    disguised = tiny.probabilities([a for a, _ in pairs])
    plain = tiny.probabilities([b for _, b in pairs])
    np.testing.assert_allclose(disguised, plain, atol=1e-6)


def test_thresholds_decide_toxic_per_category() -> None:
    probs = np.array([[0.4, 0.5, 0.1, 0.0, 0.0], [0.4, 0.1, 0.5, 0.0, 0.0]])
    assert decide(probs, 0.5, [0.5, 0.5, 0.5, 0.5]).tolist() == [1, 2]
    assert decide(probs, 0.5, [0.7, 0.5, 0.5, 0.5]).tolist() == [0, 2]
    assert decide(probs, 0.5, [0.5, 0.9, 0.5, 0.5]).tolist() == [1, 0]


def test_thresholds_can_be_overridden_and_are_checked(tiny_model_dir: Path) -> None:
    strict = Classifier(tiny_model_dir, thresholds={"toxic": 1.0})
    assert not any(v.toxic for v in strict.classify(["you are an idiot", "kys"]))
    lenient = Classifier(tiny_model_dir, thresholds={"toxic": 0.0})
    assert all(v.toxic for v in lenient.classify(["you are an idiot", "kys"]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        lenient.set_thresholds({"toxic": 1.5})
    with pytest.raises(KeyError, match="unknown category"):
        lenient.set_thresholds({"spam": 0.5})


def test_a_missing_model_folder_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model folder not found"):
        Classifier(tmp_path / "nowhere")


@pytest.mark.parametrize("missing", ["model.onnx", "tokenizer.json", "config.json"])
def test_a_model_folder_missing_a_file_names_it(
    tiny_model_dir: Path,
    tmp_path: Path,
    missing: str,
) -> None:
    copy = shutil.copytree(tiny_model_dir, tmp_path / "model")
    (copy / missing).unlink()
    with pytest.raises(ModelError, match=missing):
        Classifier(copy)


def test_a_truncated_model_file_is_reported_as_damaged(
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    copy = shutil.copytree(tiny_model_dir, tmp_path / "model")
    data = (copy / "model.onnx").read_bytes()
    (copy / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="damaged"):
        Classifier(copy)


def test_a_corrupt_config_is_reported(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_model_dir, tmp_path / "model")
    (copy / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"config\.json is damaged"):
        Classifier(copy)
    (copy / "config.json").write_text(json.dumps({"labels": ["insult", "non_toxic"]}))
    with pytest.raises(ModelError, match="non_toxic"):
        Classifier(copy)


# --- the shipped model on clear cases -------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return Classifier(SHIPPED_MODEL)


@needs_shipped_model
def test_the_shipped_model_is_the_default_and_ships_a_card() -> None:
    classifier = Classifier()
    assert classifier.path == SHIPPED_MODEL
    assert classifier.labels[0] == "non_toxic"
    card = (SHIPPED_MODEL / "README.md").read_text(encoding="utf-8")
    for needed in ("CONDA", "licence", "F1", "int8"):
        assert needed in card


@needs_shipped_model
@pytest.mark.parametrize(
    "text",
    [
        "gg wp",
        "nice game everyone, well played",
        "can someone buy wards please",
        "thanks for the heal",
        "lets push mid after roshan",
    ],
)
def test_the_shipped_model_leaves_friendly_chat_alone(shipped: Classifier, text: str) -> None:
    assert not shipped.classify_one(text).toxic


@needs_shipped_model
@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("you are a fucking idiot", {"insult", "profanity"}),
        ("shut up you retarded noob", {"insult"}),
        ("fuck this shit", {"profanity", "insult"}),
        ("i will find you and kill you", {"threat"}),
    ],
)
def test_the_shipped_model_flags_clear_cases(
    shipped: Classifier, text: str, labels: set[str]
) -> None:
    verdict = shipped.classify_one(text)
    assert verdict.toxic, verdict
    assert verdict.label in labels, verdict


@needs_shipped_model
@pytest.mark.parametrize(
    ("disguised", "plain"),
    [
        ("you are a f*cking idiot", "you are a fucking idiot"),
        ("f u c k you", "fuck you"),
        ("sh1t team", "shit team"),
        ("you are so stuuuupid", "you are so stupid"),
        ("you idiot!!!!!!!", "you idiot!"),
        ("you id\u200biot", "you idiot"),
    ],
)
def test_the_shipped_model_sees_through_disguises(
    shipped: Classifier, disguised: str, plain: str
) -> None:
    a, b = shipped.classify([disguised, plain])
    assert a.label == b.label
    assert a.toxic and b.toxic


@needs_shipped_model
def test_the_shipped_model_finds_an_insult_at_the_end_of_a_long_message(
    shipped: Classifier,
) -> None:
    text = "we should group up and take the tower before they get roshan. " * 20
    assert not shipped.classify_one(text).toxic
    assert shipped.classify_one(text + " you are a worthless fucking idiot").toxic


# --- language and method on every verdict ---------------------------------------------------


def test_every_verdict_says_its_language_and_method(tiny_model_dir: Path) -> None:
    classifier = Classifier(tiny_model_dir, threads=1)
    verdicts = classifier.classify(["gg wp", "", "you are the worst player i have ever seen"])
    assert [v.language for v in verdicts] == ["en", None, "en"]
    assert {v.method for v in verdicts} == {"model"}
    row = verdicts[0].to_json("gg wp")
    assert row["language"] == "en" and row["method"] == "model"
    assert json.loads(json.dumps(row)) == row


def test_a_language_nothing_covers_is_not_checked_rather_than_clean(
    tiny_model_dir: Path,
) -> None:
    lenient = Classifier(tiny_model_dir, threads=1, thresholds={"toxic": 1.0})
    french, chinese, english = lenient.classify(
        [
            "tu es vraiment le pire joueur que j'ai jamais vu",
            "你好朋友们，今天一起玩吧",
            "you are the worst player i have ever seen",
        ]
    )
    for verdict, language in ((french, "fr"), (chinese, "zh")):
        assert verdict.language == language
        assert verdict.method == "not checked"
        assert not verdict.checked and not verdict.toxic
        assert verdict.to_json()["method"] == "not checked"
    assert english.method == "model" and english.checked


def test_a_flag_from_the_english_model_stands_in_an_unchecked_language(
    tiny_model_dir: Path,
) -> None:
    # players swear in English inside other languages; a flag is never hidden
    eager = Classifier(tiny_model_dir, threads=1, thresholds={"toxic": 0.0})
    verdict = eager.classify_one("tu es vraiment le pire joueur que j'ai jamais vu")
    assert verdict.language == "fr"
    assert verdict.toxic and verdict.method == "model"


def test_german_and_russian_are_judged_by_their_own_models(tiny_model_dir: Path) -> None:
    # the tiny English model never flags here, so every flag comes from the language's model
    lenient = Classifier(tiny_model_dir, threads=1, thresholds={"toxic": 1.0})
    verdicts = lenient.classify(
        [
            "du bist ein dummer hurensohn, verpiss dich",
            "danke für das schöne spiel heute abend",
            "иди нахуй, дебил",
            "спасибо за игру, было весело",
        ]
    )
    assert [v.language for v in verdicts] == ["de", "de", "ru", "ru"]
    assert [v.toxic for v in verdicts] == [True, False, True, False]
    assert {v.method for v in verdicts} == {"model"}
    assert verdicts[0].label == "insult"
    assert verdicts[0].score == pytest.approx(verdicts[0].scores["insult"])
    # Russian is the Russian model's alone, even when the English model flags everything
    eager = Classifier(tiny_model_dir, threads=1, thresholds={"toxic": 0.0})
    assert not eager.classify_one("спасибо за игру, было весело").toxic


def test_language_routing_can_be_switched_off(tiny_model_dir: Path) -> None:
    lenient = Classifier(tiny_model_dir, threads=1, thresholds={"toxic": 1.0}, languages=False)
    verdict = lenient.classify_one("иди нахуй, дебил")
    assert verdict.language == "en" and verdict.method == "model" and not verdict.toxic


@needs_shipped_model
@pytest.mark.parametrize(
    "text", ["you ****** noob", "kiss my ***", "shut the **** up", "**** off, you idiot"]
)
def test_the_shipped_model_flags_masked_profanity(shipped: Classifier, text: str) -> None:
    assert shipped.classify_one(text).toxic


# the shipped model's measured rates on the project's functional suite (benchmarks/results/
# functional.json), less a small margin: a model that does worse must not ship unnoticed
SUITE_FLOORS = {"harmless_identity_passed": 0.84, "hateful_flagged": 0.89}  # v5: 0.859, 0.942


@needs_shipped_model
def test_the_shipped_model_keeps_its_functional_suite_rates(shipped: Classifier) -> None:
    from training.functional import run_suite

    result = run_suite(shipped)
    assert result.harmless_identity_passed >= SUITE_FLOORS["harmless_identity_passed"]
    assert result.hateful_flagged >= SUITE_FLOORS["hateful_flagged"]


@needs_shipped_model
def test_the_shipped_model_scores_an_excerpt_by_its_text_alone(shipped: Classifier) -> None:
    """The same line, scored alone, in a batch, or among other neighbours, gets the same score:
    a verdict on the moderator's record must not change with what was scanned beside it."""
    from training.functional import load_suite

    texts = [c.text for c in load_suite()][:192]
    batched = shipped.probabilities(texts)
    order = np.random.default_rng(3).permutation(len(texts))
    shuffled = np.empty_like(batched)
    shuffled[order] = shipped.probabilities([texts[i] for i in order])
    alone = np.array([shipped.probabilities([t])[0] for t in texts[::8]])
    np.testing.assert_allclose(shuffled, batched, atol=1e-5)
    np.testing.assert_allclose(alone, batched[::8], atol=1e-5)


@needs_shipped_model
def test_identity_mention_pairs_hateful_scores_above_harmless_for_every_group(
    shipped: Classifier,
) -> None:
    from training.functional import HARMLESS_IDENTITY, HATEFUL, load_suite

    cases = [c for c in load_suite() if c.functionality in HARMLESS_IDENTITY + HATEFUL]
    verdicts = shipped.classify([c.text for c in cases])
    by_group: dict[str, dict[bool, list[float]]] = {}
    for case, verdict in zip(cases, verdicts, strict=True):
        scores = by_group.setdefault(case.group, {True: [], False: []})
        scores[case.functionality in HATEFUL].append(verdict.score)
    assert len(by_group) >= 8
    for group, scores in by_group.items():
        hateful = sum(scores[True]) / len(scores[True])
        harmless = sum(scores[False]) / len(scores[False])
        assert hateful > harmless, (group, hateful, harmless)
