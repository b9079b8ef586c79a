"""Model versions: which classifier is active, what each was trained on and how it scored.

Every improved model is kept in the data folder (models.versions); this dialog lists them with
the shipped default, marks the one in use, shows its card, and switches in one click ("Use this
version", or "Switch back" to the one used before).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from models.model_folder import CARD_NAME
from models.versions import ModelVersion, ModelVersions, VersionError

COLUMNS = ("version", "in use", "categories", "created", "trained on and scored")


class ModelsDialog(QDialog):
    """activate(path or None) switches the window's classifier (None: the shipped model)."""

    def __init__(
        self,
        versions: ModelVersions,
        current_model_dir: Callable[[], str],
        activate: Callable[[str | None], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model versions")
        self.resize(self.fontMetrics().averageCharWidth() * 120, 420)
        self.versions = versions
        self.current_model_dir = current_model_dir
        self.activate = activate
        self.rows: list[ModelVersion] = []

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.itemSelectionChanged.connect(self._show_card)
        self.card = QPlainTextEdit()  # plain text: the card quotes file and category names
        self.card.setReadOnly(True)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.use_button = QPushButton("&Use this version")
        self.use_button.clicked.connect(self.use_selected)
        self.back_button = QPushButton("Switch &back")
        self.back_button.clicked.connect(self.switch_back)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.use_button)
        row.addWidget(self.back_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.card, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.refresh()

    def active_name(self) -> str | None:
        return self.versions.name_of(self.current_model_dir() or None)

    def refresh(self) -> None:
        self.rows = self.versions.versions()
        active = self.active_name()
        self.table.setRowCount(len(self.rows))
        for i, version in enumerate(self.rows):
            created = (
                time.strftime("%Y-%m-%d %H:%M", time.localtime(version.created))
                if version.created and not version.is_default
                else ""
            )
            cells = (
                version.name,
                "●" if version.name == active else "",
                str(max(0, len(version.labels) - 1)),
                created,
                version.describe(),
            )
            for column, value in enumerate(cells):
                self.table.setItem(i, column, QTableWidgetItem(value))  # items are plain text
        self.table.resizeColumnsToContents()
        previous = self.versions.previous()
        self.back_button.setEnabled(bool(previous) and previous != active)
        self.back_button.setToolTip(f"Back to {previous}" if previous else "")
        if previous and previous != active and Path(previous).is_absolute():
            # a folder outside the versions (the one in use before the first improvement)
            self.back_button.setEnabled(
                self.versions.name_of(previous) != active and Path(previous).is_dir()
            )
        if active is None:
            self.status.setText(
                f"In use: a model folder outside the versions ({self.current_model_dir()})"
            )
        else:
            self.status.setText(f"In use: {active}")
        self.table.clearSelection()
        for i, version in enumerate(self.rows):
            if version.name == active:
                self.table.selectRow(i)
        self._show_card()

    def selected(self) -> ModelVersion | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def _show_card(self) -> None:
        version = self.selected()
        if version is None:
            self.card.clear()
            self.use_button.setEnabled(False)
            return
        card = Path(version.path) / CARD_NAME
        try:
            text = card.read_text(encoding="utf-8")
        except OSError:
            text = version.describe()
        self.card.setPlainText(text)
        self.use_button.setEnabled(version.name != self.active_name() and not version.problem)

    def use(self, name: str) -> None:
        """Make a version active (recorded) and switch the window's classifier to it."""
        try:
            path = self.versions.activate(name)
        except VersionError as exc:
            self.status.setText(str(exc))
            return
        self.activate(str(path) if path is not None else None)
        self.refresh()

    def use_selected(self) -> None:
        version = self.selected()
        if version is not None:
            self.use(version.name)

    def switch_back(self) -> None:
        previous = self.versions.previous()
        if previous:
            self.use(previous)


def open_model_versions(window, versions: ModelVersions | None = None) -> ModelsDialog:
    from client.widgets.improve_dialog import use_model

    dialog = ModelsDialog(
        versions or ModelVersions(),
        lambda: window.settings.model_dir,
        lambda path: use_model(window, path),
        window,
    )
    dialog.open()
    return dialog
