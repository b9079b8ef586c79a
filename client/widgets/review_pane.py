"""The review loop shared by the Live, Sessions and Text screens: the excerpt table with its
filters, and the decision panel under it, writing every decision to the store at once.

Keys in the table: N/P next/previous flagged, C confirm, F/X false positive, R relabel,
Space play, Ctrl+Z undo the last decision in this session.

The panel always shows the excerpt under the table's cursor, and a decision is about the excerpt
the panel shows. After a decision the review moves on to the next unreviewed flagged excerpt.
A note belongs to the excerpt it was typed for: Enter keeps it (saved at once on a decided
excerpt, else kept until the decision), and moving to another row keeps it the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox, QSplitter, QVBoxLayout, QWidget

from client.labels import model_flagged, plain_html
from client.services import StoreService
from client.store import Store, StoredExcerpt
from client.widgets.decision_panel import DecisionPanel
from client.widgets.excerpt_table import ExcerptTable
from models.errors import ModlensError
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
        self._notes: dict[int, str] = {}  # excerpt id -> a note kept until its decision
        self.table = ExcerptTable(taxonomy)
        self.panel = DecisionPanel(taxonomy)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        # the table takes the height; the panel starts at its smallest
        self.splitter.setSizes([10_000, self.panel.minimumSizeHint().height()])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.table.current_changed.connect(self._on_current)
        self.table.activated.connect(self.activated)
        self.table.cue.connect(self._say)
        self.panel.decided.connect(self.decide)
        self.panel.note_entered.connect(self._on_note_entered)
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
        self._keep_note()
        self.session_id = session_id
        if session_id is None:
            self.table.set_excerpts([], {})
        elif excerpts is not None:
            self.table.set_excerpts(excerpts, self.store.current_decisions(session_id))
        else:
            self.table.set_excerpts(
                self.store.excerpts(session_id), self.store.current_decisions(session_id)
            )
        self._show(self.table.current_excerpt())

    def append(self, excerpts: list[StoredExcerpt]) -> None:
        self.table.append(excerpts)

    # --- decisions --------------------------------------------------------------------------

    def decide(self, action: str, label: str, note: str) -> None:
        """Decide on the excerpt the panel shows, then move on to the next unreviewed one."""
        excerpt = self.panel.excerpt() or self.table.current_excerpt()
        if excerpt is None:
            return
        if action == "relabel" and not model_flagged(excerpt):
            action = "missed"  # flagging what the model passed is its own kind of decision
        try:
            StoreService(self.store).decide(
                excerpt.id, action, label or None, note, self.moderator()
            )
        except (ModlensError, ValueError, OSError) as exc:
            self._warn("Decision not saved", str(exc))
            return
        self._notes.pop(excerpt.id, None)
        order = [e.id for e in self.table.model.excerpts()]
        self._reload_decisions()
        self._move_on(order.index(excerpt.id) if excerpt.id in order else -1, excerpt)
        self.decisions_changed.emit()

    def _move_on(self, after: int, decided: StoredExcerpt) -> None:
        """Select the next unreviewed flagged excerpt shown after source row `after`; wrap to
        the first one above with a cue, or, when none is left, stay and say so."""
        table, model = self.table, self.table.model
        rows = model.rowCount()
        for source in itertools.chain(range(after + 1, rows), range(0, min(after + 1, rows))):
            excerpt = model.excerpt_at(source)
            if not model_flagged(excerpt) or model.decision_for(excerpt.id) is not None:
                continue
            shown = table.proxy.mapFromSource(model.index(source, 0))
            if not shown.isValid():
                continue  # hidden by the filters
            table.select_row(shown.row())
            if source <= after:
                table.show_cue("End of flagged excerpts: back to the first unreviewed one above.")
            break
        else:
            if not table.select_excerpt(decided.id):
                self._show(table.current_excerpt())
            reviewed, total = table.review_progress()
            if reviewed < total:
                table.show_cue(
                    f"No unreviewed flagged excerpt shown; {total - reviewed} hidden by filters."
                )
            else:
                table.show_cue(f"All {total} flagged excerpts reviewed.")
        # the panel follows the table; when the selection stayed put, show the new decision
        current = table.current_excerpt()
        if current is not None and current.id == decided.id:
            self._show(current)

    def undo_last(self) -> None:
        if self.session_id is None:
            return
        try:
            decision = self.store.last_decision(self.session_id)
            if decision is not None:
                StoreService(self.store).undo(decision.id)
        except ModlensError as exc:
            self._warn("Undo not saved", str(exc))
            return
        if decision is None:
            self._say("Nothing to undo in this session.")
            return
        self._reload_decisions()
        if not self.table.select_excerpt(decision.excerpt_id):
            self._say("Undone; the excerpt is hidden by the filters.")
        current = self.table.current_excerpt()
        if current is not None and current.id == decision.excerpt_id:
            self._show(current)
        self.decisions_changed.emit()

    def _reload_decisions(self) -> None:
        if self.session_id is not None:
            self.table.set_decisions(self.store.current_decisions(self.session_id))

    # --- notes ------------------------------------------------------------------------------

    def _on_note_entered(self, text: str) -> None:
        excerpt = self.panel.excerpt()
        if excerpt is None:
            return
        saved = self._keep_note()
        if saved:
            self._show(excerpt)
            self._say("Note saved with the decision.")
        elif text:
            self._say("Note kept for this excerpt; it is saved with your decision.")

    def _keep_note(self) -> bool:
        """Keep the note typed for the excerpt the panel shows with that excerpt: saved on its
        decision when it has one, else held until the decision. True when saved to the store."""
        excerpt = self.panel.excerpt()
        if excerpt is None:
            return False
        text = self.panel.note_text()
        decision = self.table.model.decision_for(excerpt.id)
        if decision is None:
            if text:
                self._notes[excerpt.id] = text
            else:
                self._notes.pop(excerpt.id, None)
            return False
        if text == decision.note:
            return False
        try:
            StoreService(self.store).decide(
                excerpt.id,
                decision.action,
                decision.label,
                text,
                self.moderator(),
            )
        except (ModlensError, ValueError, OSError) as exc:
            self._notes[excerpt.id] = text
            self._warn("Note not saved", str(exc))
            return False
        self._reload_decisions()
        self.decisions_changed.emit()
        return True

    # --- the panel follows the table --------------------------------------------------------

    def _on_current(self, excerpt: StoredExcerpt | None) -> None:
        previous = self.panel.excerpt()
        if previous is not None and (excerpt is None or previous.id != excerpt.id):
            self._keep_note()
        self._show(excerpt)
        self.current_changed.emit(excerpt)

    def _show(self, excerpt: StoredExcerpt | None) -> None:
        if excerpt is None:
            self.panel.show_excerpt(None, [])
            return
        decision = self.table.model.decision_for(excerpt.id)
        note = self._notes.get(excerpt.id, decision.note if decision is not None else "")
        self.panel.set_categories(self.store.labels)  # the studio's may have changed
        self.panel.show_excerpt(excerpt, self.store.history(excerpt.id), note, decision)
        # a wrapped verdict (a word list's entry) may need more than the panel's height
        table, panel = self.splitter.sizes()
        need = self.panel.minimumSizeHint().height()
        if 0 < panel < need:
            self.splitter.setSizes([max(table - (need - panel), 0), need])

    def _say(self, text: str) -> None:
        status_bar = getattr(self.window(), "statusBar", None)
        if status_bar is not None and text:
            status_bar().showMessage(text, 6000)

    def _warn(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, plain_html(text))
