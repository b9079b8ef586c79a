"""The Sessions screen a moderator can rely on: a lane per speaker on the timeline, speakers'
lines in time order, a per-player summary, sessions renamed, searched and deleted (audio files
kept), re-opening a file goes to its session, live sessions listed at once, and playback says
when there is no audio output.

Sessions are written into the window's own database the way a scan writes them (Store.add_excerpts
with real Verdicts) over real WAV files, so these tests need no Whisper run and stay fast.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from client.store import Store
from client.widgets.excerpt_table import FLAGGED
from client.widgets.player import LEAD_IN_S, Player
from models.classifier import Verdict
from models.excerpts import Excerpt
from tests.client.conftest import screenshot, screenshot_folder
from tests.client.test_app_window import child_env, colours_in, model_for_pictures, run_child
from tests.voice_fixtures import noise, write_wav

HOSTILE = '<b>x</b><br>model: not toxic (1%)<span style="display:none">'


def verdict(label: str, p: float) -> Verdict:
    """A verdict as the classifier makes it: P(label) = p, the rest on non_toxic."""
    scores = {"non_toxic": 1.0 - p, label: p} if label != "non_toxic" else {"non_toxic": p}
    toxic = label != "non_toxic"
    return Verdict(label, toxic, 1.0 - scores["non_toxic"], scores)


# (speaker, start s, text, label, P(label))
MATCH = [
    ("anna", 1.0, "good luck have fun", "non_toxic", 0.95),
    ("anna", 7.5, "you are a useless idiot", "insult", 0.91),
    ("anna", 15.0, "i will find you after the game", "threat", 0.62),
    ("bo", 3.0, "shut up you idiot", "insult", 0.83),
    ("bo", 11.0, "nice shot", "non_toxic", 0.97),
    ("bo", 16.5, "damn this lag", "profanity", 0.55),
]


def add_match(store: Store, folder: Path, title: str = "match 7") -> tuple[int, dict[str, Path]]:
    """A two-speaker session (one WAV per player, 20 s) scanned into the store."""
    folder.mkdir(parents=True, exist_ok=True)
    session = store.create_session("files", title)
    files = {}
    for seed, speaker in enumerate(("anna", "bo")):
        path = write_wav(folder / f"{speaker}.wav", noise(20.0, seed=seed))
        files[speaker] = path
        track = store.add_track(session.id, str(path.resolve()))
        lines = [m for m in MATCH if m[0] == speaker]
        store.finish_track(
            track.id,
            [Excerpt(text, 0, len(text), speaker, at, at + 1.5) for _, at, text, _, _ in lines],
            [verdict(label, p) for *_, label, p in lines],
            duration=20.0,
        )
    return session.id, files


@pytest.fixture
def window(open_window, tiny_model_dir):
    return open_window(model_dir=str(tiny_model_dir))


def show(qtbot, window, session_id: int):
    """Open a session by clicking it in the Sessions list."""
    view = window.sessions_view
    window.tabs.setCurrentWidget(view)
    view.refresh_sessions()
    for row in range(view.session_list.count()):
        item = view.session_list.item(row)
        if item.data(Qt.ItemDataRole.UserRole) == session_id:
            rect = view.session_list.visualItemRect(item)
            qtbot.mouseClick(
                view.session_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
            )
            break
    assert view.session_id == session_id
    return view


def test_two_speakers_are_interleaved_in_time_and_each_has_a_lane(qtbot, window, tmp_path):
    session_id, _ = add_match(window.store, tmp_path / "audio")
    view = show(qtbot, window, session_id)
    rows = view.review.table.model.excerpts()
    assert [(e.speaker, e.time) for e in rows] == sorted(
        [(s, t) for s, t, *_ in MATCH], key=lambda st: st[1]
    )
    # one lane per speaker, each mark in its speaker's lane and its category's colour
    assert view.timeline.lanes == ["anna", "bo"]
    marks = view.timeline.marks
    assert len(marks) == 4
    for mark in marks:
        excerpt = window.store.excerpt(mark.excerpt_id)
        assert mark.lane == excerpt.speaker
        assert mark.colour == window.taxonomy.colour(excerpt.label)
    lanes = {lane: view.timeline.lane_rect(lane) for lane in view.timeline.lanes}
    assert lanes["anna"].bottom() <= lanes["bo"].top()
    for mark in marks:
        assert lanes[mark.lane].contains(view.timeline.mark_rect(mark).center())
    assert view.timeline.height() >= lanes["bo"].bottom()
    assert view.timeline.accessibleDescription().startswith("bo: insult at 00:03.0; anna: insult")


def test_clicking_a_mark_selects_and_plays_it_and_says_when_nothing_can_be_heard(
    qtbot, window, tmp_path
):
    session_id, _files = add_match(window.store, tmp_path / "audio")
    view = show(qtbot, window, session_id)
    window.resize(1280, 800)
    qtbot.wait(20)
    (bo_insult,) = [m for m in view.timeline.marks if m.lane == "bo" and m.label == "insult"]
    messages = []
    view.status.connect(messages.append)
    # the transcript shows only anna's lines: a click on bo's mark still finds his line
    view.review.table.set_filter(FLAGGED, speaker="anna")
    assert view.review.table.row_of(bo_insult.excerpt_id) is None
    where = view.timeline.mark_rect(bo_insult).center().toPoint()
    qtbot.mouseClick(view.timeline, Qt.MouseButton.LeftButton, pos=where)
    assert view.review.table.current_excerpt().id == bo_insult.excerpt_id
    assert view.timeline.selected == bo_insult.excerpt_id
    assert view.player.playing_from == pytest.approx(3.0 - LEAD_IN_S)
    assert "bo.wav" in view.player.where.text()
    # the cursor runs over every lane as the recording plays
    qtbot.waitUntil(lambda: (view.timeline.position or 0) > 1.5, timeout=10_000)
    view.player.stop()
    if Player.has_audio_output():
        assert "No audio output" not in view.player.where.text()
    else:  # this machine has no sound card: the window says so, in words
        assert view.player.silent
        assert "No audio output device" in view.player.where.text()
        assert view.player.where.isVisible()
        assert any("No audio output device" in m for m in messages)
    # a click between marks of the other lane selects nothing there
    anna_lane = view.timeline.lane_rect("anna")
    x = view.timeline.mark_rect(bo_insult).center().x()
    assert view.timeline.mark_at(x, anna_lane.center().y()) is None


def test_the_players_tab_counts_flags_and_goes_to_the_worst_line(qtbot, window, tmp_path):
    store = window.store
    session_id, _ = add_match(store, tmp_path / "audio")
    rows = {e.text: e for e in store.excerpts(session_id)}
    # the moderator dismissed bo's "damn this lag": it no longer counts for bo
    store.decide(rows["damn this lag"].id, "dismiss")
    view = show(qtbot, window, session_id)
    summary = view.player_summary
    view.tabs.setCurrentWidget(summary)
    by_player = {s.player: s for s in summary.stats}
    assert list(by_player) == ["anna", "bo"]  # most flagged first
    assert by_player["anna"].categories == {"insult": 1, "threat": 1}
    assert by_player["bo"].categories == {"insult": 1}
    assert [w.excerpt.text for w in by_player["anna"].worst] == [
        "you are a useless idiot",
        "i will find you after the game",
    ]
    anna = summary.player_item("anna")
    header = [summary.tree.headerItem().text(c) for c in range(summary.tree.columnCount())]
    assert anna.text(header.index("insult")) == "1" and anna.text(header.index("threat")) == "1"
    assert (anna.text(1), anna.text(2)) == ("2", "3")  # flagged, lines
    # a decision made on the Transcript updates the summary at once
    view.tabs.setCurrentWidget(view.review)
    view.review.table.select_excerpt(rows["i will find you after the game"].id)
    view.review.decide("dismiss", "", "")
    assert {s.player: s.flagged for s in summary.stats} == {"anna": 1, "bo": 1}
    view.tabs.setCurrentWidget(summary)
    worst = summary.player_item("anna").child(0)
    rect = summary.tree.visualItemRect(worst)
    qtbot.mouseClick(summary.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.tabs.currentWidget() is view.review
    assert view.review.table.current_excerpt().text == "you are a useless idiot"


def test_the_player_summary_shows_hostile_names_as_plain_text(qtbot, window, tmp_path):
    store = window.store
    session = store.create_session("text", "chat")
    store.add_excerpts(
        session.id,
        [Excerpt("kys noob", 0, 8, HOSTILE, None, None)],
        [verdict("insult", 0.9)],
    )
    from client.widgets.player_summary import PlayerSummary

    summary = PlayerSummary(window.taxonomy)
    qtbot.addWidget(summary)
    summary.set_excerpts(store.excerpts(session.id), {})
    item = summary.player_item(HOSTILE)
    assert item is not None and item.text(0) == HOSTILE
    assert "&lt;b&gt;" in item.toolTip(0)


def test_sessions_are_searched_renamed_and_deleted_leaving_the_audio(qtbot, window, tmp_path):
    store = window.store
    first, files = add_match(store, tmp_path / "one", title="ranked 1")
    second, _ = add_match(store, tmp_path / "two", title="ranked 2")
    other = store.create_session("files", "scrim")
    store.add_track(other.id, str(tmp_path / "scrim_carl.wav"))
    view = show(qtbot, window, first)

    # search: title, file name and player name
    qtbot.keyClicks(view.search, "RANKED")
    assert sorted(view.listed_sessions()) == sorted([first, second])
    view.search.clear()
    qtbot.keyClicks(view.search, "carl")
    assert view.listed_sessions() == [other.id]
    view.search.clear()
    qtbot.keyClicks(view.search, "bo")
    assert sorted(view.listed_sessions()) == sorted([first, second])
    view.search.clear()
    assert len(view.listed_sessions()) == 3

    # rename the open session through its dialog
    qtbot.mouseClick(view.rename_button, Qt.MouseButton.LeftButton)
    dialog = view.rename_dialog
    assert dialog.isVisible() and dialog.textValue() == "ranked 1"
    dialog.setTextValue("  ranked 1 — griefing report  ")
    dialog.accept()
    assert store.session(first).title == "ranked 1 — griefing report"
    assert view.title.text().startswith("ranked 1 — griefing report")
    assert view.session_list.currentItem().text().startswith("ranked 1 — griefing report")

    # delete it: the box names the decisions that go with it; the audio files stay
    store.decide(store.excerpts(first)[1].id, "confirm")
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    box = view.delete_box
    assert box.isVisible() and "1 decision" in box.informativeText()
    assert "stay where they are" in box.informativeText()
    (delete,) = [
        b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole
    ]
    qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    assert store.session(first) is None
    assert store.excerpts(first) == [] and store.tracks(first) == []
    assert store.current_decisions(first) == {}
    assert all(path.is_file() for path in files.values())
    assert first not in view.listed_sessions()
    assert view.session_id is None and view.timeline.marks == []
    assert view.review.table.model.rowCount() == 0
    assert store.session(second) is not None


def test_reopening_a_file_goes_to_its_session(qtbot, window, tmp_path):
    store = window.store
    session_id, _files = add_match(store, tmp_path / "audio")
    other, _ = add_match(store, tmp_path / "elsewhere", title="another match")
    view = show(qtbot, window, other)
    before = len(store.sessions())
    # the same file, spelled another way
    again = view.open_files([tmp_path / "audio" / ".." / "audio" / "anna.wav"])
    assert again == session_id
    assert len(store.sessions()) == before
    assert view.session_id == session_id
    assert view.session_list.currentItem().data(Qt.ItemDataRole.UserRole) == session_id
    assert not window.queue.busy()  # nothing queued again
    assert "Already opened" in window.statusBar().currentMessage()


def test_the_sessions_screen_picture(qtbot, window, tmp_path):
    session_id, _ = add_match(window.store, tmp_path / "audio")
    store = window.store
    rows = {e.text: e for e in store.excerpts(session_id)}
    store.decide(rows["damn this lag"].id, "dismiss", note="lag, not abuse")
    store.decide(rows["shut up you idiot"].id, "confirm")
    view = show(qtbot, window, session_id)
    window.resize(1280, 800)
    view.review.table.select_excerpt(rows["you are a useless idiot"].id)
    qtbot.wait(50)
    screenshot(window, "sessions_lanes")
    # the filters: anna's flagged lines not reviewed yet
    view.review.table.set_filter(FLAGGED, state="unreviewed", speaker="anna")
    assert [e.speaker for e in view.review.table.shown_excerpts()] == ["anna", "anna"]
    qtbot.wait(50)
    screenshot(window, "sessions_filters")
    view.tabs.setCurrentWidget(view.player_summary)
    qtbot.wait(50)
    screenshot(window, "sessions_players")


@pytest.mark.skipif(
    not (shutil.which("xvfb-run") and shutil.which("import")),
    reason="needs xvfb-run and ImageMagick: apt-get install xvfb xauth imagemagick",
)
def test_the_sessions_screen_on_a_real_x_server(tiny_model_dir, tmp_path):
    prefix = screenshot_folder() / "xvfb_sessions"
    env = child_env(QT_QPA_PLATFORM="xcb")
    env.pop("DISPLAY", None)
    result = run_child(
        [
            "-m",
            "tests.client.sessions_shot",
            str(prefix),
            model_for_pictures(tiny_model_dir),
            str(tmp_path),
            "x11",
        ],
        env,
        prefix=("xvfb-run", "-a", "-s", "-screen 0 1280x800x24"),
    )
    assert result == {"lanes": ["anna", "bo"], "players": ["anna", "bo"], "saved": True}
    for name in ("lanes", "filters", "players"):
        assert colours_in(Path(f"{prefix}_{name}.png")) > 20


def test_the_text_screen_sums_up_a_chat_log_per_player(qtbot, open_window, tiny_model_dir):
    from tests.client.test_app_text import CHAT, check

    # a threshold of 0 flags every message, so the tiny random model flags each player's lines
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = check(qtbot, window, CHAT)
    summary = view.player_summary
    stats = {s.player: s for s in summary.stats}
    assert set(stats) == {"ana", "bob", "cy", "dee"}
    assert stats["ana"].lines == 2 and stats["ana"].flagged == 2
    worst = summary.player_item("dee").child(0)
    assert "i will find you and kill you" in worst.text(0)
    summary.tree.scrollToItem(worst)
    rect = summary.tree.visualItemRect(worst)
    where = QPoint(rect.left() + 20, rect.center().y())
    assert summary.tree.viewport().rect().contains(where)
    qtbot.mouseClick(summary.tree.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert view.review.table.current_excerpt().speaker == "dee"
