"""The Sessions screen: open or drop recordings, watch the scan queue, and review a session's
transcript with its flagged excerpts on a timeline, playing any excerpt from just before it.

Files opened together make one session (one track per file). The queue runs in a worker
thread, so the moderator can review one session while others are scanned.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from client.store import Store, StoredExcerpt, StoreError, Track
from client.widgets.excerpt_table import effective_label, is_flagged
from client.widgets.player import Player
from client.widgets.review_pane import ReviewPane
from client.widgets.timeline import Mark, Timeline
from client.workers import ScanQueue
from models.taxonomy import Taxonomy

MEDIA_FILTER = (
    "Audio and video (*.wav *.flac *.mp3 *.ogg *.opus *.m4a *.aac *.wma *.mp4 *.mkv *.webm "
    "*.mov *.avi);;All files (*)"
)
STATUS_TEXT = {"queued": "queued", "scanning": "scanning", "done": "done", "failed": "failed"}


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
        self.store = store
        self.taxonomy = taxonomy
        self.queue = queue
        self.session_id: int | None = None
        self._track_paths: dict[int, str] = {}
        self._queue_rows: dict[int, int] = {}
        self.setAcceptDrops(True)

        # left: open, resume banner, queue, sessions
        self.open_button = QPushButton("&Open recordings…")
        self.open_button.setToolTip("Open one or several audio/video files as a session (Ctrl+O)")
        drop_hint = QLabel("…or drop audio/video files anywhere on this screen.")
        drop_hint.setWordWrap(True)
        self.banner = QFrame()
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setStyleSheet("QFrame { background: #fff8e1; }")
        self.banner_text = QLabel()
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
        header = self.queue_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, self.fontMetrics().horizontalAdvance("100%") * 3)
        self.queue_table.setAccessibleName("Scan queue")

        self.session_list = QListWidget()
        self.session_list.setAccessibleName("Sessions")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.open_button)
        left_layout.addWidget(drop_hint)
        left_layout.addWidget(self.banner)
        left_layout.addWidget(QLabel("<b>Scan queue</b>"))
        left_layout.addWidget(self.queue_table, 1)
        left_layout.addWidget(QLabel("<b>Sessions</b>"))
        left_layout.addWidget(self.session_list, 2)

        # right: title, timeline, player, review
        self.title = QLabel("No session open")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title.setFont(font)
        self.timeline = Timeline()
        self.player = Player()
        self.review = ReviewPane(store, taxonomy, moderator)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.timeline)
        right_layout.addWidget(self.player)
        right_layout.addWidget(self.review, 1)

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
        self.session_list.currentItemChanged.connect(self._on_session_item)
        self.timeline.mark_clicked.connect(self.review.table.select_excerpt)
        self.review.current_changed.connect(self._on_current)
        self.review.activated.connect(self.play_excerpt)
        self.review.decisions_changed.connect(self._refresh_timeline)
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

    def recover(self) -> None:
        """After a crash: close cut-off live captures, and offer unfinished files again."""
        cut_short = self.store.close_interrupted_live()
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
        self._refresh_timeline()

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open recordings", "", MEDIA_FILTER)
        if paths:
            self.open_files(paths)

    def open_files(self, paths: list[str | Path]) -> int | None:
        """Make one session of these files and queue them; returns the session id."""
        files = [Path(p) for p in paths]
        missing = [p.name for p in files if not p.is_file()]
        files = [p for p in files if p.is_file()]
        if missing:
            self.status.emit(f"Not a file, skipped: {', '.join(missing)}")
        if not files:
            return None
        title = files[0].name + (f" + {len(files) - 1} more" if len(files) > 1 else "")
        try:
            session = self.store.create_session("files", title)
            tracks = [self.store.add_track(session.id, path) for path in files]
        except StoreError as exc:
            self.status.emit(f"The files were not queued: {exc}")
            return None
        for track in tracks:
            self._add_queue_row(track)
            self.queue.enqueue(track.id, track.path)
        self.refresh_sessions(select=session.id)
        self.status.emit(f"Queued {len(files)} file(s) for scanning.")
        return session.id

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
                self.store.restart_track(track.id)
            except StoreError as exc:
                self.store.set_track_status(track.id, "done", error=str(exc))
                self.status.emit(f"{Path(track.path).name}: {exc}")
                continue
            self._add_queue_row(self.store.track(track.id) or track)
            self.queue.enqueue(track.id, track.path)
        self.banner.hide()

    def forget_unfinished(self) -> None:
        for track in self.store.unfinished_tracks():
            if track.id not in self._queue_rows:
                self.store.set_track_status(track.id, "failed", error="not finished; skipped")
        self.banner.hide()

    # --- queue ------------------------------------------------------------------------------

    def _add_queue_row(self, track: Track) -> None:
        row = self.queue_table.rowCount()
        self.queue_table.insertRow(row)
        name = QTableWidgetItem(Path(track.path).name)
        name.setToolTip(track.path)
        self.queue_table.setItem(row, 0, name)
        self.queue_table.setItem(row, 1, QTableWidgetItem(STATUS_TEXT[track.status]))
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setValue(int(track.progress * 1000))
        bar.setFormat("%p%")
        bar.setAccessibleName(f"Progress of {Path(track.path).name}")
        self.queue_table.setCellWidget(row, 2, bar)
        self._queue_rows[track.id] = row

    def queue_status(self, track_id: int) -> tuple[str, int] | None:
        """(status text, progress in per mille) of a track's queue row, for tests and a11y."""
        row = self._queue_rows.get(track_id)
        if row is None:
            return None
        bar: QProgressBar = self.queue_table.cellWidget(row, 2)
        return self.queue_table.item(row, 1).text(), bar.value()

    def _set_row(self, track_id: int, status: str, progress: float | None = None) -> None:
        row = self._queue_rows.get(track_id)
        if row is None:
            return
        item = self.queue_table.item(row, 1)
        item.setText(status)
        if status.startswith("failed"):
            item.setForeground(Qt.GlobalColor.darkRed)
            item.setToolTip(status)
        if progress is not None:
            self.queue_table.cellWidget(row, 2).setValue(int(progress * 1000))

    def _on_started(self, track_id: int) -> None:
        self._set_row(track_id, "scanning", 0.0)

    def _on_progress(self, track_id: int, fraction: float) -> None:
        self._set_row(track_id, "scanning", fraction)

    def _on_done(self, track_id: int, stored: list[StoredExcerpt]) -> None:
        flagged = sum(1 for e in stored if e.toxic)
        self._set_row(track_id, f"done, {flagged} flagged", 1.0)
        track = self.store.track(track_id)
        if track is not None and track.session_id == self.session_id:
            self.show_session(track.session_id)
        if track is not None:
            self.status.emit(f"Scanned {Path(track.path).name}: {flagged} flagged.")
        self.refresh_sessions(select=self.session_id)

    def _on_failed(self, track_id: int, message: str) -> None:
        self._set_row(track_id, f"failed: {message}")
        track = self.store.track(track_id)
        name = Path(track.path).name if track else f"track {track_id}"
        self.status.emit(f"{name} could not be scanned: {message}")

    # --- sessions and review ----------------------------------------------------------------

    def refresh_sessions(self, select: int | None = None) -> None:
        self.session_list.blockSignals(True)
        self.session_list.clear()
        for session in self.store.sessions():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.created))
            item = QListWidgetItem(f"{session.title}\n{session.kind} · {when}")
            item.setData(Qt.ItemDataRole.UserRole, session.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, session.kind)
            self.session_list.addItem(item)
            if session.id == select:
                self.session_list.setCurrentItem(item)
        self.session_list.blockSignals(False)
        if select is not None and select != self.session_id:
            self.show_session(select)

    def _on_session_item(self, item: QListWidgetItem | None, _previous) -> None:
        if item is None:
            return
        session_id = item.data(Qt.ItemDataRole.UserRole)
        if item.data(Qt.ItemDataRole.UserRole + 1) == "text":
            self.open_text_session.emit(session_id)
            return
        self.show_session(session_id)

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
        if pending:
            parts.append(f"{len(pending)} file(s) still scanning")
        if failed:
            parts.append(f"{len(failed)} failed")
        self.title.setText(" · ".join(parts))
        current = self.review.table.current_excerpt()
        self.review.load_session(session_id)
        if current is not None:
            self.review.table.select_excerpt(current.id)
        self._refresh_timeline()
        self.player.play_button.setEnabled(bool(self._track_paths))

    def _refresh_timeline(self) -> None:
        if self.session_id is None:
            self.timeline.set_marks(0.0, [])
            return
        durations = [t.duration or 0.0 for t in self.store.tracks(self.session_id)]
        table = self.review.table.model
        marks = []
        for excerpt in table.excerpts():
            decision = table.decision_for(excerpt.id)
            if excerpt.time is None or not is_flagged(excerpt, decision):
                continue
            label = effective_label(excerpt, decision)
            try:
                colour = self.taxonomy.colour(label)
            except KeyError:
                colour = "#607d8b"
            end = excerpt.end_time if excerpt.end_time is not None else excerpt.time + 1.0
            marks.append(Mark(excerpt.id, excerpt.time, end, colour, label))
        self.timeline.set_marks(max(durations, default=0.0), marks)

    def _on_current(self, excerpt: StoredExcerpt | None) -> None:
        self.timeline.set_selected(excerpt.id if excerpt else None)

    def play_excerpt(self, excerpt: StoredExcerpt | None) -> None:
        if excerpt is None:
            return
        path = self._track_paths.get(excerpt.track_id) if excerpt.track_id else None
        if path is None:
            self.status.emit("This excerpt has no recording to play.")
            return
        self.player.play(path, excerpt.time, excerpt.end_time)
