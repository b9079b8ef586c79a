"""The app opens a batch's results folder: every flagged excerpt in one sortable list, a summary
per player, the failed files; opening an excerpt shows its session, where decisions are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from client.batch.results import BatchItem, ResultsFolder, content_hash
from client.labels import plain_html
from tests.client.conftest import SHIPPED_MODEL, needs_shipped_model, screenshot
from tests.voice_fixtures import layout, needs_espeak, speech, write_wav

LINES = {
    "anna": ["Good game everyone, well played.", "You are a stupid idiot.", "I will kill you."],
    "bo": ["Nice heal, thanks.", "Shut up you worthless noob, uninstall."],
    "cid": ["Push mid, they are coming.", "<b>You are trash</b> & a loser"],
}


def make_results(folder: Path) -> tuple[Path, dict[str, Path]]:
    """A results folder as `modlens batch` writes it, for three spoken recordings (the shipped
    classifier's verdicts on their lines) and one file that failed."""
    from models.classifier import Classifier
    from models.excerpts import Excerpt
    from models.transcriber import Word
    from models.voice import Finding

    classifier = Classifier(SHIPPED_MODEL)
    out = ResultsFolder(folder / "results")
    out.prepare()
    audio = folder / "audio"
    audio.mkdir()
    paths = {}
    for number, (name, lines) in enumerate(LINES.items()):
        path = audio / f"{name}.wav"
        write_wav(path, layout(*((0.3 + 3.0 * i, speech(t)) for i, t in enumerate(lines))))
        paths[name] = path
        excerpts = [
            Excerpt(t, 0, len(t), name, 0.3 + 3.0 * i, 2.5 + 3.0 * i) for i, t in enumerate(lines)
        ]
        findings = [
            Finding(e, v, (Word(e.text, e.time, e.end_time, 0.9),), str(path))
            for e, v in zip(excerpts, classifier.classify(excerpts), strict=True)
        ]
        item = BatchItem(
            str(path),
            player=f"<i>{name}</i>",
            match=f"m{number % 2}",
            ticket=f"T-{number}",
            digest=content_hash(path),
        )
        out.write(item, "done", findings, duration=3.0 * len(lines), worker="test:1", table=False)
    broken = audio / "broken.wav"
    broken.write_bytes(b"not audio")
    item = BatchItem(str(broken), player="dee", digest=content_hash(broken))
    out.write(item, "failed", reason="broken.wav is not an audio or video file.")
    return out.root, paths


@needs_shipped_model
@needs_espeak
def test_the_app_opens_batch_results_and_keeps_decisions(qtbot, open_window, tmp_path):
    root, _ = make_results(tmp_path)
    expected = ResultsFolder(root).load().flagged
    assert len(expected) >= 3, [(e.text, e.label, e.score) for e in expected]
    window = open_window()
    view = window.open_batch_results(str(root))
    qtbot.waitUntil(lambda: view.results is not None, timeout=10_000)

    # every flagged excerpt, most confident first; names and text shown as typed (plain text)
    rows = view.rows()
    assert sorted((e.path, e.index) for e in rows) == sorted((e.path, e.index) for e in expected)
    assert [e.score for e in rows] == sorted((e.score for e in rows), reverse=True)
    shown = {view.proxy.index(r, 2).data() for r in range(view.proxy.rowCount())}
    assert shown <= {f"<i>{name}</i>" for name in LINES}
    texts = {e.text: r for r, e in enumerate(rows)}
    tagged = texts["<b>You are trash</b> & a loser"]
    assert view.proxy.index(tagged, 6).data() == "<b>You are trash</b> & a loser"
    tip = view.proxy.index(tagged, 6).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == plain_html("<b>You are trash</b> & a loser")  # shown as typed, not bold
    # sort by player, then by category
    header = view.view.horizontalHeader()
    middle = QPoint(header.sectionViewportPosition(2) + header.sectionSize(2) // 2, 5)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=middle)
    players = [e.player for e in view.rows()]
    assert players == sorted(players) or players == sorted(players, reverse=True)
    view.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    labels = [e.label for e in view.rows()]
    assert labels == sorted(labels)
    # the per-player summary and the failed file
    summary = {
        view.players.item(r, 0).text(): int(view.players.item(r, 4).text())
        for r in range(view.players.rowCount())
    }
    assert sum(summary.values()) == len(expected)
    assert view.failed.rowCount() == 1 and "not an audio" in view.failed.item(0, 1).text()
    assert "1 failed" in view.summary.text()
    view.filter.setText("m1")
    assert {e.match for e in view.rows()} == {"m1"}
    view.filter.clear()

    # open the most confident excerpt: its recording becomes a session under Sessions
    view.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    first = view.rows()[0]
    view.select_row(0)
    view.view.setFocus()
    qtbot.keyClick(view.view, Qt.Key.Key_Return)
    sessions = window.sessions_view
    assert window.tabs.currentWidget() is sessions
    current = sessions.review.table.current_excerpt()
    assert current is not None and current.text == first.text
    session_id = sessions.session_id
    assert [t.path for t in window.store.tracks(session_id)] == [first.path]
    assert sessions.player.play_button.isEnabled()

    # a decision made there is kept in the store and shown in the triage list
    sessions.review.panel.confirm.click()
    decided = window.store.current_decisions(session_id)
    assert [d.action for d in decided.values()] == ["confirm"]
    assert decided[current.id].excerpt_id == current.id
    column = 8
    row = [e.index for e in view.rows()].index(first.index)
    qtbot.waitUntil(lambda: view.proxy.index(row, column).data() == "confirmed", timeout=5_000)
    view.select_row(row)
    screenshot(view, "triage")

    # opening it again reuses the session: the decision is still there, no second session
    assert view.open(first) == (session_id, current.id)
    titles = [s.title for s in window.store.sessions()]
    assert titles.count(f"Batch: {Path(first.path).name}") == 1
    assert window.store.current_decisions(session_id)[current.id].action == "confirm"


def test_triage_refuses_a_folder_that_is_not_batch_results(qtbot, open_window, tmp_path):
    window = open_window(wait_for_model=False)
    view = window.open_batch_results(str(tmp_path))
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        pass
    assert "not the results folder of a modlens batch" in view.summary.text()
    assert view.model.rowCount() == 0


@pytest.fixture(autouse=True)
def _no_ray_in_the_app():
    """The app reads results without Ray: nothing here may import it."""
    import sys

    before = "ray" in sys.modules
    yield
    assert before or "ray" not in sys.modules
