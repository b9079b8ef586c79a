"""The Settings dialog: classifier folder, Whisper model and language, gaming vocabulary,
per-category thresholds, input device and the moderator's name.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.settings import WHISPER_MODELS, Settings
from models.taxonomy import Taxonomy

DEFAULT_THRESHOLD_TEXT = "model default"


def input_devices() -> list[tuple[str, str]]:
    """(label, value) of the microphones PortAudio sees; empty when sounddevice cannot load."""
    try:
        import sounddevice
    except (ImportError, OSError):
        return []
    try:
        devices = sounddevice.query_devices()
    except Exception:  # PortAudio without a sound system raises its own error type
        return []
    return [
        (f"{d['name']} ({int(d['max_input_channels'])} ch)", d["name"])
        for d in devices
        if d.get("max_input_channels", 0) > 0
    ]


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        taxonomy: Taxonomy,
        devices: list[tuple[str, str]] | None = None,
        parent: QWidget | None = None,
        word_lists=None,  # models.wordlists.WordLists for the studio section
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)
        self.taxonomy = taxonomy
        self._settings = settings

        self.moderator = QLineEdit(settings.moderator)
        self.moderator.setPlaceholderText("Shown beside every decision you make")
        self.model_dir = QLineEdit(settings.model_dir)
        self.model_dir.setPlaceholderText("The shipped classifier")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_dir, 1)
        model_row.addWidget(browse)
        self.whisper = QComboBox()
        for name in WHISPER_MODELS:
            self.whisper.addItem(
                {"tiny.en": "tiny.en (English, fastest)", "base": "base (multilingual)"}[name],
                name,
            )
        self.whisper.setCurrentIndex(max(0, self.whisper.findData(settings.whisper_model)))
        self.language = QLineEdit(settings.language)
        self.language.setPlaceholderText("en, de, fr… (empty: detect; tiny.en is English only)")
        self.vocabulary = QPlainTextEdit(settings.vocabulary)
        self.vocabulary.setPlaceholderText("Game words Whisper should expect, comma separated")
        self.vocabulary.setMaximumHeight(self.fontMetrics().height() * 4)
        self.device = QComboBox()
        self.device.addItem("System default microphone", "")
        for label, value in devices if devices is not None else input_devices():
            self.device.addItem(label, value)
        position = self.device.findData(settings.input_device)
        if position < 0 and settings.input_device:
            self.device.addItem(f"{settings.input_device} (not connected)", settings.input_device)
            position = self.device.count() - 1
        self.device.setCurrentIndex(max(0, position))

        general = QFormLayout()
        general.addRow("Moderator name:", self.moderator)
        general.addRow("Classifier folder:", model_row)
        general.addRow("Whisper model:", self.whisper)
        general.addRow("Language:", self.language)
        general.addRow("Gaming vocabulary:", self.vocabulary)
        general.addRow("Microphone:", self.device)

        self.thresholds: dict[str, QDoubleSpinBox] = {}
        # percent, like the confidence the excerpt tables show; kept as 0..1 in the settings
        threshold_box = QGroupBox("Flag when the confidence of toxic reaches (per category)")
        threshold_form = QFormLayout(threshold_box)
        for key in ("toxic", *taxonomy.toxic):
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 100.0)
            spin.setSingleStep(5.0)
            spin.setDecimals(0)
            spin.setSuffix(" %")
            spin.setSpecialValueText(DEFAULT_THRESHOLD_TEXT)
            spin.setValue(round(settings.thresholds.get(key, 0.0) * 100))
            name = "any category (default)" if key == "toxic" else taxonomy.display_name(key)
            threshold_form.addRow(f"{name}:", spin)
            self.thresholds[key] = spin

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(general)
        layout.addWidget(threshold_box)
        from client.widgets.studio_settings import StudioSettings

        self.studio = StudioSettings(settings, taxonomy.labels, word_lists)
        layout.addWidget(self.studio)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Classifier folder", self.model_dir.text())
        if folder:
            self.model_dir.setText(folder)

    def accept(self) -> None:
        if self.studio.validate() is None:  # a bad word list entry keeps the dialog open
            super().accept()

    def result_settings(self) -> Settings:
        thresholds = {
            k: round(s.value() / 100, 2) for k, s in self.thresholds.items() if s.value() > 0
        }
        return self._settings.with_changes(
            moderator=self.moderator.text().strip(),
            model_dir=self.model_dir.text().strip(),
            whisper_model=self.whisper.currentData(),
            language=self.language.text().strip(),
            vocabulary=self.vocabulary.toPlainText().strip(),
            input_device=self.device.currentData() or "",
            thresholds=thresholds,
            categories=self.studio.categories_text(),
        )
