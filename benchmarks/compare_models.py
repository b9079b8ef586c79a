"""Two or more model folders side by side on the floors issue 8 sets: CONDA test lines not in
CONDA train/valid, the TweetEval offensive test (macro-F1) and the project's functional suite.
int8 ONNX, each model with its own thresholds. (Used to decide whether the v3 candidate ships:
benchmarks/results/v3_candidate.json.)

    python benchmarks/compare_models.py v2=models/weights/default v3=runs/v3-model \
        --json benchmarks/results/v3_candidate.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_classifier import test_sets  # noqa: E402

from models.classifier import Classifier  # noqa: E402
from training.evaluate import evaluate  # noqa: E402
from training.functional import run_suite  # noqa: E402


def binary_scores(classifier: Classifier, rows: list) -> dict:
    """Toxic-vs-not precision, recall, F1, macro-F1 and AUC of one model on labeled rows."""
    limits = [classifier.threshold_for(c) for c in classifier.labels[1:]]
    probs = classifier.probabilities([r.text for r in rows])
    truth = np.array([classifier.labels.index(r.label) for r in rows])
    binary = evaluate(probs, truth, classifier.labels, classifier.threshold, limits)
    return {
        k: round(binary["binary"][k], 4) for k in ("precision", "recall", "f1", "macro_f1", "auc")
    }


def score_model(classifier: Classifier, sets: dict) -> dict:
    """The floors' numbers for one model: F1 and more on each test set, the functional suite."""
    row: dict = {}
    for set_name in ("conda_test_unseen", "tweeteval_offensive_test", "conda_test"):
        row[set_name] = binary_scores(classifier, sets[set_name])
    suite = run_suite(classifier)
    row["functional"] = {
        "harmless": round(suite.harmless_identity_passed, 4),
        "hateful": round(suite.hateful_flagged, 4),
        "per": {k: f"{p}/{t}" for k, (p, t) in suite.per_functionality.items()},
    }
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--data", default="../shared/datasets")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    out: dict[str, dict] = {}
    sets = None
    for item in args.models:
        name, _, folder = item.partition("=")
        classifier = Classifier(folder or name, threads=2)
        sets = sets or test_sets(Path(args.data), classifier.labels)
        out[name] = score_model(classifier, sets)
        print(name, json.dumps(out[name]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
