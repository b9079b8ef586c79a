"""Re-pick a model folder's thresholds on validation rows that neither the shipped model nor a
candidate fine-tuned from it trained on: HateXplain's own validation split and the CONDA_valid
rows whose text hash puts them in validation (every config splits CONDA_valid by that hash, seed
13). Used before benchmarks/compare_models.py, so candidates are judged at thresholds picked the
same way and never on a test set.

    python benchmarks/repick_thresholds.py runs/v4-model [--write]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.classifier import Classifier  # noqa: E402
from models.model_folder import load_config, write_config  # noqa: E402
from training.data import Example, Source, _hash_split, load_source, text_key  # noqa: E402
from training.evaluate import pick_thresholds  # noqa: E402


def validation_rows(data: Path, categories: tuple[str, ...]) -> list[Example]:
    rows = [
        e
        for e in load_source(
            Source("hatexplain", "hatexplain", data / "hatexplain_mbib", {}), categories
        )
        if e.split == "validation"
    ]
    conda = Source("conda_valid", "conda", data / "conda", {}, files={"auto": "CONDA_valid.csv"})
    rows += [
        e
        for e in load_source(conda, categories)
        if _hash_split(text_key(e.text), 13, (0.1, 0.1)) == "validation"
    ]
    return list({text_key(e.text): e for e in rows}.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="model folder")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--write", action="store_true", help="store them in the folder's config")
    args = parser.parse_args(argv)
    classifier = Classifier(args.model, threads=2, languages=False)
    categories = tuple(classifier.labels)
    rows = validation_rows(Path(args.data), categories)
    probs = classifier.probabilities([e.text for e in rows])
    truth = np.array([categories.index(e.label) for e in rows])
    threshold, limits = pick_thresholds(probs, truth)
    picked = dict(zip(categories[1:], limits, strict=True))
    print(f"{len(rows)} validation rows: threshold {threshold}, per category {picked}")
    if args.write:
        path, config = load_config(Path(args.model))
        write_config(path, replace(config, threshold=threshold, category_thresholds=picked))
        print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
