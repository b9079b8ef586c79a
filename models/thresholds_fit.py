"""Per-category decision thresholds fitted to the moderators' decisions: the fast path.

Fine-tuning needs torch, minutes and a few hundred decisions; moving the thresholds needs none of
that. Given the model's probabilities on decided excerpts and the labels the moderators settled
on, `fit_thresholds` picks the threshold on P(toxic) that maximises toxic-vs-not F1, then one per
category (coordinate ascent) for the categories the model predicts often enough among the
decisions. numpy only, in seconds; the result goes into Settings.thresholds or --threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from models.classifier import decide
from models.errors import ModlensError

MIN_DECISIONS = 20  # fewer decided excerpts than this say nothing reliable about a threshold
MIN_CATEGORY_SUPPORT = 10  # a category's own threshold needs this many rows where it is top
GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


class FitError(ModlensError, ValueError):
    """Decisions that cannot be used to fit thresholds; the message says why."""


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class ThresholdFit:
    """Fitted thresholds and how the decisions were judged before and after."""

    threshold: float
    category_thresholds: dict[str, float]
    rows: int
    toxic_rows: int
    before: Scores
    after: Scores
    kept_default: tuple[str, ...] = field(default=())  # categories too rare for their own value

    def as_settings(self) -> dict[str, float]:
        """The thresholds as Settings.thresholds keeps them ("toxic" and per category)."""
        return {"toxic": self.threshold, **self.category_thresholds}

    def to_json(self) -> dict:
        return asdict(self)


def toxic_scores(truth: np.ndarray, predicted: np.ndarray) -> Scores:
    """Precision, recall and F1 of toxic-vs-not (boolean arrays)."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp = float(np.sum(truth & predicted))
    flagged, actual = float(np.sum(predicted)), float(np.sum(truth))
    precision = tp / flagged if flagged else 0.0
    recall = tp / actual if actual else 0.0
    f1 = 2 * tp / (flagged + actual) if flagged + actual else 0.0
    return Scores(round(precision, 4), round(recall, 4), round(f1, 4))


def binary_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Toxic-vs-not F1 of boolean arrays (0 when nothing is toxic or flagged)."""
    tp = float(np.sum(truth & predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 2 * tp / denominator if denominator else 0.0


def search_thresholds(
    probs: np.ndarray, truth: np.ndarray, min_support: int, grid: np.ndarray = GRID
) -> tuple[float, list[float], list[int]]:
    """The threshold on P(toxic) that maximises toxic-vs-not F1, then one per category by
    coordinate ascent (two rounds) for each category that is the top one on at least min_support
    rows. Returns (global, per-category limits, the categories too rare for their own: they keep
    the global one). Used by training's validation and by the fit to decisions alike."""
    p_toxic = 1.0 - probs[:, 0]
    best = float(max(grid, key=lambda t: binary_f1(truth, p_toxic >= t)))
    n_categories = probs.shape[1] - 1
    limits = [best] * n_categories
    top = np.argmax(probs[:, 1:], axis=1)
    rare = [c for c in range(n_categories) if np.sum(top == c) < min_support]
    for _ in range(2):
        for c in range(n_categories):
            if c in rare:
                continue

            def score(t: float, c: int = c) -> float:
                trial = [*limits[:c], float(t), *limits[c + 1 :]]
                return binary_f1(truth, decide(probs, best, trial) != 0)

            limits[c] = float(max(grid, key=score))
    return best, limits, rare


def fit_thresholds(
    probs: np.ndarray,
    labels: Sequence[str],
    categories: Sequence[str],
    current: float = 0.5,
    current_categories: dict[str, float] | None = None,
    min_support: int = MIN_CATEGORY_SUPPORT,
) -> ThresholdFit:
    """Thresholds that best separate the decisions' toxic from non-toxic excerpts.

    probs: the model's probabilities (rows: decided excerpts; columns: categories, non_toxic
    first); labels: each excerpt's decided label (a studio category the model does not know
    counts as toxic); current: the thresholds in use, for the before scores.
    """
    probs = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    if len(labels) != len(probs):
        raise ValueError(f"{len(probs)} rows of probabilities but {len(labels)} labels")
    if probs.shape[1] != len(categories):
        raise ValueError(f"{probs.shape[1]} columns of probabilities but {len(categories)} labels")
    truth = np.array([label != categories[0] for label in labels], dtype=bool)
    if len(truth) < MIN_DECISIONS:
        raise FitError(
            f"{len(truth)} decisions are too few to fit thresholds; decide at least "
            f"{MIN_DECISIONS} excerpts (both toxic and not)."
        )
    if truth.all() or not truth.any():
        kind = "toxic" if truth.all() else "not toxic"
        raise FitError(
            f"Every decision says {kind}: thresholds need decisions of both kinds "
            "(confirmed or missed excerpts and dismissed false positives)."
        )
    toxic = list(categories[1:])
    current_categories = current_categories or {}
    before_limits = [current_categories.get(c, current) for c in toxic]
    before = toxic_scores(truth, decide(probs, current, before_limits) != 0)

    best, limits, rare_index = search_thresholds(probs, truth, min_support)
    rare = [toxic[c] for c in rare_index]
    after = toxic_scores(truth, decide(probs, best, limits) != 0)
    return ThresholdFit(
        threshold=best,
        category_thresholds={
            c: limit for c, limit in zip(toxic, limits, strict=True) if c not in rare
        },
        rows=len(truth),
        toxic_rows=int(truth.sum()),
        before=before,
        after=after,
        kept_default=tuple(rare),
    )


def fit_classifier(classifier, rows: Sequence[tuple[str, str]]) -> ThresholdFit:
    """Fit thresholds for a models.classifier.Classifier to (text, decided label) rows."""
    texts = [text for text, _ in rows]
    probs = classifier.probabilities(texts)
    current = {c: classifier.threshold_for(c) for c in classifier.labels[1:]}
    return fit_thresholds(
        probs, [label for _, label in rows], classifier.labels, classifier.threshold, current
    )
