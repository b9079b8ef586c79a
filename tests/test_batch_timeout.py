"""A file that takes longer than --file-timeout has its worker restarted and is tried again; after
three tries it is recorded as failed with the reason, and the batch ends (a local Ray)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.voice_fixtures import layout, needs_espeak, speech, write_wav

pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")

ROOT = Path(__file__).resolve().parents[1]


@needs_espeak
@pytest.mark.slow
def test_a_file_over_the_time_limit_is_retried_then_recorded(tmp_path, tiny_model_dir):
    source = tmp_path / "archive"
    source.mkdir()
    write_wav(source / "long.wav", layout((0.2, speech("Good game everyone, well played."))))
    out = tmp_path / "results"
    command = [sys.executable, "-m", "client.cli", "batch", str(source), "--out", str(out)]
    command += ["--whisper", "tiny.en", "--model", str(tiny_model_dir), "--local-cpus", "1"]
    command += ["--file-timeout", "0.01", "--color", "never"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": ""}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 1, done.stderr
    (record,) = [json.loads(p.read_text()) for p in (out / "files").glob("*.json")]
    assert record["status"] == "failed" and record["attempts"] == 3
    assert record["reason"] == "it took longer than 0.01 s to scan, 3 times"
    assert done.stderr.count("took longer than 0.01 s while scanning long.wav") == 2
