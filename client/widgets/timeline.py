"""A strip the width of the recording with a mark at each flagged excerpt, in its category's
colour, and the playback position; clicking a mark selects that excerpt.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from client.widgets.excerpt_table import format_time


@dataclass(frozen=True)
class Mark:
    excerpt_id: int
    start: float
    end: float
    colour: str
    label: str


class Timeline(QWidget):
    mark_clicked = Signal(int)  # excerpt id
    seek_requested = Signal(float)  # seconds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration = 0.0
        self.marks: list[Mark] = []
        self.position: float | None = None
        self.selected: int | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Flagged excerpts over the recording; click a mark to review it")
        self.setAccessibleName("Timeline of flagged excerpts")
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(400, QFontMetrics(self.font()).height() * 3)

    def minimumSizeHint(self) -> QSize:
        return QSize(100, QFontMetrics(self.font()).height() * 3)

    def set_marks(self, duration: float, marks: list[Mark]) -> None:
        ends = [m.end for m in marks]
        self.duration = max([duration or 0.0, *ends]) if ends or duration else 0.0
        self.marks = marks
        self.update()

    def set_position(self, seconds: float | None) -> None:
        self.position = seconds
        self.update()

    def set_selected(self, excerpt_id: int | None) -> None:
        self.selected = excerpt_id
        self.update()

    def _bar(self) -> QRectF:
        metrics = QFontMetrics(self.font())
        return QRectF(4, 2, max(1, self.width() - 8), self.height() - metrics.height() - 6)

    def _x(self, seconds: float) -> float:
        bar = self._bar()
        if self.duration <= 0:
            return bar.left()
        return bar.left() + bar.width() * min(1.0, max(0.0, seconds / self.duration))

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bar = self._bar()
        painter.fillRect(bar, QColor("#eceff1"))
        painter.setPen(QPen(QColor("#90a4ae"), 1))
        painter.drawRect(bar)
        min_width = max(3.0, bar.width() / 400)
        metrics = QFontMetrics(self.font())
        for mark in self.marks:
            x0 = self._x(mark.start)
            width = max(min_width, self._x(mark.end) - x0)
            rect = QRectF(x0, bar.top() + 1, width, bar.height() - 2)
            painter.fillRect(rect, QColor(mark.colour))
            # the category in words where the mark is wide enough: never colour alone
            name = mark.label.replace("_", " ")
            if metrics.horizontalAdvance(name) + 6 < rect.width():
                painter.setPen(QColor("#ffffff") if _dark(mark.colour) else QColor("#000000"))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, name)
            if mark.excerpt_id == self.selected:
                painter.setPen(QPen(QColor("#000000"), 2))
                painter.drawRect(rect.adjusted(-1, -1, 1, 1))
        if self.position is not None and self.duration > 0:
            x = self._x(self.position)
            painter.setPen(QPen(QColor("#1565c0"), 2))
            painter.drawLine(int(x), int(bar.top()), int(x), int(bar.bottom()))
        painter.setPen(QColor("#37474f"))
        text_top = bar.bottom() + 3
        text_rect = QRectF(bar.left(), text_top, bar.width(), self.height() - text_top)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft, "0:00")
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight, format_time(self.duration))
        summary = f"{len(self.marks)} flagged" if self.marks else "nothing flagged"
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter, summary)
        painter.end()

    def mark_at(self, x: float) -> Mark | None:
        best, best_distance = None, 8.0
        for mark in self.marks:
            x0, x1 = self._x(mark.start), self._x(mark.end)
            distance = 0.0 if x0 - 2 <= x <= x1 + 2 else min(abs(x - x0), abs(x - x1))
            if distance < best_distance:
                best, best_distance = mark, distance
        return best

    def mousePressEvent(self, event) -> None:
        x = event.position().x()
        mark = self.mark_at(x)
        if mark is not None:
            self.mark_clicked.emit(mark.excerpt_id)
        elif self.duration > 0:
            bar = self._bar()
            self.seek_requested.emit(self.duration * (x - bar.left()) / bar.width())


def _dark(colour: str) -> bool:
    c = QColor(colour)
    return 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() < 150
