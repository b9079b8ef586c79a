"""The moderator's verdict on one excerpt: confirm, dismiss as a false positive, or relabel,
with an optional note; the excerpt's decision history, and undo.

The panel only asks; the review pane writes the decision to the store.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.store import Decision, StoredExcerpt
from client.widgets.excerpt_table import ACTION_NAMES, format_time
from models.taxonomy import Taxonomy


class DecisionPanel(QGroupBox):
    decided = Signal(str, str, str)  # action, label ("" for the model's), note
    undo_requested = Signal()

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None) -> None:
        super().__init__("Decision", parent)
        self.taxonomy = taxonomy
        self._excerpt: StoredExcerpt | None = None

        self.summary = QLabel("Select an excerpt to review it.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (optional)")
        self.note.setAccessibleName("Note")
        self.confirm = QPushButton("&Confirm")
        self.confirm.setToolTip("The model is right (C in the table)")
        self.dismiss = QPushButton("&False positive")
        self.dismiss.setToolTip("Not toxic: dismiss (F in the table)")
        self.relabel_to = QComboBox()
        self.relabel_to.setAccessibleName("Relabel to")
        self.relabel = QPushButton("&Relabel")
        self.relabel.setToolTip("Another category fits better (R in the table)")
        self.undo = QPushButton("&Undo last")
        self.undo.setToolTip("Take back the most recent decision (Ctrl+Z)")
        self.history = QListWidget()
        self.history.setAccessibleName("Decision history")
        self.history.setMaximumHeight(110)
        self._fill_labels()

        self.confirm.clicked.connect(lambda: self._emit("confirm"))
        self.dismiss.clicked.connect(lambda: self._emit("dismiss"))
        self.relabel.clicked.connect(
            lambda: self._emit("relabel", self.relabel_to.currentData() or "")
        )
        self.undo.clicked.connect(self.undo_requested)

        buttons = QHBoxLayout()
        buttons.addWidget(self.confirm)
        buttons.addWidget(self.dismiss)
        buttons.addSpacing(12)
        buttons.addWidget(self.relabel_to)
        buttons.addWidget(self.relabel)
        buttons.addStretch(1)
        buttons.addWidget(self.undo)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.history)
        self.show_excerpt(None, [])

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._fill_labels()

    def show_excerpt(self, excerpt: StoredExcerpt | None, history: list[Decision]) -> None:
        self._excerpt = excerpt
        enabled = excerpt is not None
        for widget in (self.confirm, self.dismiss, self.relabel, self.relabel_to, self.note):
            widget.setEnabled(enabled)
        self.history.clear()
        if excerpt is None:
            self.summary.setText("Select an excerpt to review it.")
            return
        name = self.taxonomy.display_name(excerpt.label)
        verdict = f"model: <b>{name}</b> ({excerpt.score:.0%} toxic)"
        where = " · ".join(
            part for part in (format_time(excerpt.time), excerpt.speaker or "") if part
        )
        self.summary.setText(
            f"{verdict}{' · ' + where if where else ''}<br>{_escape(excerpt.text)}"
        )
        # offer a category other than the model's: relabelling to the same one is no change
        others = [
            i
            for i in range(self.relabel_to.count())
            if self.relabel_to.itemData(i) != excerpt.label
        ]
        current = self.relabel_to.currentData()
        if others and current == excerpt.label:
            self.relabel_to.setCurrentIndex(others[0])
        for decision in reversed(history):
            self.history.addItem(self._describe(decision))

    def _describe(self, decision: Decision) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(decision.created))
        action = ACTION_NAMES.get(decision.action, decision.action)
        label = self.taxonomy.display_name(decision.label)
        who = f" by {decision.moderator}" if decision.moderator else ""
        note = f" — {decision.note}" if decision.note else ""
        undone = " (undone)" if decision.undone else ""
        return f"{when}: {action} as {label}{who}{note}{undone}"

    def request(self, action: str) -> None:
        """Act as if the moderator pressed the button for action (keyboard shortcuts)."""
        if action == "relabel":
            self._emit("relabel", self.relabel_to.currentData() or "")
        else:
            self._emit(action)

    def _emit(self, action: str, label: str = "") -> None:
        if self._excerpt is None:
            return
        self.decided.emit(action, label, self.note.text().strip())
        self.note.clear()

    def _fill_labels(self) -> None:
        self.relabel_to.clear()
        for label in self.taxonomy.toxic:
            self.relabel_to.addItem(self.taxonomy.display_name(label), label)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
