"""Voice trust in the app: speech heard but left without words is stored, listed under the
transcript and drawn on the timeline (never as a verdict), reaches the session's report; the
language heard is shown per session, and a session can be scanned again in a chosen language."""

from __future__ import annotations

import numpy as np
import pytest

from client.store import SCHEMA_VERSION, Store
from models.classifier import Verdict
from models.excerpts import Excerpt
from tests.client.old_database import old_database
from tests.voice_fixtures import CLEAN, RUDE, layout, needs_espeak, speech, write_wav


def test_a_version_3_database_migrates_and_keeps_untranscribed_speech_and_language(tmp_path):
    path = old_database(
        tmp_path / "v3.sqlite3",
        3,
        "INSERT INTO sessions (kind, title, created) VALUES ('files', 'old', 1.0)",
        "INSERT INTO tracks (session_id, path, status, added) VALUES (1, 'anna.wav', 'done', 1)",
    )

    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION >= 4
    (session,) = store.sessions()
    assert session.language is None and store.untranscribed(session.id) == []
    (track,) = store.tracks(session.id)
    assert track.language is None

    verdict = Verdict("non_toxic", False, 0.1, {"non_toxic": 0.9})
    store.finish_track(
        track.id,
        [Excerpt("gg", 0, 2, "anna", 1.0, 1.5)],
        [verdict],
        23.0,
        untranscribed=[("anna", 5.2, 14.8)],
        language="en",
    )
    (stretch,) = store.untranscribed(session.id)
    assert (stretch.track_id, stretch.speaker, stretch.start, stretch.end) == (
        track.id,
        "anna",
        5.2,
        14.8,
    )
    assert store.track(track.id).language == "en"
    # a rescan replaces the stretches, it does not add to them
    store.rescan_track(track.id)
    store.finish_track(track.id, [], [], 23.0, untranscribed=[("anna", 6.0, 9.0)], language="de")
    assert [(u.start, u.end) for u in store.untranscribed(session.id)] == [(6.0, 9.0)]
    assert store.track(track.id).language == "de"
    store.set_session_language(session.id, "de")
    store.close()
    assert Store(path).session(session.id).language == "de"


@pytest.fixture(scope="module")
def garbled(tmp_path_factory):
    """Rude speech, 9 s of speech played backwards (tiny.en finds no words in it), clean speech."""
    backwards = np.concatenate([speech(RUDE)[::-1], speech(CLEAN)[::-1], speech(RUDE)[::-1]])
    audio = layout((1.0, speech(RUDE)), (5.0, backwards), (19.0, speech(CLEAN)), length=23)
    return write_wav(tmp_path_factory.mktemp("garbled") / "anna.wav", audio)


@needs_espeak
@pytest.mark.slow
def test_untranscribed_speech_is_listed_drawn_reported_and_a_language_rescans(
    qtbot, open_window, tiny_model_dir, garbled, tmp_path
):
    from client.widgets.report_dialog import session_report, write_session_report

    window = open_window(model_dir=str(tiny_model_dir))
    view = window.sessions_view
    store = window.store
    session_id = view.open_files([garbled])
    (track,) = store.tracks(session_id)
    qtbot.waitUntil(lambda: store.track(track.id).status == "done", timeout=120_000)
    qtbot.waitUntil(lambda: bool(view.untranscribed_rows()), timeout=5_000)

    stretches = store.untranscribed(session_id)
    assert stretches and all(4.0 <= s.start < s.end <= 15.5 for s in stretches)
    # under the transcript: a row per stretch with its times, to listen to
    rows = view.untranscribed_rows()
    assert len(rows) == len(stretches)
    assert rows[0].startswith("anna · 00:") and rows[0].endswith("untranscribed speech — listen")
    assert view.untranscribed_list.isVisible()
    # never a verdict: no excerpt of the transcript covers the stretch's time
    for excerpt in view.review.table.model.excerpts():
        for s in stretches:
            assert not (s.start <= (excerpt.time or -1) < s.end), excerpt.text
    # on the timeline: a gap in anna's lane, not a mark
    assert [(g.lane, g.start, g.end) for g in view.timeline.gaps] == [
        ("anna", s.start, s.end) for s in stretches
    ]
    assert "untranscribed speech from" in view.timeline.accessibleDescription()
    gap_rect = view.timeline.mark_rect(view.timeline.gaps[0]).center()
    assert view.timeline.gap_at(gap_rect.x(), gap_rect.y()) == view.timeline.gaps[0]
    view.timeline.gap_clicked.emit(view.timeline.gaps[0])  # picks its row to listen to
    assert view.untranscribed_list.currentRow() == 0
    # in the session's report, every format
    entries, meta = session_report(store, session_id)
    (source,) = meta.sources
    assert source.untranscribed == tuple((s.start, s.end) for s in stretches)
    assert "language heard: en" in source.notes
    assert entries and not any(e.finding.excerpt.time == stretches[0].start for e in entries)
    for suffix in (".html", ".json", ".csv", ".srt", ".vtt"):
        written = write_session_report(store, session_id, tmp_path / f"report{suffix}")
        assert "untranscribed speech" in written.read_text(encoding="utf-8"), suffix
    # the language heard is in the title; the session is scanned again in the chosen one
    assert "language en" in view.title.text()
    assert view.language_box.isEnabled() and view.language_box.currentData() is None
    attempts = store.track(track.id).attempts
    index = view.language_box.findData("en")
    view.language_box.setCurrentIndex(index)
    view.language_box.activated.emit(index)
    assert store.session(session_id).language == "en"
    qtbot.waitUntil(
        lambda: (
            store.track(track.id).attempts > attempts and store.track(track.id).status == "done"
        ),
        timeout=120_000,
    )
    qtbot.wait(100)
    assert store.track(track.id).language == "en"
    assert len(store.untranscribed(session_id)) == len(stretches)  # replaced, not doubled
    assert view.language_box.currentData() == "en"


def test_a_timeline_gap_is_drawn_apart_from_marks_and_clicking_it_asks_to_listen(qtbot):
    from PySide6.QtCore import QPoint, Qt

    from client.widgets.timeline import Gap, Mark, Timeline

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.resize(600, 80)
    gap = Gap(10.0, 30.0, "bob")
    timeline.set_marks(60.0, [Mark(7, 40.0, 42.0, "#c62828", "insult", "anna")], gaps=[gap])
    timeline.show()
    assert timeline.lanes == ["anna", "bob"] and timeline.gaps == [gap]
    assert "bob: untranscribed speech from" in timeline.accessibleDescription()
    timeline.grab()  # paints the hatched gap without error
    centre = timeline.mark_rect(gap).center()
    with qtbot.waitSignal(timeline.gap_clicked) as clicked:
        qtbot.mouseClick(
            timeline, Qt.MouseButton.LeftButton, pos=QPoint(*map(int, (centre.x(), centre.y())))
        )
    assert clicked.args == [gap]
    # the same place in anna's lane is no gap: a click there seeks instead
    anna = timeline.lane_rect("anna").center()
    assert timeline.gap_at(centre.x(), anna.y()) is None
    mark = timeline.mark_rect(timeline.marks[0]).center()
    with qtbot.waitSignal(timeline.mark_clicked) as clicked:
        qtbot.mouseClick(
            timeline, Qt.MouseButton.LeftButton, pos=QPoint(int(mark.x()), int(mark.y()))
        )
    assert clicked.args == [7]
