"""The Text screen: paste text or open a chat log, check it, and see the toxic messages
highlighted in place in their category's colour with the category named beside them.

Each check is kept as a text session in the store, so decisions on its excerpts are saved.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QKeySequence,
    QPainter,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from client.labels import (
    effective_label,
    is_flagged,
    label_name,
    shown_confidence,
)
from client.services import StoreService
from client.store import Store, StoredExcerpt
from client.widgets.excerpt_table import tint
from client.widgets.player_summary import PlayerSummary
from client.widgets.review_pane import ReviewPane
from client.workers import run_task
from models.taxonomy import Taxonomy

STEP_MS = 10  # between the steps of showing a check's results
CHAT_FILTER = "Chat logs and text (*.txt *.log *.csv *.tsv *.json *.jsonl *.ndjson);;All files (*)"


class SpanHighlighter(QSyntaxHighlighter):
    """Tints character spans of the document, block by block as Qt lays them out.

    Cheaper than one ExtraSelection per span: a 10,000-line log costs one pass, and painting
    looks only at the visible blocks' own formats.
    """

    def __init__(self, document) -> None:
        super().__init__(document)
        self._spans: list[tuple[int, int, str]] = []  # start, end, colour; sorted, disjoint
        self._ends: list[int] = []
        self._formats: dict[str, QTextCharFormat] = {}
        self._revision: int | None = None  # the document's revision when spans were last set

    def set_spans(self, spans: list[tuple[int, int, str]]) -> None:
        old = self._spans
        self._spans = sorted(spans)
        self._ends = [end for _, end, _ in self._spans]
        document = self.document()
        changed = set(old).symmetric_difference(self._spans)
        # Qt highlights edited blocks itself, so the formats match the old spans unless the
        # text changed since they were set while they were not empty: then redo every block.
        # Otherwise only the blocks a changed span touches (one decision: one block), unless
        # they are many: one block at a time costs about 8 times as much as all in one pass.
        edited = document.revision() != self._revision
        if (old and edited) or len(changed) * 8 > document.blockCount():
            self.rehighlight()
        else:
            done: set[int] = set()
            for start, end, _ in changed:
                block = document.findBlock(start)
                while block.isValid() and block.position() < end:
                    if block.blockNumber() not in done:
                        done.add(block.blockNumber())
                        self.rehighlightBlock(block)
                    block = block.next()
        self._revision = document.revision()  # highlighting counts as a revision too

    def _format(self, colour: str) -> QTextCharFormat:
        if colour not in self._formats:
            fmt = QTextCharFormat()
            fmt.setBackground(tint(colour, 0.45))
            fmt.setForeground(QColor("#000000"))
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
            fmt.setUnderlineColor(QColor(colour))
            self._formats[colour] = fmt
        return self._formats[colour]

    def highlightBlock(self, text: str) -> None:
        if not self._spans:
            return
        first = self.currentBlock().position()
        last = first + len(text)
        index = bisect.bisect_right(self._ends, first)
        while index < len(self._spans) and self._spans[index][0] < last:
            start, end, colour = self._spans[index]
            a, b = max(start, first), min(end, last)
            if a < b:
                self.setFormat(a - first, b - a, self._format(colour))
            index += 1


class HighlightedText(QPlainTextEdit):
    """A plain text editor that tints flagged spans and paints their category beside them."""

    tag_clicked = Signal(int)  # excerpt id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tags: list[tuple[int, int, int, str, str]] = []  # start, end, id, text, colour
        self._tag_rects: list[tuple[QRect, int]] = []
        self._tag_ends: list[int] = []
        self.highlighter = SpanHighlighter(self.document())

    def set_highlights(self, spans: list[tuple[int, int, int, str, str]]) -> None:
        """spans: (start, end, excerpt id, tag text, colour) in character offsets."""
        length = self.document().characterCount() - 1
        spans = [s for s in spans if s[0] < s[1] <= length]
        self._tags = sorted(spans, key=lambda span: span[1])
        self._tag_ends = [span[1] for span in self._tags]
        self.highlighter.set_spans([(start, end, colour) for start, end, _, _, colour in spans])
        self.viewport().update()

    def clear_highlights(self) -> None:
        self.set_highlights([])

    def tags(self) -> list[str]:
        return [tag for *_, tag, _ in self._tags]

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._tags:
            return
        painter = QPainter(self.viewport())
        metrics = QFontMetrics(self.font())
        pad = max(2, metrics.height() // 6)
        width = self.viewport().width()
        self._tag_rects = []
        length = self.document().characterCount() - 1
        first = self.firstVisibleBlock().position()
        bottom = self.viewport().rect().bottomRight()
        last = self.cursorForPosition(bottom).block()
        last_end = last.position() + last.length()
        begin = bisect.bisect_left(self._tag_ends, first)
        for _start, end, excerpt_id, tag, colour in self._tags[begin:]:
            if end > last_end:
                break
            if end > length:
                continue
            cursor = QTextCursor(self.document())
            cursor.setPosition(end)
            at = self.cursorRect(cursor)
            if at.bottom() < 0 or at.top() > self.viewport().height():
                continue
            text_width = metrics.horizontalAdvance(tag) + 2 * pad
            x = at.right() + 2 * pad
            y = at.top()
            if x + text_width > width:  # no room after the text: right edge, over the line
                x = max(0, width - text_width - pad)
            rect = QRect(x, y, text_width, at.height())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(colour))
            painter.drawRoundedRect(rect, pad, pad)
            painter.setPen(QColor("#ffffff") if _dark(colour) else QColor("#000000"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, tag)
            self._tag_rects.append((rect, excerpt_id))
        painter.end()

    def mousePressEvent(self, event) -> None:
        for rect, excerpt_id in self._tag_rects:
            if rect.contains(event.position().toPoint()):
                self.tag_clicked.emit(excerpt_id)
                return
        super().mousePressEvent(event)


def _dark(colour: str) -> bool:
    c = QColor(colour)
    return 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() < 150


class TextView(QWidget):
    status = Signal(str)
    session_created = Signal(int)

    def __init__(
        self,
        store: Store,
        taxonomy: Taxonomy,
        classifier: Callable[[], object | None],
        moderator: Callable[[], str],
        parent: QWidget | None = None,
        classifier_error: Callable[[], str | None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.taxonomy = taxonomy
        self.classifier = classifier
        self.classifier_error = classifier_error
        self._checking = False
        self._fmt = "auto"
        self._title = "Pasted text"
        self._shown_text: str | None = None  # the text the highlights belong to

        self.editor = HighlightedText()
        self.editor.setPlaceholderText(
            "Paste chat or text here, or open a chat log: plain text, [hh:mm] name: message, "
            "CSV or JSON. Then press Check (Ctrl+Enter)."
        )
        self.editor.setAccessibleName("Text to check")
        self.open_button = QPushButton("&Open chat log…")
        self.check_button = QPushButton("Chec&k")
        self.check_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.check_button.setToolTip("Classify every message (Ctrl+Enter)")
        self.check_button.setDefault(True)
        self.clear_button = QPushButton("Clear")
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # file names, error messages
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Text check status")
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.counts.setTextFormat(Qt.TextFormat.RichText)

        self.review = ReviewPane(store, taxonomy, moderator)
        self.player_summary = PlayerSummary(taxonomy)  # players = the log's name column

        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(buttons)
        text_and_players = QSplitter(Qt.Orientation.Vertical)
        text_and_players.addWidget(self.editor)
        text_and_players.addWidget(self.player_summary)
        text_and_players.setStretchFactor(0, 3)
        text_and_players.setStretchFactor(1, 1)
        text_and_players.setChildrenCollapsible(False)
        left_layout.addWidget(text_and_players, 1)
        left_layout.addWidget(self.counts)
        left_layout.addWidget(self.message)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.review)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.open_button.clicked.connect(self.choose_file)
        self.check_button.clicked.connect(self.check)
        self.clear_button.clicked.connect(self.clear)
        self.editor.textChanged.connect(self._on_edited)
        self.editor.tag_clicked.connect(self.review.table.select_excerpt)
        self.review.decisions_changed.connect(self._show_results)
        self.review.current_changed.connect(self._on_current)
        self.player_summary.excerpt_chosen.connect(self.review.table.select_excerpt)

    # --- actions ----------------------------------------------------------------------------

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.review.set_taxonomy(taxonomy)
        self.player_summary.set_taxonomy(taxonomy)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open chat log", "", CHAT_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> None:
        """Load a chat log into the editor and check it; unreadable files get a message."""
        from models.excerpts import ExcerptError, decode_bytes, format_for_path

        path = Path(path)
        try:
            if path.stat().st_size > 50_000_000:
                raise ExcerptError(f"{path.name} is larger than 50 MB.")
            text = decode_bytes(path.read_bytes(), name=path.name)
        except (OSError, ExcerptError) as exc:
            self._say(f"Could not open {path.name}: {getattr(exc, 'strerror', None) or exc}")
            return
        self.editor.setPlainText(text)
        self._fmt = format_for_path(path)
        self._title = path.name
        self.check()

    def clear(self) -> None:
        self.editor.clear()
        self.review.load_session(None)
        self.player_summary.set_excerpts([], {})
        self.counts.clear()
        self._say("")

    def check(self) -> None:
        """Split the text into excerpts and classify them on the thread pool."""
        from models.excerpts import ExcerptError, excerpts_from_text

        text = self.editor.toPlainText()
        if not text.strip():
            self._say("Nothing to check: paste some text or open a chat log first.")
            return
        classifier = self.classifier()
        if classifier is None:
            error = self.classifier_error()
            if error:
                self._say(f"The classifier failed to load: {error}. Choose a model in Settings.")
            else:
                self._say("The classifier is still loading; Check again in a moment.")
            return
        if self._checking:
            return
        try:
            excerpts = excerpts_from_text(text, self._fmt)
        except ExcerptError as exc:
            self._say(f"The text could not be read: {exc}")
            return
        if not excerpts:
            self._say("No messages found in the text.")
            return
        self._checking = True
        self.check_button.setEnabled(False)
        self._say(f"Checking {len(excerpts)} messages…")
        title = self._title if self._title != "Pasted text" else _title_of(text)

        def work() -> list[StoredExcerpt]:
            verdicts = classifier.classify(excerpts)
            # the session and its excerpts in one transaction, on this pool thread's connection
            return StoreService(self.store).save_text_check(title, text, excerpts, verdicts)

        run_task(work, lambda stored: self._checked(text, stored), self._failed, self)

    def show_session(self, session_id: int) -> None:
        """Reopen a text session from the store: its text, highlights and decisions."""
        session = self.store.session(session_id)
        if session is None:
            return
        self.editor.blockSignals(True)
        self.editor.setPlainText(session.source_text or "")
        self.editor.blockSignals(False)
        self.review.load_session(session_id)
        self._show_results()

    # --- results ----------------------------------------------------------------------------

    def _checked(self, text: str, stored: list[StoredExcerpt]) -> None:
        self._checking = False
        self.check_button.setEnabled(True)
        if not stored:
            return
        if self.editor.toPlainText() != text:
            self._say("The text changed while it was being checked; press Check again.")
        session_id = stored[0].session_id
        self.review.load_session(session_id, stored)
        # the highlights, then the first flagged row, each in a later turn of the event loop
        # (after a timer, so input and painting get in between): on a 10,000-line log the
        # window would otherwise stall for the three together
        QTimer.singleShot(STEP_MS, lambda: self._show_checked(session_id, len(stored)))

    def _show_checked(self, session_id: int, count: int) -> None:
        if self.review.session_id != session_id:
            return  # cleared or replaced meanwhile
        self._show_results()
        flagged = sum(self.review.table.flagged_counts().values())
        self._say(f"Checked {count} messages: {flagged} flagged.")
        QTimer.singleShot(STEP_MS, lambda: self._select_first_flagged(session_id))
        self.session_created.emit(session_id)

    def _select_first_flagged(self, session_id: int) -> None:
        table = self.review.table
        if self.review.session_id == session_id and table.current_excerpt() is None:
            table.next_flagged()

    def _failed(self, message: str) -> None:
        self._checking = False
        self.check_button.setEnabled(True)
        self._say(f"The check failed: {message}")

    def _show_results(self) -> None:
        table = self.review.table
        spans = []
        for excerpt in table.model.excerpts():
            decision = table.model.decision_for(excerpt.id)
            if not is_flagged(excerpt, decision):
                continue
            label = effective_label(excerpt, decision)
            tag = f"{label_name(label)} {shown_confidence(excerpt, decision)}"
            colour = self._colour(label)
            spans.append((excerpt.start, excerpt.end, excerpt.id, tag, colour))
        self._shown_text = self.editor.toPlainText()
        self.editor.set_highlights(spans)
        rows = table.model.excerpts()
        self.player_summary.set_excerpts(
            rows, {e.id: d for e in rows if (d := table.model.decision_for(e.id)) is not None}
        )
        counts = table.flagged_counts()
        if counts:
            parts = [
                f'<span style="background:{tint(self._colour(k), 0.45).name()};color:#000">'
                f"&nbsp;{html.escape(label_name(k))}: {v}&nbsp;</span>"
                for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
            ]
            self.counts.setText("Flagged per category: " + " ".join(parts))
        else:
            self.counts.setText("No toxic messages found.")

    def _colour(self, label: str) -> str:
        try:
            return self.taxonomy.colour(label)
        except KeyError:
            return "#607d8b"

    def _on_current(self, excerpt: StoredExcerpt | None) -> None:
        if excerpt is None or excerpt.end <= excerpt.start:
            return
        cursor = self.editor.textCursor()
        if excerpt.end <= self.editor.document().characterCount() - 1:
            cursor.setPosition(excerpt.start)
            self.editor.setTextCursor(cursor)
            self.editor.ensureCursorVisible()

    def _on_edited(self) -> None:
        if self.editor.toPlainText() == self._shown_text:
            return  # highlighting changed the layout, not the text
        self._shown_text = None
        if self.editor.tags():
            self.editor.clear_highlights()
            self.counts.setText("The text changed: press Check to classify it again.")
        if not self._checking:
            self._title = "Pasted text"
            self._fmt = "auto"

    def _say(self, text: str) -> None:
        self.message.setText(text)
        if text:
            self.status.emit(text)


def _title_of(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (first[:40] + "…") if len(first) > 40 else first or "Pasted text"
