"""Time exported models side by side on the same chat lines, in turns, so a busy or slow machine
slows every model alike (needs ../shared/datasets; not in `make test`).

    python benchmarks/bench_speed.py old=/tmp/old-model new=models/weights/default \
        [--data ../shared/datasets] [--lines 4000] [--rounds 2] [--json out.json]

Each round loads every model, warms it up on 64 lines, then keeps the best of three passes over
the CONDA labeled test's first N lines at batch 32 (the lines and batch of bench_classifier.py's
speed figure). Prints and writes excerpts per second per model and round.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_classifier import best_seconds, test_sets  # noqa: E402
from models.classifier import Classifier  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="NAME=FOLDER")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--lines", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    models = dict(m.split("=", 1) for m in args.models if "=" in m)
    if len(models) != len(args.models):
        parser.error("give each model as NAME=FOLDER")
    first = Classifier(next(iter(models.values())), threads=args.threads, batch_size=32)
    lines = [r.text for r in test_sets(Path(args.data), first.labels)["conda_test"]][: args.lines]
    results: dict = {"lines": len(lines), "batch": 32, "threads": args.threads, "rounds": []}
    for i in range(args.rounds):
        round_ = {}
        for name, folder in models.items():
            classifier = Classifier(folder, threads=args.threads, batch_size=32)
            round_[name] = round(len(lines) / best_seconds(classifier.probabilities, lines), 1)
            print(f"round {i + 1}: {name} {round_[name]} excerpts/s", flush=True)
        results["rounds"].append(round_)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
