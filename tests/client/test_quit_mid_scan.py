"""Closing the app while a recording is being scanned: the process exits cleanly. Before, the
scan thread was still inside Whisper when Python shut down and the process died of a
segmentation fault (exit code 139) after the window closed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.voice_fixtures import layout, needs_espeak, speech, write_wav

HERE = Path(__file__).resolve().parent


@needs_espeak
def test_quitting_while_a_scan_runs_exits_cleanly(tmp_path):
    line = speech("Push mid, they only have two left. Good game everyone.")
    audio = layout(*((4.0 * i, line) for i in range(15)), length=62.0)
    recording = write_wav(tmp_path / "match.wav", audio)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "MODLENS_DATA_DIR": str(tmp_path / "data"),
        "MODLENS_CONFIG_DIR": str(tmp_path / "config"),
        "PYTHONPATH": str(HERE.parents[1]),
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "quit_mid_scan.py"), str(recording)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "main returned 0" in done.stdout
