"""Fine-tune a one-stage classifier (non_toxic + categories) or the two-stage variant; evaluate it.

A run folder keeps everything: the resolved config, split sizes, the Trainer's log, the fine-tuned
model(s), thresholds picked on validation, test metrics and the test split (for export parity).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm.auto import tqdm
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging

from models.normalize import normalize
from models.taxonomy import NON_TOXIC
from training.config import TrainConfig
from training.data import Example, build_splits, describe, load_source
from training.distill import (
    distillation_loss,
    load_teacher_logits,
    save_teacher_logits,
    teacher_digest,
)
from training.evaluate import evaluate, format_report, pick_thresholds
from training.identity import GENERATED_FORMATS, balance_identity, swap_identity

log = logging.getLogger("modlens.train")


class _Encoded(torch.utils.data.Dataset):
    def __init__(
        self, encodings: dict[str, list[list[int]]], labels: list[int], indexed: bool = False
    ) -> None:
        self.encodings, self.labels, self.indexed = encodings, labels, indexed

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {k: v[i] for k, v in self.encodings.items()}
        item["labels"] = self.labels[i]
        if self.indexed:  # the row's place, to look up the teacher's logits for it
            item["row_index"] = i
        return item


class _WeightedTrainer(Trainer):
    """Cross-entropy with per-class weights, so rare categories (threat) are not ignored; with
    teacher logits, blended with distillation from them (training.distill)."""

    def __init__(
        self,
        *args: Any,
        class_weights: torch.Tensor,
        teacher_logits: np.ndarray | None = None,
        distill_weight: float = 0.0,
        temperature: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights
        self.teacher_logits = None if teacher_logits is None else torch.from_numpy(teacher_logits)
        self.distill_weight, self.temperature = distill_weight, temperature

    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):  # type: ignore[override]
        labels = inputs.pop("labels")
        rows = inputs.pop("row_index", None)
        outputs = model(**inputs)
        teacher = None
        if self.teacher_logits is not None and rows is not None:
            teacher = self.teacher_logits[rows.cpu()]
        loss = distillation_loss(
            outputs.logits,
            labels,
            self.class_weights,
            teacher,
            self.distill_weight,
            self.temperature,
        )
        return (loss, outputs) if return_outputs else loss


def class_weights(labels: list[int], n: int, power: float) -> torch.Tensor:
    counts = np.bincount(labels, minlength=n).astype(np.float64)
    weights = np.where(counts > 0, np.maximum(counts, 1) ** -power, 0.0)
    weights = weights / weights[counts > 0].mean()
    return torch.tensor(weights, dtype=torch.float32)


def _resumable(folder: Path, texts: list[str], labels: list[int], config: TrainConfig) -> bool:
    """Whether folder holds a checkpoint of this very run (same rows, labels and settings) to
    resume from; a checkpoint of any other run is removed, never resumed."""
    digest = hashlib.sha256(
        json.dumps([texts, labels, asdict(config)], default=str).encode("utf-8")
    ).hexdigest()
    stamp = folder / "run.sha256"
    same = stamp.is_file() and stamp.read_text().strip() == digest
    if not same:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return same and any(folder.glob("checkpoint-*"))


def fine_tune(
    texts: list[str],
    labels: list[int],
    names: tuple[str, ...],
    config: TrainConfig,
    output_dir: Path,
    teacher_logits: np.ndarray | None = None,
) -> tuple[Any, Any]:
    """Fine-tune the base encoder on texts (normalised here) and save it to output_dir; with
    teacher_logits (one row per text), learn from them too (config's distill settings)."""
    base = config.base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
        ignore_mismatched_sizes=True,  # a base that already has a head of another size
        dtype=torch.float32,  # a base saved in fp16 (a shipped model's trainable copy) too
    )
    encodings = tokenizer(
        [normalize(t) for t in texts], truncation=True, max_length=config.max_length
    )
    dataset = _Encoded(
        {k: encodings[k] for k in ("input_ids", "attention_mask")},
        labels,
        indexed=teacher_logits is not None,
    )
    args = TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        lr_scheduler_type="linear",
        logging_steps=50,
        # a checkpoint every 500 steps (the latest kept): a run stopped part way resumes from it
        save_strategy="steps",
        save_steps=500,
        save_total_limit=1,
        eval_strategy="no",
        report_to=[],
        seed=config.training_seed,
        data_seed=config.training_seed,
        train_sampling_strategy="group_by_length",
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available(),
    )
    trainer = _WeightedTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=DataCollatorWithPadding(tokenizer),
        class_weights=class_weights(labels, len(names), config.class_weight_power),
        teacher_logits=teacher_logits,
        distill_weight=config.distill_weight,
        temperature=config.distill_temperature,
    )
    resume = _resumable(output_dir / "checkpoints", texts, labels, config)
    if resume:
        log.info("resuming from the latest checkpoint in %s", output_dir / "checkpoints")
    trainer.train(resume_from_checkpoint=resume or None)
    shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)  # done: nothing to resume
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    (output_dir / "train_log.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    return model, tokenizer


@torch.inference_mode()
def predict_proba(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    max_length: int,
    batch_size: int = 64,
    desc: str = "predicting",
    logits: bool = False,
) -> np.ndarray:
    """Softmax probabilities (or the raw logits) in input order; batches sorted by length."""
    model.eval()
    device = next(model.parameters()).device
    normalised = [normalize(t) for t in texts]
    order = np.argsort([len(t) for t in normalised], kind="stable")
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    for start in tqdm(range(0, len(texts), batch_size), desc=desc, leave=False):
        idx = order[start : start + batch_size]
        batch = tokenizer(
            [normalised[i] or " " for i in idx],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        scores = model(**batch).logits.float()
        out[idx] = (scores if logits else torch.softmax(scores, dim=-1)).cpu().numpy()
    return out


def _two_stage_probs(p_binary: np.ndarray, p_category: np.ndarray) -> np.ndarray:
    """Combine stage 1 P(toxic) with stage 2's category distribution into one matrix."""
    p_toxic = p_binary[:, 1:2]
    return np.hstack([1.0 - p_toxic, p_toxic * p_category])


def _labels(rows: list[Example], names: tuple[str, ...]) -> np.ndarray:
    return np.array([names.index(e.label) for e in rows], dtype=np.int64)


def _evaluate_variant(
    name: str,
    val_probs: np.ndarray,
    test_probs: np.ndarray,
    splits: dict[str, list[Example]],
    names: tuple[str, ...],
) -> dict[str, Any]:
    threshold, limits = pick_thresholds(val_probs, _labels(splits["validation"], names))
    test = splits["test"]
    result = {
        "threshold": threshold,
        "category_thresholds": dict(zip(names[1:], limits, strict=True)),
        "test": evaluate(test_probs, _labels(test, names), names, threshold, limits),
        "test_by_source": {},
    }
    for source in sorted({e.source for e in test}):
        mask = np.array([e.source == source for e in test])
        result["test_by_source"][source] = evaluate(
            test_probs[mask], _labels(test, names)[mask], names, threshold, limits
        )
    log.info(
        "%s: test toxic F1 %.3f AUC %s",
        name,
        result["test"]["binary"]["f1"],
        result["test"]["binary"]["auc"],
    )
    return result


def config_splits(config: TrainConfig) -> dict[str, list[Example]]:
    """The train, validation and test splits config makes (train and reevaluate share them)."""
    examples: list[Example] = []
    for source in config.sources:
        rows = load_source(source, config.categories, config.seed)
        log.info("source %s: %d rows from %s", source.name, len(rows), source.path)
        examples.extend(rows)
    return build_splits(examples, config.seed, config.test_fraction, config.validation_fraction)


def _teacher_logits(
    config: TrainConfig,
    folder: Path,
    train_rows: list[Example],
    splits: dict[str, list[Example]],
    names: tuple[str, ...],
) -> tuple[np.ndarray, dict[str, Any]]:
    """The teacher's logits for train_rows (in order) and its own validation and test metrics:
    read from folder when made from these rows and settings, else fine-tuned and saved there."""
    texts, labels = [e.text for e in train_rows], _labels(train_rows, names).tolist()
    digest = teacher_digest(config, texts, labels)
    saved = load_teacher_logits(folder, digest)
    if saved is None:
        log.info("teacher %s: fine-tuning (digest %s)", config.teacher, digest[:12])
        teacher = config.teacher_config()
        model, tok = fine_tune(texts, labels, names, teacher, folder / "model")
        unique = list(dict.fromkeys(texts))
        logits = predict_proba(
            model, tok, unique, config.max_length, desc="teacher logits", logits=True
        )
        val, test = (
            predict_proba(model, tok, [e.text for e in splits[s]], config.max_length)
            for s in ("validation", "test")
        )
        metrics = _evaluate_variant("teacher", val, test, splits, names)
        metrics["base_model"] = config.teacher
        save_teacher_logits(folder, unique, logits, digest, metrics)
        saved = load_teacher_logits(folder, digest)
        assert saved is not None
    else:
        log.info("teacher %s: logits read from %s", config.teacher, folder)
    return saved.aligned(texts), saved.metrics


def train(config: TrainConfig, run_dir: str | Path, teacher_only: bool = False) -> Path:
    """Load data, fine-tune the configured variant(s), evaluate on test data; return run_dir.
    With a teacher in config, it is fine-tuned first (or its saved logits read); teacher_only
    stops there (on a GPU machine, say), leaving run_dir/teacher for a later run."""
    if config.teacher and config.stages != "one":
        raise ValueError("distillation from a teacher is for the one-stage model only")
    if teacher_only and not config.teacher:
        raise ValueError("the config names no teacher")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger("modlens").addHandler(handler)
    logging.getLogger("modlens").setLevel(logging.INFO)
    hf_logging.set_verbosity_error()
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    started = time.time()
    names = config.categories

    splits = config_splits(config)
    for split in ("train", "validation", "test"):
        if not splits[split]:
            raise ValueError(f"the {split} split is empty; add data or a source with that split")
    summary = describe(splits)
    log.info("splits: %s", json.dumps({k: v["rows"] for k, v in summary.items()}))
    resolved = {
        **asdict(config),
        "sources": [{**asdict(s), "path": str(s.path)} for s in config.sources],
    }
    resolved["name"] = config.raw.get("name")
    resolved.pop("raw")
    (run_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    (run_dir / "data.json").write_text(json.dumps(summary, indent=2))
    with open(run_dir / "test.jsonl", "w", encoding="utf-8") as handle:
        for e in splits["test"]:
            handle.write(json.dumps({"text": e.text, "label": e.label, "source": e.source}) + "\n")

    repeats = {s.name: max(1, s.repeat) for s in config.sources}
    train_rows = [e for e in splits["train"] for _ in range(repeats.get(e.source, 1))]
    if config.identity_balance > 1:
        # the public sets' own rows are balanced; generated rows are kept as they are
        generated = {s.name for s in config.sources if s.format == "augment"}
        before = len(train_rows)
        train_rows = balance_identity(
            train_rows, config.identity_balance, seed=config.seed, generated=generated
        )
        log.info(
            "identity balance: %d harmless identity mentions repeated", len(train_rows) - before
        )
    if config.identity_swap > 0 or config.identity_swap_hateful > 0:
        generated = {s.name for s in config.sources if s.format in GENERATED_FORMATS}
        before = len(train_rows)
        train_rows = swap_identity(
            train_rows,
            config.identity_swap,
            seed=config.seed,
            generated=generated,
            hateful_copies=config.identity_swap_hateful,
        )
        log.info("identity swap: %d group-swapped copies", len(train_rows) - before)
    if len(train_rows) != len(splits["train"]):
        log.info("training rows with repeats: %d", len(train_rows))
    val_texts = [e.text for e in splits["validation"]]
    test_texts = [e.text for e in splits["test"]]
    results: dict[str, Any] = {"categories": list(names), "data": summary}
    teacher_logits = None
    if config.teacher:
        teacher_logits, results["teacher"] = _teacher_logits(
            config, run_dir / "teacher", train_rows, splits, names
        )
        if teacher_only:
            logging.getLogger("modlens").removeHandler(handler)
            return run_dir

    if config.stages in ("one", "both"):
        out = run_dir / "one_stage"
        model, tok = fine_tune(
            [e.text for e in train_rows],
            _labels(train_rows, names).tolist(),
            names,
            config,
            out,
            teacher_logits,
        )
        val = predict_proba(model, tok, val_texts, config.max_length, desc="validation")
        test = predict_proba(model, tok, test_texts, config.max_length, desc="test")
        np.save(out / "test_probs.npy", test)
        results["one_stage"] = _evaluate_variant("one-stage", val, test, splits, names)
        (out / "thresholds.json").write_text(
            json.dumps(
                {k: results["one_stage"][k] for k in ("threshold", "category_thresholds")}, indent=2
            )
        )

    if config.stages in ("two", "both"):
        out = run_dir / "two_stage"
        binary_names = (NON_TOXIC, "toxic")
        m1, t1 = fine_tune(
            [e.text for e in train_rows],
            [int(e.label != NON_TOXIC) for e in train_rows],
            binary_names,
            config,
            out / "binary",
        )
        toxic_rows = [e for e in train_rows if e.label != NON_TOXIC]
        m2, t2 = fine_tune(
            [e.text for e in toxic_rows],
            [names.index(e.label) - 1 for e in toxic_rows],
            names[1:],
            config,
            out / "category",
        )
        val = _two_stage_probs(
            predict_proba(m1, t1, val_texts, config.max_length),
            predict_proba(m2, t2, val_texts, config.max_length),
        )
        test = _two_stage_probs(
            predict_proba(m1, t1, test_texts, config.max_length),
            predict_proba(m2, t2, test_texts, config.max_length),
        )
        results["two_stage"] = _evaluate_variant("two-stage", val, test, splits, names)

    results["seconds"] = round(time.time() - started, 1)
    (run_dir / "metrics.json").write_text(json.dumps(results, indent=2))
    (run_dir / "report.md").write_text(render_report(results))
    logging.getLogger("modlens").removeHandler(handler)
    return run_dir


def reevaluate(run_dir: str | Path, config: TrainConfig, note: str = "") -> dict[str, Any]:
    """Pick the thresholds and measure the test split again for the one-stage model in run_dir
    whose weights were changed after training (a weight average): the same splits config
    makes, the same validation picking; metrics.json, thresholds.json and report.md are
    rewritten, with note (how the weights were made) kept for the model card."""
    run_dir = Path(run_dir)
    names = config.categories
    splits = config_splits(config)
    out = run_dir / "one_stage"
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForSequenceClassification.from_pretrained(out, dtype=torch.float32)
    val = predict_proba(model, tokenizer, [e.text for e in splits["validation"]], config.max_length)
    test = predict_proba(model, tokenizer, [e.text for e in splits["test"]], config.max_length)
    np.save(out / "test_probs.npy", test)
    results = json.loads((run_dir / "metrics.json").read_text())
    results["one_stage"] = _evaluate_variant("one-stage", val, test, splits, names)
    if note:
        results["one_stage"]["note"] = note
    (out / "thresholds.json").write_text(
        json.dumps({k: results["one_stage"][k] for k in ("threshold", "category_thresholds")})
    )
    (run_dir / "metrics.json").write_text(json.dumps(results, indent=2))
    (run_dir / "report.md").write_text(render_report(results))
    return results


def render_report(results: dict[str, Any]) -> str:
    parts = ["# Training report", ""]
    if "teacher" in results:
        b = results["teacher"]["test"]["binary"]
        parts += [
            f"Distilled from teacher {results['teacher'].get('base_model', '')} (its own test "
            f"toxic F1 {b['f1']:.3f}, AUC {b['auc'] or 0:.3f}).",
            "",
        ]
    for variant in ("one_stage", "two_stage"):
        if variant in results:
            r = results[variant]
            parts += [
                f"## {variant.replace('_', '-')}",
                "",
                f"Thresholds (picked on validation): toxic {r['threshold']:.2f}; "
                + ", ".join(f"{k} {v:.2f}" for k, v in r["category_thresholds"].items()),
                "",
                format_report("test split", r["test"]),
            ]
            parts += [format_report(f"test, source {s}", m) for s, m in r["test_by_source"].items()]
    if "one_stage" in results and "two_stage" in results:
        parts += [
            "## One stage vs two stages (same test split)",
            "",
            "| variant | precision | recall | F1 | AUC |",
            "|---|---|---|---|---|",
        ]
        for variant in ("one_stage", "two_stage"):
            b = results[variant]["test"]["binary"]
            parts.append(
                f"| {variant} | {b['precision']:.3f} | {b['recall']:.3f} | "
                f"{b['f1']:.3f} | {b['auc'] or 0:.3f} |"
            )
    return "\n".join(parts) + "\n"


def default_run_dir(config_path: str | Path, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{Path(config_path).stem}-{stamp}-{os.getpid()}"
