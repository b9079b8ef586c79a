"""Average two fine-tuned models' weights, (1 - a) * base + a * candidate (WiSE-FT, Wortsman et
al. 2022): a cheap way to keep a fine-tune's gains while pulling it back toward the model it
started from. Writes a copy of the candidate's run folder that `modlens export --run` takes.

    python benchmarks/weight_average.py 0.5 --base models/weights/default/trainable \
        --run runs/default-v4 --out runs/soup-0.5-run \
        [--config training/configs/default-v4.yaml --data ../shared/datasets]

With --config and --data, the average's thresholds are picked on validation and its test split
measured again (training.train.reevaluate), so the run folder, and the model card export writes
from it, describe the averaged weights rather than the candidate's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.average import (  # noqa: E402
    WEIGHTS,
    AverageError,
    add_ingredient_sources,
    average_weights,
    write_run,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("alpha", type=float, help="weight of the candidate, 0..1")
    parser.add_argument("--base", type=Path, required=True, help="folder with model.safetensors")
    parser.add_argument("--run", type=Path, required=True, help="the candidate's run folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", type=Path, help="the candidate's training config")
    parser.add_argument("--data", type=Path, help="the datasets folder the config reads")
    args = parser.parse_args(argv)
    if not 0.0 <= args.alpha <= 1.0:
        parser.error("alpha must be between 0 and 1")
    a = args.alpha
    if args.out.exists():
        parser.error(f"{args.out} exists already")
    try:
        soup = average_weights([args.base / WEIGHTS, args.run / "one_stage" / WEIGHTS], [1 - a, a])
    except AverageError as exc:
        parser.error(str(exc))
    write_run(args.run, args.out, soup)
    print(f"{a:.2f} x {args.run} + {1 - a:.2f} x {args.base} -> {args.out}")
    if args.config and args.data:
        from training.config import load_config
        from training.train import reevaluate

        note = (
            f"Weights: {a:.2f} x this fine-tune + {1 - a:.2f} x `{args.base}` "
            "(a weight average, WiSE-FT), thresholds picked again on validation"
        )
        results = reevaluate(args.out, load_config(args.config, args.data), note)
        if (args.base.parent / "config.yaml").is_file():
            # the base is a run's one_stage folder: its sources are the average's too
            added = add_ingredient_sources(args.out, args.base.parent)
            print(f"sources of {args.base.parent} added to the model card: {', '.join(added)}")
        binary = results["one_stage"]["test"]["binary"]
        print(f"test toxic-vs-not F1 {binary['f1']:.3f}, AUC {binary['auc']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
