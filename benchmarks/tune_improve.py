"""`modlens improve` options checked on validation, never on the test sets.

From a base model that never saw CONDA, N decisions (CONDA train lines, the same shuffle as
bench_improve.py, taken from the end of its first 18,180 lines) are learned with each set of
options in a grid; each result is toxic-vs-not F1 on a validation slice of 2,180 other CONDA train
lines (neither decisions nor undecided excerpts) and on the base's own public validation rows
(what it forgets), at the base's thresholds, fp32.

    python benchmarks/tune_improve.py runs/bench-improve-full/base-model \
        --base-config runs/lodo-ft/conda-new.yaml \
        --grid '[{"threads": 1}, {"threads": 1, "distil_weight": 0.3}]' --json out.json

Used for the learning rate and epochs (README, "Learning the studio's game") and for the
distillation weight (docs/classifier-v2.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_improve import conda_lines  # noqa: E402

from models.classifier import Classifier, decide  # noqa: E402
from models.model_folder import load_config  # noqa: E402
from models.thresholds_fit import toxic_scores  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="model folder with trainable/ weights")
    parser.add_argument("--base-config", required=True, help="the training config of the base")
    parser.add_argument("--grid", required=True, help="JSON list of ImproveOptions fields")
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.config import load_config as load_train_config
    from training.improve import ImproveOptions, _Stage, fine_tune, split_holdout, training_steps
    from training.train import config_splits, predict_proba

    _, config = load_config(args.base)
    labels = config.labels
    lines = conda_lines(args.data, labels, 13)
    n = args.decisions
    decisions, valid = lines[18180 - n : 18180], lines[15000:17180]
    undecided = [t for t, _ in lines[5000:15000]]
    train, _holdout = split_holdout(decisions, 0.2, 13)
    recipe = load_train_config(Path(args.base_config), args.data)
    public = [(e.text, e.label) for e in config_splits(recipe)["validation"]]
    limits = [config.category_thresholds.get(c, config.threshold) for c in labels[1:]]

    def f1(probs: np.ndarray, cases: list[tuple[str, str]]) -> float:
        truth = np.array([label != "non_toxic" for _, label in cases])
        return round(toxic_scores(truth, decide(probs, config.threshold, limits) != 0).f1, 4)

    teacher = Classifier(args.base)
    results: list[dict] = [
        {
            "options": "the base itself (int8)",
            "valid_f1": f1(teacher.probabilities([t for t, _ in valid]), valid),
            "public_valid_f1": f1(teacher.probabilities([t for t, _ in public]), public),
        }
    ]
    print(json.dumps(results[0]), flush=True)
    for fields in json.loads(args.grid):
        options = ImproveOptions(**fields)
        started = time.time()
        count = training_steps(len(train), options) * options.distil_batch_size
        distil = random.Random(options.seed).sample(undecided, min(count, len(undecided)))
        soft = teacher.probabilities(distil).astype(np.float32)
        weights = args.base / "trainable"
        model = AutoModelForSequenceClassification.from_pretrained(weights, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(weights)
        info = fine_tune(model, tokenizer, train, labels, distil, soft, options, _Stage(None))
        with torch.inference_mode():
            pv = predict_proba(model, tokenizer, [t for t, _ in valid], 128)
            pp = predict_proba(model, tokenizer, [t for t, _ in public], 128)
        results.append(
            {
                "options": fields,
                "steps": info["steps"],
                "valid_f1": f1(pv, valid),
                "public_valid_f1": f1(pp, public),
                "seconds": round(time.time() - started, 1),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
