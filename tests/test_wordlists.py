"""Studio word lists around the real (tiny) classifier: block, allow, languages, files."""

from __future__ import annotations

import json

import pytest

from models.wordlists import (
    ListedClassifier,
    WordEntry,
    WordListError,
    WordLists,
    load_word_lists,
    read_word_lists,
    with_word_lists,
    write_word_lists,
)

NAMES = ["widowmaker", "reinhardt", "zarya", "lucio", "moira", "kiriko", "baptiste", "ramattra"]


@pytest.fixture(scope="module")
def classifier(tiny_model_dir):
    from models.classifier import Classifier

    return Classifier(tiny_model_dir)


def test_a_block_entry_flags_with_its_category_and_says_so(classifier):
    lists = WordLists((WordEntry("block", "goldshop", "insult"),))
    listed = with_word_lists(classifier, lists)
    assert isinstance(listed, ListedClassifier)
    plain = classifier.classify(["buy at GoldShop now"])[0]
    verdict = listed.classify(["buy at GoldShop now", "nice game"])
    assert verdict[0].label == "insult" and verdict[0].toxic and verdict[0].score == 1.0
    # the model's own probabilities are kept
    assert verdict[0].scores == pytest.approx(plain.scores, abs=1e-3)
    data = verdict[0].to_json("buy at GoldShop now")
    assert data["method"] == "word list" and data["entry"] == "block: goldshop"
    assert "entry" not in verdict[1].to_json()  # the model decided that one
    assert verdict[1].to_json().get("method", "model") != "word list"
    # whole words only
    assert "entry" not in listed.classify(["goldshoppers unite"])[0].to_json()


def test_an_entry_applies_to_its_language_only(classifier):
    lists = WordLists((WordEntry("block", "scheisse", "profanity", "de"),))
    assert with_word_lists(classifier, lists, "en") is classifier  # nothing left to apply
    assert with_word_lists(classifier, lists, "de").classify(["so eine scheisse"])[0].label == (
        "profanity"
    )
    # language unknown (detect): every list applies
    assert with_word_lists(classifier, lists, "").classify(["scheisse"])[0].toxic


def _flagged_only_with_the_name(classifier):
    """A text the tiny model flags whose masked form it would pass, at some threshold."""
    lists = WordLists(tuple(WordEntry("allow", n) for n in NAMES))
    best = None
    for name in NAMES:
        for text in (f"{name} again", f"go {name}", f"{name} you idiot", f"report {name}"):
            masked = lists.mask(text, [WordEntry("allow", name)])
            # one at a time, as classify sees them (padding in a batch moves int8 results)
            original, hidden = (classifier.probabilities([t])[0] for t in (text, masked))
            gap = (1 - original[0]) - (1 - hidden[0])
            if best is None or gap > best[0]:
                best = (gap, name, text, float(1 - original[0]), float(1 - hidden[0]))
    assert best[0] > 0, "no text where the name raises P(toxic)"
    return best


def test_an_allow_entry_keeps_a_name_from_getting_an_excerpt_flagged(tiny_model_dir):
    from models.classifier import Classifier

    classifier = Classifier(tiny_model_dir)
    _, name, text, p_original, p_masked = _flagged_only_with_the_name(classifier)
    limit = (p_original + p_masked) / 2
    classifier.set_thresholds({"toxic": limit, **dict.fromkeys(classifier.labels[1:], limit)})
    flagged = classifier.classify([text])[0]
    assert flagged.toxic
    allowed = with_word_lists(classifier, WordLists((WordEntry("allow", name),)))
    verdict = allowed.classify([text])[0]
    assert not verdict.toxic and verdict.label == "non_toxic"
    assert verdict.to_json()["entry"] == f"allow: {name}"
    # an allow entry for another category does not lift this flag
    other = next(c for c in classifier.labels[1:] if c != flagged.label)
    scoped = with_word_lists(classifier, WordLists((WordEntry("allow", name, other),)))
    assert scoped.classify([text])[0].toxic
    # blocks win over allows
    both = WordLists((WordEntry("allow", name), WordEntry("block", name, "threat")))
    assert with_word_lists(classifier, both).classify([text])[0].label == "threat"


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_lists_round_trip_through_a_file(suffix, tmp_path):
    lists = WordLists(
        (
            WordEntry("block", "goldshop", "insult"),
            WordEntry("allow", "Killer Queen", "threat", "en"),
            WordEntry("allow", "=cmd|calc", ""),  # a formula is not run by a spreadsheet
        )
    )
    path = tmp_path / f"lists{suffix}"
    write_word_lists(lists, path)
    if suffix == ".csv":
        assert "'=cmd|calc" in path.read_text()
        assert read_word_lists(path).entries[2].entry == "'=cmd|calc"
    else:
        assert read_word_lists(path) == lists
        assert json.loads(path.read_text())["format"] == "modlens-word-lists/1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("list,category,language,entry\nmaybe,insult,,x\n", "list must be block or allow"),
        ("list,category,language,entry\nblock,,,goldshop\n", "needs a toxic category"),
        ("list,category,language,entry\nblock,non_toxic,,x\n", "needs a toxic category"),
        ("list,category,language,entry\nallow,,,   \n", "an empty entry"),
        ("words\nx\n", "needs the columns list,category,language,entry"),
    ],
)
def test_bad_word_list_files_get_clear_messages(content, message, tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WordListError, match=message):
        read_word_lists(path)


def test_an_unknown_category_is_refused_when_categories_are_given(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text("list,category,language,entry\nblock,cheating,,aimbot\n", encoding="utf-8")
    assert read_word_lists(path).entries[0].category == "cheating"
    with pytest.raises(WordListError, match="names the category 'cheating'"):
        read_word_lists(path, ["non_toxic", "insult"])


def test_a_damaged_saved_file_gives_no_lists_and_a_message(tmp_path):
    path = tmp_path / "wordlists.json"
    path.write_text("{not json", encoding="utf-8")
    lists, problem = load_word_lists(path)
    assert not lists and "could not be read" in problem
    assert load_word_lists(tmp_path / "none.json") == (WordLists(), None)


def test_cli_classify_applies_a_word_list_file(tiny_model_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    lists = tmp_path / "lists.csv"
    write_word_lists(WordLists((WordEntry("block", "goldshop", "threat"),)), lists)
    done = subprocess.run(
        [sys.executable, "-m", "client.cli", "classify", "--json", "--model", str(tiny_model_dir),
         "--word-lists", str(lists), "visit goldshop", "gg"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["label"] == "threat" and first["entry"] == "block: goldshop"
    assert "entry" not in second and second.get("method", "model") != "word list"
