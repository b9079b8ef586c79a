"""`modlens improve`: teach the model the studio's game from the moderators' decisions.

The fine-tuning itself is training.improve (the train extra: torch); `--fit-thresholds` is the
fast path without torch. The app runs this same command in a subprocess (`--progress json`).
Exit codes: 0 a better model was written (or thresholds fitted), 1 the new model was not better
on the held-out decisions (nothing written), 2 bad input, a bad model or the extra missing.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

INSTALL_HINT = "pip install torch==2.13.0 && pip install 'modlens[train]'"
NOT_BETTER = 1


def missing_training() -> str | None:
    """None when fine-tuning can run here; else which package is missing (nothing imported)."""
    from importlib.util import find_spec

    for name in ("torch", "transformers", "accelerate", "onnx", "sklearn", "tqdm"):
        try:
            if find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def missing_message(package: str) -> str:
    return (
        f"Improving the model needs the training extra ({package} is not installed): "
        f"{INSTALL_HINT}. Thresholds and word lists work without it."
    )


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "improve",
        help="fine-tune the model on the moderators' decisions",
        description="Fine-tune the current model on moderators' decisions (text,label CSV or "
        "JSONL, as the app exports them), keeping what it knew by distilling its own verdicts "
        "on undecided excerpts. Part of the decisions is held out; --out is written only if "
        "the new model is better there. Exit codes: 0 written, 1 not better (nothing written), "
        f"2 bad input. Needs the training extra: {INSTALL_HINT}",
    )
    parser.add_argument(
        "--decisions",
        required=True,
        metavar="FILE",
        help="text,label CSV/JSONL, or the app's database (modlens.sqlite3: its decisions, and "
        "its undecided excerpts when --unlabeled is not given)",
    )
    parser.add_argument(
        "--unlabeled", metavar="FILE", help="undecided excerpts, one per line (distilled)"
    )
    parser.add_argument("--model", metavar="DIR", help="the model to start from (default: shipped)")
    parser.add_argument("--out", metavar="DIR", help="the new model folder (must not exist)")
    parser.add_argument(
        "--categories",
        default="",
        metavar="A,B",
        help="studio categories the decisions may use beyond the model's (comma-separated)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--fit-thresholds",
        action="store_true",
        help="only fit per-category thresholds to the decisions (fast, no torch); prints them",
    )
    parser.add_argument("--epochs", type=float, help="passes over the decisions (default 2)")
    parser.add_argument("--learning-rate", type=float, help="AdamW learning rate (default 1e-4)")
    parser.add_argument(
        "--distil-weight",
        type=float,
        help="weight of keeping the old model's verdicts on undecided excerpts (default 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="PyTorch and ONNX Runtime threads (default: the cores the load average leaves free)",
    )
    parser.add_argument(
        "--train-embeddings",
        action="store_true",
        help="train the word embeddings too (default: kept as they are; slower)",
    )
    parser.add_argument(
        "--min-decisions", type=int, help="fewer usable decisions than this: refuse (default 100)"
    )
    parser.add_argument(
        "--min-category-examples",
        type=int,
        help="decisions a new studio category needs to be learned (default 20)",
    )
    parser.add_argument(
        "--progress",
        choices=("bar", "json", "none"),
        default="bar",
        help="progress on standard error: a bar, JSON lines (for the app) or nothing",
    )
    return parser


def _categories(text: str) -> list[str]:
    return [
        "_".join(c.strip().lower().split()) for c in text.replace("\n", ",").split(",") if c.strip()
    ]


def _say(message: str) -> None:
    from client.terminal import clean

    print(f"modlens: {clean(message)}", file=sys.stderr)


def fit_thresholds_command(args: argparse.Namespace) -> int:
    from models.classifier import Classifier
    from models.errors import ModlensError
    from models.thresholds_fit import fit_classifier

    try:
        classifier = Classifier(args.model, threads=args.threads)
        rows = _decision_rows(args.decisions, classifier.labels, _categories(args.categories))
        fit = fit_classifier(classifier, rows)
    except (ModlensError, ValueError) as exc:
        _say(str(exc))
        return 2
    if args.json:
        print(json.dumps(fit.to_json(), indent=2))
    else:
        print(
            f"{fit.rows} decisions ({fit.toxic_rows} toxic): F1 {fit.before.f1:.3f} with the "
            f"model's thresholds, {fit.after.f1:.3f} with these:"
        )
        for key, value in fit.as_settings().items():
            print(f"  {key:<16} {value:.2f}")
        if fit.kept_default:
            print("  (too few decisions for their own: " + ", ".join(fit.kept_default) + ")")
    return 0


def _decision_rows(path: str, labels, categories) -> list[tuple[str, str]]:
    """Decisions for threshold fitting, read without torch: CSV or JSONL text,label."""
    import csv
    import io

    from models.thresholds_fit import FitError

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FitError(f"{file} cannot be read: {exc.strerror or exc}") from exc
    rows: list[tuple[str, str]] = []
    if file.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    rows.append((str(row["text"]), str(row["label"])))
                except (ValueError, KeyError, TypeError):
                    raise FitError(
                        f"{file}:{number}: not a JSON object with text and label"
                    ) from None
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise FitError(f"{file} needs the columns text,label")
        for row in reader:
            value, label = row["text"] or "", (row["label"] or "").strip()
            if value.startswith("'") and value[1:2] in ("=", "+", "-", "@", "'"):
                value = value[1:]
            rows.append((value, label))
    rows = [(t, label) for t, label in rows if t.strip()]
    known = {*labels, *categories}
    unknown = sorted({label for _, label in rows if label not in known})
    if unknown:
        raise FitError(
            f"{file}: unknown labels {', '.join(map(repr, unknown[:5]))}; known: "
            f"{', '.join(sorted(known))}"
        )
    return rows


class _Bar:
    """A one-line progress bar per stage on standard error."""

    def __init__(self) -> None:
        self.bar = None
        self.stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm.auto import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, file=sys.stderr, leave=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _json_progress(stage: str, done: int, total: int) -> None:
    print(json.dumps({"stage": stage, "done": done, "total": total}), file=sys.stderr, flush=True)


def _terminate(signum, frame) -> None:
    # SIGTERM (the app's Cancel) unwinds like Ctrl+C: the staging folder is removed on the way
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if args.fit_thresholds:
        return fit_thresholds_command(args)
    if not args.out:
        _say("improve needs --out DIR (the new model's folder), or --fit-thresholds")
        return 2
    missing = missing_training()
    if missing:
        _say(missing_message(missing))
        return 2
    try:
        from training.improve import ImproveOptions, improve
    except ImportError as exc:
        _say(missing_message(exc.name or "torch"))
        return 2
    from models.errors import ModlensError

    changes = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("learning_rate", args.learning_rate),
            ("distil_weight", args.distil_weight),
            ("threads", args.threads),
            ("freeze_embeddings", False if args.train_embeddings else None),
            ("min_decisions", args.min_decisions),
            ("min_category_examples", args.min_category_examples),
        )
        if v is not None
    }
    progress = {"bar": _Bar(), "json": _json_progress, "none": None}[args.progress]
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        result = improve(
            args.decisions,
            args.out,
            model=args.model,
            unlabeled=args.unlabeled,
            categories=_categories(args.categories),
            options=ImproveOptions(**changes),
            progress=progress,
        )
    except (ModlensError, ValueError) as exc:
        _say(str(exc))
        return 2
    except ImportError as exc:  # a part of the training extra that find_spec could not see
        _say(missing_message(exc.name or "a training package"))
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
        if isinstance(progress, _Bar):
            progress.close()
    summary = result.summary
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        old, new = summary["old"], summary["new"]
        print(
            f"held-out decisions ({summary['rows']['holdout']}): F1 {old['f1']:.3f} before, "
            f"{new['f1']:.3f} after (precision {old['precision']:.3f} -> {new['precision']:.3f}, "
            f"recall {old['recall']:.3f} -> {new['recall']:.3f}); {summary['seconds']:.0f} s"
        )
        for category, count in summary["too_few"].items():
            print(f"not learned: {category} has {count} decisions, too few", file=sys.stderr)
        if result.better:
            print(f"model folder: {result.written}")
        else:
            print("the new model is not better on the held-out decisions: nothing written")
    return 0 if result.better else NOT_BETTER
