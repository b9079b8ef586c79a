"""The Sessions screen: scan recordings in the background and review them; a bad file gets a
message and the queue goes on; unfinished files are offered again; the window stays responsive."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.client.conftest import needs_shipped_model, screenshot
from tests.client.stall_meter import StallMeter
from tests.client.test_app_live import fake_microphone  # noqa: F401 - a fixture
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
    # as if the app had been killed mid-scan (the scan is claimed by a process that is gone)
    from tests.client.test_store import in_a_process_that_died

    store = Store(db)
    session = store.create_session("files", "killed mid-scan")
    track = store.add_track(session.id, path)
    store.close()
    in_a_process_that_died(db, f"store.claim_track({track.id}); store.heartbeat({track.id}, 0.3)")

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


def test_two_scanned_speakers_are_interleaved_in_time_with_a_lane_each(
    qtbot, open_window, tiny_model_dir, tmp_path
):
    anna = write_wav(
        tmp_path / "anna.wav", layout((0.5, speech(CLEAN)), (6.0, speech(RUDE)), length=9.0)
    )
    bo = write_wav(tmp_path / "bo.wav", layout((3.0, speech(RUDE)), length=9.0))
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = window.sessions_view
    view.open_files([anna, bo])
    wait_for_queue(qtbot, window)
    rows = view.review.table.model.excerpts()
    assert {e.speaker for e in rows} == {"anna", "bo"}
    times = [e.time for e in rows]
    assert times == sorted(times), [(e.speaker, e.time) for e in rows]
    speakers = [e.speaker for e in rows]
    first_bo = speakers.index("bo")
    assert "anna" in speakers[first_bo:]  # bo's line at 3 s sits between anna's lines
    assert view.timeline.lanes == ["anna", "bo"]
    assert {m.lane for m in view.timeline.marks} == {"anna", "bo"}


def test_a_scan_can_be_cancelled_and_a_failed_file_retried(
    qtbot, open_window, tiny_model_dir, tmp_path
):
    long = write_wav(
        tmp_path / "long.wav", layout(*((4.0 * i, speech(RUDE)) for i in range(10)), length=42.0)
    )
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(256)) * 20)
    window = open_window(model_dir=str(tiny_model_dir))
    view = window.sessions_view
    qtbot.waitUntil(window.queue.warmed.is_set, timeout=60_000)
    session_id = view.open_files([long, broken])
    long_track, broken_track = (t.id for t in window.store.tracks(session_id))

    # cancel the running scan: the queue goes on with the next file
    qtbot.waitUntil(lambda: window.queue.current == long_track, timeout=30_000)
    assert view.select_queue_row(long_track)
    assert view.cancel_button.isEnabled() and not view.retry_button.isEnabled()
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    assert view.queue_status(long_track)[0] == "cancelled"
    wait_for_queue(qtbot, window, timeout=30_000)
    track = window.store.track(long_track)
    assert (track.status, track.error) == ("failed", "cancelled by the moderator")
    assert window.store.excerpts(session_id) == []
    assert view.queue_status(long_track)[0] == "cancelled"  # not overwritten by late signals
    assert view.queue_status(broken_track)[0].startswith("failed: ")
    assert view.retry_failed_button.isVisible()

    # the moderator fixes the broken file and scans it again
    write_wav(broken, layout((0.5, speech(CLEAN)), length=3.0))
    assert view.select_queue_row(broken_track)
    assert view.retry_button.isEnabled()
    qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)
    wait_for_queue(qtbot, window)
    assert window.store.track(broken_track).status == "done"
    assert view.queue_status(broken_track)[0].startswith("done")
    assert view.review.table.model.rowCount() > 0

    # a queued file can be cancelled too: re-opening the cancelled file queues it again in its
    # own session (no second session), behind a file that is scanning
    sessions = len(window.store.sessions())
    other = view.open_files([write_wav(tmp_path / "other.wav", layout((0.5, speech(RUDE))))])
    assert view.open_files([long]) == session_id
    assert len(window.store.sessions()) == sessions + 1
    assert window.queue.pending()[-1] == long_track
    assert view.select_queue_row(long_track)
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    assert long_track not in window.queue.pending()
    wait_for_queue(qtbot, window)
    assert window.store.track(long_track).status == "failed"
    assert window.store.tracks(other)[0].status == "done"


def test_a_saved_live_session_is_listed_at_once(
    qtbot,
    open_window,
    tiny_model_dir,
    fake_microphone,  # noqa: F811 - a fixture
):
    window = open_window(model_dir=str(tiny_model_dir))
    live = window.live_view
    window.tabs.setCurrentWidget(live)
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.start_button.text().endswith("Stop"), timeout=60_000)
    qtbot.waitUntil(lambda: live.review.table.model.rowCount() > 0, timeout=60_000)
    qtbot.mouseClick(live.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.start_button.text().endswith("listening"), timeout=60_000)
    session_id = live.review.session_id
    listed = window.sessions_view.session_list
    ids = [listed.item(row).data(Qt.ItemDataRole.UserRole) for row in range(listed.count())]
    assert session_id in ids
