"""Knowledge distillation: a bigger encoder teaches the one that ships.

The teacher (all-mpnet-base-v2, 110M parameters: too slow to ship at 1,000 excerpts/s on two
cores) is fine-tuned on the same rows first; its logits on every training text are kept in the
run folder, keyed by the text's hash and stamped with a digest of the rows, labels and teacher
settings. So the teacher can be trained where a GPU is and the student anywhere: a run folder
whose teacher/logits.npz matches is not trained again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.config import TrainConfig

LOGITS_FILE = "logits.npz"
METRICS_FILE = "metrics.json"


def distillation_loss(
    student_logits: torch.Tensor,
    labels: torch.Tensor,
    class_weights: torch.Tensor,
    teacher_logits: torch.Tensor | None = None,
    weight: float = 0.0,
    temperature: float = 2.0,
) -> torch.Tensor:
    """Weighted cross-entropy on the labels, blended with the KL divergence from the teacher's
    distribution at temperature T (scaled by T^2 so its gradients keep their size)."""
    student_logits = student_logits.float()
    hard = torch.nn.functional.cross_entropy(
        student_logits, labels, weight=class_weights.to(student_logits.device)
    )
    if teacher_logits is None or weight <= 0:
        return hard
    t = temperature
    soft = torch.nn.functional.kl_div(
        torch.log_softmax(student_logits / t, dim=-1),
        torch.log_softmax(teacher_logits.float().to(student_logits.device) / t, dim=-1),
        log_target=True,
        reduction="batchmean",
    ) * (t * t)
    return (1.0 - weight) * hard + weight * soft


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32].encode("ascii")


def teacher_digest(config: TrainConfig, texts: list[str], labels: list[int]) -> str:
    """What the teacher's logits depend on: rows, labels and the teacher's settings (not where
    the data or the teacher's weights lie, so a GPU machine's teacher serves a laptop's run)."""
    settings = {
        k: getattr(config, k)
        for k in (
            "teacher",
            "teacher_learning_rate",
            "categories",
            "epochs",
            "batch_size",
            "weight_decay",
            "warmup_ratio",
            "max_length",
            "class_weight_power",
            "training_seed",
        )
    }
    blob = json.dumps([texts, labels, settings], default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class TeacherLogits:
    digest: str
    index: dict[bytes, int]
    logits: np.ndarray
    metrics: dict[str, Any]

    def aligned(self, texts: list[str]) -> np.ndarray:
        """The teacher's logits for texts, in their order."""
        try:
            rows = [self.index[text_key(t)] for t in texts]
        except KeyError:
            raise ValueError("the teacher's logits lack a training text; train it again") from None
        return self.logits[rows]


def save_teacher_logits(
    folder: Path, texts: list[str], logits: np.ndarray, digest: str, metrics: dict[str, Any]
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    keys = np.array([text_key(t) for t in texts], dtype="S32")
    tmp = folder / ("." + LOGITS_FILE)
    with open(tmp, "wb") as handle:
        np.savez_compressed(handle, keys=keys, logits=logits.astype(np.float32))
    tmp.replace(folder / LOGITS_FILE)
    (folder / METRICS_FILE).write_text(json.dumps({"digest": digest, **metrics}, indent=2))


def load_teacher_logits(folder: Path, digest: str) -> TeacherLogits | None:
    """The saved logits if they were made from these very rows and settings, else None."""
    try:
        metrics = json.loads((folder / METRICS_FILE).read_text())
        if metrics.pop("digest", None) != digest:
            return None
        with np.load(folder / LOGITS_FILE, allow_pickle=False) as saved:
            keys, logits = saved["keys"], saved["logits"]
    except (OSError, ValueError, KeyError):
        return None
    index = {bytes(k): i for i, k in enumerate(keys)}
    return TeacherLogits(digest, index, logits, metrics)
