"""The excerpt table in daily use: sorting by every column, time order across speakers, filters
by review state, speaker and search, the review counter and the end-of-flagged cue, and the
confidence of the label on screen. No model needed: verdicts are written to the store."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from client.labels import ReviewState
from client.widgets.excerpt_table import ALL, CONFIDENCE, FLAGGED, TEXT
from models.classifier import Verdict
from models.excerpts import Excerpt

# two players on their own tracks; their lines alternate in time
ANNA = [
    ("gg wp", "non_toxic", 0.05, 1.0),
    ("you absolute idiot", "insult", 0.92, 10.0),
    ("shit team", "profanity", 0.55, 20.0),
]
BO = [
    ("nice heal", "non_toxic", 0.10, 5.0),
    ("i will kill you", "threat", 0.81, 15.0),
    ("Trash noob", "insult", 0.64, 25.0),
]


def verdict(label: str, score: float) -> Verdict:
    toxic = label if label != "non_toxic" else "insult"
    return Verdict(label, label != "non_toxic", score, {"non_toxic": 1 - score, toxic: score})


@pytest.fixture
def review(qtbot, open_window, tmp_path):
    window = open_window(wait_for_model=False, model_dir=str(tmp_path / "no-model"))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # single keys go to the active window
    store = window.store
    session = store.create_session("files", "match")
    for name, lines in (("anna", ANNA), ("bo", BO)):
        track = store.add_track(session.id, tmp_path / f"{name}.wav")
        excerpts = [Excerpt(t, 0, len(t), name, at, at + 1.5) for t, _, _, at in lines]
        verdicts = [verdict(label, score) for _, label, score, _ in lines]
        store.finish_track(track.id, excerpts, verdicts, duration=30.0)
    window.sessions_view.refresh_sessions(select=session.id)
    return window, window.sessions_view.review


def column(table, number: int) -> list[str]:
    return [table.proxy.index(r, number).data() for r in range(table.proxy.rowCount())]


def cells(table, *numbers: int) -> dict[str, tuple[str, ...]]:
    """text -> the cells of the given columns, for every row shown."""
    rows = range(table.proxy.rowCount())
    return {
        table.proxy.index(r, TEXT).data(): tuple(table.proxy.index(r, n).data() for n in numbers)
        for r in rows
    }


def by_text(table, text):
    return next(e for e in table.model.excerpts() if e.text == text)


def test_rows_are_in_time_order_with_speakers_interleaved(review):
    _, pane = review
    assert column(pane.table, TEXT) == [
        "gg wp",
        "nice heal",
        "you absolute idiot",
        "i will kill you",
        "shit team",
        "Trash noob",
    ]
    assert column(pane.table, 1) == ["anna", "bo", "anna", "bo", "anna", "bo"]


def test_every_column_sorts_by_a_click_on_its_header(qtbot, review):
    _, pane = review
    table = pane.table
    header = table.view.horizontalHeader()

    def click(section: int) -> None:
        x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))

    def key(number: int, text: str):
        if number == CONFIDENCE:
            return int(text.rstrip("%"))
        if number == 0:
            minutes, seconds = text.split(":")
            return int(minutes) * 60 + float(seconds)
        return text.casefold()

    for number in range(table.model.columnCount()):
        click(number)
        if header.sortIndicatorSection() == number and header.sortIndicatorOrder() == (
            Qt.SortOrder.DescendingOrder
        ):
            click(number)  # the Time column starts sorted: a first click turns it around
        values = [key(number, v) for v in column(table, number)]
        assert values == sorted(values), (number, values)
        click(number)
        values = [key(number, v) for v in column(table, number)]
        assert values == sorted(values, reverse=True), (number, values)
    # ties keep time order: sorted by speaker, each player's lines stay in time order
    table.sort_by(1)
    assert column(table, TEXT)[:3] == ["gg wp", "you absolute idiot", "shit team"]
    # the excerpt under review stays under review whatever the order
    assert table.select_excerpt(by_text(table, "i will kill you").id)
    for number in (CONFIDENCE, TEXT, 0):
        table.sort_by(number, Qt.SortOrder.DescendingOrder)
        assert table.current_excerpt().text == "i will kill you"
        assert pane.panel.excerpt().text == "i will kill you"


def test_the_confidence_is_that_of_the_label_on_screen(review):
    window, pane = review
    table = pane.table
    rows = cells(table, 2, CONFIDENCE)
    assert rows["gg wp"] == ("non-toxic", "95%")  # not P(toxic) 5% beside the clean label
    assert rows["you absolute idiot"] == ("insult", "92%")
    # a dismissed excerpt shows non-toxic with the model's probability of non-toxic
    window.store.decide(by_text(table, "shit team").id, "dismiss")
    pane.load_session(pane.session_id)
    rows = cells(table, 2, CONFIDENCE)
    assert rows["shit team"] == ("non-toxic", "45%")
    # the minimum confidence filters on the same number, in %
    table.set_filter(ALL, 0.9)
    assert column(table, TEXT) == ["gg wp", "nice heal", "you absolute idiot"]
    assert table.min_confidence.suffix() == " %" and table.min_confidence.value() == 90
    names = [table.category.itemText(i) for i in range(table.category.count())]
    assert "non toxic" not in " ".join(names + column(table, 2))


def test_filters_by_review_state_speaker_and_search(qtbot, review):
    window, pane = review
    table, store = pane.table, window.store
    store.decide(by_text(table, "you absolute idiot").id, "confirm")
    store.decide(by_text(table, "shit team").id, "dismiss")
    store.decide(by_text(table, "i will kill you").id, "relabel", "insult")
    store.decide(by_text(table, "nice heal").id, "missed", "threat")  # the model passed it
    store.decide(by_text(table, "gg wp").id, "confirm")  # clean, and the moderator agrees
    pane.load_session(pane.session_id)
    expected = {
        ReviewState.UNREVIEWED: ["Trash noob"],
        ReviewState.CONFIRMED: ["gg wp", "you absolute idiot"],
        ReviewState.DISMISSED: ["shit team"],
        ReviewState.RELABELED: ["i will kill you"],
        ReviewState.MISSED: ["nice heal"],
    }
    for state, texts in expected.items():
        table.state.setCurrentIndex(table.state.findData(state.value))
        assert column(table, TEXT) == texts, state
    table.state.setCurrentIndex(0)
    rows = {text: decision for text, (decision,) in cells(table, 4).items()}
    assert rows["nice heal"] == "missed by the model → threat"
    assert rows["i will kill you"] == "relabeled → insult"
    # by speaker, from the speakers of this session
    speakers = [table.speaker.itemText(i) for i in range(table.speaker.count())]
    assert speakers == ["All speakers", "anna", "bo"]
    table.speaker.setCurrentIndex(2)
    assert column(table, TEXT) == ["nice heal", "i will kill you", "Trash noob"]
    table.speaker.setCurrentIndex(0)
    # search text or player, typed into the search field (Ctrl+F), case-insensitive
    table.view.setFocus()
    qtbot.keyClick(table.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert table.search.hasFocus()
    qtbot.keyClicks(table.search, "TRASH")
    qtbot.waitUntil(lambda: column(table, TEXT) == ["Trash noob"], timeout=2000)
    table.search.clear()
    qtbot.keyClicks(table.search, "ann")
    qtbot.waitUntil(lambda: len(column(table, TEXT)) == 3, timeout=2000)
    assert set(column(table, 1)) == {"anna"}


def test_the_counter_and_the_end_of_flagged_cue(qtbot, review):
    window, pane = review
    table = pane.table
    assert table.progress.text() == "Reviewed 0 of 4"
    table.set_filter(FLAGGED)
    table.view.setFocus()
    assert table.select_excerpt(by_text(table, "you absolute idiot").id)
    qtbot.keyClick(table.view, Qt.Key.Key_C)  # confirmed; on to the next unreviewed one
    assert table.progress.text() == "Reviewed 1 of 4"
    assert table.current_excerpt().text == "i will kill you"
    assert table.end_cue.isHidden()
    for _ in range(2):
        qtbot.keyClick(table.view, Qt.Key.Key_N)
    assert table.current_excerpt().text == "Trash noob"
    assert table.end_cue.isHidden()
    qtbot.keyClick(table.view, Qt.Key.Key_N)  # past the last flagged excerpt
    assert table.current_excerpt().text == "Trash noob"
    assert not table.end_cue.isHidden()
    assert table.end_cue.text().startswith("End of flagged excerpts")
    assert "3 still unreviewed" in table.end_cue.text()
    assert "End of flagged" in window.statusBar().currentMessage()
    # a moderator flagging what the model passed adds to what was reviewed
    table.set_filter(ALL)
    assert table.select_excerpt(by_text(table, "gg wp").id)
    pane.panel.relabel_to.setCurrentIndex(pane.panel.relabel_to.findData("insult"))
    qtbot.keyClick(table.view, Qt.Key.Key_R)
    assert table.progress.text() == "Reviewed 2 of 5"
    decision = window.store.current_decisions(pane.session_id)[by_text(table, "gg wp").id]
    assert (decision.action, decision.label) == ("missed", "insult")
    assert cells(table, 4)["gg wp"] == ("missed by the model → insult",)
    # deciding the last unreviewed ones says all are reviewed
    for text in ("you absolute idiot", "i will kill you", "shit team", "Trash noob"):
        if table.model.decision_for(by_text(table, text).id) is None:
            assert table.select_excerpt(by_text(table, text).id)
            qtbot.keyClick(table.view, Qt.Key.Key_C)
    assert table.progress.text() == "Reviewed 5 of 5"
    assert table.end_cue.text() == "All 5 flagged excerpts reviewed."
