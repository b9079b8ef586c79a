"""German and Russian: the project's own trained option, and the language test sets.

The shipped English encoder (MiniLM-L6, an uncased English WordPiece vocabulary) cannot read
Russian and reads German poorly, so each of the two languages gets a small model of its own: a
logistic regression over TF-IDF character n-grams (2 to 4 letters within words, sublinear term
frequency), trained on the language's training set. It runs without scikit-learn:
:func:`export_ngram_model` writes the n-grams, their idf and weights as JSON into
models/lexicon/, and :class:`models.language.NgramModel` scores text from that file.

    python -m training.multilingual --data ../shared/datasets --out models/lexicon
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
from pathlib import Path

import numpy as np

from models.language import NGRAM_RANGE, NgramModel, prepare

csv.field_size_limit(10_000_000)

# name -> (language, what)
TEST_SETS: dict[str, tuple[str, str]] = {
    "germeval2018_test": ("de", "GermEval 2018 test tweets"),
    "russian_distorted": ("ru", "Russian VK comments with distorted spellings (Gorbunova)"),
}
TRAIN_SETS: dict[str, tuple[str, str]] = {
    "de": ("germeval2018_train", "GermEval 2018 training tweets (CC BY 4.0)"),
    "ru": ("russian_combined_train", "Gorbunova's combined train+val (2ch, Pikabu, VK; research)"),
}


def _germeval(path: Path) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            texts.append(parts[0].replace("|LBR|", " "))
            labels.append(parts[1].strip() == "OFFENSE")
    return texts, np.array(labels)


def _tsv(path: Path, text: str, label: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [r for r in csv.DictReader(handle, delimiter="\t") if r[text] and r[text].strip()]


def load_language_set(data: Path, name: str) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """(texts, toxic truth, distorted mask or None) of a named set under the datasets root."""
    data = Path(data)
    if name == "germeval2018_test":
        texts, truth = _germeval(data / "germeval2018/germeval2018.test.txt")
        return texts, truth, None
    if name == "germeval2018_train":
        texts, truth = _germeval(data / "germeval2018/germeval2018.training.txt")
        return texts, truth, None
    folder = data / "russian_toxicity_gorbunova"
    if name == "russian_distorted":
        rows = _tsv(folder / "russian_distorted_toxicity.tsv", "comments", "toxicity")
        return (
            [r["comments"] for r in rows],
            np.array([r["toxicity"].strip() == "1" for r in rows]),
            np.array([r["distortion"].strip() == "1" for r in rows]),
        )
    if name == "russian_combined_train":
        rows = _tsv(folder / "combined_train.tsv", "doc", "target")
        rows += _tsv(folder / "combined_val.tsv", "doc", "target")
        return [r["doc"] for r in rows], np.array([r["target"].strip() == "1" for r in rows]), None
    raise ValueError(f"unknown language set {name!r}")


def train_ngram_model(
    texts: list[str],
    truth: np.ndarray,
    language: str,
    max_features: int = 40_000,
    c: float = 4.0,
    validation_fraction: float = 0.15,
    seed: int = 13,
) -> tuple[NgramModel, dict[str, float]]:
    """Fit TF-IDF char n-grams + logistic regression; the threshold maximises F1 on a held-out
    part of the training set. Returns the runtime model and its validation numbers."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    cut = int(len(texts) * validation_fraction)
    val_idx, train_idx = order[:cut], order[cut:]
    prepared = [prepare(t, language) for t in texts]
    vectorizer = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=NGRAM_RANGE,
        lowercase=False,  # prepare() already lowercases
        sublinear_tf=True,
        min_df=2,
        max_features=max_features,
        dtype=np.float64,
    )
    x_train = vectorizer.fit_transform([prepared[i] for i in train_idx])
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit(x_train, truth[train_idx])
    val_scores = model.predict_proba(vectorizer.transform([prepared[i] for i in val_idx]))[:, 1]
    grid = np.round(np.arange(0.2, 0.9, 0.01), 2)
    best = max(grid, key=lambda t: f1_score(truth[val_idx], val_scores >= t))
    vocabulary = vectorizer.vocabulary_
    idf = vectorizer.idf_
    weights = model.coef_[0]
    ngrams = {g: (float(idf[i]), float(weights[i])) for g, i in vocabulary.items()}
    runtime = NgramModel(language, ngrams, float(model.intercept_[0]), float(best))
    return runtime, {
        "validation_f1": float(f1_score(truth[val_idx], val_scores >= best)),
        "threshold": float(best),
        "features": len(ngrams),
        "train_rows": len(train_idx),
    }


def export_ngram_model(model: NgramModel, path: Path, about: dict) -> None:
    """Write the model as gzipped JSON (the format models.language.NgramModel.load reads)."""
    payload = {
        "format": "modlens-ngram-model/1",
        "language": model.language,
        "ngram_range": list(NGRAM_RANGE),
        "intercept": model.intercept,
        "threshold": model.threshold,
        "about": about,
        "ngrams": {g: [round(i, 5), round(w, 5)] for g, (i, w) in sorted(model.ngrams.items())},
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with gzip.GzipFile(tmp, "wb", mtime=0) as handle:
        handle.write(data)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="train the German and Russian n-gram models")
    parser.add_argument("--data", default="../shared/datasets")
    parser.add_argument("--out", default="models/lexicon")
    parser.add_argument("--languages", nargs="*", default=list(TRAIN_SETS))
    args = parser.parse_args(argv)
    for language in args.languages:
        name, what = TRAIN_SETS[language]
        texts, truth, _ = load_language_set(Path(args.data), name)
        model, numbers = train_ngram_model(texts, truth, language)
        about = {"trained_on": what, **numbers}
        export_ngram_model(model, Path(args.out) / f"{language}.ngrams.json.gz", about)
        print(language, json.dumps(about))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
