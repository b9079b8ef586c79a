"""Settings: changed in the dialog, kept between runs, and applied (thresholds reload the model)."""

from __future__ import annotations

import json

from client.settings import Settings, load_settings, save_settings
from tests.client.conftest import screenshot


def test_settings_from_the_dialog_are_kept_between_runs(qtbot, open_window, tiny_model_dir):
    from client.widgets.settings_dialog import SettingsDialog

    window = open_window(model_dir=str(tiny_model_dir))
    dialog = SettingsDialog(
        window.settings, window.taxonomy, devices=[("Headset (1 ch)", "Headset")], parent=window
    )
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.moderator.setText("ana")
    dialog.whisper.setCurrentIndex(dialog.whisper.findData("base"))
    dialog.language.setText("de")
    dialog.vocabulary.setPlainText("noob, camping, griefing")
    dialog.device.setCurrentIndex(dialog.device.findData("Headset"))
    # thresholds in percent, like the confidences everywhere else in the window
    threat = dialog.thresholds["threat"]
    assert threat.suffix() == " %" and threat.maximum() == 100
    assert threat.text() == "model default"
    threat.selectAll()
    qtbot.keyClicks(threat, "30")
    assert threat.text() == "30 %"
    screenshot(dialog, "settings")
    window.apply_settings(dialog.result_settings())
    # a threshold change reloads the classifier with it
    qtbot.waitUntil(
        lambda: (
            window.classifier_service.classifier is not None
            and window.classifier_service.classifier.threshold_for("threat") == 0.3
        ),
        timeout=30_000,
    )
    path = window.settings_path
    window.close()

    saved, problem = load_settings(path)
    assert problem is None
    assert saved.moderator == "ana"
    assert (saved.whisper_model, saved.language) == ("base", "de")
    assert saved.vocabulary == "noob, camping, griefing"
    assert saved.input_device == "Headset"
    assert saved.thresholds == {"threat": 0.3}
    assert saved.model_dir == str(tiny_model_dir)


def test_saved_thresholds_show_in_percent(qtbot, app_dirs):
    from client.widgets.settings_dialog import SettingsDialog
    from models.taxonomy import Taxonomy

    settings = Settings(thresholds={"toxic": 0.45, "insult": 0.7})
    dialog = SettingsDialog(settings, Taxonomy(), devices=[])
    qtbot.addWidget(dialog)
    assert dialog.thresholds["toxic"].text() == "45 %"
    assert dialog.thresholds["insult"].text() == "70 %"
    assert dialog.thresholds["threat"].text() == "model default"
    assert dialog.result_settings().thresholds == {"toxic": 0.45, "insult": 0.7}


def test_a_damaged_settings_file_gives_defaults_and_a_message(qtbot, app_dirs, tiny_model_dir):
    from client.app import create_window

    path = app_dirs / "config" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    window = create_window(app_dirs / "data" / "m.sqlite3", path, load_model=False)
    qtbot.addWidget(window)
    assert window.settings == Settings()
    assert "could not be read" in window.statusBar().currentMessage()
    window.queue.shutdown(100)
    window.store.close()


def test_out_of_range_values_are_put_back_to_defaults(tmp_path):
    path = tmp_path / "settings.json"
    save_settings(Settings(moderator="bo"), path)
    data = json.loads(path.read_text())
    data.update(whisper_model="huge", thresholds={"insult": 7, "threat": 0.4}, unknown=1)
    path.write_text(json.dumps(data))
    settings, problem = load_settings(path)
    assert problem is None
    assert settings.moderator == "bo"
    assert settings.whisper_model == "tiny.en"
    assert settings.thresholds == {"threat": 0.4}
