"""The project's own functional test suite for toxicity and identity mentions.

tests/data/functional_suite.csv holds sentences written for modlens (none from a published
suite), one row per case: the functionality it tests (a named group such as
``identity_negated_hate`` or ``masked_profanity``), the identity group it mentions (if any), the
expected outcome (``toxic`` or ``non_toxic``) and the text. Identity templates are filled in for
twelve groups, four of which (bisexual people, hindus, refugees, autistic people) are not in the
generated training data (training.augment), and no template is shared with it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1] / "tests" / "data" / "functional_suite.csv"
HARMLESS_IDENTITY = (
    "identity_positive",
    "identity_neutral",
    "identity_negated_hate",
    "identity_counter_speech",
)
HATEFUL = ("hate_direct", "hate_dehumanising", "hate_exclusion", "hate_threat")


@dataclass(frozen=True)
class Case:
    functionality: str
    group: str
    expected: str  # "toxic" or "non_toxic"
    text: str


@dataclass
class SuiteResult:
    per_functionality: dict[str, tuple[int, int]] = field(default_factory=dict)  # passed, total
    per_group: dict[str, tuple[int, int]] = field(default_factory=dict)
    failures: list[tuple[Case, float]] = field(default_factory=list)

    def rate(self, functionalities: tuple[str, ...]) -> float:
        passed = sum(self.per_functionality[f][0] for f in functionalities)
        total = sum(self.per_functionality[f][1] for f in functionalities)
        return passed / total if total else 0.0

    @property
    def harmless_identity_passed(self) -> float:
        return self.rate(HARMLESS_IDENTITY)

    @property
    def hateful_flagged(self) -> float:
        return self.rate(HATEFUL)

    def to_json(self) -> dict:
        return {
            "harmless_identity_passed": round(self.harmless_identity_passed, 4),
            "hateful_flagged": round(self.hateful_flagged, 4),
            "per_functionality": {
                k: {"passed": p, "total": t, "rate": round(p / t, 4)}
                for k, (p, t) in self.per_functionality.items()
            },
            "per_group": {
                k: {"passed": p, "total": t, "rate": round(p / t, 4)}
                for k, (p, t) in sorted(self.per_group.items())
            },
        }


def load_suite(path: Path = SUITE) -> list[Case]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [Case(**row) for row in csv.DictReader(handle)]


def score_suite(cases: list[Case], toxic: list[bool], scores: list[float]) -> SuiteResult:
    """Per-functionality and per-group pass counts for predictions in case order."""
    per_f: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_g: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    result = SuiteResult()
    for case, flagged, score in zip(cases, toxic, scores, strict=True):
        ok = flagged == (case.expected == "toxic")
        per_f[case.functionality][0] += ok
        per_f[case.functionality][1] += 1
        if case.group:
            per_g[case.group][0] += ok
            per_g[case.group][1] += 1
        if not ok:
            result.failures.append((case, score))
    result.per_functionality = {k: (v[0], v[1]) for k, v in per_f.items()}
    result.per_group = {k: (v[0], v[1]) for k, v in per_g.items()}
    return result


def run_suite(classifier, cases: list[Case] | None = None) -> SuiteResult:
    """Classify every case with a models.classifier.Classifier and score the suite."""
    cases = load_suite() if cases is None else cases
    verdicts = classifier.classify([c.text for c in cases])
    return score_suite(cases, [v.toxic for v in verdicts], [v.score for v in verdicts])
