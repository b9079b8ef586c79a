"""The Live screen with a stand-in microphone (sounddevice mocked) that plays espeak speech:
the level moves, the utterance appears when it ends, flagged lines are counted, and the session
is saved with its recording."""

from __future__ import annotations

import sys
import threading
import time
import types
from typing import ClassVar

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.client.conftest import screenshot
from tests.test_live import virtual_mic  # noqa: F401 - the PulseAudio microphone fixture
from tests.voice_fixtures import RUDE, layout, needs_espeak, speech, write_wav

pytestmark = [needs_espeak, pytest.mark.slow]


class FakeInputStream:
    """Plays prepared audio into the callback in 100 ms blocks, at twice real time."""

    audio = np.zeros(0, dtype=np.float32)
    opened: ClassVar[list[dict]] = []

    def __init__(self, samplerate, channels, dtype, device, blocksize, callback):
        self.block = blocksize
        self.callback = callback
        self.opened.append({"device": device, "samplerate": samplerate})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play, daemon=True)

    def _play(self):
        position = 0
        while not self._stop.is_set():
            block = self.audio[position : position + self.block]
            if len(block) < self.block:
                block = np.concatenate([block, np.zeros(self.block - len(block), np.float32)])
            position += self.block
            self.callback(block.reshape(-1, 1), self.block, None, None)
            time.sleep(self.block / 16000 / 2)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(2)

    def close(self):
        pass


@pytest.fixture
def fake_microphone(monkeypatch):
    module = types.ModuleType("sounddevice")
    module.InputStream = FakeInputStream
    module.query_devices = lambda: [
        {"name": "Virtual mic", "max_input_channels": 1},
        {"name": "Speakers", "max_input_channels": 0},
    ]
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    FakeInputStream.audio = layout((0.5, speech(RUDE)), length=4.0)
    FakeInputStream.opened = []
    return FakeInputStream


def test_a_live_utterance_appears_flagged_and_the_session_is_saved(
    qtbot, open_window, tiny_model_dir, fake_microphone
):
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = window.live_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.device.count() == 2, timeout=5_000)
    assert view.device.itemText(1).startswith("Virtual mic")
    view.device.setCurrentIndex(1)
    levels = []
    view.capture.level.connect(levels.append)

    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.start_button.text().endswith("Stop"), timeout=60_000)
    assert fake_microphone.opened[-1]["device"] == "Virtual mic"
    from client.settings import load_settings

    assert load_settings(window.settings_path)[0].input_device == "Virtual mic"
    qtbot.waitUntil(lambda: view.review.table.model.rowCount() > 0, timeout=60_000)
    assert max(levels) > 0.2
    assert view.level.value() > 0 or max(levels) > 0
    rows = view.review.table.model.excerpts()
    assert any("idiot" in e.text.lower() for e in rows), [e.text for e in rows]
    assert view.flagged.text() == f"{len(rows)} flagged"
    assert abs(rows[0].time - 0.5) < 1.0
    window.resize(1280, 800)
    screenshot(window, "live")

    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.start_button.text().endswith("listening"), timeout=60_000)
    session_id = view.review.session_id
    session = window.store.session(session_id)
    assert session.kind == "live"
    (track,) = window.store.tracks(session_id)
    assert track.status == "done" and track.duration > 1.0
    from models.audio import probe

    assert probe(track.path).duration == pytest.approx(track.duration, abs=0.2)
    assert [e.id for e in window.store.excerpts(session_id)] == [e.id for e in rows]
    # it is listed under Sessions and plays from there
    window.sessions_view.refresh_sessions(select=session_id)
    assert window.sessions_view.review.table.model.rowCount() == len(rows)


def test_starting_without_a_working_microphone_says_why(
    qtbot, open_window, tiny_model_dir, fake_microphone, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("No input device matching 'Virtual mic'")

    monkeypatch.setattr(fake_microphone, "__init__", broken)
    window = open_window(model_dir=str(tiny_model_dir))
    view = window.live_view
    window.tabs.setCurrentWidget(view)
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "could not start" in view.state.text(), timeout=60_000)
    assert "No input device" in view.state.text()
    assert view.start_button.isEnabled() and view.start_button.text().endswith("listening")


def test_the_live_screen_hears_a_real_microphone(
    qtbot,
    open_window,
    tiny_model_dir,
    tmp_path,
    virtual_mic,  # noqa: F811 - a fixture
):
    """Through PortAudio and a private PulseAudio daemon: nothing mocked below the window."""
    spoken = write_wav(tmp_path / "rude.wav", layout((0.3, speech(RUDE)), length=3.0))
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = window.live_view
    window.tabs.setCurrentWidget(view)
    view.refresh_devices()
    levels = []
    view.capture.level.connect(levels.append)
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.start_button.text().endswith("Stop"), timeout=60_000)
    virtual_mic(spoken)
    qtbot.waitUntil(lambda: view.review.table.model.rowCount() > 0, timeout=60_000)
    assert max(levels) > 0.2
    assert any("idiot" in e.text.lower() for e in view.review.table.model.excerpts())
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.start_button.text().endswith("listening"), timeout=60_000)
    (track,) = window.store.tracks(view.review.session_id)
    assert track.status == "done" and track.duration > 2.0
