"""Triage of a `modlens batch` results folder: every flagged excerpt of the archive in one sortable
list, a summary per player, and the files that failed. Opening an excerpt makes (or reuses) a
session for its recording in the store and shows it under Sessions, where it plays and where
decisions are kept like any other.

Reads the results' JSON files only: neither Ray nor pyarrow is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from client.batch.results import (
    BatchResults,
    FlaggedExcerpt,
    excerpt_id_for,
    load_results,
    session_for,
)
from client.labels import plain_html
from client.reports import clock
from client.store import Store
from client.workers import run_task
from models.errors import ModlensError
from models.taxonomy import Taxonomy

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
EXCERPT_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = (
    "Confidence",
    "Category",
    "Player",
    "Match",
    "Ticket",
    "Time",
    "Text",
    "File",
    "Decision",
)
PLAYER_COLUMNS = ("Player", "Files", "Audio", "Excerpts", "Flagged", "Top category")
FAILED_COLUMNS = ("File", "Why")


def _item(text: str, sort=None, tip: str | None = None) -> QStandardItem:
    """A read-only cell; plain text always (item views never render markup)."""
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(text.casefold() if sort is None else sort, SORT_ROLE)
    if tip:
        item.setToolTip(plain_html(tip))  # Qt would render a tag-like tooltip as HTML
    return item


def _table(model: QStandardItemModel, name: str) -> tuple[QTableView, QSortFilterProxyModel]:
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setFilterKeyColumn(-1)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    view.setAccessibleName(name)
    return view, proxy


class TriageView(QWidget):
    """A window over one results folder. open_excerpt(session id, excerpt id) asks the main
    window to show that excerpt under Sessions."""

    open_excerpt = Signal(int, int)
    loaded = Signal()
    status = Signal(str)

    def __init__(
        self,
        store: Store,
        root: str | os.PathLike[str],
        taxonomy: Taxonomy | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.store = store
        self.root = Path(root)
        self.taxonomy = taxonomy or Taxonomy()
        self.results: BatchResults | None = None
        self.setWindowTitle(f"Batch results: {self.root.name}")
        self.resize(1200, 720)

        self.summary = QLabel("Reading the results…")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: player, match, category, text…")
        self.filter.setClearButtonEnabled(True)
        self.open_button = QPushButton("&Open in Sessions")
        self.open_button.setToolTip("Review this excerpt in its recording's session (Enter)")
        self.open_button.setEnabled(False)

        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.view, self.proxy = _table(self.model, "Flagged excerpts")
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Text"), QHeaderView.ResizeMode.Stretch)
        self.players = QStandardItemModel(0, len(PLAYER_COLUMNS))
        self.players.setHorizontalHeaderLabels(PLAYER_COLUMNS)
        self.player_view, self.player_proxy = _table(self.players, "Players")
        self.player_view.horizontalHeader().setStretchLastSection(True)
        self.failed = QStandardItemModel(0, len(FAILED_COLUMNS))
        self.failed.setHorizontalHeaderLabels(FAILED_COLUMNS)
        self.failed_view, _ = _table(self.failed, "Failed files")
        self.failed_view.horizontalHeader().setStretchLastSection(True)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.view, "&Flagged excerpts")
        self.tabs.addTab(self.player_view, "&Players")
        self.tabs.addTab(self.failed_view, "F&ailed files")
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)

        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.filter.textChanged.connect(self.player_proxy.setFilterFixedString)
        self.view.doubleClicked.connect(lambda _index: self.open_current())
        self.view.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.open_button.setEnabled(current.isValid())
        )
        self.open_button.clicked.connect(self.open_current)
        self.player_view.doubleClicked.connect(self._filter_by_player)
        for keys in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shortcut = QShortcut(QKeySequence(keys), self.view)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.open_current)

    # --- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        """Read the results folder off the GUI thread; loaded is emitted when it is shown."""
        root = self.root

        def failed(message: str) -> None:
            self.summary.setText(f"{root} cannot be opened: {message}")
            self.status.emit(self.summary.text())
            self.loaded.emit()

        run_task(lambda: load_results(root), self.show_results, failed, self)

    def show_results(self, results: BatchResults) -> None:
        self.results = results
        decisions = self._decisions()
        self.model.removeRows(0, self.model.rowCount())
        for excerpt in results.flagged:
            self.model.appendRow(self._row(excerpt, decisions.get((excerpt.path, excerpt.index))))
        self.players.removeRows(0, self.players.rowCount())
        for player in results.players():
            top = player.top_category
            self.players.appendRow(
                [
                    _item(player.player),
                    _item(str(player.files), player.files),
                    _item(clock(player.audio_seconds, hours=True)[:8], player.audio_seconds),
                    _item(str(player.excerpts), player.excerpts),
                    _item(str(player.flagged), player.flagged),
                    _item(Taxonomy.display_name(top) if top else "", top),
                ]
            )
        self.failed.removeRows(0, self.failed.rowCount())
        for record in results.failed:
            self.failed.appendRow(
                [_item(Path(record.path).name, tip=record.path), _item(record.reason)]
            )
        done = [r for r in results.records.values() if r.status == "done"]
        hours = sum(r.duration for r in done) / 3600
        self.summary.setText(
            f"{len(results.flagged)} flagged excerpts in {len(done)} recordings "
            f"({hours:.2f} h of audio), {len(results.failed)} failed, "
            f"{len(results.players())} players · {self.root}"
        )
        self.tabs.setTabText(2, f"F&ailed files ({len(results.failed)})")
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.loaded.emit()

    def _row(self, excerpt: FlaggedExcerpt, decision: str | None) -> list[QStandardItem]:
        name = Taxonomy.display_name(excerpt.label)
        cells = [
            _item(f"{excerpt.score:.1%}", excerpt.score),
            _item(name, excerpt.label),
            _item(excerpt.player),
            _item(excerpt.match),
            _item(excerpt.ticket),
            _item(clock(excerpt.start), excerpt.start),
            _item(excerpt.text, tip=excerpt.text),
            _item(Path(excerpt.path).name, tip=excerpt.path),
            _item(decision or ""),
        ]
        if excerpt.label in self.taxonomy.labels:
            cells[1].setForeground(QColor(self.taxonomy.colour(excerpt.label)))
        cells[0].setData(excerpt, EXCERPT_ROLE)
        return cells

    def _decisions(self) -> dict[tuple[str, int], str]:
        """(recording path, finding index) -> the current decision on it, for recordings that
        already have a batch session in the store."""
        out: dict[tuple[str, int], str] = {}
        if self.results is None:
            return out
        paths = {e.path for e in self.results.flagged}
        for path in paths:
            for track in self.store.tracks_with_path(path):
                session = self.store.session(track.session_id)
                if session is None or session.title != f"Batch: {Path(path).name}":
                    continue
                decided = self.store.current_decisions(session.id)
                for index, stored in enumerate(self.store.excerpts(session.id)):
                    decision = decided.get(stored.id)
                    if decision is not None:
                        out[(path, index)] = describe(decision.action, decision.label)
        return out

    def refresh_decisions(self) -> None:
        """Show the decisions made since the list was filled."""
        decisions = self._decisions()
        column = COLUMNS.index("Decision")
        for row in range(self.model.rowCount()):
            excerpt: FlaggedExcerpt = self.model.item(row, 0).data(EXCERPT_ROLE)
            text = decisions.get((excerpt.path, excerpt.index), "")
            self.model.item(row, column).setText(text)
            self.model.item(row, column).setData(text.casefold(), SORT_ROLE)

    # --- opening ----------------------------------------------------------------------------

    def rows(self) -> list[FlaggedExcerpt]:
        """The flagged excerpts in the order the list shows them (sorted and filtered)."""
        return [self.proxy.index(row, 0).data(EXCERPT_ROLE) for row in range(self.proxy.rowCount())]

    def current(self) -> FlaggedExcerpt | None:
        index = self.view.currentIndex()
        return self.proxy.index(index.row(), 0).data(EXCERPT_ROLE) if index.isValid() else None

    def select_row(self, row: int) -> None:
        self.view.selectRow(row)
        self.view.setCurrentIndex(self.proxy.index(row, 0))

    def open_current(self) -> tuple[int, int] | None:
        excerpt = self.current()
        return self.open(excerpt) if excerpt is not None else None

    def open(self, excerpt: FlaggedExcerpt) -> tuple[int, int] | None:
        """Make or reuse the recording's session; emits open_excerpt(session id, excerpt id)."""
        if self.results is None:
            return None
        record = self.results.records.get(excerpt.digest)
        if record is None:
            return None
        try:
            session_id = session_for(self.store, self.root, record)
            excerpt_id = excerpt_id_for(self.store, session_id, excerpt.index)
        except ModlensError as exc:
            self.status.emit(f"{Path(record.path).name} could not be opened: {exc}")
            return None
        if excerpt_id is None:
            self.status.emit(f"{Path(record.path).name}: the excerpt is not in its session.")
            return None
        if not Path(record.path).is_file():
            self.status.emit(f"{record.path} is not on this machine: the excerpt will not play.")
        self.open_excerpt.emit(session_id, excerpt_id)
        return session_id, excerpt_id

    def _filter_by_player(self, index) -> None:
        player = self.player_proxy.index(index.row(), 0).data()
        self.filter.setText(player or "")
        self.tabs.setCurrentWidget(self.view)


def describe(action: str, label: str) -> str:
    if action == "dismiss":
        return "dismissed"
    if action == "relabel":
        return f"relabelled: {Taxonomy.display_name(label)}"
    return "confirmed"


def open_batch_results(window, path: str | os.PathLike[str] | None = None) -> TriageView | None:
    """File > Open batch results…: choose a results folder, show its triage window, and send an
    opened excerpt to the window's Sessions screen."""
    if not path:
        path = QFileDialog.getExistingDirectory(window, "Open the results folder of a batch")
    if not path:
        return None
    view = TriageView(window.store, path, window.taxonomy, window)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    sessions = window.sessions_view

    def show(session_id: int, excerpt_id: int) -> None:
        window.tabs.setCurrentWidget(sessions)
        sessions.refresh_sessions(select=session_id)
        if sessions.session_id != session_id:
            sessions.show_session(session_id)
        sessions.go_to_excerpt(excerpt_id)
        window.raise_()
        window.activateWindow()

    view.open_excerpt.connect(show)
    view.status.connect(window.show_message)
    sessions.review.decisions_changed.connect(view.refresh_decisions)
    window.triage_views = [*getattr(window, "triage_views", []), view]
    view.show()
    view.load()
    return view
