"""Training commands `train`, `average`, `export` and `evaluate`, for `modlens` and
`python -m training`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="training config (YAML or TOML)")
    parser.add_argument(
        "--data", help="folder that source paths are relative to (default: the config's folder)"
    )
    parser.add_argument("--out", help="run folder (default: runs/<config>-<time>)")
    parser.add_argument("--epochs", type=float, help="override the config's epochs")
    parser.add_argument(
        "--stages",
        choices=("one", "two", "both"),
        help="one-stage, the two-stage variant, or both on the same split",
    )
    parser.add_argument("--threads", type=int, help="PyTorch threads")
    parser.add_argument(
        "--teacher-only",
        action="store_true",
        help="fine-tune the config's teacher and save its logits in the run folder, then stop "
        "(on a GPU machine; a later train with the same --out reads them)",
    )


def add_average_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders made by `modlens train`")
    parser.add_argument("--out", required=True, help="run folder to write (replaced whole)")
    parser.add_argument(
        "--data",
        help="folder the runs' source paths are relative to (default: the current folder)",
    )


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a run folder made by `modlens train`")
    parser.add_argument("--out", required=True, help="model folder to write (replaced whole)")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per window at run time")
    parser.add_argument("--name", help="the model's name in its card (default: the config's)")
    parser.add_argument(
        "--save-reference",
        metavar="DIR",
        help="also save the PyTorch weights (fp16, half the size) for the int8-vs-fp32 benchmark",
    )
    parser.add_argument(
        "--parity-rows",
        type=int,
        default=0,
        help="check parity on at most this many test rows (0: all)",
    )


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data",
        help="labeled data: a CSV/JSONL of text,label, or a dataset folder/file with --format",
    )
    parser.add_argument("--model", help="model folder (default: the shipped one)")
    parser.add_argument("--format", default="labeled", help="data adapter (conda, olid, ...)")
    parser.add_argument("--split", help="only rows of this split (train, validation, test)")
    parser.add_argument("--json", action="store_true", help="print metrics as JSON")


def _missing_extra(exc: ImportError) -> int:
    print(
        f"modlens: training needs the train extra ({exc.name} is missing): "
        "pip install torch==2.13.0 && pip install -e '.[train]'",
        file=sys.stderr,
    )
    return 2


def run_train(args: argparse.Namespace) -> int:
    try:
        from training.config import load_config
        from training.train import default_run_dir, train
    except ImportError as exc:
        return _missing_extra(exc)
    overrides = {
        k: v
        for k, v in (("epochs", args.epochs), ("stages", args.stages), ("threads", args.threads))
        if v is not None
    }
    try:
        config = load_config(args.config, args.data, overrides)
    except (ValueError, KeyError) as exc:
        print(f"modlens: {exc}", file=sys.stderr)
        return 2
    run_dir = Path(args.out) if args.out else default_run_dir(args.config)
    try:
        run_dir = train(config, run_dir, teacher_only=args.teacher_only)
    except ValueError as exc:
        print(f"modlens: {exc}", file=sys.stderr)
        return 2
    if args.teacher_only:
        teacher = json.loads((run_dir / "teacher" / "metrics.json").read_text(encoding="utf-8"))
        print(f"teacher logits: {run_dir / 'teacher'} (digest {teacher['digest'][:12]})")
    else:
        print((run_dir / "report.md").read_text(encoding="utf-8"))
    print(f"run folder: {run_dir}")
    return 0


def run_average(args: argparse.Namespace) -> int:
    try:
        from training.average import AverageError, average_runs
        from training.train import render_report
    except ImportError as exc:
        return _missing_extra(exc)
    try:
        results = average_runs(args.runs, args.out, args.data)
    except (AverageError, ValueError, KeyError) as exc:
        print(f"modlens: {exc}", file=sys.stderr)
        return 2
    print(render_report(results))
    print(f"run folder: {args.out}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    try:
        import yaml

        from training.card import render_card
        from training.export import export_model, load_test_split
    except ImportError as exc:
        return _missing_extra(exc)
    run_dir = Path(args.run)
    model_dir = run_dir / "one_stage"
    if not (model_dir / "config.json").is_file():
        print(f"modlens: {run_dir} has no one-stage model (one_stage/)", file=sys.stderr)
        return 2
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    labels = tuple(metrics["categories"])
    texts, truth = load_test_split(run_dir, labels)
    if args.parity_rows:
        texts, truth = texts[: args.parity_rows], truth[: args.parity_rows]
    thresholds = json.loads((model_dir / "thresholds.json").read_text(encoding="utf-8"))
    name = args.name or config.get("name") or run_dir.name
    parity = export_model(
        model_dir,
        args.out,
        thresholds,
        args.max_length,
        texts,
        truth,
        card=lambda parity: render_card(name, config, metrics, parity),
        extra={
            "name": name,
            "base_model": config.get("base_model"),
            "trained_from_run": run_dir.name,
        },
    )
    if args.save_reference:
        from training.export import save_reference

        save_reference(model_dir, args.save_reference)
    print(json.dumps(parity, indent=2))
    print(f"model folder: {args.out}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    try:
        from models.classifier import Classifier
        from models.model_folder import ModelError
        from training.data import DataError, Source, load_source
        from training.evaluate import evaluate, format_report
    except ImportError as exc:
        return _missing_extra(exc)
    import numpy as np

    try:
        classifier = Classifier(args.model)
        source = Source(
            name=Path(args.data).stem, format=args.format, path=Path(args.data), mapping={}
        )
        rows = load_source(source, classifier.labels)
    except (ModelError, DataError, ValueError) as exc:
        print(f"modlens: {exc}", file=sys.stderr)
        return 2
    if args.split:
        rows = [r for r in rows if r.split == args.split]
    if not rows:
        print("modlens: no labeled rows to evaluate", file=sys.stderr)
        return 2
    probs = classifier.probabilities([r.text for r in rows])
    labels = np.array([classifier.labels.index(r.label) for r in rows])
    limits = [classifier.threshold_for(c) for c in classifier.labels[1:]]
    metrics = evaluate(probs, labels, classifier.labels, classifier.threshold, limits)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(format_report(f"{args.data} ({args.format})", metrics))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, add, run in (
        ("train", add_train_arguments, run_train),
        ("average", add_average_arguments, run_average),
        ("export", add_export_arguments, run_export),
        ("evaluate", add_evaluate_arguments, run_evaluate),
    ):
        command = sub.add_parser(name)
        add(command)
        command.set_defaults(handler=run)
    args = parser.parse_args(argv)
    return args.handler(args)
