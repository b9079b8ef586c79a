"""The Sessions screen: scan recordings in the background and review them; a bad file gets a
message and the queue goes on; unfinished files are offered again; the window stays responsive."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.client.conftest import needs_shipped_model, screenshot
from tests.client.stall_meter import StallMeter
from tests.voice_fixtures import CLEAN, RUDE, layout, needs_espeak, onset, speech, write_wav

pytestmark = [needs_espeak, pytest.mark.slow]
RUDE_AT = 6.0


@pytest.fixture(scope="module")
def match_wav(tmp_path_factory):
    """Nine seconds of a match: a clean line at 0.5 s, an insult at 6 s."""
    audio = layout((0.5, speech(CLEAN)), (RUDE_AT, speech(RUDE)), length=9.0)
    path = write_wav(tmp_path_factory.mktemp("audio") / "match.wav", audio)
    return path, RUDE_AT + onset(speech(RUDE))


def wait_for_queue(qtbot, window, timeout=120_000):
    qtbot.waitUntil(lambda: not window.queue.busy(), timeout=timeout)
    qtbot.wait(50)  # let the last done/failed signal reach the view


def test_a_scanned_recording_shows_its_excerpts_at_the_right_time(
    qtbot, open_window, tiny_model_dir, match_wav
):
    path, rude_onset = match_wav
    # threshold 0: every excerpt is flagged, so the random tiny model still marks the timeline
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = window.sessions_view
    # Whisper loads once after start-up (holding the GIL ~70 ms); the scan itself starts warm
    qtbot.waitUntil(window.queue.warmed.is_set, timeout=60_000)
    meter = StallMeter()
    meter.start()
    session_id = view.open_files([path])
    track_id = window.store.tracks(session_id)[0].id
    qtbot.waitUntil(lambda: view.queue_status(track_id)[0] != "queued", timeout=30_000)
    wait_for_queue(qtbot, window)
    worst = meter.stop()
    print(f"\nworst event-loop stall during the scan: {worst * 1000:.0f} ms")
    assert worst < 0.1, f"the window froze for {worst * 1000:.0f} ms during a scan"

    status, progress = view.queue_status(track_id)
    assert status.startswith("done") and progress == 1000
    excerpts = view.review.table.model.excerpts()
    rude = [e for e in excerpts if "idiot" in e.text.lower()]
    assert rude, [e.text for e in excerpts]
    assert abs(rude[0].time - rude_onset) < 1.0
    assert rude[0].speaker == "match"
    assert all(e.time < rude_onset - 1 for e in excerpts if "nice work" in e.text.lower())
    # the timeline marks every flagged excerpt at its time
    marks = {m.excerpt_id: m for m in view.timeline.marks}
    assert abs(marks[rude[0].id].start - rude[0].time) < 1e-6
    assert view.timeline.duration == pytest.approx(9.5, abs=0.6)

    # next flagged by keyboard, then play: playback starts a little before the excerpt
    view.review.table.view.setFocus()
    for _ in range(len(excerpts)):
        if view.review.table.current_excerpt() == rude[0]:
            break
        qtbot.keyClick(view.review.table.view, Qt.Key.Key_N)
    assert view.review.table.current_excerpt().id == rude[0].id
    assert view.timeline.selected == rude[0].id
    heard = []
    view.player.position_changed.connect(heard.append)
    qtbot.keyClick(view.review.table.view, Qt.Key.Key_Space)
    begin = max(0.0, rude[0].time - 1.5)
    assert view.player.playing_from == pytest.approx(begin)
    # QtMultimedia really plays the file from there (no sound card: the clock still runs)
    qtbot.waitUntil(lambda: len(heard) > 3, timeout=10_000)
    assert heard[0] == pytest.approx(begin, abs=0.25)
    assert heard[-1] > heard[0]
    assert view.timeline.position == heard[-1]
    view.player.stop()
    window.resize(1280, 800)
    screenshot(window, "sessions")


def test_a_corrupt_file_gets_a_message_and_the_queue_goes_on(
    qtbot, open_window, tiny_model_dir, match_wav, tmp_path
):
    good, _ = match_wav
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(256)) * 20)
    window = open_window(model_dir=str(tiny_model_dir))
    view = window.sessions_view
    messages = []
    view.status.connect(messages.append)
    session_id = view.open_files([corrupt, good])
    bad_track, good_track = (t.id for t in window.store.tracks(session_id))
    wait_for_queue(qtbot, window)
    status, _ = view.queue_status(bad_track)
    assert status.startswith("failed: ") and "corrupt.wav" in status
    assert any("corrupt.wav could not be scanned" in m for m in messages)
    assert view.queue_status(good_track)[0].startswith("done")
    assert window.store.track(bad_track).status == "failed"
    assert window.store.track(good_track).status == "done"
    assert view.review.table.model.rowCount() > 0
    assert "1 failed" in view.title.text()


def test_files_unfinished_at_close_are_offered_again(qtbot, open_window, tiny_model_dir, match_wav):
    from client.store import Store

    path, _ = match_wav
    window = open_window(model_dir=str(tiny_model_dir))
    db = window.store.path
    window.close()
    window.store.close()
    # as if the app had been killed mid-scan
    store = Store(db)
    session = store.create_session("files", "killed mid-scan")
    track = store.add_track(session.id, path)
    store.set_track_status(track.id, "scanning", progress=0.3)
    store.close()

    window = open_window(model_dir=str(tiny_model_dir))
    view = window.sessions_view
    assert view.banner.isVisible()
    assert "match.wav" in view.banner_text.text()
    qtbot.mouseClick(view.resume_button, Qt.MouseButton.LeftButton)
    assert not view.banner.isVisible()
    wait_for_queue(qtbot, window)
    assert window.store.track(track.id).status == "done"
    assert window.store.excerpts(session.id)


@needs_shipped_model
def test_the_shipped_model_flags_the_insult_in_the_recording(qtbot, open_window, match_wav):
    path, rude_onset = match_wav
    window = open_window()
    view = window.sessions_view
    view.open_files([path])
    wait_for_queue(qtbot, window)
    flagged = [e for e in view.review.table.model.excerpts() if e.toxic]
    assert flagged and all(abs(e.time - rude_onset) < 2.5 for e in flagged)
    assert flagged[0].label in ("insult", "profanity")
    view.review.table.next_flagged()
    screenshot(window, "sessions")
