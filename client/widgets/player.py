"""Play an excerpt of a recording with QtMultimedia, starting a little before it so the
moderator hears the lead-up, and stopping a little after it ends.

Without an audio output device the playhead still moves through the excerpt; the player says in
the window that nothing can be heard, rather than playing silently.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from client.labels import format_time

LEAD_IN_S = 1.5
TAIL_S = 0.7
NO_OUTPUT_TEXT = (
    "No audio output device: nothing can be heard on this computer. The playhead still "
    "shows where the excerpt is; connect speakers or headphones to listen."
)


class Player(QWidget):
    position_changed = Signal(float)  # seconds
    error = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._player = None
        self._audio = None
        self._path: str | None = None
        self._stop_at: float | None = None
        self._pending_start: float | None = None
        self.play_button = QPushButton("▶ Play excerpt")
        self.play_button.setToolTip("Play the selected excerpt from a little before it (Space)")
        self.stop_button = QPushButton("■ Stop")
        self.where = QLabel("")
        self.where.setTextFormat(Qt.TextFormat.PlainText)  # file names come from the moderator
        self.where.setWordWrap(True)
        self.where.setAccessibleName("Playback position")
        self.silent = False  # True while playing with no audio output device
        self.play_button.setEnabled(False)
        self.stop_button.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.stop_button)
        layout.addWidget(self.where, 1)
        self.stop_button.clicked.connect(self.stop)

    @property
    def playing_from(self) -> float | None:
        return self._pending_start

    def _ensure_player(self) -> bool:
        if self._player is not None:
            return True
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
        except ImportError as exc:  # pyside6-addons missing
            self.error.emit(f"Playback needs QtMultimedia (pyside6-addons): {exc}")
            return False
        self._player = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        self._player.setAudioOutput(self._audio)
        self._player.positionChanged.connect(self._on_position)
        self._player.errorOccurred.connect(self._on_error)
        self._player.mediaStatusChanged.connect(self._on_status)
        self._devices = QMediaDevices(self)
        self._devices.audioOutputsChanged.connect(self._on_outputs_changed)
        return True

    @staticmethod
    def has_audio_output() -> bool:
        """Whether the system offers any audio output device (QtMultimedia's view)."""
        from PySide6.QtMultimedia import QMediaDevices

        return bool(QMediaDevices.audioOutputs())

    def _on_outputs_changed(self) -> None:
        from PySide6.QtMultimedia import QMediaDevices

        # follow the system default, e.g. headphones plugged in after the app started
        if self._audio is not None:
            self._audio.setDevice(QMediaDevices.defaultAudioOutput())

    def play(self, path: str, start: float | None, end: float | None) -> None:
        """Play path from LEAD_IN_S before start to TAIL_S after end."""
        if not Path(path).is_file():
            self.error.emit(f"The recording {path} is no longer there; it cannot be played.")
            return
        if not self._ensure_player():
            return
        begin = max(0.0, (start or 0.0) - LEAD_IN_S)
        self._stop_at = (end + TAIL_S) if end is not None else None
        self._pending_start = begin
        if self._path != path:
            self._path = path
            self._player.setSource(QUrl.fromLocalFile(str(Path(path).resolve())))
        self._player.setPosition(int(begin * 1000))
        self._player.play()
        self.stop_button.setEnabled(True)
        where = f"Playing {Path(path).name} from {format_time(begin)}"
        self.silent = not self.has_audio_output()
        if self.silent:
            self.where.setText(f"{where}. {NO_OUTPUT_TEXT}")
            self.where.setStyleSheet("QLabel { color: #b71c1c; }")
            self.error.emit(NO_OUTPUT_TEXT)
        else:
            self.where.setText(where)
            self.where.setStyleSheet("")

    def stop(self) -> None:
        if self._player is not None:
            self._player.pause()
        self.stop_button.setEnabled(False)

    def _on_status(self, status) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        # a new source may ignore a seek made before it loaded; seek again once it has
        if status == QMediaPlayer.MediaStatus.LoadedMedia and self._pending_start is not None:
            self._player.setPosition(int(self._pending_start * 1000))

    def _on_position(self, ms: int) -> None:
        seconds = ms / 1000
        self.position_changed.emit(seconds)
        if self._stop_at is not None and seconds >= self._stop_at:
            self._stop_at = None
            self.stop()

    def _on_error(self, _error, message: str) -> None:
        self.error.emit(f"Playback failed: {message or 'the file cannot be played'}")
        self.stop()
