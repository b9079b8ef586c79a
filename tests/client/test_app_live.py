"""The Live screen with a stand-in microphone (tests/fake_microphone.py) that plays espeak speech:
the level moves, the utterance appears when it ends, flagged lines are counted, and the session
is saved with its recording."""

from __future__ import annotations

import errno
import os
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.client.conftest import screenshot
from tests.fake_microphone import install
from tests.test_live import virtual_mic  # noqa: F401 - the PulseAudio microphone fixture
from tests.voice_fixtures import RUDE, layout, needs_espeak, speech, write_wav

pytestmark = [needs_espeak, pytest.mark.slow]


@pytest.fixture
def fake_microphone(monkeypatch):
    return install(monkeypatch, layout((0.5, speech(RUDE)), length=4.0))


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
    # the failed start left no session behind (nothing to delete by hand), and no recording
    assert window.store.sessions() == []
    assert view.review.session_id is None and view.review.table.model.rowCount() == 0
    recordings = window.live_view.capture.recording_folder()
    assert not recordings.exists() or not list(recordings.iterdir())


def test_without_any_microphone_the_live_screen_says_so_plainly(
    qtbot, open_window, tiny_model_dir, monkeypatch
):
    from tests.fake_microphone import FakeInputStream

    install(
        monkeypatch,
        np.zeros(16000, np.float32),
        devices=[{"name": "HDMI", "max_input_channels": 0}],
    )

    class PortAudioError(Exception):  # what sounddevice raises without an input device
        pass

    def no_device(self, *args, **kwargs):
        raise PortAudioError("Error querying device -1")

    monkeypatch.setattr(FakeInputStream, "__init__", no_device)
    window = open_window(model_dir=str(tiny_model_dir))
    view = window.live_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.device.count() == 1 and "No microphone" in view.state.text())
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "could not start" in view.state.text(), timeout=60_000)
    said = view.state.text()
    assert "cannot open the system's default microphone: Error querying device -1" in said
    assert "No microphone was found" in said
    for jargon in ("LiveError", "PortAudioError", "None", "Traceback"):
        assert jargon not in said
    assert window.store.sessions() == []


def test_the_level_meter_is_fed_from_the_capture_thread_not_portaudios(
    qtbot, open_window, tiny_model_dir, fake_microphone
):
    window = open_window(model_dir=str(tiny_model_dir))
    view = window.live_view
    window.tabs.setCurrentWidget(view)
    emitted_on = set()
    view.capture.level.connect(
        lambda _level: emitted_on.add(threading.current_thread().name),
        Qt.ConnectionType.DirectConnection,  # runs on the emitting thread
    )
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.start_button.text().endswith("Stop"), timeout=60_000)
    qtbot.waitUntil(lambda: view.level.value() > 20, timeout=20_000)  # the meter moved
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.start_button.text().endswith("listening"), timeout=60_000)
    assert fake_microphone.callback_threads == {"fake-portaudio"}
    assert emitted_on and "fake-portaudio" not in emitted_on, emitted_on


def test_a_full_disk_stops_live_capture_with_a_message_and_keeps_the_recording(
    qtbot, open_window, tiny_model_dir, fake_microphone, monkeypatch
):
    from models import live
    from models.audio import probe

    room = 44 + 2 * 16000  # one second of audio

    class FullDisk:
        def __init__(self, handle) -> None:
            self._handle = handle

        def write(self, data: bytes) -> int:
            if self._handle.tell() + len(data) > room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self._handle.write(data)

        def __getattr__(self, name):
            return getattr(self._handle, name)

    class SmallDiskWriter(live.WavWriter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._file = FullDisk(self._file)

    monkeypatch.setattr(live, "WavWriter", SmallDiskWriter)
    window = open_window(model_dir=str(tiny_model_dir))
    view = window.live_view
    window.tabs.setCurrentWidget(view)
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "disk is full" in view.state.text(), timeout=60_000)
    assert "capture stopped" in view.state.text() and "kept" in view.state.text()
    # it stops by itself, as if Stop had been pressed
    qtbot.waitUntil(lambda: view.start_button.text().endswith("listening"), timeout=60_000)
    assert view.start_button.isEnabled()
    assert "disk is full" in view.state.text() and "Saved under Sessions" in view.state.text()
    (track,) = window.store.tracks(view.review.session_id)
    assert track.status == "done" and "disk is full" in track.error
    assert track.duration == pytest.approx(1.0, abs=0.01)
    assert probe(track.path).duration == pytest.approx(1.0, abs=0.01)


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
