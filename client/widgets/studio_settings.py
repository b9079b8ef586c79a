"""The studio's own settings, a section of the Settings dialog: its categories (beyond the
model's; moderators relabel or flag excerpts into them and `improve` learns them) and its block
and allow word lists (models.wordlists), edited in a table and imported or exported as a file.

The word lists live in ``wordlists.json`` beside settings.json; the classifier applies them to
every verdict in the Text, Sessions and Live screens.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from client.settings import Settings, settings_path, studio_categories
from models.wordlists import (
    LIST_KINDS,
    WORD_LISTS_NAME,
    WordEntry,
    WordListError,
    WordLists,
    load_word_lists,
    parse_entries,
    read_word_lists,
    write_word_lists,
)

COLUMNS = ("list", "category", "language", "entry")
FILE_FILTER = "Word lists (*.csv *.json);;CSV (*.csv);;JSON (*.json)"


def word_lists_path(settings_file: str | Path | None) -> Path:
    """wordlists.json beside the settings file (default: the user's config folder)."""
    return Path(settings_file or settings_path()).parent / WORD_LISTS_NAME


def load_window_word_lists(window) -> WordLists:
    lists, problem = load_word_lists(word_lists_path(window.settings_path))
    if problem:
        window.show_message(problem)
    return lists


def save_window_word_lists(window, dialog) -> bool:
    """Save the lists the Settings dialog holds; True when they changed."""
    studio = getattr(dialog, "studio", None)
    if studio is None:
        return False
    lists = studio.word_lists()
    path = word_lists_path(window.settings_path)
    before, _ = load_word_lists(path)
    if lists == before:
        return False
    try:
        write_word_lists(lists, path)
    except WordListError as exc:
        window._warn("Word lists not saved", str(exc))
        return False
    return True


class StudioSettings(QGroupBox):
    """Studio categories and word lists; `validate` before `word_lists`."""

    def __init__(
        self,
        settings: Settings,
        model_labels: Sequence[str],
        lists: WordLists | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Studio categories and word lists", parent)
        self.model_labels = list(model_labels)
        self.categories = QLineEdit(settings.categories)
        self.categories.setPlaceholderText("cheating, real-money trading, spam (comma separated)")
        self.categories.textChanged.connect(self._refresh_category_choices)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.setMinimumHeight(self.fontMetrics().height() * 7)
        buttons = QHBoxLayout()
        for text, slot in (
            ("Add &block", lambda: self.add_entry(WordEntry("block", "", "insult"))),
            ("Add a&llow", lambda: self.add_entry(WordEntry("allow", ""))),
            ("&Remove", self.remove_selected),
            ("&Import…", self.choose_import),
            ("E&xport…", self.choose_export),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.problem = QLabel()
        self.problem.setTextFormat(Qt.TextFormat.PlainText)  # messages quote entries
        self.problem.setWordWrap(True)
        hint = QLabel(
            "Block: always flag an excerpt containing the entry, with its category. Allow: a "
            "hero, map or clan name that must not get an excerpt flagged (empty category: any). "
            "Language: en, de… or empty for all."
        )
        hint.setWordWrap(True)
        hint.setTextFormat(Qt.TextFormat.PlainText)
        form = QFormLayout()
        form.addRow("Studio categories:", self.categories)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.problem)
        for entry in (lists or WordLists()).entries:
            self.add_entry(entry)

    # --- rows ---------------------------------------------------------------------------------

    def category_choices(self) -> list[str]:
        settings = Settings(categories=self.categories.text())
        return list(dict.fromkeys([*self.model_labels[1:], *studio_categories(settings)]))

    def _combo(self, values: Sequence[str], current: str) -> QComboBox:
        combo = QComboBox()
        for value in values:
            combo.addItem(value.replace("_", " ") if value else "(any)", value)
        if current and combo.findData(current) < 0:
            combo.addItem(current.replace("_", " "), current)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        return combo

    def add_entry(self, entry: WordEntry) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setCellWidget(row, 0, self._combo(LIST_KINDS, entry.kind))
        self.table.setCellWidget(
            row, 1, self._combo(["", *self.category_choices()], entry.category)
        )
        self.table.setItem(row, 2, QTableWidgetItem(entry.language))  # items are plain text
        self.table.setItem(row, 3, QTableWidgetItem(entry.entry))
        if not entry.entry:
            self.table.setCurrentCell(row, 3)
            self.table.editItem(self.table.item(row, 3))
        return row

    def _refresh_category_choices(self) -> None:
        for row in range(self.table.rowCount()):
            current = self.table.cellWidget(row, 1).currentData()
            self.table.setCellWidget(row, 1, self._combo(["", *self.category_choices()], current))

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)

    def rows(self) -> list[dict]:
        out = []
        for row in range(self.table.rowCount()):
            entry = self.table.item(row, 3)
            language = self.table.item(row, 2)
            out.append(
                {
                    "list": self.table.cellWidget(row, 0).currentData(),
                    "category": self.table.cellWidget(row, 1).currentData() or "",
                    "language": language.text() if language else "",
                    "entry": entry.text() if entry else "",
                }
            )
        return out

    # --- checking, reading, writing -------------------------------------------------------------

    def validate(self) -> str | None:
        """None when every row is a usable entry, else what is wrong (also shown here)."""
        try:
            parse_entries(
                [r for r in self.rows() if r["entry"].strip()],
                ["non_toxic", *self.category_choices()],
            )
        except WordListError as exc:
            self.problem.setText(str(exc))
            return str(exc)
        self.problem.clear()
        return None

    def word_lists(self) -> WordLists:
        """The lists as edited; rows with an empty entry are left out. Call validate first."""
        return parse_entries(
            [r for r in self.rows() if r["entry"].strip()],
            ["non_toxic", *self.category_choices()],
        )

    def import_file(self, path: str | Path) -> int:
        """Add the entries of a CSV or JSON word list file; returns how many were new."""
        try:
            lists = read_word_lists(path)
        except WordListError as exc:
            self.problem.setText(str(exc))
            return 0
        known = {
            (r["list"], r["entry"].casefold(), r["category"], r["language"]) for r in self.rows()
        }
        added = 0
        for entry in lists.entries:
            key = (entry.kind, entry.entry.casefold(), entry.category, entry.language)
            if key not in known:
                self.add_entry(entry)
                known.add(key)
                added += 1
        self.problem.setText(f"Imported {added} entries from {Path(path).name}.")
        return added

    def export_file(self, path: str | Path) -> bool:
        if self.validate() is not None:
            return False
        try:
            write_word_lists(self.word_lists(), path)
        except WordListError as exc:
            self.problem.setText(str(exc))
            return False
        self.problem.setText(f"Exported to {Path(path).name}.")
        return True

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import word lists", "", FILE_FILTER)
        if path:
            self.import_file(path)

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export word lists", "wordlists.csv", FILE_FILTER
        )
        if path:
            self.export_file(path)

    def categories_text(self) -> str:
        return " ".join(self.categories.text().split())
