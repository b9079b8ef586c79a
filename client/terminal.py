"""Coloured, width-aware table cells for the command line (never colour alone: labels are text).

Players write every byte of chat, every spoken word and every file name, so everything printed to
a terminal goes through :func:`clean` first: escape sequences (which can move the cursor, erase a
line, retitle the window or hide a link), other control characters and bidirectional overrides
are removed or shown as visible placeholders. ``--json`` output is JSON and escapes them itself.
"""

from __future__ import annotations

import argparse
import os
import re
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


# ESC [ ... final (CSI) and its 8-bit form; ESC ] / P / X / ^ / _ ... BEL or ST (OSC, DCS, SOS,
# PM, APC); any other ESC with its intermediate and final bytes. An unterminated string sequence
# loses only its introducer, so it cannot hide the rest of the line.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]?"
)
_SPACE = re.compile(r"[\t\n\r\v\f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# bidirectional embeddings, overrides and isolates: they can make a line read backwards
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)


def clean(text: object) -> str:
    """text safe to print on a terminal: no escape sequence, control or bidi-override character.

    Escape sequences are dropped whole; tabs and line breaks become spaces; any other C0 or C1
    control character becomes U+FFFD, so something visibly was there.
    """
    shown = _ESCAPE.sub("", str(text)).translate(_BIDI)
    return _CONTROL.sub("\ufffd", _SPACE.sub(" ", shown))


def paint(text: str, colour: str, on: bool) -> str:
    return f"{ANSI[colour]}{text}{ANSI['reset']}" if on else text


def fit(text: str, room: int) -> str:
    """Cleaned of control characters, whitespace collapsed, cut with an ellipsis to room."""
    shown = " ".join(clean(text).split())
    return shown if len(shown) <= room else shown[: room - 1] + "…"


def verdict_cells(label: str, toxic: bool, text: str, room: int, colour: bool) -> tuple[str, str]:
    """The label cell (15 wide) and the text cell, coloured by category when flagged."""
    cell = f"{clean(label).replace('_', ' '):<15}"
    shown = fit(text, room)
    if toxic:
        return paint(cell, CATEGORY_COLOUR.get(label, "red"), colour), paint(shown, "bold", colour)
    return paint(cell, "green", colour), shown


def thread_count(value: str) -> int:
    """argparse type for --threads: a whole number from 1 to this machine's CPU count."""
    from models.errors import SettingError
    from models.limits import check_threads, max_threads

    try:
        return check_threads(int(value))  # type: ignore[return-value]
    except (ValueError, SettingError) as exc:
        raise argparse.ArgumentTypeError(
            f"{clean(value)!r} is not a thread count: use 1 to {max_threads()} "
            "(twice this machine's CPUs)"
        ) from exc


def beam_size(value: str) -> int:
    """argparse type for --beam-size: 1 (greedy) to models.limits.MAX_BEAM_SIZE."""
    from models.errors import SettingError
    from models.limits import MAX_BEAM_SIZE, check_beam_size

    try:
        return check_beam_size(int(value))
    except (ValueError, SettingError) as exc:
        raise argparse.ArgumentTypeError(
            f"{clean(value)!r} is not a beam size: use 1 (greedy, fastest) to {MAX_BEAM_SIZE}"
        ) from exc


def say(message: object, stream: TextIO | None = None) -> None:
    """One line for the user on standard error, "modlens: " first, cleaned of control codes."""
    print(f"modlens: {clean(message)}", file=stream or sys.stderr)
