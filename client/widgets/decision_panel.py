"""The moderator's verdict on one excerpt: confirm, dismiss as a false positive, or relabel,
with an optional note; the excerpt's decision history, and undo.

The panel only asks; the review pane writes the decision to the store. Everything it shows from
input (the text, the player's name, notes) is plain text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
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

from client.labels import (
    describe_method,
    describe_state,
    format_percent,
    format_time,
    label_name,
    label_probability,
    model_flagged,
    plain_html,
)
from client.store import Decision, StoredExcerpt
from models.classifier import METHOD_WORD_LIST
from models.taxonomy import Taxonomy

ACTION_NAMES = {
    "confirm": "confirmed",
    "dismiss": "false positive",
    "relabel": "relabeled",
    "missed": "missed by the model, flagged",
}
NO_EXCERPT = "Select an excerpt to review it."


class DecisionPanel(QGroupBox):
    decided = Signal(str, str, str)  # action, label ("" for the model's), note
    note_entered = Signal(str)  # Enter in the note field: keep this note for the excerpt shown
    undo_requested = Signal()

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None) -> None:
        super().__init__(parent)  # no title: on a small screen the table needs the height
        self.setAccessibleName("Decision")
        self.taxonomy = taxonomy
        self._extra: tuple[str, ...] = ()  # the studio's own categories
        self._excerpt: StoredExcerpt | None = None

        self.verdict = _plain_label()
        self.verdict.setAccessibleName("Model verdict")
        bold = QFont(self.verdict.font())
        bold.setBold(True)
        self.verdict.setFont(bold)
        self.verdict.setWordWrap(True)  # a word list entry can be long
        self.summary = _plain_label(NO_EXCERPT)
        self.summary.setAccessibleName("Excerpt under review")
        self.summary.setWordWrap(True)
        # a long excerpt must not push the table off a small screen: three lines at most
        self.summary.setMaximumHeight(self.fontMetrics().lineSpacing() * 3 + 2)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note for this excerpt (Enter keeps it)")
        self.note.setAccessibleName("Note")
        self.confirm = QPushButton("&Confirm")
        self.confirm.setToolTip("The model is right (C in the table)")
        self.dismiss = QPushButton("&False positive")
        self.dismiss.setToolTip("Not toxic: dismiss (F or X in the table)")
        self.relabel_to = QComboBox()
        self.relabel_to.setAccessibleName("Relabel to")
        self.relabel = QPushButton("&Relabel")
        self.relabel.setToolTip(
            "Another category fits better, or flag what the model missed (R in the table)"
        )
        self.undo = QPushButton("&Undo last")
        self.undo.setToolTip("Take back the most recent decision (Ctrl+Z)")
        self.history = QListWidget()
        self.history.setAccessibleName("Decision history")
        line = self.fontMetrics().lineSpacing()
        self.history.setMinimumHeight(line + 6)  # room for the table on a small screen
        self.history.setMaximumHeight(line * 4 + 6)
        self._fill_labels()

        self.confirm.clicked.connect(lambda: self._emit("confirm"))
        self.dismiss.clicked.connect(lambda: self._emit("dismiss"))
        self.relabel.clicked.connect(
            lambda: self._emit("relabel", self.relabel_to.currentData() or "")
        )
        self.undo.clicked.connect(self.undo_requested)
        self.note.returnPressed.connect(self._on_note_entered)

        buttons = QHBoxLayout()
        buttons.addWidget(self.confirm)
        buttons.addWidget(self.dismiss)
        buttons.addSpacing(12)
        buttons.addWidget(self.relabel_to)
        buttons.addWidget(self.relabel)
        buttons.addStretch(1)
        notes = QHBoxLayout()
        notes.addWidget(self.note, 1)
        notes.addWidget(self.undo)

        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.verdict)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addLayout(notes)
        layout.addWidget(self.history)
        self.show_excerpt(None, [])

    def _fit_verdict(self) -> None:
        """Ask for the height the wrapped verdict needs at the panel's width, so the splitter
        above gives it room instead of cutting its first line off."""
        width = self.verdict.width() if self.verdict.isVisible() else self.width()
        self.verdict.setMinimumHeight(self.verdict.heightForWidth(max(width, 100)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_verdict()

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._fill_labels()

    def set_categories(self, labels: Sequence[str]) -> None:
        """Offer these categories beside the model's toxic ones for a relabel (the studio's
        own, from Settings); no change when they are the ones offered already."""
        extra = tuple(label for label in labels if label not in self.taxonomy.labels)
        if extra != self._extra:
            self._extra = extra
            self._fill_labels()

    def excerpt(self) -> StoredExcerpt | None:
        """The excerpt shown: the one a decision from this panel is about."""
        return self._excerpt

    def note_text(self) -> str:
        return self.note.text().strip()

    def show_excerpt(
        self,
        excerpt: StoredExcerpt | None,
        history: list[Decision],
        note: str = "",
        decision: Decision | None = None,
    ) -> None:
        """Show an excerpt with its history; note is the excerpt's own note (kept or saved)."""
        self._excerpt = excerpt
        enabled = excerpt is not None
        for widget in (self.confirm, self.dismiss, self.relabel, self.relabel_to, self.note):
            widget.setEnabled(enabled)
        self.history.clear()
        self.note.setText(note)
        if excerpt is None:
            self.verdict.setText("")
            self.verdict.hide()
            self.summary.setText(NO_EXCERPT)
            self.summary.setToolTip("")
            return
        self.verdict.show()
        name = label_name(excerpt.label)
        probability = format_percent(label_probability(excerpt, excerpt.label))
        method = describe_method(excerpt)  # a word list or an uncovered language decided
        if excerpt.method == METHOD_WORD_LIST:
            verdict = f"word list: {name}"  # not a model's probability
        else:
            verdict = f"model: {name} {probability}"
            if model_flagged(excerpt):
                verdict += f" (toxic {format_percent(excerpt.score)})"
        if decision is not None:
            verdict += f" · {describe_state(excerpt, decision)}"
        where = [part for part in (format_time(excerpt.time), excerpt.speaker, method) if part]
        self.verdict.setText(" · ".join([verdict, *where]))
        self._fit_verdict()
        self.summary.setText(excerpt.text)
        self.summary.setToolTip(plain_html(excerpt.text))
        # offer a category other than the model's: relabelling to the same one is no change
        others = [
            i
            for i in range(self.relabel_to.count())
            if self.relabel_to.itemData(i) != excerpt.label
        ]
        current = self.relabel_to.currentData()
        if others and current == excerpt.label:
            self.relabel_to.setCurrentIndex(others[0])
        for item in reversed(history):
            self.history.addItem(self._describe(item))

    def _describe(self, decision: Decision) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(decision.created))
        action = ACTION_NAMES.get(decision.action, decision.action)
        label = label_name(decision.label)
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
        self.decided.emit(action, label, self.note_text())

    def _on_note_entered(self) -> None:
        if self._excerpt is not None:
            self.note_entered.emit(self.note_text())

    def _fill_labels(self) -> None:
        current = self.relabel_to.currentData()
        self.relabel_to.clear()
        for label in (*self.taxonomy.toxic, *self._extra):
            self.relabel_to.addItem(label_name(label), label)
        self.relabel_to.setCurrentIndex(max(0, self.relabel_to.findData(current)))


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label
