"""Killing the app mid-scan loses no finished file and no decision, and the file that was being
scanned is offered again on the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.voice_fixtures import CLEAN, RUDE, layout, needs_espeak, speech, write_wav

pytestmark = [needs_espeak, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_a_kill_mid_scan_keeps_finished_work_and_offers_the_rest_again(
    qtbot, tiny_model_dir, app_dirs
):
    from client.store import Store

    first = write_wav(app_dirs / "first.wav", layout((0.3, speech(RUDE)), length=3.0))
    parts = [(i * 4.0, speech(CLEAN if i % 2 else RUDE)) for i in range(30)]
    second = write_wav(app_dirs / "second.wav", layout(*parts))
    data = app_dirs / "child"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.client.scan_child",
            str(data),
            str(tiny_model_dir),
            str(first),
            str(second),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("{"), "the child app stopped before scanning the first file"
        time.sleep(0.3)  # well into the second file
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    said = json.loads(line)

    store = Store(data / "db.sqlite3")
    done = store.track(said["first"])
    assert done.status == "done"
    assert store.excerpts(done.session_id)
    (unfinished,) = store.unfinished_tracks()
    assert unfinished.path == str(second)
    decision = store.current_decisions()[said["excerpt"]]
    assert (decision.label, decision.note, decision.moderator) == (
        "threat",
        "kept after a kill",
        "ana",
    )
    store.close()

    # the next start offers the cut-off file again
    settings = app_dirs / "config" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"model_dir": str(tiny_model_dir)}), "utf-8")
    from client.app import create_window

    window = create_window(data / "db.sqlite3", settings)
    qtbot.addWidget(window)
    window.show()
    view = window.sessions_view
    assert view.banner.isVisible() and "second.wav" in view.banner_text.text()
    qtbot.mouseClick(view.resume_button, Qt.MouseButton.LeftButton)
    assert view.queue_status(unfinished.id)[0] in ("queued", "scanning")
    window.queue.shutdown(100)
    window.store.close()


def test_a_file_that_crashed_the_scan_twice_is_not_offered_again(qtbot, tiny_model_dir, app_dirs):
    """A decoder that segfaults takes the app down with it: after the second time the file is
    marked failed at start-up, with the reason, instead of being offered (and crashing) again."""
    from client.app import create_window
    from client.store import Store

    db = app_dirs / "data" / "modlens.sqlite3"
    store = Store(db)
    session = store.create_session("files", "match")
    bad = store.add_track(session.id, app_dirs / "crashes-the-decoder.mkv")
    store.close()
    crash = (
        "import os, signal\nfrom client.store import Store\n"
        f"Store({str(db)!r}).claim_track({bad.id})\n"
        "os.kill(os.getpid(), signal.SIGSEGV)\n"  # the scan's decoder crashes the process
    )
    settings = app_dirs / "config" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"model_dir": str(tiny_model_dir)}), "utf-8")

    def crash_once() -> None:
        done = subprocess.run([sys.executable, "-c", crash], cwd=ROOT, capture_output=True)
        assert done.returncode == -signal.SIGSEGV

    crash_once()
    window = create_window(db, settings, load_model=False)  # after one crash: offered again
    qtbot.addWidget(window)
    view = window.sessions_view
    assert "crashes-the-decoder.mkv" in view.banner_text.text()
    window.queue.shutdown(100)
    window.store.close()
    window.close()

    crash_once()
    window = create_window(db, settings, load_model=False)  # after the second: not again
    qtbot.addWidget(window)
    window.show()
    view = window.sessions_view
    assert view.banner.isHidden()
    track = window.store.track(bad.id)
    assert (track.status, track.error) == ("failed", "the scan crashed 2 times; not retried")
    assert "crashes-the-decoder.mkv" in window.statusBar().currentMessage()
    assert "crashed twice; not retried" in window.statusBar().currentMessage()
    window.queue.shutdown(100)
    window.store.close()
