"""Coloured, width-aware table cells for the command line (never colour alone: labels are text)."""

from __future__ import annotations

import os
import sys
from typing import TextIO

ANSI = {
    "red": "\033[31m",
    "yellow": "\033[33m",
    "magenta": "\033[35m",
    "green": "\033[32m",
    "dim": "\033[2m",
    "bold": "\033[1m",
    "reset": "\033[0m",
}
CATEGORY_COLOUR = {
    "profanity": "yellow",
    "insult": "red",
    "identity_hate": "magenta",
    "threat": "magenta",
    "sexual_harassment": "magenta",
}


def use_colour(choice: str, stream: TextIO | None = None) -> bool:
    """`always`, `never`, or `auto`: colour only on a terminal and when NO_COLOR is unset."""
    if choice != "auto":
        return choice == "always"
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ


def paint(text: str, colour: str, on: bool) -> str:
    return f"{ANSI[colour]}{text}{ANSI['reset']}" if on else text


def fit(text: str, room: int) -> str:
    """Whitespace collapsed, cut with an ellipsis to at most room characters."""
    shown = " ".join(text.split())
    return shown if len(shown) <= room else shown[: room - 1] + "…"


def verdict_cells(label: str, toxic: bool, text: str, room: int, colour: bool) -> tuple[str, str]:
    """The label cell (15 wide) and the text cell, coloured by category when flagged."""
    cell = f"{label.replace('_', ' '):<15}"
    shown = fit(text, room)
    if toxic:
        return paint(cell, CATEGORY_COLOUR.get(label, "red"), colour), paint(shown, "bold", colour)
    return paint(cell, "green", colour), shown
