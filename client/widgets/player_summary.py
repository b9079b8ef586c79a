"""Who said what: per player, the flagged excerpts per category and the worst ones (highest
confidence first); clicking one of them goes to that excerpt.

A player is an excerpt's speaker: a track of a voice session, or the name column of a chat log,
so the Sessions and Text screens use the same widget:

    summary = PlayerSummary(taxonomy)
    summary.set_excerpts(excerpts, store.current_decisions(session_id))
    summary.excerpt_chosen.connect(review.table.select_excerpt)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from client.labels import (
    effective_label,
    format_time,
    is_flagged,
    label_name,
    label_probability,
    list_decided,
    plain_html,
)
from client.store import Decision, StoredExcerpt
from client.widgets.excerpt_table import tint
from models.taxonomy import Taxonomy

NO_PLAYER = "(no name)"
WORST_SHOWN = 3
EXCERPT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
FIXED_COLUMNS = ("Player", "Flagged", "Lines")  # then one column per category


@dataclass(frozen=True)
class FlaggedLine:
    """One flagged excerpt of a player: the label that counts and the model's confidence in it."""

    excerpt: StoredExcerpt
    label: str
    confidence: float
    listed: bool = False  # a studio word list decided the label: confidence is no probability


@dataclass(frozen=True)
class PlayerStats:
    player: str
    lines: int
    flagged: int
    categories: dict[str, int]  # label -> flagged excerpts with that label
    worst: tuple[FlaggedLine, ...]  # highest confidence first


def summarize_players(
    excerpts: Iterable[StoredExcerpt],
    decisions: Mapping[int, Decision],
    worst: int = WORST_SHOWN,
) -> list[PlayerStats]:
    """Per player, most flagged first (then by name): counts per category and the worst lines.

    The moderator's decision counts where there is one: a dismissed line is not flagged, a
    relabelled one counts under its new category.
    """
    lines: dict[str, int] = {}
    flagged: dict[str, list[FlaggedLine]] = {}
    for excerpt in excerpts:
        player = excerpt.speaker or NO_PLAYER
        lines[player] = lines.get(player, 0) + 1
        flagged.setdefault(player, [])
        decision = decisions.get(excerpt.id)
        if is_flagged(excerpt, decision):
            label = effective_label(excerpt, decision)
            flagged[player].append(
                FlaggedLine(
                    excerpt,
                    label,
                    label_probability(excerpt, label),
                    list_decided(excerpt, decision),
                )
            )
    out = []
    for player, hits in flagged.items():
        categories: dict[str, int] = {}
        for hit in hits:
            categories[hit.label] = categories.get(hit.label, 0) + 1
        ranked = sorted(
            hits, key=lambda h: (not h.listed, -h.confidence, h.excerpt.time or 0.0, h.excerpt.id)
        )
        out.append(PlayerStats(player, lines[player], len(hits), categories, tuple(ranked[:worst])))
    out.sort(key=lambda s: (-s.flagged, s.player.casefold()))
    return out


class PlayerSummary(QWidget):
    """A tree: one row per player with flags per category; under it the worst excerpts."""

    excerpt_chosen = Signal(int)  # excerpt id: clicked or Enter on one of the worst excerpts

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.taxonomy = taxonomy
        self._stats: list[PlayerStats] = []
        self._excerpts: list[StoredExcerpt] = []
        self._decisions: dict[int, Decision] = {}
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Flags per player")
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.itemClicked.connect(self._on_item)
        self.tree.itemActivated.connect(self._on_item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.tree, 1)
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        # rebuilt in a later turn of the event loop, once for a burst of changes: a 10,000-line
        # log takes tens of ms, which must not add to the stall of the check that showed it
        self._dirty = False
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(0)
        self._later.timeout.connect(self.flush)
        self._rebuild()

    @property
    def stats(self) -> list[PlayerStats]:
        """Per player, most flagged first (up to date, even before the tree is rebuilt)."""
        self.flush()
        return self._stats

    def set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._schedule()

    def set_excerpts(
        self, excerpts: Iterable[StoredExcerpt], decisions: Mapping[int, Decision]
    ) -> None:
        self._excerpts = list(excerpts)
        self._decisions = dict(decisions)
        self._schedule()

    def flush(self) -> None:
        """Rebuild now if something changed since the last rebuild."""
        if self._dirty:
            self._dirty = False
            self._later.stop()
            self._rebuild()

    def player_item(self, player: str) -> QTreeWidgetItem | None:
        self.flush()
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            if item.text(0) == player:
                return item
        return None

    # --- internals --------------------------------------------------------------------------

    def _schedule(self) -> None:
        self._dirty = True
        self._later.start()

    def _rebuild(self) -> None:
        self._stats = summarize_players(self._excerpts, self._decisions)
        categories = list(self.taxonomy.toxic)
        for stats in self._stats:  # labels a moderator used that the model does not know
            categories += [c for c in stats.categories if c not in categories]
        self.tree.clear()
        first = len(FIXED_COLUMNS)
        self.tree.setColumnCount(first + len(categories))
        self.tree.setHeaderLabels([*FIXED_COLUMNS, *(label_name(c) for c in categories)])
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, first + len(categories)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for stats in self._stats:
            item = QTreeWidgetItem([stats.player, str(stats.flagged), str(stats.lines)])
            item.setToolTip(0, plain_html(f"{stats.player}: {stats.lines} lines"))
            item.setFont(1, self._bold)
            for column in (1, 2):
                item.setTextAlignment(
                    column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
            for column, label in enumerate(categories, start=first):
                count = stats.categories.get(label, 0)
                item.setText(column, str(count) if count else "·")
                item.setTextAlignment(
                    column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
                if count:
                    item.setBackground(column, tint(self._colour(label), 0.45))
                    item.setForeground(column, QColor("#000000"))
            self.tree.addTopLevelItem(item)
            for hit in stats.worst:
                child = QTreeWidgetItem(item, [self._line_text(hit)])
                child.setData(0, EXCERPT_ID_ROLE, hit.excerpt.id)
                child.setToolTip(0, plain_html(hit.excerpt.text))
                child.setBackground(0, tint(self._colour(hit.label), 0.22))
                child.setForeground(0, QColor("#000000"))
                child.setFirstColumnSpanned(True)
            item.setExpanded(True)
        total = sum(s.flagged for s in self._stats)
        if not self._stats:
            self.heading.setText("No excerpts yet.")
        else:
            self.heading.setText(
                f"{len(self._stats)} player(s) · {total} flagged · worst lines first; "
                "click one to go to it"
            )

    def _line_text(self, hit: FlaggedLine) -> str:
        when = format_time(hit.excerpt.time)
        name = label_name(hit.label)
        text = " ".join(hit.excerpt.text.split())
        if len(text) > 90:
            text = text[:89] + "…"
        how = "word list" if hit.listed else f"{hit.confidence:.0%}"
        return f"{when + '  ' if when else ''}{name} {how}: {text}"

    def _colour(self, label: str) -> str:
        try:
            return self.taxonomy.colour(label)
        except KeyError:
            return "#607d8b"

    def _on_item(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        excerpt_id = item.data(0, EXCERPT_ID_ROLE)
        if excerpt_id is not None:
            self.excerpt_chosen.emit(int(excerpt_id))
