"""Decisions: confirm, dismiss or relabel with a note, by button or key; they survive a restart,
can be undone, and export as a report and as `text,label` training data that reads back."""

from __future__ import annotations

import csv
import json

from PySide6.QtCore import Qt

from tests.client.conftest import screenshot
from tests.client.test_app_text import CHAT, check


def select(qtbot, table, text):
    for excerpt in table.model.excerpts():
        if excerpt.text == text:
            assert table.select_excerpt(excerpt.id)
            return excerpt
    raise AssertionError(f"{text!r} is not in the table")


def test_a_decision_is_found_again_after_a_restart(qtbot, open_window, tiny_model_dir):
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0}, moderator="ana")
    view = check(qtbot, window, CHAT)
    review = view.review
    insult = select(qtbot, review.table, "you are a worthless idiot, uninstall")
    review.panel.note.setText("second strike")
    review.table.view.setFocus()
    # relabel by keyboard: choose the category, then R in the table
    review.panel.relabel_to.setCurrentIndex(review.panel.relabel_to.findData("insult"))
    qtbot.keyClick(review.table.view, Qt.Key.Key_R)
    clean = select(qtbot, review.table, "thanks for the heal")
    qtbot.mouseClick(review.panel.dismiss, Qt.MouseButton.LeftButton)
    select(qtbot, review.table, "thanks for the heal")
    assert "false positive" in review.table.view.currentIndex().siblingAtColumn(4).data()
    window.resize(1280, 800)
    screenshot(window, "decisions")
    session_id = review.session_id
    db = window.store.path
    window.close()
    window.store.close()

    again = open_window(model_dir=str(tiny_model_dir))
    assert again.store.path == db
    decisions = again.store.current_decisions(session_id)
    assert decisions[insult.id].action == "relabel"
    assert decisions[insult.id].label == "insult"
    assert decisions[insult.id].note == "second strike"
    assert decisions[insult.id].moderator == "ana"
    assert decisions[clean.id].label == "non_toxic"
    # and in the window: the session reopens with its decisions shown
    again.sessions_view.refresh_sessions()
    again.show_text_session(session_id)
    table = again.text_view.review.table
    assert table.model.decision_for(insult.id).note == "second strike"
    assert "thanks for the heal" not in " ".join(
        e.text for e in table.model.excerpts() if table.model.decision_for(e.id) is None
    )


def test_undo_takes_back_the_last_decision(qtbot, open_window, tiny_model_dir):
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    review = check(qtbot, window, CHAT).review
    excerpt = select(qtbot, review.table, "i will find you and kill you")
    review.table.view.setFocus()
    qtbot.keyClick(review.table.view, Qt.Key.Key_C)
    assert review.table.model.decision_for(excerpt.id).action == "confirm"
    # the review moved on to the next unreviewed excerpt; back to this one to change the decision
    assert review.table.current_excerpt().id != excerpt.id
    select(qtbot, review.table, "i will find you and kill you")
    qtbot.keyClick(review.table.view, Qt.Key.Key_F)
    assert review.table.model.decision_for(excerpt.id).action == "dismiss"
    qtbot.keyClick(review.table.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert review.table.model.decision_for(excerpt.id).action == "confirm"
    qtbot.mouseClick(review.panel.undo, Qt.MouseButton.LeftButton)
    assert review.table.model.decision_for(excerpt.id) is None
    history = [review.panel.history.item(i).text() for i in range(review.panel.history.count())]
    assert len(history) == 2 and all("(undone)" in line for line in history)


def test_report_and_training_data_export_and_read_back(
    qtbot, open_window, tiny_model_dir, tmp_path
):
    from client.widgets.report_dialog import ReportDialog
    from training.data import Source, load_source

    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0}, moderator="ana")
    review = check(qtbot, window, CHAT).review
    select(qtbot, review.table, "you are a worthless idiot, uninstall")
    review.panel.request("confirm")
    select(qtbot, review.table, "gg wp everyone, nice game")
    review.panel.request("dismiss")

    # report: through the dialog, as the moderator would
    for suffix in (".json", ".csv", ".html"):
        dialog = ReportDialog(window.store, review.session_id, window)
        dialog.flagged_only.setChecked(False)
        dialog.path.setText(str(tmp_path / f"report{suffix}"))
        messages = []
        dialog.exported.connect(messages.append)
        dialog.open()
        if suffix == ".json":
            screenshot(dialog, "report_dialog")
        qtbot.mouseClick(
            dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
        )
        qtbot.waitUntil(lambda m=messages: bool(m), timeout=10_000)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    by_text = {f["text"]: f for f in report["findings"]}
    assert len(by_text) == 5
    confirmed = by_text["you are a worthless idiot, uninstall"]
    assert (confirmed["status"], confirmed["decision"]["moderator"]) == ("confirmed", "ana")
    assert by_text["gg wp everyone, nice game"]["status"] == "dismissed"
    with open(tmp_path / "report.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["text"] for r in rows} == set(by_text) and "decision" in rows[0]
    assert "worthless idiot" in (tmp_path / "report.html").read_text(encoding="utf-8")

    # training data: the menu action with a path, read back by the training loader
    out = tmp_path / "decisions.csv"
    window.export_training(str(out))
    qtbot.waitUntil(out.exists, timeout=10_000)
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["text", "label"]
    source = Source("decisions", "labeled", out, {})
    examples = load_source(source, tuple(window.taxonomy.labels))
    got = {(e.text, e.label) for e in examples}
    insult_label = next(
        e.label for e in review.table.model.excerpts() if e.text.startswith("you are")
    )
    assert got == {
        ("you are a worthless idiot, uninstall", insult_label),
        ("gg wp everyone, nice game", "non_toxic"),
    }


def test_an_unwritable_export_gets_a_message_not_a_traceback(
    qtbot, open_window, tiny_model_dir, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    window = open_window(model_dir=str(tiny_model_dir))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    window.export_training(str(tmp_path / "no-such-folder" / "d.csv"))
    qtbot.waitUntil(lambda: bool(warnings), timeout=10_000)
    assert "could not be written" in warnings[0]
