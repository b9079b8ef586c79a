"""A table of classified excerpts: time, speaker, category, confidence, decision and text.

Flagged rows are tinted in their category's colour and the category is always named in the
Category column, so nothing depends on colour alone. A filter bar narrows the rows to one
category and a minimum confidence; N / P (or J / K) move to the next or previous flagged row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
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
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.store import Decision, StoredExcerpt
from models.taxonomy import NON_TOXIC, Taxonomy

COLUMNS = ("Time", "Speaker", "Category", "Confidence", "Decision", "Text")
TIME, SPEAKER, CATEGORY, CONFIDENCE, DECISION, TEXT = range(len(COLUMNS))
EXCERPT_ROLE = Qt.ItemDataRole.UserRole + 1
ACTION_NAMES = {"confirm": "confirmed", "dismiss": "false positive", "relabel": "relabelled"}
ALL, FLAGGED = "__all__", "__flagged__"


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, float(seconds))
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    tenths = int((seconds - int(seconds)) * 10)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}.{tenths}"


@functools.cache
def tint(colour: str, strength: float = 0.3) -> QColor:
    """The category colour mixed with white, light enough for black text on top."""
    base = QColor(colour)
    mix = lambda c: round(255 - (255 - c) * strength)  # noqa: E731
    return QColor(mix(base.red()), mix(base.green()), mix(base.blue()))


def effective_label(excerpt: StoredExcerpt, decision: Decision | None) -> str:
    """The label that counts: the moderator's decision when there is one, else the model's."""
    return decision.label if decision is not None else excerpt.label


def is_flagged(excerpt: StoredExcerpt, decision: Decision | None) -> bool:
    return effective_label(excerpt, decision) != NON_TOXIC


class ExcerptModel(QAbstractTableModel):
    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.taxonomy = taxonomy
        self._rows: list[StoredExcerpt] = []
        self._decisions: dict[int, Decision] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    # --- data in ----------------------------------------------------------------------------

    def set_excerpts(self, excerpts: list[StoredExcerpt], decisions: dict[int, Decision]) -> None:
        self.beginResetModel()
        self._rows = list(excerpts)
        self._decisions = dict(decisions)
        self.endResetModel()

    def append(self, excerpts: list[StoredExcerpt]) -> None:
        if not excerpts:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(excerpts) - 1)
        self._rows.extend(excerpts)
        self.endInsertRows()

    def set_decisions(self, decisions: dict[int, Decision]) -> None:
        self._decisions = dict(decisions)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, TEXT))

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.beginResetModel()
        self.taxonomy = taxonomy
        self.endResetModel()

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
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        excerpt = self._rows[index.row()]
        decision = self._decisions.get(excerpt.id)
        label = effective_label(excerpt, decision)
        flagged = is_flagged(excerpt, decision)
        column = index.column()
        if role == EXCERPT_ROLE:
            return excerpt
        if role == Qt.ItemDataRole.DisplayRole:
            if column == TIME:
                return format_time(excerpt.time)
            if column == SPEAKER:
                return excerpt.speaker or ""
            if column == CATEGORY:
                return self.taxonomy.display_name(label) if flagged else "ok"
            if column == CONFIDENCE:
                return f"{excerpt.score:.0%}"
            if column == DECISION:
                if decision is None:
                    return ""
                name = ACTION_NAMES.get(decision.action, decision.action)
                if decision.action == "relabel":
                    name += f" → {self.taxonomy.display_name(decision.label)}"
                return name
            return excerpt.text
        if role == Qt.ItemDataRole.BackgroundRole and flagged:
            return tint(self._colour(label), 0.45 if column == CATEGORY else 0.22)
        if role == Qt.ItemDataRole.ForegroundRole and flagged:
            return QColor("#000000")
        if role == Qt.ItemDataRole.FontRole and flagged and column == CATEGORY:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            scores = ", ".join(
                f"{self.taxonomy.display_name(k)} {v:.0%}"
                for k, v in sorted(excerpt.scores.items(), key=lambda kv: -kv[1])
            )
            note = f"\nNote: {decision.note}" if decision is not None and decision.note else ""
            return f"{excerpt.text}\n\n{scores}{note}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (TIME, CONFIDENCE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _colour(self, label: str) -> str:
        try:
            return self.taxonomy.colour(label)
        except KeyError:
            return "#607d8b"


class ExcerptFilter(QSortFilterProxyModel):
    """Rows of one category (or all flagged, or everything) at or above a minimum confidence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.category = ALL
        self.min_confidence = 0.0

    def set_filter(self, category: str, min_confidence: float) -> None:
        def apply() -> None:
            self.category = category
            self.min_confidence = min_confidence

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

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:
        model: ExcerptModel = self.sourceModel()
        excerpt = model.excerpt_at(row)
        decision = model.decision_for(excerpt.id)
        if self.category == ALL:
            return self.min_confidence <= 0 or excerpt.score >= self.min_confidence
        if not is_flagged(excerpt, decision):
            return False
        if self.category != FLAGGED and effective_label(excerpt, decision) != self.category:
            return False
        return excerpt.score >= self.min_confidence


class ExcerptTable(QWidget):
    """The filter bar and table; emits the excerpt under the cursor and the one activated."""

    current_changed = Signal(object)  # StoredExcerpt | None
    activated = Signal(object)  # StoredExcerpt: Enter, Space or double-click (play it)

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ExcerptModel(taxonomy, self)
        self.proxy = ExcerptFilter(self)
        self.proxy.setSourceModel(self.model)

        self.category = QComboBox()
        self.category.setAccessibleName("Show category")
        self.min_confidence = QDoubleSpinBox()
        self.min_confidence.setRange(0, 100)
        self.min_confidence.setDecimals(0)
        self.min_confidence.setSuffix(" %")
        self.min_confidence.setSingleStep(5)
        self.min_confidence.setAccessibleName("Minimum confidence")
        self.counts = QLabel()
        self.counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._fill_categories(taxonomy)
        self.category.currentIndexChanged.connect(self._apply_filter)
        self.min_confidence.valueChanged.connect(self._apply_filter)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.category)
        bar.addWidget(QLabel("Min. confidence:"))
        bar.addWidget(self.min_confidence)
        bar.addStretch(1)
        self.counts.setWordWrap(True)

        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(True)
        self.view.verticalHeader().setVisible(False)
        self.view.setAlternatingRowColors(False)
        header = self.view.horizontalHeader()
        # size columns from the first rows only: measuring every row of a long log takes seconds
        header.setResizeContentsPrecision(50)
        for column in (TIME, SPEAKER, CATEGORY, CONFIDENCE, DECISION):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TEXT, QHeaderView.ResizeMode.Stretch)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        self.view.doubleClicked.connect(self._on_activated)
        self.view.activated.connect(self._on_activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.counts)
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
        self._update_counts()

    # --- content ----------------------------------------------------------------------------

    def set_excerpts(self, excerpts: list[StoredExcerpt], decisions: dict[int, Decision]) -> None:
        self.model.set_excerpts(excerpts, decisions)
        self._update_counts()

    def append(self, excerpts: list[StoredExcerpt]) -> None:
        self.model.append(excerpts)
        self._update_counts()

    def set_decisions(self, decisions: dict[int, Decision]) -> None:
        self.proxy.refilter(lambda: self.model.set_decisions(decisions))
        self._update_counts()

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.model.set_taxonomy(taxonomy)
        self._fill_categories(taxonomy)

    def flagged_counts(self) -> dict[str, int]:
        """Flagged excerpts per category (the moderator's label where decided)."""
        counts: dict[str, int] = {}
        for excerpt in self.model.excerpts():
            decision = self.model.decision_for(excerpt.id)
            if is_flagged(excerpt, decision):
                label = effective_label(excerpt, decision)
                counts[label] = counts.get(label, 0) + 1
        return counts

    def current_excerpt(self) -> StoredExcerpt | None:
        index = self.view.currentIndex()
        return index.data(EXCERPT_ROLE) if index.isValid() else None

    def select_excerpt(self, excerpt_id: int) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, TEXT)
            if index.data(EXCERPT_ROLE).id == excerpt_id:
                self._select_row(row)
                return True
        return False

    def set_filter(self, category: str, min_confidence: float = 0.0) -> None:
        """Show one category (a label), FLAGGED or ALL, at or above min_confidence (0..1)."""
        position = self.category.findData(category)
        if position >= 0:
            self.category.setCurrentIndex(position)
        self.min_confidence.setValue(round(min_confidence * 100))
        self._apply_filter()

    # --- navigation -------------------------------------------------------------------------

    def next_flagged(self) -> StoredExcerpt | None:
        return self._step(+1)

    def previous_flagged(self) -> StoredExcerpt | None:
        return self._step(-1)

    def _step(self, direction: int) -> StoredExcerpt | None:
        rows = self.proxy.rowCount()
        if rows == 0:
            return None
        current = self.view.currentIndex().row() if self.view.currentIndex().isValid() else None
        start = (-1 if direction > 0 else rows) if current is None else current
        row = start + direction
        while 0 <= row < rows:
            excerpt = self.proxy.index(row, TEXT).data(EXCERPT_ROLE)
            if is_flagged(excerpt, self.model.decision_for(excerpt.id)):
                self._select_row(row)
                return excerpt
            row += direction
        return None

    def _select_row(self, row: int) -> None:
        index = self.proxy.index(row, TEXT)
        self.view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.scrollTo(index)

    # --- internals --------------------------------------------------------------------------

    def _fill_categories(self, taxonomy: Taxonomy) -> None:
        current = self.category.currentData()
        self.category.blockSignals(True)
        self.category.clear()
        self.category.addItem("All excerpts", ALL)
        self.category.addItem("All flagged", FLAGGED)
        for label in taxonomy.toxic:
            self.category.addItem(taxonomy.display_name(label), label)
        position = self.category.findData(current) if current else -1
        self.category.setCurrentIndex(max(0, position))
        self.category.blockSignals(False)

    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.category.currentData(), self.min_confidence.value() / 100)
        self._update_counts()

    def _update_counts(self) -> None:
        counts = self.flagged_counts()
        total = sum(counts.values())
        taxonomy = self.model.taxonomy
        parts = [f"{taxonomy.display_name(k)} {v}" for k, v in sorted(counts.items())]
        shown = self.proxy.rowCount()
        summary = f"{total} flagged" + (f": {', '.join(parts)}" if parts else "")
        self.counts.setText(f"{summary}  ·  {shown} of {self.model.rowCount()} shown")

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_changed.emit(current.data(EXCERPT_ROLE) if current.isValid() else None)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.activated.emit(index.data(EXCERPT_ROLE))

    def _activate_current(self) -> None:
        self._on_activated(self.view.currentIndex())
