"""The learning loop in the window, on a tiny model: decisions made in the Text screen, Improve
(a subprocess, with progress), the new version in use, Model versions, switch back; Cancel; the
fast path (thresholds) when decisions are few or the training extra is missing; word lists and
studio categories in Settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.client.stall_meter import StallMeter
from tests.client.test_app_text import check
from tests.improve_data import decisions, trainable_model

# 40 epochs: at 15 the tiny model was still at loss ~0.5 and "better" turned on float noise
FAST = ["--threads", "1", "--epochs", "40", "--learning-rate", "3e-3", "--distil-weight", "0.3"]
FAST += ["--train-embeddings"]  # the tiny model's are random, not pretrained


@pytest.fixture(scope="module")
def base_model(tiny_model_dir, tiny_hf_model, tmp_path_factory) -> Path:
    return trainable_model(tmp_path_factory.mktemp("base") / "model", tiny_model_dir, tiny_hf_model)


def decide_all(qtbot, window, rows: list[dict], undecided: list[str]) -> None:
    """Check the chat in the Text screen and decide every excerpt of rows with the review pane."""
    view = check(qtbot, window, "\n".join([r["text"] for r in rows] + undecided))
    review = view.review
    wanted = {r["text"]: r["label"] for r in rows}
    for excerpt in review.table.model.excerpts():
        label = wanted.get(excerpt.text)
        if label is None:
            continue
        assert review.table.select_excerpt(excerpt.id)
        if label == "non_toxic":
            review.decide("dismiss", "", "")
        else:
            review.decide("relabel", label, "")
    assert len(window.store.training_rows()) == len(rows)


def test_improve_from_the_window_then_switch_back(qtbot, open_window, base_model, app_dirs):
    from client.widgets.improve_dialog import open_improve
    from client.widgets.models_view import open_model_versions

    window = open_window(
        model_dir=str(base_model), thresholds={"toxic": 0.0}, categories="cheating"
    )
    rows = decisions(n=140, cheating=25)
    decide_all(qtbot, window, rows, [f"nice one u{i}" for i in range(30)])

    dialog = open_improve(window, extra_args=FAST)
    assert dialog.counts.text().startswith("165 decisions (95 toxic, 70 not toxic")
    assert "30 undecided excerpts" in dialog.counts.text()
    assert dialog.improve_button.isEnabled(), dialog.note.text()
    meter = StallMeter()
    meter.start()
    qtbot.mouseClick(dialog.improve_button, Qt.MouseButton.LeftButton)
    assert dialog.running() and dialog.cancel_button.isEnabled()
    # progress arrives through the window's event loop while the subprocess trains
    qtbot.waitUntil(lambda: dialog.stage.text().startswith("Training"), timeout=240_000)
    assert dialog.progress.maximum() > 1
    qtbot.waitUntil(lambda: not dialog.running(), timeout=240_000)
    # the window stayed responsive: training runs in another process (this machine is shared,
    # so the bound is loose; a stall of the GUI thread on training would be whole seconds)
    assert meter.stop() < 1.0
    assert dialog.summary is not None and dialog.summary["better"], dialog.result.text()
    assert dialog.result.text().startswith("A better model: now in use as v001-")

    written = Path(dialog.summary["written"])
    assert written.parent == app_dirs / "data" / "models"
    assert window.settings.model_dir == str(written)
    qtbot.waitUntil(
        lambda: (
            window.classifier_service.classifier is not None
            and Path(window.classifier_service.classifier.path) == written
        ),
        timeout=60_000,
    )
    assert "cheating" in window.taxonomy.labels
    assert json.loads((app_dirs / "config" / "settings.json").read_text())["model_dir"] == str(
        written
    )

    versions = open_model_versions(window)
    names = [versions.table.item(r, 0).text() for r in range(versions.table.rowCount())]
    assert names == ["shipped default", written.name]
    assert versions.table.item(1, 1).text() == "●"
    assert "held-out F1" in versions.table.item(1, 4).text() and "cheating" in (
        versions.table.item(1, 4).text()
    )
    assert "cheating (new)" in versions.card.toPlainText()
    assert versions.back_button.isEnabled()
    qtbot.mouseClick(versions.back_button, Qt.MouseButton.LeftButton)
    assert window.settings.model_dir == str(base_model)
    qtbot.waitUntil(
        lambda: (
            window.classifier_service.classifier is not None
            and Path(window.classifier_service.classifier.path) == base_model
        ),
        timeout=60_000,
    )
    assert "cheating" not in window.taxonomy.labels
    # the improved version is kept, and one click makes it active again
    versions.table.selectRow(1)
    qtbot.mouseClick(versions.use_button, Qt.MouseButton.LeftButton)
    assert window.settings.model_dir == str(written)


def test_cancel_leaves_the_model_in_use(qtbot, open_window, base_model, app_dirs):
    from client.widgets.improve_dialog import open_improve

    window = open_window(model_dir=str(base_model), thresholds={"toxic": 0.0})
    decide_all(qtbot, window, decisions(n=120), [])
    dialog = open_improve(window, extra_args=["--threads", "1", "--epochs", "5000"])
    qtbot.mouseClick(dialog.improve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.stage.text().startswith("Training"), timeout=240_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running(), timeout=30_000)
    assert dialog.result.text() == "Cancelled. The model in use is unchanged."
    assert window.settings.model_dir == str(base_model)
    models = app_dirs / "data" / "models"
    assert [p.name for p in models.iterdir() if not p.name.startswith("active")] == []


def test_few_decisions_offer_thresholds_fitted_in_seconds(qtbot, open_window, base_model):
    from client.widgets.improve_dialog import open_improve

    window = open_window(model_dir=str(base_model), thresholds={"toxic": 0.0})
    decide_all(qtbot, window, decisions(n=40), [])
    dialog = open_improve(window)
    assert not dialog.improve_button.isEnabled()
    assert "40 decisions are too few to fine-tune" in dialog.note.text()
    qtbot.mouseClick(dialog.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.fit is not None, timeout=30_000)
    assert dialog.result.text().startswith("On 40 decisions: F1 ")
    before = window.settings.thresholds
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert window.settings.thresholds == dialog.fit.as_settings() != before


def test_without_the_training_extra_the_action_says_what_to_install(
    qtbot, open_window, base_model, monkeypatch
):
    """The bundle leaves torch out; thresholds still work there."""
    import client.widgets.improve_dialog as improve_dialog

    monkeypatch.setattr(improve_dialog, "missing_training", lambda: "torch")
    window = open_window(model_dir=str(base_model), thresholds={"toxic": 0.0})
    decide_all(qtbot, window, decisions(n=120), [])
    dialog = improve_dialog.open_improve(window)
    assert not dialog.improve_button.isEnabled()
    assert "pip install torch==2.13.0 && pip install 'modlens[train]'" in dialog.note.text()
    assert dialog.fit_button.isEnabled()


def test_settings_keep_studio_categories_and_word_lists(
    qtbot, open_window, tiny_model_dir, tmp_path
):
    from client.widgets.settings_dialog import SettingsDialog
    from client.widgets.studio_settings import word_lists_path
    from models.wordlists import WordEntry, WordLists, read_word_lists, write_word_lists

    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.99})
    imported = tmp_path / "ours.csv"
    write_word_lists(WordLists((WordEntry("allow", "Widowmaker"),)), imported)
    dialog = SettingsDialog(window.settings, window.taxonomy, devices=[], parent=window)
    studio = dialog.studio
    studio.categories.setText("cheating, real money trading")
    row = studio.add_entry(WordEntry("block", "goldshop", "real_money_trading"))
    assert studio.table.cellWidget(row, 1).currentData() == "real_money_trading"
    assert studio.import_file(imported) == 1
    # a block entry without a category keeps the dialog open with the reason
    bad = studio.add_entry(WordEntry("block", "oops", ""))
    dialog.accept()
    assert dialog.result() == 0 and "needs a toxic category" in studio.problem.text()
    studio.table.setCurrentCell(bad, 3)
    studio.table.selectRow(bad)
    studio.remove_selected()
    assert studio.validate() is None
    exported = tmp_path / "out.json"
    assert studio.export_file(exported)
    assert {e.entry for e in read_word_lists(exported).entries} == {"goldshop", "Widowmaker"}

    from client.widgets.studio_settings import save_window_word_lists

    assert save_window_word_lists(window, dialog)
    window.apply_settings(dialog.result_settings(), reload=True)
    assert window.settings.categories == "cheating, real money trading"
    assert "real_money_trading" in window.store.labels
    assert read_word_lists(word_lists_path(window.settings_path)).entries[0].entry == "goldshop"
    # the Text screen applies the list: the blocked word is flagged with the studio category
    from models.wordlists import ListedClassifier

    qtbot.waitUntil(
        lambda: isinstance(window.classifier_service.classifier, ListedClassifier), timeout=60_000
    )
    view = check(qtbot, window, "meet me at goldshop\ngg wp")
    flagged = {e.text: e for e in view.review.table.model.excerpts()}
    assert flagged["meet me at goldshop"].label == "real_money_trading"
    assert flagged["meet me at goldshop"].toxic
    assert not flagged["gg wp"].toxic
