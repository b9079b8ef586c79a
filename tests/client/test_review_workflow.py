"""The review loop in the real window: notes stay with the excerpt they were typed for, the
decision panel always shows the excerpt the keys act on, input is shown as plain text, and the
View menu opens the screen it names. No model needed: verdicts are written to the store."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from client.widgets.excerpt_table import FLAGGED
from models.classifier import Verdict
from models.excerpts import Excerpt

HOSTILE = '<b>x</b><br>model: not toxic (1%)<span style="display:none">'

LINES = [
    ("gg wp", "non_toxic", 0.05, 1.0),
    ("you absolute idiot", "insult", 0.92, 4.0),
    ("nice heal", "non_toxic", 0.10, 8.0),
    ("shit team", "profanity", 0.55, 12.0),
    ("i will kill you", "threat", 0.81, 20.0),
    ("trash noob", "insult", 0.64, 25.0),
]


def add_session(store, tmp_path, lines, speaker="p1", title="match"):
    session = store.create_session("files", title)
    track = store.add_track(session.id, tmp_path / f"{title}.wav")
    excerpts = [Excerpt(t, 0, len(t), speaker, at, at + 1.5) for t, _, _, at in lines]
    verdicts = [
        Verdict(label, label != "non_toxic", score, {"non_toxic": 1 - score, toxic: score})
        for _, label, score, _ in lines
        for toxic in [label if label != "non_toxic" else "insult"]
    ]
    store.finish_track(track.id, excerpts, verdicts, duration=30.0)
    return session


@pytest.fixture
def review(qtbot, open_window, tmp_path):
    window = open_window(wait_for_model=False, model_dir=str(tmp_path / "no-model"))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # single keys go to the active window
    session = add_session(window.store, tmp_path, LINES)
    window.sessions_view.refresh_sessions(select=session.id)
    return window, window.sessions_view.review


def by_text(table, text):
    for excerpt in table.model.excerpts():
        if excerpt.text == text:
            return excerpt
    raise AssertionError(f"{text!r} is not in the table")


def click_row(qtbot, table, text):
    """Click the row of an excerpt in the table, as the moderator would."""
    excerpt = by_text(table, text)
    for row in range(table.proxy.rowCount()):
        index = table.proxy.index(row, 5)
        if index.data(Qt.ItemDataRole.UserRole + 1).id == excerpt.id:
            table.view.scrollTo(index)
            rect = table.view.visualRect(index)
            qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            assert table.current_excerpt().id == excerpt.id
            return excerpt
    raise AssertionError(f"{text!r} is not shown")


def shown(text: str, fmt: Qt.TextFormat) -> str:
    """What Qt draws for a label or tooltip text: rich text is rendered, plain text is not."""
    rich = fmt == Qt.TextFormat.RichText or (
        fmt == Qt.TextFormat.AutoText and GuiQt.mightBeRichText(text)
    )
    if not rich:
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


# --- 1. a note belongs to the excerpt it was typed for ----------------------------------------


def test_a_note_typed_for_one_excerpt_is_not_saved_on_another(qtbot, review):
    window, pane = review
    table, panel = pane.table, pane.panel
    first = click_row(qtbot, table, "you absolute idiot")
    qtbot.keyClicks(panel.note, "repeat offender")
    qtbot.keyClick(panel.note, Qt.Key.Key_Return)
    second = click_row(qtbot, table, "trash noob")
    assert panel.note.text() == ""  # the field shows the second excerpt's (empty) note
    qtbot.mouseClick(panel.confirm, Qt.MouseButton.LeftButton)
    decisions = window.store.current_decisions(pane.session_id)
    assert decisions[second.id].action == "confirm"
    assert decisions[second.id].note == ""
    # the note stayed with its own excerpt: back there it is in the field, and the next
    # decision on that excerpt carries it
    click_row(qtbot, table, "you absolute idiot")
    assert panel.note.text() == "repeat offender"
    qtbot.mouseClick(panel.dismiss, Qt.MouseButton.LeftButton)
    assert window.store.current_decisions(pane.session_id)[first.id].note == "repeat offender"


def test_enter_saves_a_note_on_a_decided_excerpt_at_once(qtbot, review):
    window, pane = review
    table, panel = pane.table, pane.panel
    excerpt = click_row(qtbot, table, "i will kill you")
    qtbot.mouseClick(panel.confirm, Qt.MouseButton.LeftButton)
    click_row(qtbot, table, "i will kill you")
    qtbot.keyClicks(panel.note, "reported twice")
    qtbot.keyClick(panel.note, Qt.Key.Key_Return)
    decision = window.store.current_decisions(pane.session_id)[excerpt.id]
    assert (decision.action, decision.label, decision.note) == (
        "confirm",
        "threat",
        "reported twice",
    )
    assert "reported twice" in panel.history.item(0).text()
    # typed, then the moderator moves on without Enter: the note is kept on its own excerpt
    qtbot.keyClicks(panel.note, ", then muted")
    click_row(qtbot, table, "gg wp")
    decision = window.store.current_decisions(pane.session_id)[excerpt.id]
    assert decision.note == "reported twice, then muted"
    assert panel.note.text() == ""


# --- 2. the panel shows what the keys act on --------------------------------------------------


def test_after_a_key_decision_the_panel_and_the_keys_move_on_together(qtbot, review):
    window, pane = review
    table, panel = pane.table, pane.panel
    table.set_filter(FLAGGED)
    first = click_row(qtbot, table, "you absolute idiot")
    table.view.setFocus()
    qtbot.keyClick(table.view, Qt.Key.Key_X)  # dismissed: the row leaves "All flagged"
    assert first.id not in [
        table.proxy.index(r, 5).data(Qt.ItemDataRole.UserRole + 1).id
        for r in range(table.proxy.rowCount())
    ]
    current = table.current_excerpt()
    assert current is not None and current.text == "shit team"  # the next unreviewed one
    assert "shit team" in panel.summary.text()
    assert panel.excerpt() is not None and panel.excerpt().id == current.id
    qtbot.keyClick(table.view, Qt.Key.Key_C)
    decisions = window.store.current_decisions(pane.session_id)
    assert decisions[first.id].action == "dismiss"
    assert decisions[current.id].action == "confirm"
    assert len(decisions) == 2
    # the confirmed row stays shown, and the review has moved on to the next unreviewed one
    assert table.current_excerpt().text == "i will kill you"
    assert panel.excerpt().id == table.current_excerpt().id


def test_the_review_skips_excerpts_already_decided(qtbot, review):
    window, pane = review
    table = pane.table
    threat = by_text(table, "i will kill you")
    window.store.decide(threat.id, "confirm")
    pane.load_session(pane.session_id)
    click_row(qtbot, table, "shit team")
    table.view.setFocus()
    qtbot.keyClick(table.view, Qt.Key.Key_C)
    assert table.current_excerpt().text == "trash noob"
    assert pane.panel.excerpt().text == "trash noob"


def test_after_the_last_flagged_excerpt_the_review_goes_back_to_one_left_above(qtbot, review):
    window, pane = review
    table = pane.table
    click_row(qtbot, table, "trash noob")
    table.view.setFocus()
    qtbot.keyClick(table.view, Qt.Key.Key_C)
    assert table.current_excerpt().text == "you absolute idiot"
    assert table.end_cue.text().startswith("End of flagged excerpts: back to the first")
    table.set_filter(FLAGGED, 0.7)  # hides "shit team" (55%)
    for _ in range(2):
        qtbot.keyClick(table.view, Qt.Key.Key_C)
    assert table.end_cue.text() == ("No unreviewed flagged excerpt shown; 1 hidden by filters.")
    table.set_filter(FLAGGED, 0.0)
    click_row(qtbot, table, "shit team")
    qtbot.keyClick(table.view, Qt.Key.Key_C)
    assert len(window.store.current_decisions(pane.session_id)) == 4
    assert table.end_cue.text() == "All 4 flagged excerpts reviewed."
    assert pane.panel.excerpt().id == table.current_excerpt().id


# --- 3. input is plain text -------------------------------------------------------------------


def test_a_crafted_player_name_or_text_is_shown_as_plain_text(qtbot, open_window, tmp_path):
    window = open_window(wait_for_model=False, model_dir=str(tmp_path / "no-model"))
    lines = [("you absolute idiot", "insult", 0.97, 2.0), (HOSTILE, "threat", 0.9, 5.0)]
    session = add_session(window.store, tmp_path, lines, speaker=HOSTILE, title=HOSTILE)
    view = window.sessions_view
    view.refresh_sessions(select=session.id)
    pane = view.review
    for text in ("you absolute idiot", HOSTILE):
        click_row(qtbot, pane.table, text)
        drawn = "\n".join(
            shown(label.text(), label.textFormat())
            for label in (pane.panel.verdict, pane.panel.summary)
        )
        assert HOSTILE in drawn and text in drawn
        assert "97%" in drawn or "90%" in drawn
        # every label of the panel draws exactly the text it was given
        for label in pane.panel.findChildren(QLabel):
            assert shown(label.text(), label.textFormat()) == label.text() or (
                label.textFormat() == Qt.TextFormat.RichText and HOSTILE not in label.text()
            )
        # the table's tooltip shows the name and the text as they are
        index = pane.table.view.currentIndex()
        for column in range(pane.table.proxy.columnCount()):
            tip = index.siblingAtColumn(column).data(Qt.ItemDataRole.ToolTipRole)
            assert text in shown(tip, Qt.TextFormat.AutoText)
            assert HOSTILE in shown(tip, Qt.TextFormat.AutoText)


# --- 4. the View menu opens the screen it names -----------------------------------------------


def test_the_view_menu_and_ctrl_numbers_open_each_screen(qtbot, open_window, tmp_path):
    window = open_window(wait_for_model=False, model_dir=str(tmp_path / "no-model"))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    view_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View"
    )
    actions = [a for a in view_menu.actions() if not a.isSeparator()]
    names = [window.tabs.tabText(n).replace("&", "") for n in range(window.tabs.count())]
    assert [a.text() for a in actions][: len(names)] == names
    for number, action in enumerate(actions[: len(names)]):
        window.tabs.setCurrentIndex((number + 1) % len(names))
        action.trigger()
        assert window.tabs.currentIndex() == number, action.text()
    for number in (2, 1, 0):
        window.tabs.setCurrentIndex((number + 1) % len(names))
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == number


def test_the_studio_categories_from_settings_can_be_chosen_for_a_relabel(
    qtbot, open_window, tmp_path
):
    window = open_window(
        wait_for_model=False, model_dir=str(tmp_path / "no-model"), categories="Cheating, spam"
    )
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # for the R key
    session = add_session(window.store, tmp_path, LINES)
    window.sessions_view.refresh_sessions(select=session.id)
    pane = window.sessions_view.review
    table, panel = pane.table, pane.panel
    excerpt = click_row(qtbot, table, "gg wp")
    offered = [panel.relabel_to.itemData(i) for i in range(panel.relabel_to.count())]
    assert offered[-2:] == ["cheating", "spam"]
    panel.relabel_to.setCurrentIndex(panel.relabel_to.findData("cheating"))
    table.view.setFocus()
    qtbot.keyClick(table.view, Qt.Key.Key_R)
    decision = window.store.current_decisions(pane.session_id)[excerpt.id]
    assert (decision.action, decision.label) == ("missed", "cheating")
    assert table.select_excerpt(excerpt.id)
    row = table.view.currentIndex()
    assert row.siblingAtColumn(2).data() == "cheating"
    assert row.siblingAtColumn(4).data() == "missed by the model → cheating"
