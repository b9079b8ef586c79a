"""Labeled data: an adapter per public set and for `text,label` files, mapped onto our categories.

Each adapter yields `Example`s with the source's own split where it has one. `build_splits`
deduplicates on normalised text and keeps every text in one split only (train wins, then
validation), so test scores are never inflated by texts the model trained on.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import ModlensError
from models.normalize import normalize
from models.taxonomy import NON_TOXIC

SPLITS = ("train", "validation", "test")
csv.field_size_limit(10_000_000)


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str
    split: str | None = None  # the source's own split, if it defines one
    split_key: str | None = None  # text whose hash decides the split (default: this text)


@dataclass(frozen=True)
class Source:
    """One entry of a training config's `sources` list."""

    name: str
    format: str
    path: Path
    mapping: dict[str, str | None]
    split: str | None = None  # force every row of this source into one split
    limit: int | None = None  # stratified subsample of at most this many rows
    repeat: int = 1  # times each of its training rows is seen per epoch (domain upsampling)
    files: dict[str, str] | None = None  # split (or "auto": by text hash) -> file name


class DataError(ModlensError, ValueError):
    pass


def _read_csv(path: Path, **kwargs: Any) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        return list(csv.DictReader(handle, **kwargs))


def _map(mapping: dict[str, str | None], key: str) -> str | None:
    if key not in mapping:
        raise DataError(
            f"no mapping for label {key!r}; add it to the source's mapping (null drops the rows)"
        )
    return mapping[key]


# --- adapters: each yields (text, source label, split or None) ------------------------------

_SWEARS = {
    "fuck",
    "fucking",
    "fuckin",
    "fucked",
    "shit",
    "shitty",
    "damn",
    "wtf",
    "hell",
    "crap",
    "omfg",
    "ffs",
    "bs",
    "fk",
    "fck",
    "fucks",
    "bullshit",
    "piss",
    "goddamn",
    "stfu",
    "sht",
}


def _conda_label(row: dict[str, str]) -> str:
    """E splits by its token tags: bare swearing -> E_swear, aimed at someone -> E_aimed."""
    intent = row["intentClass"].strip()
    if intent != "E":
        return intent
    tags = row.get("slotClasses", "").split()
    words = [w.split(" (")[0].strip().lower() for w in row.get("slotTokens", "").split("), ")]
    toxic_words = {w for w, t in zip(words, tags, strict=False) if t == "T"}
    aimed = any(t in ("P", "C") for t in tags) or not toxic_words <= _SWEARS
    return "E_aimed" if aimed else "E_swear"


def read_conda(source: Source) -> Iterator[tuple[str, str, str | None]]:
    files = source.files or (
        {"train": "CONDA_train.csv", "validation": "CONDA_valid.csv"}
        if source.path.is_dir()
        else {source.split or "test": ""}
    )
    for split, name in files.items():
        for row in _read_csv(source.path / name if name else source.path):
            if row.get("intentClass", "").strip():
                text = row["utterance"].replace("[SEPA]", " ")
                yield text, _conda_label(row), None if split == "auto" else split


def read_olid(source: Source) -> Iterator[tuple[str, str, str | None]]:
    def label(a: str, b: str, c: str) -> str:
        if a == "NOT":
            return "NOT"
        return "UNT" if b == "UNT" else c

    for row in _read_csv(source.path / "olid-training-v1.0.tsv", delimiter="\t"):
        yield row["tweet"], label(row["subtask_a"], row["subtask_b"], row["subtask_c"]), "train"
    tweets = {
        r["id"]: r["tweet"] for r in _read_csv(source.path / "testset-levela.tsv", delimiter="\t")
    }
    level = {}
    for name in ("labels-levela.csv", "labels-levelb.csv", "labels-levelc.csv"):
        with open(source.path / name, encoding="utf-8") as handle:
            for line in handle:
                if "," in line:
                    key, value = line.strip().split(",", 1)
                    level.setdefault(key, []).append(value)
    for key, text in tweets.items():
        labels = level.get(key, [])
        a, b, c = [*labels, "", "", ""][:3]
        yield text, label(a, b, c), "test"


def read_tweeteval(source: Source) -> Iterator[tuple[str, str, str | None]]:
    for split, stem in (("train", "train"), ("validation", "val"), ("test", "test")):
        texts = (source.path / f"{stem}_text.txt").read_text(encoding="utf-8").split("\n")
        labels = (source.path / f"{stem}_labels.txt").read_text(encoding="utf-8").split("\n")
        for text, label in zip(texts, labels, strict=False):
            if label.strip():
                yield text, label.strip(), split


def read_davidson(source: Source) -> Iterator[tuple[str, str, str | None]]:
    names = {"0": "hate", "1": "offensive", "2": "neither"}
    for row in _read_csv(source.path / "labeled_data.csv"):
        yield row["tweet"], names[row["class"]], None


def read_hatexplain(source: Source) -> Iterator[tuple[str, str, str | None]]:
    divisions = json.loads((source.path / "post_id_divisions.json").read_text(encoding="utf-8"))
    split_of = {
        pid: ("validation" if s == "val" else s) for s, ids in divisions.items() for pid in ids
    }
    names = {"0": "normal", "1": "hatespeech", "2": "offensive", "3": "no_majority"}
    for row in _read_csv(source.path / "092-HateXplain.csv"):
        yield row["text"], names[row["category"]], split_of.get(row[""])


def read_jigsaw(source: Source) -> Iterator[tuple[str, str, str | None]]:
    for file in sorted(source.path.glob("*.csv")):
        split = "test" if file.name.startswith("test") else "train"
        for row in _read_csv(file):
            flags = {
                k
                for k in ("threat", "identity_hate", "insult", "obscene", "toxic", "severe_toxic")
                if row.get(k) == "1"
            }
            # most specific first: a threat that also insults is a threat
            for name in ("threat", "identity_hate", "insult", "obscene", "toxic", "severe_toxic"):
                if name in flags:
                    yield row["comment_text"], name, split
                    break
            else:
                yield row["comment_text"], "clean", split


def read_implicit_hate(source: Source) -> Iterator[tuple[str, str, str | None]]:
    threatening = set()
    for row in _read_csv(source.path / "implicit_hate_v1_stg2_posts.tsv", delimiter="\t"):
        if "threatening" in (row["implicit_class"], row.get("extra_implicit_class")):
            threatening.add(row["post"])
    for row in _read_csv(source.path / "implicit_hate_v1_stg1_posts.tsv", delimiter="\t"):
        text = row["post"].strip().strip('"').strip()
        yield text, "threatening" if row["post"] in threatening else row["class"], None


def read_ethos(source: Source) -> Iterator[tuple[str, str, str | None]]:
    violent = set()
    for row in _read_csv(source.path / "Ethos_Dataset_Multi_Label.csv", delimiter=";"):
        if float(row["violence"] or 0) >= 0.5:
            violent.add(row["comment"])
    for row in _read_csv(source.path / "Ethos_Dataset_Binary.csv", delimiter=";"):
        hate = float(row["isHate"] or 0) >= 0.5
        label = ("violence" if row["comment"] in violent else "hate") if hate else "not_hate"
        yield row["comment"], label, None


def read_hateval(source: Source) -> Iterator[tuple[str, str, str | None]]:
    for name, split, delimiter in (
        ("train_en.tsv", "train", "\t"),
        ("dev_en.tsv", "validation", "\t"),
        ("hateval2019_en_test.csv", "test", ","),
    ):
        for row in _read_csv(source.path / name, delimiter=delimiter):
            yield row["text"], row["HS"].strip(), split


def read_toxigen_seeds(source: Source) -> Iterator[tuple[str, str, str | None]]:
    """ToxiGen's demonstration sentences: label from the file name (hate_* or neutral_*)."""
    files = sorted(source.path.rglob("*.txt"))
    if not files:
        raise DataError(f"{source.name}: no .txt files under {source.path}")
    for file in files:
        kind = file.name.split("_", 1)[0]
        if kind not in ("hate", "neutral"):
            continue
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            text = line.strip().lstrip("-").strip()
            if text:
                yield text, kind, None


def _rows_made_from_toxigen_seeds(
    source: Source, make: Callable[[list[tuple[str, str]]], Iterator[tuple[str, str, str]]]
) -> Iterator[tuple[str, str, str | None, str]]:
    """Rows that make(seeds) builds from ToxiGen's seeds, each keyed to its seed's text, so a
    seed and the rows made from it never straddle splits."""
    seeds = [(text, kind) for text, kind, _ in read_toxigen_seeds(source)]
    for text, kind, seed_text in make(seeds):
        yield text, kind, None, seed_text


def read_toxigen_framed(source: Source) -> Iterator[tuple[str, str, str | None, str]]:
    """ToxiGen's seeds inside rejecting and approving frames (training.augment.framed_seed_rows)."""
    from training.augment import framed_seed_rows

    return _rows_made_from_toxigen_seeds(source, framed_seed_rows)


def read_toxigen_negated(source: Source) -> Iterator[tuple[str, str, str | None, str]]:
    """ToxiGen's hateful seeds with their claim negated (training.augment.negated_seed_rows)."""
    from training.augment import negated_seed_rows

    return _rows_made_from_toxigen_seeds(source, negated_seed_rows)


def read_germeval(source: Source) -> Iterator[tuple[str, str, str | None]]:
    """GermEval 2018: text, coarse and fine label, tab-separated, no header."""
    for name, split in (("germeval2018.training.txt", "train"), ("germeval2018.test.txt", "test")):
        path = source.path / name
        if not path.is_file():
            raise DataError(f"data file not found: {path}")
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                yield parts[0].replace("|LBR|", " "), parts[2].strip(), split


def read_russian(source: Source) -> Iterator[tuple[str, str, str | None]]:
    """Gorbunova's Russian comments: combined train/val for training, the distorted VK set as
    test (its VK siblings toxicity_*.tsv overlap the test set and are never read)."""
    for name, split, column, label in (
        ("combined_train.tsv", "train", "doc", "target"),
        ("combined_val.tsv", "validation", "doc", "target"),
        ("russian_distorted_toxicity.tsv", "test", "comments", "toxicity"),
    ):
        for row in _read_csv(source.path / name, delimiter="\t"):
            yield row[column], row[label].strip(), split


def read_augment(source: Source) -> Iterator[tuple[str, str, str | None]]:
    """The project's own generated rows (training.augment); the path is not read. Rows about
    training.augment.VALIDATION_GROUPS are validation rows unless the source forces a split."""
    from training.augment import augmented_examples

    yield from augmented_examples()


def read_labeled_file(source: Source) -> Iterator[tuple[str, str, str | None]]:
    """A studio's own data or exported moderator decisions: CSV or JSONL with text and label."""
    if source.path.suffix.lower() in (".jsonl", ".json"):
        with open(source.path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{source.path}:{number}: not JSON ({exc.msg})") from exc
                    yield str(row["text"]), str(row["label"]), row.get("split")
        return
    for number, row in enumerate(_read_csv(source.path), 2):
        if "text" not in row or "label" not in row:
            raise DataError(f"{source.path}: needs columns text,label (line {number})")
        text, label = _unquote_cell(row["text"]), _unquote_cell(row["label"].strip())
        yield text, label, (row.get("split") or None)


def _unquote_cell(value: str) -> str:
    """Undo the leading quote modlens puts on CSV cells a spreadsheet would run as a formula
    (client.reports.spreadsheet_cell): "'=x" -> "=x", "''x" -> "'x"."""
    if value.startswith("'") and value[1:].startswith(("=", "+", "-", "@", "\t", "\r", "'")):
        return value[1:]
    return value


# A reader yields (text, raw label, split or None), and may add the text that decides the split.
READERS: dict[str, Callable[[Source], Iterator[tuple[Any, ...]]]] = {
    "conda": read_conda,
    "olid": read_olid,
    "tweeteval": read_tweeteval,
    "davidson": read_davidson,
    "hatexplain": read_hatexplain,
    "jigsaw": read_jigsaw,
    "implicit_hate": read_implicit_hate,
    "ethos": read_ethos,
    "hateval": read_hateval,
    "labeled": read_labeled_file,
    "toxigen_seeds": read_toxigen_seeds,
    "toxigen_framed": read_toxigen_framed,
    "toxigen_negated": read_toxigen_negated,
    "germeval": read_germeval,
    "russian": read_russian,
    "augment": read_augment,
}

# The first mapping onto the default categories, from ../shared/datasets/README.md.
DEFAULT_MAPPINGS: dict[str, dict[str, str | None]] = {
    "conda": {
        "O": NON_TOXIC,
        "A": NON_TOXIC,
        "E_swear": "profanity",
        "E_aimed": "insult",
        "I": "insult",
    },
    "olid": {
        "NOT": NON_TOXIC,
        "UNT": "profanity",
        "IND": "insult",
        "OTH": "insult",
        "GRP": "identity_hate",
    },
    "tweeteval": {"0": NON_TOXIC, "1": "insult"},
    "davidson": {"neither": NON_TOXIC, "offensive": "profanity", "hate": "identity_hate"},
    "hatexplain": {
        "normal": NON_TOXIC,
        "hatespeech": "identity_hate",
        "offensive": "insult",
        "no_majority": None,
    },
    "jigsaw": {
        "clean": NON_TOXIC,
        "threat": "threat",
        "identity_hate": "identity_hate",
        "insult": "insult",
        "obscene": "profanity",
        "toxic": "insult",
        "severe_toxic": "insult",
    },
    "implicit_hate": {
        "not_hate": NON_TOXIC,
        "implicit_hate": "identity_hate",
        "explicit_hate": "identity_hate",
        "threatening": "threat",
    },
    "ethos": {"not_hate": NON_TOXIC, "hate": "identity_hate", "violence": "threat"},
    "hateval": {"0": NON_TOXIC, "1": "identity_hate"},
    "labeled": {},
    # weak labels (by file name); used for the neutral identity mentions above all
    "toxigen_seeds": {"neutral": NON_TOXIC, "hate": "identity_hate"},
    "toxigen_framed": {
        "rejected": NON_TOXIC,
        "endorsed": "identity_hate",
        "neutral_endorsed": NON_TOXIC,
    },
    "toxigen_negated": {"negated": NON_TOXIC},
    "germeval": {
        "OTHER": NON_TOXIC,
        "PROFANITY": "profanity",
        "INSULT": "insult",
        "ABUSE": "identity_hate",
    },
    "russian": {"0": NON_TOXIC, "1": "insult"},
    # generated rows already carry our labels
    "augment": {c: c for c in ("non_toxic", "profanity", "insult", "identity_hate", "threat")},
}


def load_source(source: Source, categories: tuple[str, ...], seed: int = 13) -> list[Example]:
    if source.format not in READERS:
        raise DataError(f"unknown data format {source.format!r}; known: {', '.join(READERS)}")
    if not source.path.exists():
        raise DataError(f"{source.name}: path not found: {source.path}")
    mapping = {**DEFAULT_MAPPINGS[source.format], **source.mapping}
    examples = []
    for text, raw_label, split, *key in READERS[source.format](source):
        label = (
            raw_label
            if source.format == "labeled" and raw_label in categories and raw_label not in mapping
            else _map(mapping, raw_label)
        )
        if label is None or not text.strip():
            continue
        if label not in categories:
            raise DataError(
                f"{source.name}: label {raw_label!r} maps to {label!r}, "
                f"which is not one of the categories {list(categories)}"
            )
        split = source.split or split
        if split is not None and split not in SPLITS:
            raise DataError(f"{source.name}: unknown split {split!r}")
        examples.append(Example(text.strip(), label, source.name, split, *key))
    if source.limit and len(examples) > source.limit:
        examples = stratified_sample(examples, source.limit, seed)
    return examples


def stratified_sample(examples: list[Example], limit: int, seed: int) -> list[Example]:
    """Keep label proportions, but never drop below 50 of a rare label when it has them."""
    by_label: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_label[ex.label].append(ex)
    rng = random.Random(seed)
    fraction = limit / len(examples)
    kept = []
    for items in by_label.values():
        rng.shuffle(items)
        kept.extend(items[: max(round(len(items) * fraction), min(50, len(items)))])
    return kept


def read_test_rows(run_dir: str | Path) -> list[Example]:
    """The test split a training run wrote to its folder (test.jsonl), in the run's order."""
    rows = []
    for line in (Path(run_dir) / "test.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append(Example(row["text"], row["label"], row["source"], "test"))
    return rows


def text_key(text: str) -> str:
    return " ".join(normalize(text).lower().split())


def _hash_split(key: str, seed: int, fractions: tuple[float, float]) -> str:
    value = int(hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if value < fractions[0]:
        return "test"
    return "validation" if value < fractions[0] + fractions[1] else "train"


def build_splits(
    examples: list[Example],
    seed: int = 13,
    test_fraction: float = 0.1,
    validation_fraction: float = 0.1,
) -> dict[str, list[Example]]:
    """Assign unsplit rows by a hash of their text, then dedupe: one text, one split, one label.

    A text in train is removed from validation and test, a text in validation from test; within a
    split, copies collapse to the majority label (ties go to the toxic label seen first).
    """
    grouped: dict[str, dict[str, list[Example]]] = {s: defaultdict(list) for s in SPLITS}
    for ex in examples:
        key = text_key(ex.text)
        if not key:
            continue
        split = ex.split or _hash_split(
            text_key(ex.split_key) if ex.split_key else key,
            seed,
            (test_fraction, validation_fraction),
        )
        grouped[split][key].append(ex)
    seen: set[str] = set()
    out: dict[str, list[Example]] = {}
    for split in SPLITS:
        rows = []
        for key, copies in grouped[split].items():
            if key in seen:
                continue
            seen.add(key)
            counts = Counter(c.label for c in copies)
            top = max(counts.values())
            label = next(
                c.label
                for c in copies
                if counts[c.label] == top and (c.label != NON_TOXIC or len(counts) == 1 or top > 1)
            )
            first = copies[0]
            rows.append(Example(first.text, label, first.source, split))
        rows.sort(key=lambda e: text_key(e.text))
        random.Random(f"{seed}:{split}").shuffle(rows)
        out[split] = rows
    return out


def describe(splits: dict[str, list[Example]]) -> dict[str, Any]:
    """Row counts per split, label and source, for the run folder and the model card."""
    return {
        split: {
            "rows": len(rows),
            "labels": dict(sorted(Counter(e.label for e in rows).items())),
            "sources": dict(sorted(Counter(e.source for e in rows).items())),
        }
        for split, rows in splits.items()
    }
