"""The Live screen: pick a microphone, watch its level, start and stop; each utterance appears
when it ends, toxic ones highlighted with their category and confidence, with a running count.

A live session is saved as it goes (the recording and every excerpt), so it appears under
Sessions and survives a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.store import Store, StoredExcerpt, StoreError
from client.widgets.review_pane import ReviewPane
from client.widgets.settings_dialog import input_devices
from client.workers import ClassifierService, LiveCapture
from models.taxonomy import Taxonomy


class LiveView(QWidget):
    status = Signal(str)
    session_saved = Signal(int)  # session id: a capture stopped and was saved

    def __init__(
        self,
        store: Store,
        taxonomy: Taxonomy,
        service: ClassifierService,
        window,
        moderator: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.service = service
        self.window_ = window
        self.capture = LiveCapture(store, self)
        self._started_at: float | None = None

        self.device = QComboBox()
        self.device.setAccessibleName("Microphone")
        self.device.setMinimumContentsLength(24)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Look for microphones again")
        self.level = QProgressBar()
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setAccessibleName("Input level")
        self.level.setMaximumHeight(self.fontMetrics().height())
        self.start_button = QPushButton("● Start listening")
        self.start_button.setCheckable(False)
        self.flagged = QLabel("0 flagged")
        font = self.flagged.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.flagged.setFont(font)
        self.flagged.setAccessibleName("Flagged count")
        self.state = QLabel("Not listening.")
        self.state.setWordWrap(True)
        self.state.setTextFormat(Qt.TextFormat.PlainText)  # file and device names, as they are
        self.review = ReviewPane(store, taxonomy, moderator)

        top = QHBoxLayout()
        top.addWidget(QLabel("Microphone:"))
        top.addWidget(self.device, 2)
        top.addWidget(self.refresh_button)
        top.addWidget(QLabel("Level:"))
        top.addWidget(self.level, 1)
        top.addWidget(self.start_button)
        top.addWidget(self.flagged)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.state)
        layout.addWidget(self.review, 1)

        self.refresh_button.clicked.connect(self.refresh_devices)
        self.start_button.clicked.connect(self.toggle)
        # the level comes from the capture thread: queued, so the meter is set on this thread
        self.capture.level.connect(self._on_level, Qt.ConnectionType.QueuedConnection)
        self.capture.utterance.connect(self._on_utterance)
        self.capture.failed.connect(self._on_failed)
        self.capture.started.connect(self._on_started)
        self.capture.stopped.connect(self._on_stopped)
        self._decay = QTimer(self)
        self._decay.setInterval(100)
        self._decay.timeout.connect(lambda: self.level.setValue(int(self.level.value() * 0.7)))
        self._devices_loaded = False

    def showEvent(self, event) -> None:
        # PortAudio is slow to load: ask for devices when the screen is first shown
        if not self._devices_loaded:
            self._devices_loaded = True
            QTimer.singleShot(0, self.refresh_devices)
        super().showEvent(event)

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.review.set_taxonomy(taxonomy)

    def refresh_devices(self, devices: list[tuple[str, str]] | None = None) -> None:
        wanted = self.window_.settings.input_device
        self.device.clear()
        self.device.addItem("System default microphone", "")
        for label, value in devices if devices is not None else input_devices():
            self.device.addItem(label, value)
        position = self.device.findData(wanted)
        self.device.setCurrentIndex(max(0, position))
        if self.device.count() == 1:
            self.state.setText(
                "No microphone found. Connect one, or check that the system's sound service is "
                "running, then press Refresh; Start tries the system default anyway."
            )

    def toggle(self) -> None:
        if self.capture.running or self.capture.starting:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        classifier = self.service.classifier
        if classifier is None:
            message = self.service.error or "the classifier is still loading"
            self._say(f"Cannot start yet: {message}.")
            return
        settings = self.window_.settings.with_changes(input_device=self.device.currentData() or "")
        if settings != self.window_.settings:
            self.window_.apply_settings(settings)  # remember the microphone for next time
        title = time.strftime("Live %Y-%m-%d %H:%M")
        try:
            session_id = self.capture.start(title, classifier, settings)
        except StoreError as exc:
            self._say(f"Cannot start: {exc}")
            return
        self.review.load_session(session_id)
        self._update_count()
        self.start_button.setEnabled(False)
        self._say("Loading Whisper and opening the microphone…")

    def stop_now(self) -> None:
        """Stop and save at once, blocking: the window is closing."""
        if self.capture.running or self.capture.starting:
            self.capture.stop(wait=True)  # a capture still opening is stopped once it opens

    def stop(self) -> None:
        if self.capture.running or self.capture.starting:
            self.start_button.setEnabled(False)
            self._say("Finishing the last utterance…")
            self.capture.stop()

    def _on_started(self) -> None:
        self._started_at = time.monotonic()
        self.start_button.setEnabled(True)
        self.start_button.setText("■ Stop")
        self._decay.start()
        self._say("Listening. Lines appear when each utterance ends.")

    def _on_stopped(self, seconds: float) -> None:
        self._decay.stop()
        self.level.setValue(0)
        self.start_button.setEnabled(True)
        self.start_button.setText("● Start listening")
        flagged = sum(self.review.table.flagged_counts().values())
        if seconds:
            said = f"Stopped after {seconds:.0f} s: {flagged} flagged. Saved under Sessions."
            if self.capture.halt_reason:  # it stopped by itself: the reason stays in view
                said = f"{self.capture.halt_reason} {said}"
            self._say(said)
        self.status.emit("Live session saved.")
        if self.capture.session_id is not None:
            self.session_saved.emit(self.capture.session_id)

    def _on_level(self, level: float) -> None:
        self.level.setValue(max(self.level.value(), int(min(1.0, level) * 100)))

    def _on_utterance(self, stored: list[StoredExcerpt]) -> None:
        self.review.append(stored)
        self._update_count()
        self.review.table.view.scrollToBottom()

    def _on_failed(self, message: str) -> None:
        if self.capture.session_id is None and not self.capture.running:
            # the start failed: its empty session is gone, so is the table that showed it
            self.review.load_session(None)
            self._update_count()
            if self.device.count() <= 1:
                message += (
                    " No microphone was found: connect one, or check that the system's sound "
                    "service is running, then press Refresh."
                )
        self._say(message)
        self.status.emit(message)

    def _update_count(self) -> None:
        counts = self.review.table.flagged_counts()
        self.flagged.setText(f"{sum(counts.values())} flagged")

    def _say(self, text: str) -> None:
        self.state.setText(text)
