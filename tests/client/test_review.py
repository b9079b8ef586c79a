"""Reviewing a stored session: filter by category and confidence, step through flagged excerpts
by keyboard, see them on the timeline, and drop files to queue them. No model needed: the
session's verdicts are written to the store directly."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from client.widgets.excerpt_table import ALL, FLAGGED
from models.classifier import Verdict
from models.excerpts import Excerpt

LINES = [
    ("gg wp", "non_toxic", 0.05, 1.0),
    ("you absolute idiot", "insult", 0.92, 4.0),
    ("nice heal", "non_toxic", 0.10, 8.0),
    ("shit team", "profanity", 0.55, 12.0),
    ("i will kill you", "threat", 0.81, 20.0),
    ("trash noob", "insult", 0.64, 25.0),
]


@pytest.fixture
def reviewed(open_window, tmp_path):
    window = open_window(wait_for_model=False, model_dir=str(tmp_path / "no-model"))
    store = window.store
    session = store.create_session("files", "match")
    track = store.add_track(session.id, tmp_path / "match.wav")
    excerpts = [Excerpt(t, 0, len(t), "p1", at, at + 1.5) for t, _, _, at in LINES]
    verdicts = [
        Verdict(label, label != "non_toxic", score, {"non_toxic": 1 - score, label: score})
        for _, label, score, _ in LINES
    ]
    store.finish_track(track.id, excerpts, verdicts, duration=30.0)
    view = window.sessions_view
    view.refresh_sessions(select=session.id)
    return window, view


def texts(table):
    return [table.proxy.index(r, 5).data() for r in range(table.proxy.rowCount())]


def test_filters_narrow_the_table_to_a_category_and_a_confidence(reviewed):
    _, view = reviewed
    table = view.review.table
    assert len(texts(table)) == 6
    table.set_filter(FLAGGED)
    assert texts(table) == ["you absolute idiot", "shit team", "i will kill you", "trash noob"]
    table.set_filter("insult")
    assert texts(table) == ["you absolute idiot", "trash noob"]
    table.set_filter("insult", 0.7)
    assert texts(table) == ["you absolute idiot"]
    table.set_filter(ALL, 0.6)
    assert texts(table) == ["you absolute idiot", "i will kill you", "trash noob"]
    assert "4 flagged" in table.counts.text() and "3 of 6 shown" in table.counts.text()


def test_next_and_previous_flagged_by_keyboard_skip_clean_lines(qtbot, reviewed):
    _, view = reviewed
    table = view.review.table
    table.view.setFocus()
    seen = []
    for _ in range(4):
        qtbot.keyClick(table.view, Qt.Key.Key_N)
        seen.append(table.current_excerpt().text)
    assert seen == ["you absolute idiot", "shit team", "i will kill you", "trash noob"]
    qtbot.keyClick(table.view, Qt.Key.Key_N)  # no further flagged line: stays put
    assert table.current_excerpt().text == "trash noob"
    qtbot.keyClick(table.view, Qt.Key.Key_P)
    qtbot.keyClick(table.view, Qt.Key.Key_K)
    assert table.current_excerpt().text == "shit team"


def test_the_timeline_marks_flagged_excerpts_and_a_click_selects_one(qtbot, reviewed):
    _, view = reviewed
    timeline = view.timeline
    assert timeline.duration == 30.0
    assert [(m.start, m.label) for m in timeline.marks] == [
        (4.0, "insult"),
        (12.0, "profanity"),
        (20.0, "threat"),
        (25.0, "insult"),
    ]
    x = timeline._x(20.5)
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPointF(x, 5).toPoint())
    assert view.review.table.current_excerpt().text == "i will kill you"
    assert timeline.selected == view.review.table.current_excerpt().id
    # a dismissed excerpt leaves the timeline
    view.review.decide("dismiss", "", "")
    assert [m.start for m in timeline.marks] == [4.0, 12.0, 25.0]


def test_a_missing_recording_says_so_instead_of_playing(reviewed):
    _, view = reviewed
    messages = []
    view.status.connect(messages.append)
    view.review.table.next_flagged()
    view.play_excerpt(view.review.table.current_excerpt())
    assert any("no longer there" in m for m in messages)


def test_dropped_files_are_queued_as_one_session(qtbot, reviewed, tmp_path):
    window, view = reviewed
    window.queue.shutdown(100)  # keep the queue still: this test is about queueing
    files = []
    for name in ("a.wav", "b.mp3"):
        path = tmp_path / name
        path.write_bytes(b"\0" * 10)
        files.append(path)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in files])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    view.dropEvent(event)
    session = window.store.sessions()[0]
    assert session.title == "a.wav + 1 more"
    tracks = window.store.tracks(session.id)
    assert [t.path for t in tracks] == [str(p) for p in files]
    assert [view.queue_status(t.id)[0] for t in tracks] == ["queued", "queued"]
