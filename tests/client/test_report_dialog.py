"""Reports exported from the window tell the truth: the model's verdict and the moderator's
decision side by side in every format, counted over the whole session; the export dialog starts
in the documents folder with a readable name and remembers the last folder and format."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

from PySide6.QtCore import Qt

from models.classifier import Classifier, Verdict
from tests.client.test_app_decisions import select
from tests.client.test_app_text import check

CHAT = """[20:01] ana: gg wp everyone
[20:02] bob: You absolute moron.
[20:02] cy: thanks for the heal
[20:03] dee: meet me after the match, you will regret this
[20:03] eve: who took mid
[20:04] ana: nice ult
[20:04] bob: uninstall the game
[20:05] cy: report him
[20:05] dee: see you next round
"""
MESSAGES = [line.split(": ", 1)[1] for line in CHAT.splitlines()]


class _Rows(HTMLParser):
    """(class attribute, [cell texts]) of each row of the report's excerpt table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._in_table = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "excerpts":
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append((attrs.get("class", ""), []))
        elif self._in_table and tag == "td":
            self._in_cell = True
            self.rows[-1][1].append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][1][-1] += data


def html_rows(path: Path) -> dict[str, tuple[str, list[str]]]:
    parser = _Rows()
    parser.feed(path.read_text(encoding="utf-8"))
    return {cells[2]: (css, cells) for css, cells in parser.rows if cells}


def export(qtbot, window, session_id: int, path: Path, flagged_only: bool = True) -> None:
    from client.widgets.report_dialog import ReportDialog

    dialog = ReportDialog(window.store, session_id, window)
    dialog.flagged_only.setChecked(flagged_only)
    dialog.path.setText(str(path))
    messages: list[str] = []
    dialog.exported.connect(messages.append)
    dialog.open()
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: bool(messages) or "not saved" in dialog.message.text(), timeout=10_000)
    assert messages, dialog.message.text()


def four_of_nine_threshold(model_dir: Path) -> tuple[float, list[str]]:
    """A threshold that makes the tiny random model flag exactly four of the nine messages,
    and the messages from most to least toxic by its scores."""
    scores = {
        m: v.score for m, v in zip(MESSAGES, Classifier(model_dir).classify(MESSAGES), strict=True)
    }
    ranked = sorted(MESSAGES, key=scores.get, reverse=True)
    assert scores[ranked[3]] > scores[ranked[4]]
    return (scores[ranked[3]] + scores[ranked[4]]) / 2, ranked


def test_reports_show_the_moderators_decisions_beside_the_model_and_count_the_session(
    qtbot, open_window, tiny_model_dir, tmp_path
):
    threshold, ranked = four_of_nine_threshold(tiny_model_dir)
    window = open_window(
        model_dir=str(tiny_model_dir), thresholds={"toxic": threshold}, moderator="ana"
    )
    review = check(qtbot, window, CHAT).review
    flagged = [e.text for e in review.table.model.excerpts() if e.toxic]
    assert len(review.table.model.excerpts()) == 9 and sorted(flagged) == sorted(ranked[:4])
    dismissed, relabeled, missed = ranked[0], ranked[1], ranked[-1]
    model_label = next(e.label for e in review.table.model.excerpts() if e.text == relabeled)
    other = "profanity" if model_label != "profanity" else "insult"

    select(qtbot, review.table, dismissed)
    review.panel.note.setText("=HYPERLINK(banter between friends)")
    review.panel.request("dismiss")
    for text, label in ((relabeled, other), (missed, "threat")):
        select(qtbot, review.table, text)
        review.panel.relabel_to.setCurrentIndex(review.panel.relabel_to.findData(label))
        review.panel.note.setText("")
        review.panel.request("relabel")
    session = review.session_id

    for suffix in (".html", ".json", ".csv", ".srt", ".vtt"):
        export(qtbot, window, session, tmp_path / f"report{suffix}")

    summary = (
        "9 excerpts in the session; the model flagged 4; after review 4 flagged "
        "(1 dismissed, 1 relabeled, 1 missed by the model, 2 not reviewed); "
        "5 listed here (flagged or decided)"
    )
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert summary in page
    rows = html_rows(tmp_path / "report.html")
    assert set(rows) == {*ranked[:4], missed}
    css, cells = rows[dismissed]
    assert "dismissed" in css.split() and "flagged" not in css.split()
    assert cells[4].startswith("dismissed (false positive)") and "ana" in cells[4]
    assert "=HYPERLINK(banter between friends)" in cells[4]
    css, cells = rows[missed]
    assert "flagged" in css.split() and cells[3].startswith("non-toxic")
    assert cells[4].startswith("missed by the model, flagged as threat")
    _, cells = rows[relabeled]
    assert model_label.replace("_", " ") in cells[3] and other in cells[4]

    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert (data["excerpts"], data["summary"]["listed"], data["flagged"]) == (9, 5, 4)
    by_text = {f["text"]: f for f in data["findings"]}
    assert by_text[dismissed]["flagged"] and by_text[dismissed]["final_flagged"] is False
    assert by_text[dismissed]["decision"]["action"] == "dismiss"
    assert by_text[dismissed]["decision"]["moderator"] == "ana"
    assert by_text[dismissed]["decision"]["decided_at"]
    assert by_text[missed]["label"] == "non_toxic"
    assert by_text[missed]["final_label"] == "threat"
    assert (by_text[relabeled]["label"], by_text[relabeled]["final_label"]) == (
        model_label,
        other,
    )

    with open(tmp_path / "report.csv", newline="", encoding="utf-8") as handle:
        table = {r["text"]: r for r in csv.DictReader(handle)}
    assert set(table) == set(rows)
    row = table[dismissed]
    assert (row["model_flagged"], row["decision"], row["final_flagged"]) == (
        "yes",
        "dismissed",
        "no",
    )
    assert row["moderator"] == "ana" and row["decided_at"]
    assert row["note"] == "'=HYPERLINK(banter between friends)"  # not a formula
    assert (table[missed]["decision"], table[missed]["final_label"]) == ("missed", "threat")

    srt = (tmp_path / "report.srt").read_text(encoding="utf-8")
    assert f"{missed} (moderator: missed by the model, flagged as threat by ana)" in srt
    assert f": {dismissed} (moderator: dismissed as a false positive by ana: =HYPERLINK" in srt
    vtt = (tmp_path / "report.vtt").read_text(encoding="utf-8")
    assert (
        f"NOTE {summary}" in vtt
        and "(moderator: missed by the model, flagged as threat by ana)" in vtt
    )


def test_the_dialog_starts_in_documents_with_a_readable_name_and_remembers(
    qtbot, open_window, tiny_model_dir, tmp_path, monkeypatch
):
    from client.widgets.report_dialog import ReportDialog

    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    window = open_window(model_dir=str(tiny_model_dir))
    review = check(qtbot, window, "[20:01] ana: gg wp\n").review
    session = window.store.session(review.session_id)
    window.store.rename_session(session.id, "Raid: night/2")

    dialog = ReportDialog(window.store, session.id, window)
    qtbot.addWidget(dialog)
    default = Path(dialog.path.text())
    assert default.parent == home / "Documents"
    assert default.name.startswith("Raid_ night_2 20") and default.suffix == ".html"
    assert dialog.session_label.textFormat() == Qt.TextFormat.PlainText

    elsewhere = tmp_path / "out"
    elsewhere.mkdir()
    export(qtbot, window, session.id, elsewhere / "mine.csv")
    again = ReportDialog(window.store, session.id, window)
    qtbot.addWidget(again)
    assert Path(again.path.text()).parent == elsewhere
    assert Path(again.path.text()).suffix == ".csv" and again.format().name == "csv"


def test_the_menu_report_names_the_model_and_thresholds_it_was_made_with(
    qtbot, open_window, tiny_model_dir, tmp_path
):
    from client.widgets.report_dialog import ReportDialog

    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.25})
    check(qtbot, window, "[20:01] ana: gg wp\n")
    window.export_report()
    dialog = window.findChild(ReportDialog)
    dialog.path.setText(str(tmp_path / "r.json"))
    dialog.export()
    qtbot.waitUntil((tmp_path / "r.json").exists, timeout=10_000)
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["model"]["name"] == tiny_model_dir.name
    assert data["model"]["thresholds"]["toxic"] == 0.25
    assert data["whisper_model"] is None  # a text session: no Whisper involved


def test_the_training_export_starts_in_documents_and_remembers_folder_and_format(
    qtbot, open_window, tiny_model_dir, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    window = open_window(model_dir=str(tiny_model_dir))
    asked: list[tuple[str, str]] = []
    answers = [str(tmp_path / "mine"), ""]

    def save_as(parent, caption, start, filters, chosen):
        asked.append((start, chosen))
        path = answers.pop(0)
        return path, "JSON Lines (*.jsonl)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    window.export_training()
    qtbot.waitUntil((tmp_path / "mine.jsonl").exists, timeout=10_000)
    qtbot.waitUntil(lambda: "Exported" in window.statusBar().currentMessage(), timeout=10_000)
    window.export_training()
    first, second = Path(asked[0][0]), Path(asked[1][0])
    assert first.parent == home / "Documents" and first.name.startswith("modlens decisions 20")
    assert first.suffix == ".csv" and asked[0][1].startswith("CSV")
    assert second.parent == tmp_path and second.suffix == ".jsonl"
    assert asked[1][1] == "JSON Lines (*.jsonl)"


def test_a_stored_session_reports_its_files_unfinished_ones_and_every_excerpt(tmp_path):
    from client.reports import write_report
    from client.store import Store
    from client.widgets.report_dialog import session_report
    from models.excerpts import Excerpt

    store = Store(tmp_path / "m.sqlite3")
    session = store.create_session("files", "Raid night")
    anna = store.add_track(session.id, tmp_path / "anna.ogg")
    bo = store.add_track(session.id, tmp_path / "bo.ogg")
    cy = store.add_track(session.id, tmp_path / "cy.ogg")
    rude = Verdict("insult", True, 0.9, {"non_toxic": 0.1, "insult": 0.9})
    clean = Verdict("non_toxic", False, 0.1, {"non_toxic": 0.9, "insult": 0.1})
    said = [
        Excerpt("late line", 0, 9, "anna", 30.0, 31.0),
        Excerpt("no time at all", 0, 14, "anna", float("nan"), None),
        Excerpt("early line", 0, 10, "anna", 2.0, 3.0),
    ]
    stored = store.finish_track(anna.id, said, [rude, clean, clean], duration=95.0)
    store.set_track_status(bo.id, "failed", error="bo.ogg: not an audio file")
    store.set_track_status(cy.id, "scanning", progress=0.4)
    store.decide(stored[0].id, "dismiss", note="banter", moderator="ana")

    entries, meta = session_report(store, session.id, whisper_model="base")
    assert [e.finding.text for e in entries] == ["early line", "late line", "no time at all"]
    assert entries[1].status == "dismissed" and entries[1].decision.note == "banter"
    assert meta.title.startswith("Raid night (") and meta.whisper_model == "base"
    anna_source, bo_source, cy_source = meta.sources
    assert (anna_source.speaker, anna_source.duration_s, anna_source.complete) == (
        "anna",
        95.0,
        True,
    )
    assert bo_source.problems == ("bo.ogg: not an audio file",)
    assert cy_source.problems == ("not scanned to the end yet (40% done)",)
    page = write_report(tmp_path / "r.html", entries, meta).read_text(encoding="utf-8")
    assert "This report is incomplete" in page and "unknown time" in page
    store.close()
