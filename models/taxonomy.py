"""The moderation categories: a model's label list, with display names and colours."""

from __future__ import annotations

from dataclasses import dataclass

NON_TOXIC = "non_toxic"

DEFAULT_CATEGORIES: tuple[str, ...] = (
    NON_TOXIC,
    "profanity",
    "insult",
    "identity_hate",
    "threat",
)

# Colour per category for highlights; the category's name is always shown beside it.
_COLOURS = {
    NON_TOXIC: "#9e9e9e",
    "profanity": "#f9a825",
    "insult": "#ef6c00",
    "identity_hate": "#c62828",
    "threat": "#6a1b9a",
    "sexual_harassment": "#ad1457",
}
_FALLBACK_COLOURS = ("#00838f", "#2e7d32", "#4527a0", "#5d4037", "#1565c0")


@dataclass(frozen=True)
class Taxonomy:
    """An ordered label list whose first entry is the non-toxic class."""

    labels: tuple[str, ...] = DEFAULT_CATEGORIES

    def __post_init__(self) -> None:
        if not self.labels or self.labels[0] != NON_TOXIC:
            raise ValueError(f"the first label must be {NON_TOXIC!r}, got {list(self.labels)}")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"duplicate labels in {list(self.labels)}")
        if len(self.labels) < 2:
            raise ValueError("a taxonomy needs at least one toxic category")

    @property
    def toxic(self) -> tuple[str, ...]:
        return self.labels[1:]

    def index(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise KeyError(f"unknown category {label!r}; known: {', '.join(self.labels)}") from None

    def colour(self, label: str) -> str:
        if label in _COLOURS:
            return _COLOURS[label]
        return _FALLBACK_COLOURS[self.index(label) % len(_FALLBACK_COLOURS)]

    @staticmethod
    def display_name(label: str) -> str:
        return label.replace("_", " ")
