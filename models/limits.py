"""Sane ranges for the options that size the work: CPU threads and Whisper's beam.

An out-of-range value is refused with a SettingError before any model loads: `--threads 100000`
used to hang while ONNX Runtime and CTranslate2 started a hundred thousand threads, and
`--beam-size 0` failed deep inside faster-whisper with a traceback.
"""

from __future__ import annotations

import os

from models.errors import SettingError

MAX_BEAM_SIZE = 16


def max_threads() -> int:
    """The most threads a model may use: twice this machine's CPU count, at least 4 (more
    threads than cores never made Whisper or the classifier faster here)."""
    return max(4, 2 * (os.cpu_count() or 1))


def check_threads(threads: int | None, what: str = "threads") -> int | None:
    """threads unchanged when it is None (the default) or between 1 and max_threads()."""
    if threads is None:
        return None
    top = max_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= top:
        raise SettingError(
            f"{what} must be a whole number from 1 to {top} (twice this machine's CPUs), "
            f"got {threads!r}."
        )
    return threads


def check_beam_size(beam_size: int) -> int:
    if isinstance(beam_size, bool) or not isinstance(beam_size, int):
        raise SettingError(f"the beam size must be a whole number, got {beam_size!r}.")
    if not 1 <= beam_size <= MAX_BEAM_SIZE:
        raise SettingError(
            f"the beam size must be from 1 (greedy, fastest) to {MAX_BEAM_SIZE}, got {beam_size}."
        )
    return beam_size
