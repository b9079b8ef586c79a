"""The leave-one-domain-out table (training/lodo.py) for `make bench` and the model card.

Each public source in turn is held out: a model is trained on the others and scored on it, once
per data recipe ("old": the v2 model's sources; "new": plus ToxiGen's seed sentences, the
generated identity and game-chat rows, and disguised copies; "balanced": "new" with the public
sets' harmless mentions of groups repeated, training/identity.py). The default method is a
linear probe on frozen MiniLM-L6 sentence embeddings (the same rows for every recipe), which takes
minutes on 2 cores; `--method fine-tune` fine-tunes MiniLM per cell instead (about 15 minutes a
cell on a busy 2-core machine at 600 rows per source).

    python benchmarks/bench_lodo.py --data ../shared/datasets --json benchmarks/results/lodo.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training import lodo  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/datasets")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--method", choices=("probe", "fine-tune"), default="probe")
    parser.add_argument("--per-source", type=int, default=lodo.LodoSettings.per_source)
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="modlens-lodo-"))
    try:
        lodo.main(
            [
                "--data",
                args.data,
                "--out",
                str(out),
                "--method",
                args.method,
                "--per-source",
                str(args.per_source),
            ]
        )
        results = out / ("results.json" if args.method == "probe" else "results.jsonl")
        if args.json:
            if args.method == "probe":
                shutil.copy(results, args.json)
            else:
                rows = [json.loads(line) for line in results.read_text().splitlines()]
                Path(args.json).write_text(json.dumps({"method": args.method, "results": rows}))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
