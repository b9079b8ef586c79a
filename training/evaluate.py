"""Metrics for a classifier's probabilities: toxic-vs-not and per category.

Decision thresholds are picked on validation data, then applied unchanged to test data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

from models.classifier import decide
from models.thresholds_fit import GRID, search_thresholds
from models.thresholds_fit import binary_f1 as binary_f1


def _auc(truth: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(truth, score)) if 0 < truth.sum() < len(truth) else None


def pick_thresholds(
    probs: np.ndarray,
    labels: np.ndarray,
    min_support: int = 30,
    grid: np.ndarray | None = None,
) -> tuple[float, list[float]]:
    """Thresholds on P(toxic) that maximise toxic-vs-not F1 on validation data.

    First one global threshold, then a per-category one by coordinate ascent (two rounds), for each
    category predicted on at least min_support validation rows; the others keep the global one.
    """
    best, limits, _ = search_thresholds(
        probs, labels != 0, min_support, GRID if grid is None else grid
    )
    return best, limits


def evaluate(
    probs: np.ndarray,
    labels: np.ndarray,
    categories: tuple[str, ...],
    threshold: float,
    category_thresholds: list[float],
) -> dict[str, Any]:
    """Binary and per-category precision, recall, F1, ROC AUC, macro averages, confusion matrix."""
    predicted = decide(probs, threshold, category_thresholds)
    truth_toxic = labels != 0
    pred_toxic = predicted != 0
    p, r, f, _ = precision_recall_fscore_support(
        truth_toxic, pred_toxic, average="binary", zero_division=0
    )
    # macro-F1 over the two classes, as OffensEval/TweetEval report it
    _, _, f_both, _ = precision_recall_fscore_support(
        truth_toxic, pred_toxic, average="macro", zero_division=0
    )
    result: dict[str, Any] = {
        "rows": len(labels),
        "binary": {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "macro_f1": float(f_both),
            "auc": _auc(truth_toxic, 1.0 - probs[:, 0]),
            "support_toxic": int(truth_toxic.sum()),
        },
        "categories": {},
    }
    indices = list(range(len(categories)))
    ps, rs, fs, ss = precision_recall_fscore_support(
        labels, predicted, labels=indices, zero_division=0
    )
    for i, name in enumerate(categories):
        result["categories"][name] = {
            "precision": float(ps[i]),
            "recall": float(rs[i]),
            "f1": float(fs[i]),
            "auc": _auc(labels == i, probs[:, i]),
            "support": int(ss[i]),
        }
    present = [c for c in categories[1:] if result["categories"][c]["support"] > 0]
    macro = {
        k: float(np.mean([result["categories"][c][k] for c in present])) if present else 0.0
        for k in ("precision", "recall", "f1")
    }
    aucs = [
        result["categories"][c]["auc"]
        for c in present
        if result["categories"][c]["auc"] is not None
    ]
    macro["auc"] = float(np.mean(aucs)) if aucs else None
    result["macro_toxic_categories"] = macro
    result["accuracy"] = float(np.mean(predicted == labels)) if len(labels) else 0.0
    result["confusion"] = {
        "labels": list(categories),
        "matrix": confusion_matrix(labels, predicted, labels=indices).tolist(),
    }
    return result


def format_report(name: str, metrics: dict[str, Any]) -> str:
    """A Markdown table block for one evaluation."""
    b = metrics["binary"]
    auc = "n/a" if b["auc"] is None else f"{b['auc']:.3f}"
    lines = [
        f"### {name} ({metrics['rows']} rows, {b['support_toxic']} toxic)",
        "",
        "| | precision | recall | F1 | AUC | support |",
        "|---|---|---|---|---|---|",
        f"| **toxic vs not** | {b['precision']:.3f} | {b['recall']:.3f} | {b['f1']:.3f} | "
        f"{auc} | {b['support_toxic']} |",
    ]
    for cat, m in metrics["categories"].items():
        c_auc = "n/a" if m["auc"] is None else f"{m['auc']:.3f}"
        lines.append(
            f"| {cat} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
            f"{c_auc} | {m['support']} |"
        )
    macro = metrics["macro_toxic_categories"]
    m_auc = "n/a" if macro["auc"] is None else f"{macro['auc']:.3f}"
    lines.append(
        f"| macro (toxic categories) | {macro['precision']:.3f} | {macro['recall']:.3f} "
        f"| {macro['f1']:.3f} | {m_auc} | |"
    )
    lines += [
        "",
        f"Binary macro-F1 (both classes): {b['macro_f1']:.3f}; "
        f"accuracy over all categories: {metrics['accuracy']:.3f}",
        "",
    ]
    labels = metrics["confusion"]["labels"]
    lines += [
        "Confusion (rows true, columns predicted):",
        "",
        "| | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    for label, row in zip(labels, metrics["confusion"]["matrix"], strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
