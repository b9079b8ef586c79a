"""The review loop shared by the Live, Sessions and Text screens: the excerpt table with its
filters, and the decision panel under it, writing every decision to the store at once.

Keys in the table: N/P next/previous flagged, C confirm, F false positive, R relabel,
Space play, Ctrl+Z undo the last decision in this session.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox, QSplitter, QVBoxLayout, QWidget

from client.store import Store, StoredExcerpt, StoreError
from client.widgets.decision_panel import DecisionPanel
from client.widgets.excerpt_table import ExcerptTable
from models.taxonomy import Taxonomy


class ReviewPane(QWidget):
    decisions_changed = Signal()
    current_changed = Signal(object)  # StoredExcerpt | None
    activated = Signal(object)  # StoredExcerpt

    def __init__(
        self,
        store: Store,
        taxonomy: Taxonomy,
        moderator: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.moderator = moderator
        self.session_id: int | None = None
        self.table = ExcerptTable(taxonomy)
        self.panel = DecisionPanel(taxonomy)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.table.current_changed.connect(self._on_current)
        self.table.activated.connect(self.activated)
        self.panel.decided.connect(self.decide)
        self.panel.undo_requested.connect(self.undo_last)

        for key, slot in (
            ("C", lambda: self.panel.request("confirm")),
            ("F", lambda: self.panel.request("dismiss")),
            ("X", lambda: self.panel.request("dismiss")),
            ("R", lambda: self.panel.request("relabel")),
        ):
            shortcut = QShortcut(QKeySequence(key), self.table.view)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.undo_last)

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.table.set_taxonomy(taxonomy)
        self.panel.set_taxonomy(taxonomy)

    def load_session(
        self, session_id: int | None, excerpts: list[StoredExcerpt] | None = None
    ) -> None:
        """Show a session; excerpts just written by a worker can be passed to skip a re-read."""
        self.session_id = session_id
        if session_id is None:
            self.table.set_excerpts([], {})
        elif excerpts is not None:
            self.table.set_excerpts(excerpts, self.store.current_decisions(session_id))
        else:
            self.table.set_excerpts(
                self.store.excerpts(session_id), self.store.current_decisions(session_id)
            )
        self.panel.show_excerpt(None, [])

    def append(self, excerpts: list[StoredExcerpt]) -> None:
        self.table.append(excerpts)

    def decide(self, action: str, label: str, note: str) -> None:
        excerpt = self.table.current_excerpt()
        if excerpt is None:
            return
        try:
            self.store.decide(excerpt.id, action, label or None, note, self.moderator())
        except (StoreError, ValueError, OSError) as exc:
            QMessageBox.warning(self, "Decision not saved", str(exc))
            return
        self._refresh(excerpt)

    def undo_last(self) -> None:
        if self.session_id is None:
            return
        try:
            decision = self.store.last_decision(self.session_id)
            if decision is not None:
                self.store.undo(decision.id)
        except StoreError as exc:
            QMessageBox.warning(self, "Undo not saved", str(exc))
            return
        if decision is None:
            status_bar = getattr(self.window(), "statusBar", None)
            if status_bar is not None:
                status_bar().showMessage("Nothing to undo in this session.", 4000)
            return
        self.table.select_excerpt(decision.excerpt_id)
        excerpt = self.store.excerpt(decision.excerpt_id)
        if excerpt is not None:
            self._refresh(excerpt)

    def _refresh(self, excerpt: StoredExcerpt) -> None:
        if self.session_id is not None:
            self.table.set_decisions(self.store.current_decisions(self.session_id))
        self.table.select_excerpt(excerpt.id)
        self.panel.show_excerpt(excerpt, self.store.history(excerpt.id))
        self.decisions_changed.emit()

    def _on_current(self, excerpt: StoredExcerpt | None) -> None:
        self.panel.show_excerpt(excerpt, self.store.history(excerpt.id) if excerpt else [])
        self.current_changed.emit(excerpt)
