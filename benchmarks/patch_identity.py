"""Patch the shipped model on the recipe's own generated rows, then pull it back (PAINT).

Ilharco et al. 2022 ("Patching open-vocabulary models by interpolating weights"): fine-tune a
model on the task it fails, then average the fine-tune with the model it started from, at the
mix that keeps what it could do. Here the task is the training split of the rows the project
makes itself (v9a's recipe: ``augment``, ``toxigen_seeds``, ``toxigen_framed``,
``toxigen_negated``), which the shipped model, a weight average, fits only in part (it passes
63% of the negated seeds it trained on). The fine-tune is `modlens improve` (training.improve):
those rows stand for the moderators' decisions, and the public training texts for the undecided
excerpts, on which the old model's own probabilities are distilled so the patch keeps what it
knew. No row of the validation or test splits, of the functional suite or of the other-wording
sentences is trained on.

    python benchmarks/patch_identity.py --data ../shared/datasets --out runs/v11 \
        [--config training/configs/default-v10b.yaml] [--model models/weights/default] \
        [--run runs/v10b-s0.25-run] [--alphas 0.25 0.5 1.0]
    python benchmarks/patch_identity.py --data ../shared/datasets --fit MODEL_DIR [MODEL_DIR ...]

Writes OUT/decisions.jsonl, OUT/undecided.txt, OUT/patched (the improve output), and per alpha
the run folder OUT/a{alpha}-run (alpha x patched + (1 - alpha) x the model's trainable weights,
thresholds picked again on the config's validation split) and its int8 export OUT/a{alpha}-model.
Judge the exports with benchmarks/identity_wording.py. With --fit, only print how each model
folder does on those generated training rows, per source: harmless passed, toxic flagged.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GENERATED = ("augment", "toxigen_seeds", "toxigen_framed", "toxigen_negated")


def patch_rows(config_path: Path, data: Path) -> tuple[list[dict[str, str]], list[str]]:
    """(decisions, undecided): the generated training rows, one per text, and the texts of the
    public training rows, from the config's own splits."""
    from training.config import load_config
    from training.train import config_splits

    train = config_splits(load_config(config_path, data))["train"]
    decisions = {e.text: e.label for e in train if e.source in GENERATED}
    undecided = {" ".join(e.text.split()) for e in train if e.source not in GENERATED}
    rows = [{"text": t, "label": label} for t, label in decisions.items()]
    return rows, sorted(t for t in undecided if t)


def fit_report(folders: list[Path], config_path: Path, data: Path) -> None:
    """Print, per model folder and generated source, the training rows passed and flagged."""
    import numpy as np

    from models.classifier import Classifier, decide
    from models.taxonomy import NON_TOXIC
    from training.config import load_config
    from training.train import config_splits

    train = config_splits(load_config(config_path, data))["train"]
    for folder in folders:
        classifier = Classifier(folder, threads=2, languages=False)
        limits = [classifier.threshold_for(c) for c in classifier.labels[1:]]
        for source in GENERATED:
            rows = {e.text: e.label != NON_TOXIC for e in train if e.source == source}
            probs = classifier.probabilities(list(rows))
            flagged = decide(probs, classifier.threshold, limits) != 0
            toxic = np.array(list(rows.values()))
            print(
                f"{folder} {source}: harmless passed {int(np.sum(~flagged[~toxic]))}/"
                f"{int(np.sum(~toxic))}, toxic flagged {int(np.sum(flagged[toxic]))}/"
                f"{int(np.sum(toxic))}",
                flush=True,
            )


def _progress(stage: str, done: int, total: int) -> None:
    if done in (0, total) or done % 50 == 0:
        print(f"  {stage} {done}/{total}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=ROOT / "training/configs/default-v10b.yaml")
    parser.add_argument("--model", type=Path, default=ROOT / "models/weights/default")
    parser.add_argument(
        "--run",
        type=Path,
        default=ROOT / "runs/v10b-s0.25-run",
        help="the shipped model's run folder (its splits and settings)",
    )
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--fit", type=Path, nargs="+", metavar="MODEL_DIR")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.fit:
        fit_report(args.fit, args.config, args.data)
        return 0
    if args.out is None:
        parser.error("--out is required to patch")

    from training.average import WEIGHTS, average_weights, write_run
    from training.cli import run_export
    from training.config import load_config
    from training.improve import ImproveOptions, improve
    from training.train import reevaluate

    args.out.mkdir(parents=True, exist_ok=True)
    patched = args.out / "patched"
    if not patched.exists():
        decisions, undecided = patch_rows(args.config, args.data)
        with (args.out / "decisions.jsonl").open("w", encoding="utf-8") as f:
            for row in decisions:
                f.write(json.dumps(row) + "\n")
        random.Random(args.seed).shuffle(undecided)
        (args.out / "undecided.txt").write_text("\n".join(undecided) + "\n", encoding="utf-8")
        print(f"{len(decisions)} generated rows, {len(undecided)} public texts", flush=True)
        result = improve(
            args.out / "decisions.jsonl",
            patched,
            model=args.model,
            unlabeled=args.out / "undecided.txt",
            options=ImproveOptions(seed=args.seed),
            progress=_progress,
        )
        print(json.dumps({k: result.summary[k] for k in ("better", "old", "new", "rows")}))
        if not result.better:
            print("the patch did not beat the model on the held-out generated rows")
            return 1
    config = load_config(args.config, args.data)
    base = args.model / "trainable" / WEIGHTS
    for a in args.alphas:
        run = args.out / f"a{a:g}-run"
        if not (run / "metrics.json").is_file() or not (run / "patched.json").is_file():
            soup = average_weights([base, patched / "trainable" / WEIGHTS], [1 - a, a])
            write_run(args.run, run, soup)
            note = (
                f"Weights: {a:g} x the shipped model patched on its recipe's generated rows "
                f"(benchmarks/patch_identity.py, training.improve) + {1 - a:g} x the shipped "
                "model, thresholds picked again on validation"
            )
            results = reevaluate(run, config, note)
            (run / "patched.json").write_text(json.dumps({"alpha": a}) + "\n", encoding="utf-8")
            binary = results["one_stage"]["test"]["binary"]
            print(
                f"alpha {a:g}: run test F1 {binary['f1']:.3f} AUC {binary['auc']:.3f}", flush=True
            )
        model = args.out / f"a{a:g}-model"
        if not (model / "model.onnx").is_file():
            shutil.rmtree(model, ignore_errors=True)
            run_export(
                argparse.Namespace(
                    run=str(run), out=str(model), max_length=128, name=f"patch-a{a:g}",
                    save_reference=None, parity_rows=2000,
                )
            )  # fmt: skip
        print(f"alpha {a:g}: {model}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
