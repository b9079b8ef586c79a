"""A strip the width of the recording with one lane per speaker: each lane is named on the left
and holds a mark at each of that speaker's flagged excerpts, in its category's colour; the
playback cursor runs across all lanes, and clicking a mark selects (and plays) that excerpt.
Speech heard but left without words (untranscribed) is a grey hatched gap in its speaker's lane:
clicking it plays that stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from client.labels import format_time, plain_html

MAX_LABEL_CHARS = 16  # lane names longer than this are elided on the left


@dataclass(frozen=True)
class Mark:
    excerpt_id: int
    start: float
    end: float
    colour: str
    label: str
    lane: str = ""  # the speaker; marks of one lane share a row


@dataclass(frozen=True)
class Gap:
    """Speech with no words: not classified, so neither flagged nor harmless; listen to it."""

    start: float
    end: float
    lane: str = ""


GAP_COLOUR = "#9e9e9e"


class Timeline(QWidget):
    mark_clicked = Signal(int)  # excerpt id
    seek_requested = Signal(float)  # seconds
    gap_clicked = Signal(object)  # Gap

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration = 0.0
        self.marks: list[Mark] = []
        self.gaps: list[Gap] = []
        self.lanes: list[str] = [""]
        self.position: float | None = None
        self.selected: int | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Flagged excerpts over the recording; click a mark to review it")
        self.setAccessibleName("Timeline of flagged excerpts")
        self.setMouseTracking(True)

    # --- geometry ---------------------------------------------------------------------------

    def _lane_height(self) -> int:
        metrics = QFontMetrics(self.font())
        return metrics.height() + 8 if self._named() else metrics.height() * 2

    def _named(self) -> bool:
        return any(self.lanes)

    def sizeHint(self) -> QSize:
        metrics = QFontMetrics(self.font())
        return QSize(400, self._lane_height() * len(self.lanes) + metrics.height() + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(100, self.sizeHint().height())

    def _label_width(self) -> float:
        if not self._named():
            return 0.0
        metrics = QFontMetrics(self.font())
        widest = max(metrics.horizontalAdvance(self._lane_text(lane)) for lane in self.lanes)
        return min(widest, metrics.averageCharWidth() * MAX_LABEL_CHARS) + 10

    def _lane_text(self, lane: str) -> str:
        return lane or "(no speaker)"

    def _bar(self) -> QRectF:
        """The area of all lanes together, right of the lane names."""
        left = 4 + self._label_width()
        return QRectF(
            left, 2, max(1.0, self.width() - left - 4), self._lane_height() * len(self.lanes)
        )

    def lane_rect(self, lane: str) -> QRectF:
        bar = self._bar()
        row = self.lanes.index(lane) if lane in self.lanes else 0
        height = self._lane_height()
        return QRectF(bar.left(), bar.top() + row * height, bar.width(), height)

    def _x(self, seconds: float) -> float:
        bar = self._bar()
        if self.duration <= 0:
            return bar.left()
        return bar.left() + bar.width() * min(1.0, max(0.0, seconds / self.duration))

    def mark_rect(self, mark: Mark | Gap) -> QRectF:
        lane = self.lane_rect(mark.lane)
        x0 = self._x(mark.start)
        width = max(max(3.0, lane.width() / 400), self._x(mark.end) - x0)
        return QRectF(x0, lane.top() + 2, width, lane.height() - 4)

    # --- content ----------------------------------------------------------------------------

    def set_marks(
        self,
        duration: float,
        marks: list[Mark],
        lanes: list[str] | None = None,
        gaps: list[Gap] | None = None,
    ) -> None:
        """Show marks over a recording of duration seconds, one lane per name in lanes (in that
        order; lanes that only marks or gaps name are added after them), and gaps: untranscribed
        speech."""
        gaps = list(gaps or [])
        ends = [m.end for m in marks] + [g.end for g in gaps]
        self.duration = max([duration or 0.0, *ends]) if ends or duration else 0.0
        self.marks = marks
        self.gaps = gaps
        ordered = list(
            dict.fromkeys([*(lanes or []), *(m.lane for m in marks), *(g.lane for g in gaps)])
        )
        self.lanes = ordered or [""]
        # what the picture shows, for screen readers
        described = [
            (
                m.start,
                f"{m.lane or 'no speaker'}: {m.label.replace('_', ' ')} at {format_time(m.start)}",
            )
            for m in marks
        ] + [
            (
                g.start,
                f"{g.lane or 'no speaker'}: untranscribed speech from "
                f"{format_time(g.start)} to {format_time(g.end)}",
            )
            for g in gaps
        ]
        described.sort(key=lambda pair: pair[0])
        self.setAccessibleDescription("; ".join(text for _, text in described) or "nothing flagged")
        self.updateGeometry()
        self.update()

    def set_position(self, seconds: float | None) -> None:
        self.position = seconds
        self.update()

    def set_selected(self, excerpt_id: int | None) -> None:
        self.selected = excerpt_id
        self.update()

    # --- painting ---------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        bar = self._bar()
        label_width = self._label_width()
        for row, lane in enumerate(self.lanes):
            rect = self.lane_rect(lane)
            painter.fillRect(rect, QColor("#eceff1" if row % 2 == 0 else "#e3e8eb"))
            if label_width:
                name = metrics.elidedText(
                    self._lane_text(lane), Qt.TextElideMode.ElideRight, int(label_width - 10)
                )
                painter.setPen(QColor("#263238"))
                painter.drawText(
                    QRectF(4, rect.top(), label_width - 6, rect.height()),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    name,
                )
        painter.setPen(QPen(QColor("#90a4ae"), 1))
        painter.drawRect(bar)
        for gap in self.gaps:  # grey and hatched: no verdict, not a flag either
            rect = self.mark_rect(gap)
            painter.fillRect(rect, QColor("#e0e0e0"))
            painter.fillRect(rect, QBrush(QColor(GAP_COLOUR), Qt.BrushStyle.BDiagPattern))
            painter.setPen(QPen(QColor(GAP_COLOUR), 1, Qt.PenStyle.DashLine))
            painter.drawRect(rect)
        for mark in self.marks:
            rect = self.mark_rect(mark)
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
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft, format_time(0.0))
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight, format_time(self.duration))
        summary = f"{len(self.marks)} flagged" if self.marks else "nothing flagged"
        if self.gaps:
            summary += f" · {len(self.gaps)} untranscribed"
        if len(self.lanes) > 1:
            summary += f" · {len(self.lanes)} speakers"
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter, summary)
        painter.end()

    # --- mouse ------------------------------------------------------------------------------

    def lane_at(self, y: float) -> str | None:
        for lane in self.lanes:
            rect = self.lane_rect(lane)
            if rect.top() <= y < rect.bottom():
                return lane
        return None

    def mark_at(self, x: float, y: float | None = None) -> Mark | None:
        """The mark under (or within 8 px of) x; in the lane at y when y is given."""
        lane = self.lane_at(y) if y is not None else None
        if y is not None and lane is None:
            return None
        best, best_distance = None, 8.0
        for mark in self.marks:
            if lane is not None and mark.lane != lane:
                continue
            x0, x1 = self._x(mark.start), self._x(mark.end)
            distance = 0.0 if x0 - 2 <= x <= x1 + 2 else min(abs(x - x0), abs(x - x1))
            if distance < best_distance:
                best, best_distance = mark, distance
        return best

    def gap_at(self, x: float, y: float) -> Gap | None:
        """The untranscribed stretch under (x, y), if any."""
        lane = self.lane_at(y)
        for gap in self.gaps:
            if gap.lane == lane and self._x(gap.start) - 2 <= x <= self._x(gap.end) + 2:
                return gap
        return None

    def mousePressEvent(self, event) -> None:
        x, y = event.position().x(), event.position().y()
        mark = self.mark_at(x, y)
        gap = self.gap_at(x, y) if mark is None else None
        if mark is not None:
            self.mark_clicked.emit(mark.excerpt_id)
        elif gap is not None:
            self.gap_clicked.emit(gap)
        elif self.duration > 0:
            bar = self._bar()
            if bar.left() <= x <= bar.right():
                self.seek_requested.emit(self.duration * (x - bar.left()) / bar.width())

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            mark = self.mark_at(event.pos().x(), event.pos().y())
            if mark is not None:
                # player names come from the recording's file names: shown as plain text
                text = f"{mark.lane or 'no speaker'} · {mark.label.replace('_', ' ')} · "
                text += f"{format_time(mark.start)} (click to play)"
                QToolTip.showText(event.globalPos(), plain_html(text), self)
            elif (gap := self.gap_at(event.pos().x(), event.pos().y())) is not None:
                text = f"{gap.lane or 'no speaker'} · untranscribed speech · "
                text += f"{format_time(gap.start)}–{format_time(gap.end)} (click to listen)"
                QToolTip.showText(event.globalPos(), plain_html(text), self)
            else:
                QToolTip.showText(event.globalPos(), plain_html(self.toolTip()), self)
            return True
        return super().event(event)


def _dark(colour: str) -> bool:
    c = QColor(colour)
    return 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() < 150
