"""What the window says about an excerpt: the label that counts, its probability, its review
state, and times, in one place so every screen says the same thing. No Qt here.
"""

from __future__ import annotations

import html
import math
from enum import StrEnum

from client.store import Decision, StoredExcerpt
from models.classifier import METHOD_NOT_CHECKED, METHOD_WORD_LIST
from models.taxonomy import NON_TOXIC, Taxonomy

NON_TOXIC_NAME = "non-toxic"  # the one name the window uses for the clean label


class ReviewState(StrEnum):
    """Where an excerpt stands in the review."""

    UNREVIEWED = "unreviewed"
    CONFIRMED = "confirmed"  # the moderator agrees with the model
    DISMISSED = "dismissed"  # a false positive: not toxic
    RELABELED = "relabeled"  # toxic, but another category
    MISSED = "missed"  # the model passed it; the moderator flagged it


STATE_NAMES = {
    ReviewState.UNREVIEWED: "unreviewed",
    ReviewState.CONFIRMED: "confirmed",
    ReviewState.DISMISSED: "false positive",
    ReviewState.RELABELED: "relabeled",
    ReviewState.MISSED: "missed by the model",
}


def label_name(label: str) -> str:
    """The name of a label on screen: "non-toxic" for the clean class, else the category."""
    return NON_TOXIC_NAME if label == NON_TOXIC else Taxonomy.display_name(label)


def effective_label(excerpt: StoredExcerpt, decision: Decision | None) -> str:
    """The label that counts: the moderator's decision when there is one, else the model's."""
    return decision.label if decision is not None else excerpt.label


def is_flagged(excerpt: StoredExcerpt, decision: Decision | None) -> bool:
    """Toxic by the label that counts."""
    return effective_label(excerpt, decision) != NON_TOXIC


def model_flagged(excerpt: StoredExcerpt) -> bool:
    """Flagged by the model, whatever the moderator decided since."""
    return excerpt.label != NON_TOXIC


def label_probability(excerpt: StoredExcerpt, label: str) -> float:
    """The model's probability of one label for this excerpt (0..1)."""
    if label in excerpt.scores:
        return float(excerpt.scores[label])
    if label == NON_TOXIC:
        return 1.0 - excerpt.score
    return excerpt.score if label == excerpt.label else 0.0


def shown_probability(excerpt: StoredExcerpt, decision: Decision | None) -> float:
    """The model's probability of the label on screen: what the Confidence column shows."""
    return label_probability(excerpt, effective_label(excerpt, decision))


def list_decided(excerpt: StoredExcerpt, decision: Decision | None) -> bool:
    """Whether a studio word list decided the label on screen: it has no model probability."""
    return (
        excerpt.method == METHOD_WORD_LIST and effective_label(excerpt, decision) == excerpt.label
    )


def shown_confidence(excerpt: StoredExcerpt, decision: Decision | None) -> str:
    """The Confidence column's text: the model's probability of the label on screen, or
    "word list" where a list decided that label (its score is no model's probability)."""
    if list_decided(excerpt, decision):
        return "word list"
    return format_percent(shown_probability(excerpt, decision))


def review_state(excerpt: StoredExcerpt, decision: Decision | None) -> ReviewState:
    """Where the excerpt stands: the store's "missed" action, or a relabel of an excerpt the
    model passed (decisions made before that action existed), is MISSED; a clean line kept
    clean is CONFIRMED, a flagged one made clean DISMISSED."""
    if decision is None:
        return ReviewState.UNREVIEWED
    if decision.label == NON_TOXIC:
        return ReviewState.DISMISSED if model_flagged(excerpt) else ReviewState.CONFIRMED
    if decision.action == "missed" or not model_flagged(excerpt):
        return ReviewState.MISSED  # flagged by the moderator where the model saw nothing
    if decision.label == excerpt.label:
        return ReviewState.CONFIRMED
    return ReviewState.RELABELED


def describe_state(excerpt: StoredExcerpt, decision: Decision | None) -> str:
    """The Decision column: "" while unreviewed, else the state and, when it changed, the label."""
    state = review_state(excerpt, decision)
    if decision is None:
        return ""
    name = STATE_NAMES[state]
    if state in (ReviewState.RELABELED, ReviewState.MISSED):
        name += f" → {label_name(decision.label)}"
    return name


def describe_method(excerpt: StoredExcerpt) -> str:
    """How the verdict was reached, when not by a model: "decided by the studio word list: block
    · insult · 'camper'" or "not checked (language: pt)"; "" for a model's verdict (and for one
    kept before the method was)."""
    return method_text(excerpt.method, excerpt.label, excerpt.language, excerpt.entry)


def method_text(method: str | None, label: str, language: str | None, entry: str | None) -> str:
    """describe_method for a verdict's parts (entry as models.wordlists names it: "block: x")."""
    if method == METHOD_WORD_LIST:
        kind, _, word = (entry or "").partition(": ")
        parts = [kind.strip(), label_name(label), f"'{word.strip()}'" if word.strip() else ""]
        return "decided by the studio word list: " + " · ".join(p for p in parts if p)
    if method == METHOD_NOT_CHECKED:
        return f"not checked (language: {language or 'unknown'})"
    return ""


def format_percent(probability: float) -> str:
    return f"{probability:.0%}"


def format_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = max(0.0, float(seconds))
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    tenths = int((seconds - int(seconds)) * 10)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}.{tenths}"


def plain_html(text: str) -> str:
    """Rich text that shows text exactly as it is, for tooltips and message boxes: Qt renders
    anything tag-like in them as HTML otherwise."""
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


plain_tooltip = plain_html  # the same, under the name tooltips use
