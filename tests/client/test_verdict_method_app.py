"""A verdict that a studio word list decided, or that was left "not checked" because nothing
covers the excerpt's language, says so: the store keeps the method, language and list entry per
excerpt (older databases migrate and keep their rows), the decision panel and the table's tooltip
show it, and the JSON, CSV and HTML reports carry it."""

from __future__ import annotations

import csv
import json

from PySide6.QtCore import Qt

from client.store import SCHEMA_VERSION, Store
from client.widgets.excerpt_table import CONFIDENCE
from models.classifier import Verdict
from models.excerpts import Excerpt
from tests.client.conftest import screenshot
from tests.client.old_database import old_database
from tests.client.test_app_decisions import select
from tests.client.test_app_text import check

LISTED = "decided by the studio word list: block · insult · 'camper'"


def test_a_block_entry_decides_a_text_check_and_the_panel_and_reports_say_so(
    qtbot, open_window, app_dirs, tiny_model_dir, tmp_path
):
    from client.widgets.report_dialog import write_session_report
    from client.widgets.studio_settings import word_lists_path
    from models.wordlists import ListedClassifier, WordEntry, WordLists, write_word_lists

    settings = app_dirs / "config" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    lists = WordLists((WordEntry("block", "camper", "insult"),))
    write_word_lists(lists, word_lists_path(settings))
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.99})
    qtbot.waitUntil(
        lambda: isinstance(window.classifier_service.classifier, ListedClassifier), timeout=60_000
    )
    view = check(qtbot, window, "what a CAMPER, <b>honestly</b>\ngg wp")
    review = view.review
    listed = select(qtbot, review.table, "what a CAMPER, <b>honestly</b>")
    assert (listed.label, listed.toxic, listed.method, listed.entry) == (
        "insult",
        True,
        "word list",
        "block: camper",
    )
    # kept in the database, not only in the table
    assert window.store.excerpt(listed.id).entry == "block: camper"
    shown = review.panel.verdict.text()
    assert shown.startswith("word list: insult") and shown.endswith(LISTED), shown
    assert "model:" not in shown  # a block entry's score is no model's probability
    screenshot(window, "text_word_list")
    model = review.table.model
    tip = model.data(model.index(model.excerpts().index(listed), 0), Qt.ItemDataRole.ToolTipRole)
    assert LISTED.replace("'", "&#x27;") in tip and "<b>" not in tip  # plain text, escaped
    # the table's Confidence and the highlight's tag say the list decided, not a probability
    row = model.excerpts().index(listed)
    assert model.data(model.index(row, CONFIDENCE)) == "word list"
    assert view.editor.tags() == ["insult word list"]
    (player,) = view.player_summary.stats
    assert view.player_summary._line_text(player.worst[0]).startswith("insult word list: what")
    review.table.min_confidence.setValue(99)  # decided, not scored: no minimum hides it
    assert listed.id in [e.id for e in review.table.shown_excerpts()]
    review.table.min_confidence.setValue(0)
    clean = select(qtbot, review.table, "gg wp")
    assert clean.method == "model" and "word list" not in review.panel.verdict.text()

    for suffix in (".json", ".csv", ".html"):
        write_session_report(window.store, review.session_id, tmp_path / f"r{suffix}")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    by_text = {f["text"]: f for f in data["findings"]}
    assert (by_text[listed.text]["method"], by_text[listed.text]["entry"]) == (
        "word list",
        "block: camper",
    )
    assert by_text["gg wp"]["method"] == "model" and by_text["gg wp"]["entry"] is None
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as handle:
        rows = {r["text"]: r for r in csv.DictReader(handle)}
    assert (rows[listed.text]["method"], rows[listed.text]["list_entry"]) == (
        "word list",
        "block: camper",
    )
    assert rows["gg wp"]["method"] == "model" and rows["gg wp"]["list_entry"] == ""
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "decided by the studio word list: block · insult · &#x27;camper&#x27;" in page


def test_a_not_checked_excerpt_says_its_language_in_the_panel_and_reports(qtbot, tmp_path):
    from client.widgets.decision_panel import DecisionPanel
    from client.widgets.report_dialog import write_session_report
    from models.taxonomy import Taxonomy

    store = Store(tmp_path / "m.sqlite3")
    session = store.create_session("text", "chat")
    unchecked = Verdict("non_toxic", False, 0.2, {"non_toxic": 0.8}, language="pt")
    unchecked = Verdict(**vars(unchecked) | {"method": "not checked"})
    (stored,) = store.add_excerpts(session.id, [Excerpt("=você é ruim", 0, 12)], [unchecked])
    assert (stored.method, stored.language, stored.entry) == ("not checked", "pt", None)

    panel = DecisionPanel(Taxonomy())
    qtbot.addWidget(panel)
    panel.show_excerpt(store.excerpt(stored.id), [])
    assert panel.verdict.text().endswith("not checked (language: pt)")

    write_session_report(store, session.id, tmp_path / "r.csv")
    write_session_report(store, session.id, tmp_path / "r.json")
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["method"], row["language"], row["text"]) == ("not checked", "pt", "'=você é ruim")
    (finding,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["findings"]
    assert (finding["method"], finding["language"]) == ("not checked", "pt")
    store.close()


def test_a_version_4_database_migrates_and_keeps_its_excerpts(tmp_path):
    path = old_database(
        tmp_path / "v4.sqlite3",
        4,
        "INSERT INTO sessions (kind, title, created) VALUES ('text', 'old', 1.0)",
        "INSERT INTO excerpts (session_id, position, text, label, toxic, score, scores) "
        "VALUES (1, 0, 'you camper', 'insult', 1, 0.9, '{\"insult\": 0.9}')",
        "INSERT INTO decisions (excerpt_id, action, label, created) "
        "VALUES (1, 'confirm', 'insult', 2.0)",
    )

    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION >= 5
    (old,) = store.excerpts(1)
    assert (old.text, old.label, old.scores) == ("you camper", "insult", {"insult": 0.9})
    assert (old.method, old.language, old.entry) == (None, None, None)  # not known, not invented
    assert store.current_decisions(1)[old.id].action == "confirm"
    from client.labels import describe_method

    assert describe_method(old) == ""
    store.close()
