"""Measures event-loop responsiveness: the longest gap between runs of a 5 ms timer."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QTimer


class StallMeter:
    """The longest the event loop went without running a 5 ms timer."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.worst = 0.0
        self._clock.start()
        self._timer.start()

    def _tick(self) -> None:
        self.worst = max(self.worst, self._clock.restart() / 1000)

    def stop(self) -> float:
        self._timer.stop()
        return self.worst
