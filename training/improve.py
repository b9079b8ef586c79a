"""`modlens improve`: a better model from the moderators' own decisions, on the workstation.

1. Read the decisions (`text,label` CSV or JSONL, as the app exports them) and, optionally, the
   undecided excerpts (one per line). Bad files are refused with one plain message: empty, one
   class only, labels that are neither the model's nor declared studio categories.
2. Hold out part of the decisions (stratified by label) and never train on them.
3. Start from the current model's trainable weights (the fp16 safetensors in its `trainable/`
   folder, beside the int8 ONNX); grow the output layer by each studio category that has at least
   `min_category_examples` decisions (a rarer one is reported, and its rows left out).
4. Fine-tune on the rest of the decisions (class-weighted cross-entropy) while distilling the old
   model's own probabilities on the undecided excerpts, so the new model keeps what the old one
   knew without any public dataset shipping with the product. Batches hold lines of like length,
   the word embeddings stay frozen, and a fixed number of undecided excerpts rides along each
   step (each seen once). With enough decisions (`min_threshold_fit` set aside) the new model's
   thresholds are refitted on decisions it did not train on; otherwise it keeps the old ones.
5. Export to an int8 ONNX folder (training.export), judge old and new the same way (the ONNX
   models with their thresholds) on the held-out decisions, and keep the new one **only if its
   toxic-vs-not F1 there is higher**. The summary goes to config.json (`improve`), the model card
   and the caller.

Everything is staged in a dot-folder beside --out and renamed into place at the end, so a run
that fails, is cancelled or is killed never leaves a half-written model and never touches the
model it started from.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.classifier import Classifier, decide
from models.errors import ModlensError
from models.model_folder import CARD_NAME, DEFAULT_MODEL_DIR, load_config, write_config
from models.normalize import normalize
from models.taxonomy import NON_TOXIC
from models.thresholds_fit import MIN_DECISIONS, FitError, fit_classifier, toxic_scores
from models.versions import STAGING_PREFIX, TRAINABLE_DIR, trainable_dir
from training.data import DataError, Source, read_labeled_file, text_key

Progress = Callable[[str, int, int], None]  # stage, done, total


class ImproveError(ModlensError, ValueError):
    """Decisions, excerpts or a model that `improve` cannot use; the message says why."""


@dataclass(frozen=True)
class ImproveOptions:
    # checked on a validation slice of CONDA (2,180 lines the decisions did not come from) after
    # 1,000 decisions, from a base model that never saw CONDA (F1 0.470 there, 0.807 on its
    # public validation rows): 4e-5 x 3 epochs 0.650 / 0.802, 1e-4 x 3 0.653 / 0.791,
    # 1e-4 x 2 0.702 / 0.796 (and a third fewer steps); another seed: 4e-5 x 3 0.637 / 0.806,
    # 1e-4 x 2 0.648 / 0.784
    epochs: float = 2.0
    batch_size: int = 16
    distil_batch_size: int = 32  # undecided excerpts per step, against the old model's output
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    # the word embeddings stay as they are: their dense gradient and AdamW update over the whole
    # vocabulary were a third of a step (2 cores: 1.95 s a step, 1.30 s frozen), and a
    # thousand decisions say little about 30,000 token vectors
    freeze_embeddings: bool = True
    # lower weights learn the game more and forget more (benchmarks/tune_improve.py: 0.3 after
    # 1,000 decisions cost one base 0.039 of its public validation F1); 1.0 kept
    distil_weight: float = 1.0
    holdout_fraction: float = 0.2
    max_length: int = 64  # tokens per training row (game chat is short)
    max_unlabeled: int = 20_000
    min_decisions: int = 100  # fewer: fit thresholds instead (models.thresholds_fit)
    min_category_examples: int = 20  # a new studio category needs this many decisions
    # part of the training decisions kept aside to fit the new model's thresholds (fine-tuning
    # moves its probabilities), when it gives min_threshold_fit rows of both kinds; fewer say
    # too little about a threshold (a refit on ~100 rows lost more on the held-out decisions
    # than it gained), so the new model keeps the old thresholds and trains on all the rows
    threshold_fraction: float = 0.15
    min_threshold_fit: int = 200
    seed: int = 13
    threads: int | None = None  # None: default_threads()


@dataclass(frozen=True)
class ImproveResult:
    better: bool
    written: Path | None
    summary: dict[str, Any] = field(default_factory=dict)


class _Stage:
    """Progress in named stages, each with its own count."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


# --- reading the input ----------------------------------------------------------------------


STORE_SUFFIXES = (".sqlite3", ".sqlite", ".db")


def store_data(path: str | os.PathLike[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The decisions and the undecided excerpts kept in the app's database (read, not changed)."""
    from client.store import Store, StoreError

    try:
        store = Store(path)
    except StoreError as exc:
        raise ImproveError(str(exc)) from None
    try:
        decided = store.current_decisions()
        undecided = [
            e.text
            for session in store.sessions()
            for e in store.excerpts(session.id)
            if e.id not in decided and e.text.strip()
        ]
        return list(store.training_rows()), undecided
    finally:
        store.close()


def read_decisions(
    path: str | os.PathLike[str], labels: Sequence[str], categories: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """(text, label) per decided excerpt; the latest decision on a text wins.

    path: a `text,label` CSV or JSONL, or the app's database (modlens.sqlite3) itself.
    labels: the model's; categories: the studio's own, which improve may add to the model.
    """
    path = Path(path)
    if not path.is_file():
        raise ImproveError(f"decisions file not found: {path}")
    rows: list[tuple[str, str]] = []
    try:
        if path.suffix.lower() in STORE_SUFFIXES:
            rows = [(t.strip(), label) for t, label in store_data(path)[0] if t.strip()]
        else:
            source = Source(name="decisions", format="labeled", path=path, mapping={})
            for text, label, _ in read_labeled_file(source):
                if text.strip():
                    rows.append((text.strip(), label.strip()))
    except DataError as exc:
        raise ImproveError(str(exc)) from None
    except KeyError as exc:
        raise ImproveError(f"{path}: every line needs text and label (one lacks {exc})") from None
    except (OSError, UnicodeError) as exc:
        raise ImproveError(f"{path} cannot be read: {exc}") from exc
    if not rows:
        raise ImproveError(
            f"{path} holds no decisions. Decide on excerpts in the app (confirm, dismiss, "
            "relabel or flag missed ones), then export them or run Improve from the app."
        )
    known = list(dict.fromkeys([*labels, *categories]))
    unknown = Counter(label for _, label in rows if label not in known)
    if unknown:
        listed = ", ".join(f"{label!r} ({n})" for label, n in unknown.most_common(5))
        raise ImproveError(
            f"{path}: unknown labels {listed}. Known: {', '.join(known)}. A studio category "
            "must be declared (--categories, or Settings in the app)."
        )
    latest: dict[str, tuple[str, str]] = {}
    for text, label in rows:
        key = text_key(text)
        if key:
            latest.pop(key, None)  # keep the latest in file order
            latest[key] = (text, label)
    out = list(latest.values())
    present = Counter(label for _, label in out)
    if len(present) < 2:
        only = next(iter(present))
        raise ImproveError(
            f"{path}: every decision says {only!r}. Improving needs both toxic excerpts "
            "(confirmed, relabelled, missed) and dismissed false positives (non_toxic)."
        )
    if NON_TOXIC not in present:
        raise ImproveError(
            f"{path}: no decision says non_toxic. Dismiss the false positives you find, so the "
            "model learns what not to flag."
        )
    return out


def read_unlabeled(path: str | os.PathLike[str] | None, exclude: set[str]) -> list[str]:
    """Undecided excerpts, one per line; blank lines, repeats and decided texts left out."""
    if path is None:
        return []
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise ImproveError(f"undecided excerpts file not found: {path}") from None
    except OSError as exc:
        raise ImproveError(f"{path} cannot be read: {exc}") from exc
    return read_unlabeled_texts(text.splitlines(), exclude)


def read_unlabeled_texts(lines: Sequence[str], exclude: set[str]) -> list[str]:
    seen = set(exclude)
    out = []
    for line in lines:
        key = text_key(line)
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(line.split()))
    return out


def split_holdout(
    rows: list[tuple[str, str]], fraction: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, holdout), stratified by label: every label with 2+ rows has one in each."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    rng = random.Random(seed)
    train, holdout = [], []
    for label in sorted(by_label):
        items = sorted(by_label[label], key=lambda r: text_key(r[0]))
        rng.shuffle(items)
        n = round(len(items) * fraction)
        n = min(max(n, 1 if len(items) >= 2 else 0), len(items) - 1)
        holdout += items[:n]
        train += items[n:]
    rng.shuffle(train)
    return train, holdout


# --- judging --------------------------------------------------------------------------------


def judge(
    classifier: Classifier, rows: list[tuple[str, str]], labels: Sequence[str]
) -> dict[str, Any]:
    """Toxic-vs-not precision, recall and F1 of a classifier on (text, label) rows, and F1 per
    category in labels (0 for one the model does not have)."""
    probs = classifier.probabilities([t for t, _ in rows])
    limits = [classifier.threshold_for(c) for c in classifier.labels[1:]]
    predicted = [classifier.labels[i] for i in decide(probs, classifier.threshold, limits)]
    truth = [label for _, label in rows]
    scores = toxic_scores(
        np.array([t != NON_TOXIC for t in truth]), np.array([p != NON_TOXIC for p in predicted])
    )
    per_category = {}
    for label in labels[1:]:
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        support, flagged = truth.count(label), predicted.count(label)
        per_category[label] = round(2 * tp / (support + flagged), 4) if support + flagged else 0.0
    return {**asdict(scores), "category_f1": per_category}


# --- training -------------------------------------------------------------------------------


def grow_head(model: Any, labels: Sequence[str]) -> None:
    """Extend a sequence classifier's output layer to labels (its own first, then new ones).

    A new category's row starts as the mean of the toxic rows and its bias well below theirs,
    so the new class begins rare and is learned from the decisions.
    """
    import torch

    old = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if list(labels[: len(old)]) != old:
        raise ImproveError(f"the model's labels {old} are not a prefix of {list(labels)}")
    added = len(labels) - len(old)
    if added <= 0:
        return
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise ImproveError("this model's output layer cannot be grown (not a linear layer)")
    grown = torch.nn.Linear(head.in_features, len(labels), bias=head.bias is not None)
    with torch.no_grad():
        grown.weight[: len(old)] = head.weight
        toxic_mean = head.weight[1:].mean(dim=0)
        for i in range(added):
            noise = torch.randn_like(toxic_mean) * 0.02
            grown.weight[len(old) + i] = toxic_mean + noise
        if head.bias is not None:
            grown.bias[: len(old)] = head.bias
            grown.bias[len(old) :] = head.bias[1:].min() - 2.0
    model.classifier = grown
    model.num_labels = len(labels)
    model.config.num_labels = len(labels)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {label: i for i, label in enumerate(labels)}


def _batch(tokenizer: Any, encoded: list[list[int]], indices: Sequence[int]) -> dict[str, Any]:
    import torch

    rows = [encoded[i] for i in indices]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for n, row in enumerate(rows):
        ids[n, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[n, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def training_steps(n_rows: int, options: ImproveOptions) -> int:
    """Optimisation steps: `epochs` passes over the training decisions."""
    return max(1, math.ceil(n_rows * options.epochs / options.batch_size))


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, window: int = 32
) -> Iterator[list[int]]:
    """Batches of row indices, pass after pass, each pass a new random order in which the rows of
    a batch have similar lengths: shuffled, sorted by length within windows of `window`
    batches, cut into batches, and the batches shuffled. Each batch is padded only to its own
    longest row, so short chat lines do not pay for a long one's padding."""
    span = batch_size * window
    while True:
        order = rng.permutation(len(lengths))
        batches = []
        for start in range(0, len(order), span):
            chunk = sorted(order[start : start + span].tolist(), key=lambda i: lengths[i])
            batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        for b in rng.permutation(len(batches)):
            yield batches[b]


def fine_tune(
    model: Any,
    tokenizer: Any,
    rows: list[tuple[str, str]],
    labels: Sequence[str],
    unlabeled: list[str],
    teacher: np.ndarray | None,
    options: ImproveOptions,
    stage: _Stage,
) -> dict[str, Any]:
    """Cross-entropy on the decisions plus soft cross-entropy to the teacher on undecided
    excerpts (`distil_batch_size` of them a step, each seen about once: `unlabeled` should hold
    `training_steps(...) * distil_batch_size` of them at most); returns the loss log."""
    import torch

    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer(
            [normalize(t) or " " for t in texts], truncation=True, max_length=options.max_length
        )["input_ids"]

    encoded = encode([t for t, _ in rows])
    targets = torch.tensor([labels.index(label) for _, label in rows], dtype=torch.long)
    counts = np.bincount(targets.numpy(), minlength=len(labels)).astype(np.float64)
    weights = np.where(counts > 0, np.maximum(counts, 1) ** -0.5, 0.0)
    weights = torch.tensor(weights / weights[counts > 0].mean(), dtype=torch.float32)
    steps = training_steps(len(rows), options)
    distil_encoded = encode(unlabeled) if unlabeled and teacher is not None else []
    soft = torch.tensor(teacher, dtype=torch.float32) if distil_encoded else None

    if options.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=options.learning_rate,
        weight_decay=options.weight_decay,
    )
    warmup = max(1, int(0.06 * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    batches = length_batches([len(e) for e in encoded], options.batch_size, rng)
    distil_batches = length_batches(
        [len(e) for e in distil_encoded], options.distil_batch_size, rng
    )
    log = []
    model.train()
    for step in range(steps):
        take = next(batches)
        logits = model(**_batch(tokenizer, encoded, take)).logits
        loss = torch.nn.functional.cross_entropy(logits, targets[take], weight=weights)
        distil_loss = torch.zeros(())
        if soft is not None:
            pick = next(distil_batches)
            student = model(**_batch(tokenizer, distil_encoded, pick)).logits
            log_p = torch.nn.functional.log_softmax(student, dim=-1)
            distil_loss = -(soft[pick] * log_p).sum(dim=-1).mean()
        total = loss + options.distil_weight * distil_loss
        optimizer.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if step % 10 == 0 or step == steps - 1:
            log.append(
                {
                    "step": step + 1,
                    "loss": round(loss.item(), 4),
                    "distil": round(distil_loss.item(), 4),
                }
            )
        stage("training", step + 1, steps)
    model.eval()
    return {"steps": steps, "distilled_excerpts": len(distil_encoded), "log": log}


# --- the model card -------------------------------------------------------------------------


def _thresholds_line(fitted: dict[str, Any]) -> str:
    if not fitted.get("fitted"):
        return f"the previous model's ({fitted.get('reason', 'kept')})"
    per = ", ".join(f"{k} {v:.2f}" for k, v in fitted["category_thresholds"].items())
    return (
        f"fitted on {fitted['rows']} decisions set aside from training: toxic "
        f"{fitted['threshold']:.2f}" + (f"; {per}" if per else "")
    )


def render_card(name: str, summary: dict[str, Any]) -> str:
    old, new, rows = summary["old"], summary["new"], summary["rows"]
    lines = [
        f"# modlens classifier: {name}",
        "",
        f"Improved by `modlens improve` from `{summary['base_model']}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(summary['created']))}, with the "
        "moderators' own decisions. int8 ONNX, run by ONNX Runtime; the fp16 PyTorch weights "
        f"in `{TRAINABLE_DIR}/` let it be improved again.",
        "",
        "## Held-out decisions (never trained on)",
        "",
        "| model | precision | recall | F1 (toxic vs not) |",
        "|---|---|---|---|",
        f"| before | {old['precision']:.3f} | {old['recall']:.3f} | {old['f1']:.3f} |",
        f"| after | {new['precision']:.3f} | {new['recall']:.3f} | {new['f1']:.3f} |",
        "",
        f"- Decisions: {rows['decisions']} read, {rows['decisions_used']} used "
        f"({rows['train']} to train, {rows['holdout']} held out)",
        f"- Undecided excerpts distilled from the previous model's verdicts: "
        f"{rows['distilled']} (of {rows['unlabeled']} given)",
        f"- Thresholds: {_thresholds_line(summary.get('thresholds') or {})}",
        f"- Time: {summary['seconds']:.0f} s",
        "",
        "## Categories",
        "",
        "| category | decisions | held out | F1 before | F1 after |",
        "|---|---|---|---|---|",
    ]
    for label, info in summary["categories"].items():
        mark = " (new)" if label in summary["new_categories"] else ""
        lines.append(
            f"| {label}{mark} | {info['support']} | {info['holdout_support']} | "
            f"{info['old_f1']:.3f} | {info['new_f1']:.3f} |"
        )
    if summary["too_few"]:
        lines += [
            "",
            "Not learned (too few decisions, at least "
            f"{summary['options']['min_category_examples']} needed): "
            + ", ".join(f"{k} ({v})" for k, v in summary["too_few"].items()),
        ]
    return "\n".join(lines) + "\n"


# --- the whole run --------------------------------------------------------------------------


def improve(
    decisions: str | os.PathLike[str],
    out: str | os.PathLike[str],
    model: str | os.PathLike[str] | None = None,
    unlabeled: str | os.PathLike[str] | None = None,
    categories: Sequence[str] = (),
    options: ImproveOptions | None = None,
    progress: Progress | None = None,
) -> ImproveResult:
    """Fine-tune the model at `model` (default: the shipped one) on the decisions; write `out`
    only if the new model is better on the held-out decisions. See the module docstring."""
    options = options or ImproveOptions()
    started = time.time()
    stage = _Stage(progress)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ImproveError(f"{out} exists already; give a new folder (nothing is overwritten)")
    model_dir, config = load_config(model)
    weights = trainable_dir(model_dir)
    if weights is None:
        raise ImproveError(
            f"{model_dir} carries no trainable weights ({TRAINABLE_DIR}/ with the fp16 "
            "safetensors): improve the shipped model or one made by `modlens improve`."
        )
    old_labels = config.labels
    studio = [c for c in dict.fromkeys(categories) if c and c not in old_labels]
    for c in studio:
        if c == NON_TOXIC or not c.replace("_", "").isalnum():
            raise ImproveError(f"{c!r} cannot be a category name (letters, digits and _)")
    rows = read_decisions(decisions, old_labels, studio)
    n_read = len(rows)
    support = Counter(label for _, label in rows)
    too_few = {c: support[c] for c in studio if 0 < support[c] < options.min_category_examples}
    added = [c for c in studio if support[c] >= options.min_category_examples]
    labels = (*old_labels, *added)
    rows = [r for r in rows if r[1] in labels]
    if len(rows) < options.min_decisions:
        raise ImproveError(
            f"{len(rows)} usable decisions are too few to fine-tune (at least "
            f"{options.min_decisions}); fit the thresholds to them instead "
            "(modlens improve --fit-thresholds, or Fit thresholds in the app)."
        )
    train_rows, holdout = split_holdout(rows, options.holdout_fraction, options.seed)
    fit_rows: list[tuple[str, str]] = []
    min_fit = max(MIN_DECISIONS, options.min_threshold_fit)
    if len(train_rows) * options.threshold_fraction >= min_fit:
        kept, aside = split_holdout(train_rows, options.threshold_fraction, options.seed + 1)
        aside_toxic = sum(label != NON_TOXIC for _, label in aside)
        if 0 < aside_toxic < len(aside):
            train_rows, fit_rows = kept, aside
    held_toxic = sum(label != NON_TOXIC for _, label in holdout)
    if held_toxic == 0 or held_toxic == len(holdout):
        raise ImproveError("the held-out decisions need both toxic and non_toxic excerpts")
    decided = {text_key(t) for t, _ in rows}
    if unlabeled is None and Path(decisions).suffix.lower() in STORE_SUFFIXES:
        extra = read_unlabeled_texts(store_data(decisions)[1], decided)
    else:
        extra = read_unlabeled(unlabeled, decided)
    if len(extra) > options.max_unlabeled:
        extra = random.Random(options.seed).sample(extra, options.max_unlabeled)

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from training.export import export_model

    hf_logging.set_verbosity_error()
    options = replace(options, threads=options.threads or default_threads())
    torch.set_num_threads(options.threads)
    stage("judging the current model", 0, 1)
    teacher_model = Classifier(model_dir, threads=options.threads)
    old_scores = judge(teacher_model, holdout, labels)
    stage("judging the current model", 1, 1)
    # a fixed number of undecided excerpts a step, each seen once: a random sample of them when
    # there are more than the steps need (the old model's verdicts are computed for those only)
    n_distil = training_steps(len(train_rows), options) * options.distil_batch_size
    distil = extra
    if len(extra) > n_distil:
        distil = random.Random(options.seed).sample(extra, n_distil)
    teacher = None
    if distil:
        teacher = np.zeros((len(distil), len(labels)), dtype=np.float32)
        chunk = 512
        for start in range(0, len(distil), chunk):
            teacher[start : start + chunk, : len(old_labels)] = teacher_model.probabilities(
                distil[start : start + chunk]
            )
            stage("reading the undecided excerpts", min(start + chunk, len(distil)), len(distil))

    hf = AutoModelForSequenceClassification.from_pretrained(weights, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(weights)
    hf_labels = tuple(hf.config.id2label[i] for i in range(hf.config.num_labels))
    if hf_labels != old_labels:
        raise ImproveError(
            f"{weights}: the trainable weights have the labels {list(hf_labels)}, the model "
            f"folder {list(old_labels)}; they are not the same model"
        )
    grow_head(hf, labels)
    training = fine_tune(hf, tokenizer, train_rows, labels, distil, teacher, options, stage)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f"{STAGING_PREFIX}{os.getpid()}-{time.time_ns()}"
    staging.mkdir()
    try:
        stage("exporting to int8 ONNX", 0, 1)
        hf.save_pretrained(staging / "hf")
        tokenizer.save_pretrained(staging / "hf")
        thresholds = {
            "threshold": config.threshold,
            "category_thresholds": {
                k: v for k, v in config.category_thresholds.items() if k in labels
            },
        }
        name = out.name
        export_model(
            staging / "hf",
            staging / "model",
            thresholds,
            max_length=config.max_length,
            extra={
                "name": name,
                "base_model": config.extra.get("base_model"),
                "improved_from": config.extra.get("name") or model_dir.name,
            },
        )
        stage("exporting to int8 ONNX", 1, 1)
        fitted = _fit_new_thresholds(staging / "model", fit_rows, options.threads)
        stage("judging the new model", 0, 1)
        new_scores = judge(Classifier(staging / "model", threads=options.threads), holdout, labels)
        stage("judging the new model", 1, 1)
        better = new_scores["f1"] > old_scores["f1"]
        held = Counter(label for _, label in holdout)
        summary: dict[str, Any] = {
            "better": better,
            "written": str(out) if better else None,
            "base_model": str(model_dir),
            "labels": list(labels),
            "new_categories": added,
            "too_few": too_few,
            "rows": {
                "decisions": n_read,
                "decisions_used": len(rows),
                "train": len(train_rows),
                "threshold_fit": len(fit_rows),
                "holdout": len(holdout),
                "unlabeled": len(extra),
                "distilled": training["distilled_excerpts"],
            },
            "old": {k: old_scores[k] for k in ("precision", "recall", "f1")},
            "new": {k: new_scores[k] for k in ("precision", "recall", "f1")},
            "categories": {
                label: {
                    "support": support[label],
                    "holdout_support": held[label],
                    "old_f1": old_scores["category_f1"][label],
                    "new_f1": new_scores["category_f1"][label],
                }
                for label in labels[1:]
            },
            "thresholds": fitted,
            "training_steps": training["steps"],
            "options": asdict(options),
            "created": time.time(),
            "seconds": round(time.time() - started, 1),
        }
        if better:
            folder = staging / "model"
            hf.half().save_pretrained(folder / TRAINABLE_DIR)
            tokenizer.save_pretrained(folder / TRAINABLE_DIR)
            _, new_config = load_config(folder)
            write_config(
                folder, replace(new_config, extra={**new_config.extra, "improve": summary})
            )
            (folder / CARD_NAME).write_text(render_card(name, summary), encoding="utf-8")
            (folder / "improve.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
            if out.exists():
                out.rmdir()  # empty, checked above
            folder.rename(out)
        return ImproveResult(better, out if better else None, summary)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fit_new_thresholds(
    folder: Path, rows: list[tuple[str, str]], threads: int | None
) -> dict[str, Any]:
    """Fit the exported model's thresholds on decisions it was not trained on, and keep them in
    its config when they beat the thresholds it inherited there."""
    if not rows:
        return {"fitted": False, "reason": "too few decisions to set some aside"}
    classifier = Classifier(folder, threads=threads)
    try:
        fit = fit_classifier(classifier, rows)
    except FitError as exc:
        return {"fitted": False, "reason": str(exc)}
    if fit.after.f1 <= fit.before.f1:
        return {"fitted": False, "reason": "the inherited thresholds did as well", "rows": fit.rows}
    _, config = load_config(folder)
    write_config(
        folder,
        replace(
            config,
            threshold=fit.threshold,
            category_thresholds=dict(fit.category_thresholds),
        ),
    )
    return {
        "fitted": True,
        "rows": fit.rows,
        "threshold": fit.threshold,
        "category_thresholds": fit.category_thresholds,
    }


def default_threads() -> int:
    """Threads for fine-tuning and the ONNX passes: the cores the machine leaves free (1-minute
    load average), at least one. Threads that share a busy core wait for each other at every
    operation: on 2 cores under load 8, a step took 18.2 s with two threads and 2.5 s with one."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    return max(1, min(cores, round(cores - load)))


def default_model_dir() -> Path:
    return DEFAULT_MODEL_DIR
