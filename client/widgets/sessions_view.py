"""The Sessions screen: open or drop recordings, watch the scan queue, and review a session's
transcript with its flagged excerpts on a timeline, playing any excerpt from just before it.

Files opened together make one session (one track per file); opening a file again goes to its
session instead of making a second one. The queue runs in a worker thread, so the moderator can
review one session while others are scanned; a queued or running scan can be cancelled and a
failed one retried. Sessions can be searched (title, file or player name), renamed and deleted
(the audio files stay where they are).

The timeline has one lane per speaker; the Players tab sums up each player's flags.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from client.labels import effective_label, format_time, is_flagged
from client.services import StoreService
from client.store import Store, StoredExcerpt, StoreError, Track, UntranscribedSpeech
from client.widgets.excerpt_table import ALL, ANY
from client.widgets.player import Player
from client.widgets.player_summary import PlayerSummary
from client.widgets.review_pane import ReviewPane
from client.widgets.timeline import Gap, Mark, Timeline
from client.workers import ScanQueue
from models.taxonomy import Taxonomy

MEDIA_FILTER = (
    "Audio and video (*.wav *.flac *.mp3 *.ogg *.opus *.m4a *.aac *.wma *.mp4 *.mkv *.webm "
    "*.mov *.avi);;All files (*)"
)
STATUS_TEXT = {"queued": "queued", "scanning": "scanning", "done": "done", "failed": "failed"}
CANCELLED = "cancelled by the moderator"
TRACK_ROLE = Qt.ItemDataRole.UserRole
KIND_ROLE = Qt.ItemDataRole.UserRole + 1
STRETCH_ROLE = Qt.ItemDataRole.UserRole + 2
# the languages a session can be scanned in, besides detecting it (Whisper codes)
MIXED_ADVICE = "choose “Language: detect” to transcribe each part in the language spoken"
SESSION_LANGUAGES = (
    ("Language: detect", None),
    ("English", "en"),
    ("German", "de"),
    ("Russian", "ru"),
    ("French", "fr"),
    ("Spanish", "es"),
    ("Portuguese", "pt"),
    ("Italian", "it"),
    ("Polish", "pl"),
    ("Turkish", "tr"),
    ("Chinese", "zh"),
    ("Japanese", "ja"),
    ("Korean", "ko"),
)


class SessionsView(QWidget):
    status = Signal(str)
    open_text_session = Signal(int)

    def __init__(
        self,
        store: Store,
        taxonomy: Taxonomy,
        queue: ScanQueue,
        moderator,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store  # read here; every write goes through the service
        self.service = StoreService(store)
        self.taxonomy = taxonomy
        self.queue = queue
        self.session_id: int | None = None
        self._track_paths: dict[int, str] = {}
        self._queue_rows: dict[int, QTableWidgetItem] = {}  # track id -> its row's name cell
        self._cancelled: set[int] = set()  # tracks whose late signals are ignored
        self.rename_dialog: QInputDialog | None = None
        self.delete_box: QMessageBox | None = None
        self.setAcceptDrops(True)

        # left: open, resume banner, queue, sessions
        self.open_button = QPushButton("&Open recordings…")
        self.open_button.setToolTip("Open one or several audio/video files as a session (Ctrl+O)")
        # more ways in (e.g. batch results) go beside the Open button
        self.open_row = QHBoxLayout()
        self.open_row.addWidget(self.open_button, 1)
        drop_hint = QLabel("…or drop audio/video files anywhere on this screen.")
        drop_hint.setWordWrap(True)
        self.banner = QFrame()
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setStyleSheet("QFrame { background: #fff8e1; }")
        self.banner_text = QLabel()
        self.banner_text.setTextFormat(Qt.TextFormat.PlainText)
        self.banner_text.setWordWrap(True)
        self.resume_button = QPushButton("Scan them again")
        self.forget_button = QPushButton("Forget them")
        banner_layout = QVBoxLayout(self.banner)
        banner_layout.addWidget(self.banner_text)
        banner_buttons = QHBoxLayout()
        banner_buttons.addWidget(self.resume_button)
        banner_buttons.addWidget(self.forget_button)
        banner_layout.addLayout(banner_buttons)
        self.banner.hide()

        self.queue_table = QTableWidget(0, 3)
        self.queue_table.setHorizontalHeaderLabels(["File", "Status", "Progress"])
        self.queue_table.verticalHeader().setVisible(False)
        self.queue_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.queue_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.queue_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, self.fontMetrics().horizontalAdvance("100%") * 3)
        self.queue_table.setAccessibleName("Scan queue")
        self.cancel_button = QPushButton("Cancel scan")
        self.cancel_button.setToolTip("Stop scanning the selected file (queued or running)")
        self.retry_button = QPushButton("Scan again")
        self.retry_button.setToolTip("Scan the selected failed or cancelled file again")
        queue_buttons = QHBoxLayout()
        queue_buttons.addWidget(self.cancel_button)
        queue_buttons.addWidget(self.retry_button)
        queue_buttons.addStretch(1)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search sessions: title, file or player name")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search sessions")
        self.session_list = QListWidget()
        self.session_list.setAccessibleName("Sessions")
        self.session_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setToolTip("Rename the selected session (F2)")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip(
            "Delete the selected session and its decisions (Del); the audio files stay"
        )
        session_buttons = QHBoxLayout()
        session_buttons.addWidget(self.rename_button)
        session_buttons.addWidget(self.delete_button)
        session_buttons.addStretch(1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(self.open_row)
        left_layout.addWidget(drop_hint)
        left_layout.addWidget(self.banner)
        left_layout.addWidget(QLabel("<b>Scan queue</b>"))
        left_layout.addWidget(self.queue_table, 1)
        left_layout.addLayout(queue_buttons)
        left_layout.addWidget(QLabel("<b>Sessions</b>"))
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.session_list, 3)
        left_layout.addLayout(session_buttons)

        # right: title, timeline, player, transcript and players
        self.title = QLabel("No session open")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title.setFont(font)
        self.retry_failed_button = QPushButton("Scan failed files again")
        self.retry_failed_button.hide()
        self.language_box = QComboBox()
        for name, code in SESSION_LANGUAGES:
            self.language_box.addItem(name, code)
        self.language_box.setAccessibleName("Language of the session")
        self.language_box.setToolTip(
            "The language this session's recordings are transcribed in; changing it scans "
            "them again (decisions stay)"
        )
        self.language_box.setEnabled(False)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.language_box)
        title_row.addWidget(self.retry_failed_button)
        # speech heard but left without words: never classified, so the moderator must listen
        self.untranscribed_label = QLabel()
        self.untranscribed_label.setTextFormat(Qt.TextFormat.PlainText)
        self.untranscribed_list = QListWidget()
        self.untranscribed_list.setAccessibleName("Untranscribed speech")
        self.untranscribed_list.setToolTip("Speech with no words: double-click to listen")
        self.untranscribed_list.setMaximumHeight(self.fontMetrics().height() * 5)
        self.untranscribed_label.hide()
        self.untranscribed_list.hide()
        self.timeline = Timeline()
        self.player = Player()
        self.review = ReviewPane(store, taxonomy, moderator)
        self.player_summary = PlayerSummary(taxonomy)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.review, "Transcript")
        self.tabs.addTab(self.player_summary, "Players")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(title_row)
        right_layout.addWidget(self.timeline)
        right_layout.addWidget(self.player)
        right_layout.addWidget(self.untranscribed_label)
        right_layout.addWidget(self.untranscribed_list)
        right_layout.addWidget(self.tabs, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        left.setMinimumWidth(self.fontMetrics().averageCharWidth() * 40)
        splitter.setSizes([self.fontMetrics().averageCharWidth() * 48, 900])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.open_button.clicked.connect(self.choose_files)
        self.resume_button.clicked.connect(self.resume_unfinished)
        self.forget_button.clicked.connect(self.forget_unfinished)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.retry_failed_button.clicked.connect(self.retry_failed)
        self.queue_table.itemSelectionChanged.connect(self._update_queue_buttons)
        self.search.textChanged.connect(lambda _text: self.refresh_sessions(self.session_id))
        self.session_list.currentItemChanged.connect(self._on_session_item)
        self.session_list.customContextMenuRequested.connect(self._session_menu)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        for key, slot in (("F2", self.rename_selected), ("Delete", self.delete_selected)):
            shortcut = QShortcut(QKeySequence(key), self.session_list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        self.timeline.mark_clicked.connect(self._on_mark_clicked)
        self.timeline.gap_clicked.connect(self._on_gap_clicked)
        self.untranscribed_list.itemActivated.connect(
            lambda item: self.play_untranscribed(item.data(STRETCH_ROLE))
        )
        self.language_box.activated.connect(
            lambda index: self.set_session_language(self.language_box.itemData(index))
        )
        self.player_summary.excerpt_chosen.connect(self.go_to_excerpt)
        self.review.current_changed.connect(self._on_current)
        self.review.activated.connect(self.play_excerpt)
        self.review.decisions_changed.connect(self._refresh_overview)
        self.player.play_button.clicked.connect(
            lambda: self.play_excerpt(self.review.table.current_excerpt())
        )
        self.player.position_changed.connect(self.timeline.set_position)
        self.player.error.connect(self.status)
        queue.started.connect(self._on_started)
        queue.progress.connect(self._on_progress)
        queue.done.connect(self._on_done)
        queue.failed.connect(self._on_failed)

        self.refresh_sessions()
        self._update_queue_buttons()

    def recover(self) -> None:
        """After a crash: close cut-off live captures, and offer unfinished files again."""
        cut_short = self.service.close_cut_short_live()
        if cut_short:
            self.status.emit(
                f"{len(cut_short)} live session(s) were cut short last time; what was heard "
                "until then is kept under Sessions."
            )
        self.check_unfinished()

    # --- opening files ----------------------------------------------------------------------

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.review.set_taxonomy(taxonomy)
        self.player_summary.set_taxonomy(taxonomy)
        self._refresh_overview()

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open recordings", "", MEDIA_FILTER)
        if paths:
            self.open_files(paths)

    def open_files(self, paths: list[str | Path]) -> int | None:
        """Make one session of these files and queue them; returns the session id.

        A file already in a session is not added again: with no new file among them, the
        existing session is shown (and a file that failed there is scanned again).
        """
        given = [Path(p) for p in paths]
        missing = [p.name for p in given if not p.is_file()]
        files = list(dict.fromkeys(p.resolve() for p in given if p.is_file()))
        if missing:
            self.status.emit(f"Not a file, skipped: {', '.join(missing)}")
        if not files:
            return None
        known = {f: self._known_track(f) for f in files}
        new = [f for f in files if known[f] is None]
        already = [t for t in known.values() if t is not None]
        for track in already:
            if track.status == "failed" and track.id not in self.queue.pending():
                self.retry_track(track.id)
        if not new:
            session_id = already[0].session_id
            if self.store.session(session_id) is None:
                return None
            names = ", ".join(f.name for f in files)
            self.status.emit(f"Already opened: {names}. Showing its session.")
            self._show_in_list(session_id)
            return session_id
        if already:
            names = ", ".join(Path(t.path).name for t in already)
            self.status.emit(f"Already opened before, not added again: {names}")
        title = new[0].name + (f" + {len(new) - 1} more" if len(new) > 1 else "")
        try:
            tracks = self.service.open_files(new, title)
        except StoreError as exc:
            self.status.emit(f"The files were not queued: {exc}")
            return None
        for track in tracks:
            self._add_queue_row(track)
            self.queue.enqueue(track.id, track.path)
        session_id = tracks[0].session_id
        self._show_in_list(session_id)
        self.status.emit(f"Queued {len(new)} file(s) for scanning.")
        return session_id

    def _known_track(self, path: Path) -> Track | None:
        """The newest track made from this file, if any session still has one."""
        tracks = self.store.tracks_with_path(path)
        return tracks[-1] if tracks else None

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_files(paths)
            event.acceptProposedAction()

    # --- unfinished files from last time ----------------------------------------------------

    def check_unfinished(self) -> None:
        tracks = self.store.unfinished_tracks()
        tracks = [t for t in tracks if t.id not in self._queue_rows]
        if not tracks:
            self.banner.hide()
            return
        names = ", ".join(Path(t.path).name for t in tracks[:3])
        more = f" and {len(tracks) - 3} more" if len(tracks) > 3 else ""
        self.banner_text.setText(
            f"{len(tracks)} file(s) were not finished when modlens last closed: {names}{more}."
        )
        self.banner.show()

    def resume_unfinished(self) -> None:
        for track in self.store.unfinished_tracks():
            if track.id in self._queue_rows:
                continue
            try:
                resumed = self.service.resume(track.id)
            except StoreError as exc:
                self.service.keep_as_is(track.id, str(exc))
                self.status.emit(f"{Path(track.path).name}: {exc}")
                continue
            self._add_queue_row(resumed)
            self.queue.enqueue(track.id, track.path)
        self.banner.hide()

    def forget_unfinished(self) -> None:
        for track in self.store.unfinished_tracks():
            if track.id not in self._queue_rows:
                self.service.forget(track.id)
        self.banner.hide()

    # --- queue ------------------------------------------------------------------------------

    def _add_queue_row(self, track: Track) -> None:
        row = self.queue_table.rowCount()
        self.queue_table.insertRow(row)
        name = QTableWidgetItem(Path(track.path).name)
        name.setToolTip(track.path)
        name.setData(TRACK_ROLE, track.id)
        self.queue_table.setItem(row, 0, name)
        self.queue_table.setItem(row, 1, QTableWidgetItem(STATUS_TEXT[track.status]))
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setValue(int(track.progress * 1000))
        bar.setFormat("%p%")
        bar.setAccessibleName(f"Progress of {Path(track.path).name}")
        self.queue_table.setCellWidget(row, 2, bar)
        self._queue_rows[track.id] = name

    def _row(self, track_id: int) -> int | None:
        item = self._queue_rows.get(track_id)
        return item.row() if item is not None else None

    def queue_status(self, track_id: int) -> tuple[str, int] | None:
        """(status text, progress in per mille) of a track's queue row, for tests and a11y."""
        row = self._row(track_id)
        if row is None:
            return None
        bar: QProgressBar = self.queue_table.cellWidget(row, 2)
        return self.queue_table.item(row, 1).text(), bar.value()

    def select_queue_row(self, track_id: int) -> bool:
        row = self._row(track_id)
        if row is None:
            return False
        self.queue_table.selectRow(row)
        return True

    def selected_track(self) -> int | None:
        rows = self.queue_table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.queue_table.item(rows[0].row(), 0).data(TRACK_ROLE)

    def _set_row(self, track_id: int, status: str, progress: float | None = None) -> None:
        row = self._row(track_id)
        if row is None:
            return
        item = self.queue_table.item(row, 1)
        item.setText(status)
        item.setToolTip(status)
        failed = status.startswith("failed") or status == "cancelled"
        item.setForeground(Qt.GlobalColor.darkRed if failed else self.palette().text().color())
        if progress is not None:
            self.queue_table.cellWidget(row, 2).setValue(int(progress * 1000))
        self._update_queue_buttons()

    def _update_queue_buttons(self) -> None:
        track_id = self.selected_track()
        track = self.store.track(track_id) if track_id is not None else None
        active = track is not None and track.status in ("queued", "scanning")
        self.cancel_button.setEnabled(active and track_id not in self._cancelled)
        self.retry_button.setEnabled(track is not None and track.status == "failed")

    def cancel_selected(self) -> None:
        track_id = self.selected_track()
        if track_id is not None:
            self.cancel_track(track_id)

    def retry_selected(self) -> None:
        track_id = self.selected_track()
        if track_id is not None:
            self.retry_track(track_id)

    def cancel_track(self, track_id: int) -> bool:
        """Take a queued file off the queue or stop its running scan; it can be retried."""
        self.queue.cancel(track_id)
        try:
            cancelled = self.service.cancel_track(track_id, CANCELLED)
        except StoreError as exc:
            self.status.emit(f"The scan was stopped but not marked cancelled: {exc}")
            return False
        if not cancelled:
            return False
        self._cancelled.add(track_id)
        self._set_row(track_id, "cancelled")
        track = self.store.track(track_id)
        if track is not None:
            self.status.emit(f"Cancelled the scan of {Path(track.path).name}.")
            if track.session_id == self.session_id:
                self.show_session(track.session_id)
        return True

    def retry_track(self, track_id: int) -> bool:
        """Scan a failed or cancelled file again from the start."""
        track = self.store.track(track_id)
        if track is None:
            return False
        try:
            self.service.resume(track_id)
        except StoreError as exc:
            self.status.emit(f"{Path(track.path).name}: {exc}")
            return False
        self._cancelled.discard(track_id)
        if track_id in self._queue_rows:
            self._set_row(track_id, STATUS_TEXT["queued"], 0.0)
        else:
            self._add_queue_row(self.store.track(track_id) or track)
        self.queue.enqueue(track_id, track.path)
        self.status.emit(f"Scanning {Path(track.path).name} again.")
        if track.session_id == self.session_id:
            self.show_session(track.session_id)
        self._update_queue_buttons()
        return True

    def retry_failed(self) -> None:
        """Scan every failed file of the open session again."""
        if self.session_id is None:
            return
        for track in self.store.tracks(self.session_id):
            if track.status == "failed":
                self.retry_track(track.id)

    def _on_started(self, track_id: int) -> None:
        if track_id not in self._cancelled:
            self._set_row(track_id, "scanning", 0.0)

    def _on_progress(self, track_id: int, fraction: float) -> None:
        if track_id not in self._cancelled:
            self._set_row(track_id, "scanning", fraction)

    def _on_done(self, track_id: int, stored: list[StoredExcerpt]) -> None:
        track = self.store.track(track_id)
        if track is None:  # its session was deleted meanwhile
            return
        self._cancelled.discard(track_id)  # finished before the cancel reached it
        flagged = sum(1 for e in stored if e.toxic)
        self._set_row(track_id, f"done, {flagged} flagged", 1.0)
        if track.session_id == self.session_id:
            self.show_session(track.session_id)
        self.status.emit(f"Scanned {Path(track.path).name}: {flagged} flagged.")
        self.refresh_sessions(select=self.session_id)

    def _on_failed(self, track_id: int, message: str) -> None:
        track = self.store.track(track_id)
        if track is None or track_id in self._cancelled:
            return
        self._set_row(track_id, f"failed: {message}")
        self.status.emit(f"{Path(track.path).name} could not be scanned: {message}")
        if track.session_id == self.session_id:
            self.show_session(track.session_id)

    # --- the session list -------------------------------------------------------------------

    def refresh_sessions(self, select: int | None = None) -> None:
        self.session_list.blockSignals(True)
        self.session_list.clear()
        for session in self.store.search_sessions(self.search.text()):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.created))
            item = QListWidgetItem(f"{session.title}\n{session.kind} · {when}")
            item.setData(TRACK_ROLE, session.id)
            item.setData(KIND_ROLE, session.kind)
            item.setToolTip(f"Session {session.id}")
            self.session_list.addItem(item)
            if session.id == select:
                self.session_list.setCurrentItem(item)
        self.session_list.blockSignals(False)
        self._update_session_buttons()
        if select is not None and select != self.session_id:
            self.show_session(select)

    def session_added(self, _session_id: int) -> None:
        """A session saved elsewhere (Live, Text): list it now, keeping the open one."""
        self.refresh_sessions(select=self.session_id)

    def listed_sessions(self) -> list[int]:
        return [
            self.session_list.item(row).data(TRACK_ROLE) for row in range(self.session_list.count())
        ]

    def _show_in_list(self, session_id: int) -> None:
        if self.search.text() and session_id not in [
            s.id for s in self.store.search_sessions(self.search.text())
        ]:
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
        self.refresh_sessions(select=session_id)
        if self.session_id != session_id:
            self.show_session(session_id)

    def selected_session(self) -> int | None:
        item = self.session_list.currentItem()
        return item.data(TRACK_ROLE) if item is not None else None

    def _update_session_buttons(self) -> None:
        chosen = self.selected_session() is not None
        self.rename_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)

    def _on_session_item(self, item: QListWidgetItem | None, _previous) -> None:
        self._update_session_buttons()
        if item is None:
            return
        session_id = item.data(TRACK_ROLE)
        if item.data(KIND_ROLE) == "text":
            self.open_text_session.emit(session_id)
            return
        self.show_session(session_id)

    def _session_menu(self, point) -> None:
        item = self.session_list.itemAt(point)
        if item is None:
            return
        self.session_list.setCurrentItem(item)  # the menu acts on the session under the mouse
        menu = QMenu(self)
        menu.addAction("Rename…", self.rename_selected)
        menu.addAction("Delete…", self.delete_selected)
        menu.popup(self.session_list.viewport().mapToGlobal(point))

    def rename_selected(self) -> None:
        session = self.store.session(self.selected_session() or -1)
        if session is None:
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename session")
        dialog.setLabelText("New name of the session:")
        dialog.setTextValue(session.title)
        dialog.textValueSelected.connect(lambda title: self.rename_session(session.id, title))
        self.rename_dialog = dialog
        dialog.open()

    def rename_session(self, session_id: int, title: str) -> bool:
        title = " ".join(title.split())
        if not title:
            self.status.emit("A session needs a name; it was not renamed.")
            return False
        try:
            self.service.rename_session(session_id, title)
        except StoreError as exc:
            QMessageBox.warning(self, "Not renamed", str(exc))
            return False
        self.refresh_sessions(select=self.session_id)
        if session_id == self.session_id:
            self.show_session(session_id)
        return True

    def delete_selected(self) -> None:
        session = self.store.session(self.selected_session() or -1)
        if session is None:
            return
        decided = len(self.store.current_decisions(session.id))
        files = len(self.store.tracks(session.id))
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Delete session")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"Delete the session “{session.title}”?")
        what = f"Its transcript{f' and {decided} decision(s)' if decided else ''} will be deleted."
        box.setInformativeText(
            f"{what} The {files} audio file(s) stay where they are." if files else what
        )
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(
            lambda button: self.delete_session(session.id) if button is delete else None
        )
        self.delete_box = box
        box.open()

    def delete_session(self, session_id: int) -> bool:
        """Delete a session from the store (never its audio files); scans of it stop."""
        session = self.store.session(session_id)
        if session is None:
            return False
        tracks = self.store.tracks(session_id)
        if session.kind == "live" and any(t.status == "scanning" for t in tracks):
            self.status.emit("This live session is still recording; stop it on the Live screen.")
            return False
        for track in tracks:
            if track.status in ("queued", "scanning"):
                self.queue.cancel(track.id)
            self._cancelled.add(track.id)
        try:
            self.service.delete_session(session_id)
        except StoreError as exc:
            QMessageBox.warning(self, "Not deleted", str(exc))
            return False
        for track in tracks:
            item = self._queue_rows.pop(track.id, None)
            if item is not None:
                self.queue_table.removeRow(item.row())
        if session_id == self.session_id:
            self.close_session()
        self.refresh_sessions(select=self.session_id)
        self.status.emit(
            f"Deleted the session “{session.title}”; its audio files were left where they are."
        )
        return True

    # --- the open session -------------------------------------------------------------------

    def close_session(self) -> None:
        self.player.stop()
        self.session_id = None
        self._track_paths = {}
        self.title.setText("No session open")
        self.retry_failed_button.hide()
        self.language_box.setEnabled(False)
        self._show_untranscribed([])
        self.review.load_session(None)
        self.player.play_button.setEnabled(False)
        self._refresh_overview()

    def show_session(self, session_id: int) -> None:
        session = self.store.session(session_id)
        if session is None:
            return
        self.session_id = session_id
        tracks = self.store.tracks(session_id)
        self._track_paths = {t.id: t.path for t in tracks}
        pending = [t for t in tracks if t.status in ("queued", "scanning")]
        failed = [t for t in tracks if t.status == "failed"]
        parts = [session.title]
        if len(tracks) > 1:
            parts.append(f"{len(tracks)} files")
        if pending:
            parts.append(f"{len(pending)} file(s) still scanning")
        if failed:
            parts.append(f"{len(failed)} failed")
        heard = self._languages(tracks)
        if heard:
            parts.append(heard)
        if session.language and "(mixed)" in heard:
            # set to one language, a player's other language was heard but not transcribed in it
            parts.append(MIXED_ADVICE)
        self.title.setText(" · ".join(parts))
        self.retry_failed_button.setVisible(bool(failed))
        index = self.language_box.findData(session.language)
        if index < 0:  # a code set elsewhere: listed so the box says the truth
            self.language_box.addItem(session.language, session.language)
            index = self.language_box.count() - 1
        self.language_box.setCurrentIndex(index)
        self.language_box.setEnabled(session.kind == "files")
        self._show_untranscribed(self.store.untranscribed(session_id))
        current = self.review.table.current_excerpt()
        self.review.load_session(session_id, self._in_time_order(tracks))
        if current is not None:
            self.review.table.select_excerpt(current.id)
        self._refresh_overview()
        self.player.play_button.setEnabled(bool(self._track_paths))

    def _languages(self, tracks: list[Track]) -> str:
        """The language heard, per file when they differ: 'language en' or 'a.wav: de, b: en'."""
        known = [(Path(t.path).stem, t.language) for t in tracks if t.language]
        if not known:
            return ""
        if len({lang for _, lang in known}) == 1:
            return f"language {known[0][1]}"
        return "languages " + ", ".join(f"{name}: {lang}" for name, lang in known)

    def _show_untranscribed(self, stretches: list[UntranscribedSpeech]) -> None:
        self.untranscribed_list.clear()
        for stretch in stretches:
            who = stretch.speaker or "(no speaker)"
            item = QListWidgetItem(
                f"{who} · {format_time(stretch.start)}–{format_time(stretch.end)} · "
                "untranscribed speech — listen"
            )
            item.setData(STRETCH_ROLE, stretch)
            self.untranscribed_list.addItem(item)
        self.untranscribed_label.setText(
            f"{len(stretches)} stretch(es) of speech could not be transcribed and were not "
            "checked: listen to them"
        )
        self.untranscribed_label.setVisible(bool(stretches))
        self.untranscribed_list.setVisible(bool(stretches))

    def untranscribed_rows(self) -> list[str]:
        """The untranscribed-speech rows as shown, for tests and screen readers."""
        return [
            self.untranscribed_list.item(row).text()
            for row in range(self.untranscribed_list.count())
        ]

    def play_untranscribed(self, stretch: UntranscribedSpeech | None) -> None:
        if stretch is None:
            return
        path = self._track_paths.get(stretch.track_id)
        if path is None:
            self.status.emit("This stretch has no recording to play.")
            return
        self.player.play(path, stretch.start, stretch.end)

    def _on_gap_clicked(self, gap: Gap) -> None:
        for row in range(self.untranscribed_list.count()):
            item = self.untranscribed_list.item(row)
            stretch = item.data(STRETCH_ROLE)
            if (stretch.speaker, stretch.start, stretch.end) == (gap.lane, gap.start, gap.end):
                self.untranscribed_list.setCurrentItem(item)
                self.play_untranscribed(stretch)
                return

    def set_session_language(self, language: str | None) -> bool:
        """Scan the open session's files again in language (None: detect it)."""
        session_id = self.session_id
        if session_id is None:
            return False
        session = self.store.session(session_id)
        if session is None or session.language == (language or None):
            return False
        try:
            again = self.service.set_session_language(session_id, language)
        except StoreError as exc:
            QMessageBox.warning(self, "Language not changed", str(exc))
            self.show_session(session_id)
            return False
        for track in self.store.tracks(session_id):
            if track.id == self.queue.current:  # scanning in the old language: start over
                self.queue.cancel(track.id)
                self.queue.enqueue(track.id, track.path)
        for track in again:
            self._cancelled.discard(track.id)
            if track.id in self._queue_rows:
                self._set_row(track.id, STATUS_TEXT["queued"], 0.0)
            else:
                self._add_queue_row(track)
            self.queue.enqueue(track.id, track.path)
        name = language or "the detected language"
        self.status.emit(f"Scanning “{session.title}” again in {name}.")
        self.show_session(session_id)
        return True

    def _in_time_order(self, tracks: list[Track]) -> list[StoredExcerpt]:
        """The session's excerpts by start time across all tracks (speakers interleaved)."""
        order = {t.id: i for i, t in enumerate(tracks)}
        return sorted(
            self.store.excerpts(self.session_id),
            key=lambda e: (
                e.time is None,
                e.time or 0.0,
                order.get(e.track_id, len(order)),
                e.position,
            ),
        )

    def _lanes(self, tracks: list[Track], excerpts: list[StoredExcerpt]) -> list[str]:
        """One lane per speaker, in track order; a track with no excerpt yet by its file name."""
        order = {t.id: i for i, t in enumerate(tracks)}
        lanes: dict[int, list[str]] = {t.id: [] for t in tracks}
        for excerpt in sorted(excerpts, key=lambda e: (order.get(e.track_id, 0), e.position)):
            names = lanes.setdefault(excerpt.track_id or -1, [])
            if (excerpt.speaker or "") not in names:
                names.append(excerpt.speaker or "")
        out: list[str] = []
        for track in tracks:
            out += lanes.pop(track.id) or [Path(track.path).stem]
        for names in lanes.values():
            out += names
        return list(dict.fromkeys(out))

    def _refresh_overview(self) -> None:
        """The timeline and the player summary, after new excerpts or a decision."""
        if self.session_id is None:
            self.timeline.set_marks(0.0, [])
            self.player_summary.set_excerpts([], {})
            return
        tracks = self.store.tracks(self.session_id)
        durations = [t.duration or 0.0 for t in tracks]
        table = self.review.table.model
        excerpts = table.excerpts()
        marks = []
        for excerpt in excerpts:
            decision = table.decision_for(excerpt.id)
            if excerpt.time is None or not is_flagged(excerpt, decision):
                continue
            label = effective_label(excerpt, decision)
            try:
                colour = self.taxonomy.colour(label)
            except KeyError:
                colour = "#607d8b"
            end = excerpt.end_time if excerpt.end_time is not None else excerpt.time + 1.0
            marks.append(Mark(excerpt.id, excerpt.time, end, colour, label, excerpt.speaker or ""))
        gaps = [Gap(u.start, u.end, u.speaker) for u in self.store.untranscribed(self.session_id)]
        self.timeline.set_marks(
            max(durations, default=0.0), marks, self._lanes(tracks, excerpts), gaps
        )
        decisions = {e.id: d for e in excerpts if (d := table.decision_for(e.id)) is not None}
        self.player_summary.set_excerpts(excerpts, decisions)

    def _on_current(self, excerpt: StoredExcerpt | None) -> None:
        self.timeline.set_selected(excerpt.id if excerpt else None)

    def go_to_excerpt(self, excerpt_id: int) -> bool:
        """Show the Transcript with this excerpt selected (from the Players tab or the timeline)."""
        self.tabs.setCurrentWidget(self.review)
        table = self.review.table
        if not table.select_excerpt(excerpt_id):
            # hidden by the transcript's filters: show everything rather than nothing
            table.set_filter(ALL, 0.0, state=ANY, speaker=ANY, search="")
            if not table.select_excerpt(excerpt_id):
                return False
            self.status.emit("The transcript's filters were cleared to show that excerpt.")
        table.view.setFocus()
        return True

    def _on_mark_clicked(self, excerpt_id: int) -> None:
        self.go_to_excerpt(excerpt_id)
        self.play_excerpt(self.store.excerpt(excerpt_id))

    def play_excerpt(self, excerpt: StoredExcerpt | None) -> None:
        if excerpt is None:
            return
        path = self._track_paths.get(excerpt.track_id) if excerpt.track_id else None
        if path is None:
            self.status.emit("This excerpt has no recording to play.")
            return
        self.player.play(path, excerpt.time, excerpt.end_time)
