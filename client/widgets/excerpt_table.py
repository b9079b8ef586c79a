"""A table of classified excerpts: time, speaker, category, confidence, decision and text.

Flagged rows are tinted in their category's colour and the category is always named in the
Category column, so nothing depends on colour alone. Every column sorts (click its header); the
default order is time order, speakers interleaved. A filter bar narrows the rows to a category,
a review state, a speaker, a minimum confidence and a search; N / P (or J / K) move to the next
or previous flagged row, and the table says when there is no flagged row further on.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.labels import (  # format_time, effective_label, is_flagged: re-exported for old imports
    STATE_NAMES,
    ReviewState,
    describe_method,
    describe_state,
    effective_label,
    format_percent,
    format_time,
    is_flagged,
    label_name,
    list_decided,
    model_flagged,
    plain_html,
    review_state,
    shown_confidence,
    shown_probability,
)
from client.store import Decision, StoredExcerpt
from models.taxonomy import Taxonomy

__all__ = [
    "ALL",
    "FLAGGED",
    "ExcerptFilter",
    "ExcerptModel",
    "ExcerptTable",
    "tint",
]

COLUMNS = ("Time", "Speaker", "Category", "Confidence", "Decision", "Text")
TIME, SPEAKER, CATEGORY, CONFIDENCE, DECISION, TEXT = range(len(COLUMNS))
EXCERPT_ROLE = Qt.ItemDataRole.UserRole + 1
ALL, FLAGGED = "__all__", "__flagged__"
ANY = ""  # any review state, any speaker


@functools.cache
def tint(colour: str, strength: float = 0.3) -> QColor:
    """The category colour mixed with white, light enough for black text on top."""
    base = QColor(colour)
    mix = lambda c: round(255 - (255 - c) * strength)  # noqa: E731
    return QColor(mix(base.red()), mix(base.green()), mix(base.blue()))


class ExcerptModel(QAbstractTableModel):
    """The excerpts of a session in the order shown; sorting reorders the rows here."""

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.taxonomy = taxonomy
        self._rows: list[StoredExcerpt] = []
        self._decisions: dict[int, Decision] = {}
        self._multi_track = False
        self.sort_column = TIME
        self.sort_order = Qt.SortOrder.AscendingOrder
        self._bold = QFont()
        self._bold.setBold(True)

    # --- data in ----------------------------------------------------------------------------

    def set_excerpts(self, excerpts: list[StoredExcerpt], decisions: dict[int, Decision]) -> None:
        self.beginResetModel()
        self._decisions = dict(decisions)
        self._multi_track = len({e.track_id for e in excerpts}) > 1
        self._rows = self._sorted(excerpts)
        self.endResetModel()

    def append(self, excerpts: list[StoredExcerpt]) -> None:
        if not excerpts:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(excerpts) - 1)
        self._rows.extend(excerpts)
        self.endInsertRows()
        self._multi_track = len({e.track_id for e in self._rows}) > 1
        if [e.id for e in self._sorted(self._rows)] != [e.id for e in self._rows]:
            self.sort(self.sort_column, self.sort_order)

    def set_decisions(self, decisions: dict[int, Decision]) -> None:
        """Take the current decisions; only the rows whose decision changed are redrawn and
        filtered again (one decision on a 10,000-line log: one row)."""
        old, self._decisions = self._decisions, dict(decisions)
        changed = {i for i in old.keys() | self._decisions.keys() if old.get(i) != decisions.get(i)}
        if not changed or not self._rows:
            return
        if len(changed) > 100:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, TEXT))
            return
        for row, excerpt in enumerate(self._rows):
            if excerpt.id in changed:
                self.dataChanged.emit(self.index(row, 0), self.index(row, TEXT))

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.beginResetModel()
        self.taxonomy = taxonomy
        self.endResetModel()

    # --- order ------------------------------------------------------------------------------

    def time_key(self, excerpt: StoredExcerpt) -> tuple:
        """Recording order: by start time across tracks (speakers interleaved), else as read."""
        if self._multi_track:
            at = excerpt.time
            known = at is not None and math.isfinite(at)
            return (
                0 if known else 1,
                at if known else 0.0,
                excerpt.track_id or 0,
                excerpt.position,
            )
        return (excerpt.track_id or 0, excerpt.position)

    def _column_key(self, column: int) -> Callable[[StoredExcerpt], object] | None:
        decision = self._decisions.get
        if column == SPEAKER:
            return lambda e: (e.speaker or "").casefold()
        if column == CATEGORY:
            return lambda e: label_name(effective_label(e, decision(e.id))).casefold()
        if column == CONFIDENCE:
            # a list's verdicts above every model probability: they were decided, not scored
            return lambda e: (list_decided(e, decision(e.id)), shown_probability(e, decision(e.id)))
        if column == DECISION:
            return lambda e: describe_state(e, decision(e.id)).casefold()
        if column == TEXT:
            return lambda e: e.text.casefold()
        return None  # TIME: the time order itself

    def _sorted(self, rows: list[StoredExcerpt]) -> list[StoredExcerpt]:
        descending = self.sort_order == Qt.SortOrder.DescendingOrder
        key = self._column_key(self.sort_column)
        ordered = sorted(rows, key=self.time_key, reverse=descending and key is None)
        if key is not None:
            ordered.sort(key=key, reverse=descending)  # stable: ties stay in time order
        return ordered

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column = column if 0 <= column < len(COLUMNS) else TIME
        self.sort_order = order
        self.layoutAboutToBeChanged.emit()
        old_rows = self._rows
        self._rows = self._sorted(old_rows)
        where = {excerpt.id: row for row, excerpt in enumerate(self._rows)}
        persistent = self.persistentIndexList()
        self.changePersistentIndexList(
            persistent,
            [
                self.index(where[old_rows[i.row()].id], i.column()) if i.isValid() else i
                for i in persistent
            ],
        )
        self.layoutChanged.emit()

    # --- data out ---------------------------------------------------------------------------

    def excerpt_at(self, row: int) -> StoredExcerpt:
        return self._rows[row]

    def decision_for(self, excerpt_id: int) -> Decision | None:
        return self._decisions.get(excerpt_id)

    def excerpts(self) -> list[StoredExcerpt]:
        return list(self._rows)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == CONFIDENCE:
                return (
                    'The model\'s probability of the category shown, or "word list" where the '
                    "studio's word list decided it"
                )
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        excerpt = self._rows[index.row()]
        if role == EXCERPT_ROLE:
            return excerpt
        decision = self._decisions.get(excerpt.id)
        label = effective_label(excerpt, decision)
        flagged = is_flagged(excerpt, decision)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == TIME:
                return format_time(excerpt.time)
            if column == SPEAKER:
                return excerpt.speaker or ""
            if column == CATEGORY:
                return label_name(label)
            if column == CONFIDENCE:
                return shown_confidence(excerpt, decision)
            if column == DECISION:
                return describe_state(excerpt, decision)
            return excerpt.text
        if role == Qt.ItemDataRole.BackgroundRole and flagged:
            return tint(self._colour(label), 0.45 if column == CATEGORY else 0.22)
        if role == Qt.ItemDataRole.ForegroundRole and flagged:
            return QColor("#000000")
        if role == Qt.ItemDataRole.FontRole and flagged and column == CATEGORY:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_html(self._tooltip(excerpt, decision))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (TIME, CONFIDENCE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _tooltip(self, excerpt: StoredExcerpt, decision: Decision | None) -> str:
        scores = ", ".join(
            f"{label_name(k)} {format_percent(v)}"
            for k, v in sorted(excerpt.scores.items(), key=lambda kv: -kv[1])
        )
        who = f"{excerpt.speaker}: " if excerpt.speaker else ""
        note = f"\nNote: {decision.note}" if decision is not None and decision.note else ""
        method = describe_method(excerpt)
        how = f"\n{method}" if method else ""
        return f"{who}{excerpt.text}\n\n{scores}{how}{note}"

    def _colour(self, label: str) -> str:
        try:
            return self.taxonomy.colour(label)
        except KeyError:
            return "#607d8b"


class ExcerptFilter(QSortFilterProxyModel):
    """Rows of one category (or all flagged, or everything) at or above a minimum confidence,
    in one review state, by one speaker, containing a search in the text or the player's name.

    Sorting is the source model's: the proxy keeps its order and only filters.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.category = ALL
        self.min_confidence = 0.0
        self.state = ANY
        self.speaker = ANY
        self.search = ""
        self._accept_all = True

    def set_filter(
        self,
        category: str,
        min_confidence: float,
        state: str = ANY,
        speaker: str = ANY,
        search: str = "",
    ) -> None:
        def apply() -> None:
            self.category = category
            self.min_confidence = min_confidence
            self.state = state
            self.speaker = speaker
            self.search = search.strip().casefold()
            self._accept_all = (
                category == ALL and min_confidence <= 0 and not (state or speaker or self.search)
            )

        self.refilter(apply)

    def refilter(self, change: Callable[[], None]) -> None:
        """Make a change the filter depends on, then filter the rows again."""
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter is deprecated there
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:
        if self._accept_all:
            return True
        model: ExcerptModel = self.sourceModel()
        excerpt = model.excerpt_at(row)
        if self.speaker and (excerpt.speaker or "") != self.speaker:
            return False
        if self.search and not (
            self.search in excerpt.text.casefold()
            or self.search in (excerpt.speaker or "").casefold()
        ):
            return False
        decision = model.decision_for(excerpt.id)
        if self.state and review_state(excerpt, decision) != self.state:
            return False
        if self.category != ALL:
            if not is_flagged(excerpt, decision):
                return False
            if self.category != FLAGGED and effective_label(excerpt, decision) != self.category:
                return False
        return (
            self.min_confidence <= 0
            or list_decided(excerpt, decision)
            or shown_probability(excerpt, decision) >= self.min_confidence - 1e-9
        )


class ExcerptTable(QWidget):
    """The filter bar and table; emits the excerpt under the cursor and the one activated.

    current_changed is emitted whenever the excerpt under the cursor changes, whatever moved
    it: a click, a key, a filter that hid the row, a sort or a reload.
    """

    current_changed = Signal(object)  # StoredExcerpt | None
    activated = Signal(object)  # StoredExcerpt: Enter, Space or double-click (play it)
    cue = Signal(str)  # "end of flagged" and the like, for the status bar

    SEARCH_DELAY_MS = 150

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ExcerptModel(taxonomy, self)
        self.proxy = ExcerptFilter(self)
        self.proxy.setSourceModel(self.model)
        self._current_id: int | None = None
        self._counts: dict[str, int] = {}
        self._progress = (0, 0)

        self.category = self._combo("Show category")
        self.state = self._combo("Review state")
        self.state.addItem("Any review state", ANY)
        for state in ReviewState:
            self.state.addItem(STATE_NAMES[state].capitalize(), state.value)
        self.speaker = self._combo("Speaker")
        self.speaker.addItem("All speakers", ANY)
        self.min_confidence = QDoubleSpinBox()
        self.min_confidence.setRange(0, 100)
        self.min_confidence.setDecimals(0)
        self.min_confidence.setSuffix(" %")
        self.min_confidence.setSingleStep(5)
        self.min_confidence.setAccessibleName("Minimum confidence")
        self.min_confidence.setToolTip("Hide rows whose category the model gives less than this")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search text or player")
        self.search.setAccessibleName("Search text or player")
        self.search.setClearButtonEnabled(True)
        self.counts = _plain_label()
        self.counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # one line beside the search, cut where the table is narrow (the tooltip has it all)
        self.counts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = _plain_label()
        self.progress.setAccessibleName("Review progress")
        self.end_cue = _plain_label()
        self.end_cue.setAccessibleName("Review cue")
        self.end_cue.setWordWrap(True)
        self.end_cue.setStyleSheet("font-weight: bold")
        self.end_cue.hide()
        self._fill_categories(taxonomy)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(self.SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_filter)
        for combo in (self.category, self.state, self.speaker):
            combo.currentIndexChanged.connect(self._apply_filter)
        self.min_confidence.valueChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._search_timer.start)
        self.search.returnPressed.connect(self._apply_filter)

        # two rows: the filters, then the search with the counts; small screens need the height
        minimum = QLabel("Min.")
        minimum.setBuddy(self.min_confidence)
        filters = QHBoxLayout()
        for widget in (self.category, self.state, self.speaker):
            filters.addWidget(widget, 1)
        filters.addWidget(minimum)
        filters.addWidget(self.min_confidence)
        summary = QHBoxLayout()
        summary.addWidget(self.search, 2)
        summary.addWidget(self.counts, 3)
        summary.addWidget(self.progress)

        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.setAlternatingRowColors(False)
        header = self.view.horizontalHeader()
        # size columns from the first rows only: measuring every row of a long log takes seconds
        header.setResizeContentsPrecision(50)
        for column in (TIME, SPEAKER, CATEGORY, CONFIDENCE, DECISION):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TEXT, QHeaderView.ResizeMode.Stretch)
        header.setSortIndicator(TIME, Qt.SortOrder.AscendingOrder)
        header.setSortIndicatorShown(True)
        self.view.setSortingEnabled(True)
        self.view.selectionModel().currentRowChanged.connect(self._sync_current)
        for signal in (
            self.proxy.modelReset,
            self.proxy.layoutChanged,
            self.proxy.rowsRemoved,
            self.proxy.rowsInserted,
        ):
            signal.connect(self._sync_current)
        self.view.doubleClicked.connect(self._on_activated)
        self.view.activated.connect(self._on_activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(filters)
        layout.addLayout(summary)
        layout.addWidget(self.end_cue)
        layout.addWidget(self.view, 1)

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            (("N", "J"), self.next_flagged),
            (("P", "K"), self.previous_flagged),
            (("Space",), self._activate_current),
        ):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self.view)
                shortcut.setContext(context)
                shortcut.activated.connect(slot)
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.setContext(context)
        find.activated.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        self._update_counts()

    # --- content ----------------------------------------------------------------------------

    def set_excerpts(self, excerpts: list[StoredExcerpt], decisions: dict[int, Decision]) -> None:
        self.model.set_excerpts(excerpts, decisions)
        self._fill_speakers()
        self.show_cue("")
        self._recount()

    def append(self, excerpts: list[StoredExcerpt]) -> None:
        self.model.append(excerpts)
        self._fill_speakers()
        self._recount()

    def set_decisions(self, decisions: dict[int, Decision]) -> None:
        self.model.set_decisions(decisions)  # the proxy filters the changed rows again
        self._recount()
        self._sync_current()

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.model.set_taxonomy(taxonomy)
        self._fill_categories(taxonomy)

    def flagged_counts(self) -> dict[str, int]:
        """Flagged excerpts per category (the moderator's label where decided)."""
        return dict(self._counts)

    def review_progress(self) -> tuple[int, int]:
        """(reviewed, to review): excerpts the model flagged or the moderator decided on."""
        return self._progress

    def _recount(self) -> None:
        """Count once per change of excerpts or decisions; long logs have 10,000 rows."""
        counts: dict[str, int] = {}
        reviewed = total = 0
        for excerpt in self.model.excerpts():
            decision = self.model.decision_for(excerpt.id)
            if is_flagged(excerpt, decision):
                label = effective_label(excerpt, decision)
                counts[label] = counts.get(label, 0) + 1
            if decision is not None or model_flagged(excerpt):
                total += 1
                reviewed += decision is not None
        self._counts = counts
        self._progress = (reviewed, total)
        self._update_counts()

    def current_excerpt(self) -> StoredExcerpt | None:
        index = self.view.currentIndex()
        return index.data(EXCERPT_ROLE) if index.isValid() else None

    def shown_excerpts(self) -> list[StoredExcerpt]:
        """The rows the filters let through, in the order shown."""
        return [self.proxy.index(r, TEXT).data(EXCERPT_ROLE) for r in range(self.proxy.rowCount())]

    def row_of(self, excerpt_id: int) -> int | None:
        """The shown row of an excerpt, or None when the filters hide it."""
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, TEXT).data(EXCERPT_ROLE).id == excerpt_id:
                return row
        return None

    def select_excerpt(self, excerpt_id: int) -> bool:
        row = self.row_of(excerpt_id)
        if row is None:
            return False
        self.select_row(row)
        return True

    def set_filter(
        self,
        category: str,
        min_confidence: float = 0.0,
        state: str | None = None,
        speaker: str | None = None,
        search: str | None = None,
    ) -> None:
        """Show one category (a label), FLAGGED or ALL, at or above min_confidence (0..1);
        state (a ReviewState value), speaker and search are left as they are when None."""
        widgets = [self.category, self.state, self.speaker, self.min_confidence, self.search]
        for widget in widgets:
            widget.blockSignals(True)
        try:
            for combo, value in ((self.category, category), (self.state, state)):
                position = combo.findData(value) if value is not None else -1
                if position >= 0:
                    combo.setCurrentIndex(position)
            if speaker is not None:
                position = self.speaker.findData(speaker)
                if position < 0:
                    self.speaker.addItem(speaker, speaker)
                    position = self.speaker.count() - 1
                self.speaker.setCurrentIndex(position)
            self.min_confidence.setValue(round(min_confidence * 100))
            if search is not None:
                self.search.setText(search)
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self._apply_filter()

    def sort_by(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort as a click on the column's header does (QTableView.sortByColumn sorts twice)."""
        header = self.view.horizontalHeader()
        if (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (column, order):
            self.proxy.sort(column, order)
        else:
            header.setSortIndicator(column, order)  # the view sorts on the indicator's change

    # --- navigation -------------------------------------------------------------------------

    def next_flagged(self) -> StoredExcerpt | None:
        return self._step(+1)

    def previous_flagged(self) -> StoredExcerpt | None:
        return self._step(-1)

    def _step(self, direction: int) -> StoredExcerpt | None:
        rows = self.proxy.rowCount()
        current = self.view.currentIndex().row() if self.view.currentIndex().isValid() else None
        start = (-1 if direction > 0 else rows) if current is None else current
        row = start + direction
        while 0 <= row < rows:
            excerpt = self.proxy.index(row, TEXT).data(EXCERPT_ROLE)
            if is_flagged(excerpt, self.model.decision_for(excerpt.id)):
                self.select_row(row)
                return excerpt
            row += direction
        self.show_cue(self._end_text(direction))
        return None

    def _end_text(self, direction: int) -> str:
        reviewed, total = self.review_progress()
        left = total - reviewed
        where = "End" if direction > 0 else "Start"
        further = "below" if direction > 0 else "above"
        if left:
            return f"{where} of flagged excerpts: none {further}; {left} still unreviewed."
        return f"{where} of flagged excerpts: none {further}; all {total} reviewed."

    def show_cue(self, text: str) -> None:
        """Say something about where the review stands above the table ("" hides it)."""
        self.end_cue.setText(text)
        self.end_cue.setVisible(bool(text))
        if text:
            self.cue.emit(text)

    def select_row(self, row: int) -> None:
        index = self.proxy.index(row, TEXT)
        self.view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.scrollTo(index)

    # --- internals --------------------------------------------------------------------------

    def _combo(self, name: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.setToolTip(name)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
        return combo

    def _fill_categories(self, taxonomy: Taxonomy) -> None:
        current = self.category.currentData()
        self.category.blockSignals(True)
        self.category.clear()
        self.category.addItem("All excerpts", ALL)
        self.category.addItem("All flagged", FLAGGED)
        for label in taxonomy.toxic:
            self.category.addItem(label_name(label), label)
        position = self.category.findData(current) if current else -1
        self.category.setCurrentIndex(max(0, position))
        self.category.blockSignals(False)

    def _fill_speakers(self) -> None:
        speakers = sorted({e.speaker for e in self.model.excerpts() if e.speaker}, key=str.casefold)
        current = self.speaker.currentData()
        known = [self.speaker.itemData(i) for i in range(1, self.speaker.count())]
        if known == speakers:
            return
        self.speaker.blockSignals(True)
        self.speaker.clear()
        self.speaker.addItem("All speakers", ANY)
        for speaker in speakers:
            self.speaker.addItem(speaker, speaker)
        position = self.speaker.findData(current) if current else -1
        self.speaker.setCurrentIndex(max(0, position))
        self.speaker.blockSignals(False)
        if current and position < 0:
            self._apply_filter()  # the speaker filtered on is not in this session

    def _apply_filter(self) -> None:
        self._search_timer.stop()
        self.proxy.set_filter(
            self.category.currentData(),
            self.min_confidence.value() / 100,
            self.state.currentData() or ANY,
            self.speaker.currentData() or ANY,
            self.search.text(),
        )
        self._update_counts()
        self._sync_current()

    def _update_counts(self) -> None:
        counts = self._counts
        total = sum(counts.values())
        parts = [f"{label_name(k)} {v}" for k, v in sorted(counts.items())]
        shown = self.proxy.rowCount()
        summary = f"{total} flagged" + (f": {', '.join(parts)}" if parts else "")
        self.counts.setText(f"{summary}  ·  {shown} of {self.model.rowCount()} shown")
        self.counts.setToolTip(self.counts.text())
        reviewed, to_review = self.review_progress()
        self.progress.setText(f"Reviewed {reviewed} of {to_review}")

    def _sync_current(self, *_args) -> None:
        excerpt = self.current_excerpt()
        excerpt_id = excerpt.id if excerpt is not None else None
        if excerpt_id == self._current_id:
            return
        self._current_id = excerpt_id
        self.show_cue("")  # a cue is about where the review was
        self.current_changed.emit(excerpt)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.activated.emit(index.data(EXCERPT_ROLE))

    def _activate_current(self) -> None:
        self._on_activated(self.view.currentIndex())


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label
