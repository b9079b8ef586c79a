"""The Text screen: paste a chat log, check it, and see the toxic lines highlighted in place
with their category named; counts per category; bad input gets a message."""

from __future__ import annotations

from PySide6.QtCore import Qt

from client.labels import format_percent, label_name, label_probability
from client.widgets.excerpt_table import tint
from tests.client.conftest import needs_shipped_model, screenshot

CHAT = """[20:01] ana: gg wp everyone, nice game
[20:02] bob: you are a worthless idiot, uninstall
[20:02] cy: thanks for the heal
[20:03] dee: i will find you and kill you
[20:04] ana: see you next round
"""


def highlight_at(editor, position: int) -> tuple[int, str] | None:
    """(length, background colour) of the highlight starting at a character, if any."""
    block = editor.document().findBlock(position)
    for piece in block.layout().formats():
        if piece.start == position - block.position():
            return piece.length, piece.format.background().color().name()
    return None


def check(qtbot, window, text: str):
    view = window.text_view
    window.tabs.setCurrentWidget(view)
    view.editor.setPlainText(text)
    qtbot.mouseClick(view.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.review.table.model.rowCount() > 0, timeout=30_000)
    # the highlights come in the next turn of the event loop, then the first flagged row
    qtbot.waitUntil(lambda: view.message.text().startswith("Checked"), timeout=5_000)
    qtbot.wait(1)
    return view


def test_every_flagged_message_is_highlighted_in_place_with_its_category(
    qtbot, open_window, tiny_model_dir
):
    # a threshold of 0 flags every message, so the tiny random model still gives highlights
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = check(qtbot, window, CHAT)
    table = view.review.table
    assert table.model.rowCount() == 5
    counts = table.flagged_counts()
    assert sum(counts.values()) == 5
    tags = view.editor.tags()
    assert len(tags) == 5
    # each highlight covers exactly its message, in the category's colour, and the tag beside
    # it names the category the table shows with the model's probability of that category
    for excerpt in table.model.excerpts():
        probability = format_percent(label_probability(excerpt, excerpt.label))
        assert f"{label_name(excerpt.label)} {probability}" in tags
        assert CHAT[excerpt.start : excerpt.end] == excerpt.text
        assert highlight_at(view.editor, excerpt.start) == (
            excerpt.end - excerpt.start,
            tint(window.taxonomy.colour(excerpt.label), 0.45).name(),
        )
    assert "Flagged per category" in view.counts.text()
    for label in counts:
        assert window.taxonomy.display_name(label) in view.counts.text()
    # an edit makes the highlights stale: they go until the next check
    view.editor.appendPlainText("[20:05] eve: one more")
    assert view.editor.tags() == []
    assert highlight_at(view.editor, table.model.excerpts()[0].start) is None
    assert "press Check" in view.counts.text()


def test_a_text_check_is_kept_and_reopens_from_sessions(qtbot, open_window, tiny_model_dir):
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = check(qtbot, window, CHAT)
    session_id = view.review.session_id
    view.clear()
    assert view.review.table.model.rowCount() == 0
    window.show_text_session(session_id)
    assert view.editor.toPlainText() == CHAT
    assert view.review.table.model.rowCount() == 5
    assert len(view.editor.tags()) == 5


def test_nothing_to_check_and_unreadable_files_get_a_message(
    qtbot, open_window, tiny_model_dir, tmp_path
):
    window = open_window(model_dir=str(tiny_model_dir))
    view = window.text_view
    qtbot.mouseClick(view.check_button, Qt.MouseButton.LeftButton)
    assert "Nothing to check" in view.message.text()
    binary = tmp_path / "chat.log"
    binary.write_bytes(bytes(range(256)) * 10)
    view.open_file(binary)
    assert "Could not open chat.log" in view.message.text()
    view.open_file(tmp_path / "missing.txt")
    assert "Could not open missing.txt" in view.message.text()
    broken = tmp_path / "broken.json"
    broken.write_text('[{"message": "hi"', encoding="utf-8")
    view.open_file(broken)
    assert "could not be read" in view.message.text()


def test_a_missing_model_folder_says_so_in_the_window(qtbot, open_window, tmp_path):
    window = open_window(wait_for_model=False, model_dir=str(tmp_path / "nowhere"))
    qtbot.waitUntil(lambda: window.classifier_service.error is not None, timeout=10_000)
    assert "failed to load: model folder not found" in window.model_status.text()
    assert "model folder not found" in window.statusBar().currentMessage()
    check_view = window.text_view
    check_view.editor.setPlainText("hello")
    check_view.check()
    # a failed load says so and why; it is not "still loading"
    message = check_view.message.text()
    assert "classifier failed to load: model folder not found" in message
    assert "still loading" not in message


@needs_shipped_model
def test_the_shipped_model_highlights_the_insult_and_the_threat(qtbot, open_window):
    window = open_window()
    view = check(qtbot, window, CHAT)
    labels = {e.text: e.label for e in view.review.table.model.excerpts()}
    assert labels["gg wp everyone, nice game"] == "non_toxic"
    assert labels["thanks for the heal"] == "non_toxic"
    assert labels["you are a worthless idiot, uninstall"] == "insult"
    assert labels["i will find you and kill you"] == "threat"
    tags = " ".join(view.editor.tags())
    assert "insult" in tags and "threat" in tags
    window.resize(1280, 800)
    screenshot(window, "text")


def test_a_decision_updates_the_highlights_in_place(qtbot, open_window, tiny_model_dir):
    # ten times the chat: long enough that a decision re-highlights only its own line
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = check(qtbot, window, CHAT * 10)
    table, review = view.review.table, view.review
    excerpts = table.model.excerpts()
    assert len(excerpts) == 50 and len(view.editor.tags()) == 50

    def highlighted_as(excerpt, label):
        return highlight_at(view.editor, excerpt.start) == (
            excerpt.end - excerpt.start,
            tint(window.taxonomy.colour(label), 0.45).name(),
        )

    heal, threat = excerpts[22], excerpts[23]
    assert heal.text == "thanks for the heal" and threat.text == "i will find you and kill you"
    table.select_excerpt(heal.id)
    review.decide("dismiss", "", "")
    assert highlight_at(view.editor, heal.start) is None
    assert len(view.editor.tags()) == 49
    table.select_excerpt(threat.id)
    review.decide("relabel", "threat", "")
    assert highlighted_as(threat, "threat")
    for excerpt in excerpts:
        if excerpt.id not in (heal.id, threat.id):
            assert highlighted_as(excerpt, excerpt.label)
    # an edit, then a new check of the longer text: every message highlighted where it now is
    view.editor.setPlainText("[20:00] zed: first\n" + CHAT)
    assert view.editor.tags() == []
    view = check(qtbot, window, view.editor.toPlainText())
    for excerpt in view.review.table.model.excerpts():
        assert highlighted_as(excerpt, excerpt.label)
