"""The project's functional suite (tests/data/functional_suite.csv) through a model folder.

Prints the pass rate per functionality and per identity group, and the two numbers issue 8 sets
floors for: harmless identity mentions passed (>= 90%) and hateful lines flagged (>= 90%).

    python benchmarks/bench_functional.py [--model DIR] --json benchmarks/results/functional.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.classifier import Classifier  # noqa: E402
from training.functional import run_suite  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", metavar="DIR", help="model folder (default: the shipped one)")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--failures", action="store_true", help="list every failed case")
    args = parser.parse_args(argv)
    result = run_suite(Classifier(args.model))
    print(f"{'functionality':<26} passed")
    for name, (passed, total) in result.per_functionality.items():
        print(f"{name:<26} {passed:>3}/{total:<3} {passed / total:6.1%}")
    print(f"\n{'group':<26} passed")
    for name, (passed, total) in sorted(result.per_group.items()):
        print(f"{name:<26} {passed:>3}/{total:<3} {passed / total:6.1%}")
    print(f"\nharmless identity mentions passed: {result.harmless_identity_passed:.1%}")
    print(f"hateful lines flagged: {result.hateful_flagged:.1%}")
    if args.failures:
        for case, score in result.failures:
            print(f"  {case.functionality:<24} {score:.3f}  {case.text}")
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
