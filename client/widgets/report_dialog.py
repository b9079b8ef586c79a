"""Export a session as a report (any format in client.reports.REPORT_FORMATS) with the model's
verdicts and the moderator's decisions side by side.

The report is written by client.reports on the thread pool; the dialog only gathers choices.
Exports start in the user's documents folder with a readable name (session title and date);
the last folder and format of each kind of export are remembered (ExportMemory).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.labels import format_time
from client.reports import (
    REPORT_FORMATS,
    ModeratorDecision,
    ReportEntry,
    ReportFormat,
    ReportMeta,
    SourceInfo,
    file_dialog_filters,
    format_for_path,
    format_named,
    model_meta,
    write_report,
)
from client.store import Decision, Store, StoredExcerpt, Track, UntranscribedSpeech
from client.workers import run_task

if TYPE_CHECKING:
    from models.classifier import Classifier

EXPORTS_NAME = "exports.ini"
REPORT_KIND = "report"
TRAINING_KIND = "training"


def documents_folder() -> Path:
    """The user's documents folder (QStandardPaths), or the home folder when there is none."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(location) if location else Path.home()
    return folder if folder.is_dir() else Path.home()


def export_file_name(title: str, when: datetime | None, suffix: str) -> str:
    """A readable file name: "Friday raid 2026-11-29.html"; unsafe characters become "_"."""
    safe = re.sub(r"[^\w\- .()]+", "_", title).strip(" ._")
    safe = re.sub(r"\s+", " ", safe)[:60].strip(" ._") or "modlens"
    date = f" {when:%Y-%m-%d}" if when is not None else ""
    return f"{safe}{date}{suffix}"


class ExportMemory:
    """The last folder and format of each kind of export ("report", "training"), kept with
    QSettings in exports.ini in the app's config folder ($MODLENS_CONFIG_DIR when set)."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            from client.settings import config_dir

            path = config_dir() / EXPORTS_NAME
        self._settings = QSettings(str(path), QSettings.Format.IniFormat)

    def folder(self, kind: str) -> Path:
        """The last folder used for this kind of export while it still exists, else the
        documents folder."""
        last = self._settings.value(f"{kind}/folder", "", str)
        if last and Path(last).is_dir():
            return Path(last)
        return documents_folder()

    def format(self, kind: str, default: str = "") -> str:
        return self._settings.value(f"{kind}/format", default, str) or default

    def remember(self, kind: str, path: str | Path, fmt: str | None = None) -> None:
        self._settings.setValue(f"{kind}/folder", str(Path(path).parent))
        if fmt:
            self._settings.setValue(f"{kind}/format", fmt)
        self._settings.sync()


TRAINING_FILTERS = {".csv": "CSV text,label (*.csv)", ".jsonl": "JSON Lines (*.jsonl)"}


def choose_training_export(parent: QWidget | None, memory: ExportMemory | None = None) -> str:
    """Ask where to export the decisions as training data: the last folder and format used
    (else the documents folder and CSV), named "modlens decisions <date>"; "" when cancelled."""
    memory = memory or ExportMemory()
    suffix = memory.format(TRAINING_KIND, ".csv")
    suffix = suffix if suffix in TRAINING_FILTERS else ".csv"
    name = export_file_name("modlens decisions", datetime.now(), suffix)
    path, chosen = QFileDialog.getSaveFileName(
        parent,
        "Export decisions as training data",
        str(memory.folder(TRAINING_KIND) / name),
        ";;".join(TRAINING_FILTERS.values()),
        TRAINING_FILTERS[suffix],
    )
    if path and not Path(path).suffix:
        path += next((s for s, f in TRAINING_FILTERS.items() if f == chosen), ".csv")
    return path


def remember_training_export(path: str | Path, memory: ExportMemory | None = None) -> None:
    """Keep the folder and format of a training export that was written."""
    suffix = Path(path).suffix.lower()
    (memory or ExportMemory()).remember(
        TRAINING_KIND, path, suffix if suffix in TRAINING_FILTERS else None
    )


def report_decision(decision: Decision | None) -> ModeratorDecision | None:
    if decision is None:
        return None
    return ModeratorDecision(
        action=decision.action,
        label=decision.label,
        moderator=decision.moderator,
        note=decision.note,
        decided_at=decision.created,
    )


def _track_source(
    track: Track,
    excerpts: list[StoredExcerpt],
    untranscribed: Sequence[UntranscribedSpeech] = (),
) -> SourceInfo:
    speakers = sorted({e.speaker for e in excerpts if e.track_id == track.id and e.speaker})
    gaps = [u for u in untranscribed if u.track_id == track.id]
    warnings = []
    if track.status == "failed":
        warnings.append(track.error or "the scan failed")
    elif track.status in ("queued", "scanning"):
        warnings.append(f"not scanned to the end yet ({track.progress:.0%} done)")
    elif track.error:
        warnings.append(track.error)
    warnings += [
        f"{u.speaker or Path(track.path).stem}: untranscribed speech from "
        f"{format_time(u.start)} to {format_time(u.end)}; listen to it"
        for u in gaps
    ]
    return SourceInfo(
        path=track.path,
        speaker=", ".join(speakers) or Path(track.path).stem,
        duration_s=track.duration,
        warnings=tuple(warnings),
        notes=(f"language heard: {track.language}",) if track.language else (),
        untranscribed=tuple((u.start, u.end) for u in gaps),
    )


def _time_key(excerpt: StoredExcerpt) -> tuple[bool, float, int, int]:
    known = excerpt.time is not None and math.isfinite(excerpt.time)
    return (not known, excerpt.time if known else 0.0, excerpt.track_id or 0, excerpt.position)


def session_report(
    store: Store,
    session_id: int,
    classifier: Classifier | None = None,
    whisper_model: str = "",
) -> tuple[list[ReportEntry], ReportMeta]:
    """Every excerpt of a stored session with its current decision, in time order, and the
    report's metadata (sources from the session's tracks; models as passed in)."""
    from models.classifier import Verdict
    from models.voice import Finding
    from models.wordlists import ListedVerdict

    session = store.session(session_id)
    tracks = store.tracks(session_id)
    paths = {t.id: t.path for t in tracks}
    decisions = store.current_decisions(session_id)
    excerpts = sorted(store.excerpts(session_id), key=_time_key)
    untranscribed = store.untranscribed(session_id)
    entries = [
        ReportEntry(
            Finding(
                excerpt=e.as_excerpt(),
                verdict=ListedVerdict(
                    e.label, e.toxic, e.score, dict(e.scores), 0, e.language, e.method, e.entry
                )
                if e.entry
                else Verdict(e.label, e.toxic, e.score, dict(e.scores), 0, e.language, e.method),
                source=paths.get(e.track_id, "") if e.track_id else "",
            ),
            report_decision(decisions.get(e.id)),
        )
        for e in excerpts
    ]
    created = datetime.fromtimestamp(session.created).astimezone() if session else None
    title = session.title if session else f"session {session_id}"
    if created is not None:
        title = f"{title} ({created:%Y-%m-%d %H:%M})"
    details: dict[str, Any] = {}
    notes = []
    if classifier is not None:
        details = model_meta(classifier)
        notes.append("Model and thresholds: those loaded when this report was written.")
    if session is not None and session.kind != "text" and whisper_model:
        details["whisper_model"] = whisper_model
    meta = ReportMeta(
        title=title,
        sources=tuple(_track_source(t, excerpts, untranscribed) for t in tracks),
        notes=tuple(notes),
        **details,
    )
    return entries, meta


def write_session_report(
    store: Store,
    session_id: int,
    path: str | Path,
    flagged_only: bool = False,
    classifier: Classifier | None = None,
    whisper_model: str = "",
) -> Path:
    """Write a stored session's report to path; the extension picks the format. The counts are
    the whole session's; flagged_only lists only what the model flagged or a moderator decided."""
    entries, meta = session_report(store, session_id, classifier, whisper_model)
    return write_report(path, entries, meta, flagged_only=flagged_only)


class ReportDialog(QDialog):
    exported = Signal(str)  # a message for the status bar

    def __init__(
        self,
        store: Store,
        session_id: int,
        parent: QWidget | None = None,
        classifier: Classifier | None = None,
        whisper_model: str = "",
        memory: ExportMemory | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.store = store
        self.session_id = session_id
        self.classifier = classifier
        self.whisper_model = whisper_model
        self.memory = memory or ExportMemory()
        session = store.session(session_id)
        title = session.title if session else f"session {session_id}"
        when = datetime.fromtimestamp(session.created) if session else None

        self.kind = QComboBox()
        for fmt in REPORT_FORMATS:
            self.kind.addItem(f"{fmt.title} ({fmt.suffix})", fmt.name)
        remembered = self.kind.findData(self.memory.format(REPORT_KIND, REPORT_FORMATS[0].name))
        self.kind.setCurrentIndex(max(0, remembered))
        folder = self.memory.folder(REPORT_KIND)
        self.path = QLineEdit(str(folder / export_file_name(title, when, self.format().suffix)))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.flagged_only = QCheckBox("Only excerpts flagged by the model or decided on")
        self.flagged_only.setToolTip("The counts in the report are always the whole session's.")
        self.flagged_only.setChecked(True)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.path.textChanged.connect(self._on_path)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)

        form = QFormLayout()
        form.addRow("Report type:", self.kind)
        form.addRow("Save to:", row)
        form.addRow("", self.flagged_only)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        self.session_label = QLabel(f"Session: {title}")
        self.session_label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.session_label)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def format(self) -> ReportFormat:
        return format_named(self.kind.currentData())

    def _on_kind(self) -> None:
        path = Path(self.path.text() or "report")
        self.path.setText(str(path.with_suffix(self.format().suffix)))

    def _on_path(self, text: str) -> None:
        suffix = Path(text).suffix.lower()
        for position, fmt in enumerate(REPORT_FORMATS):
            if suffix in fmt.extensions and position != self.kind.currentIndex():
                self.kind.blockSignals(True)
                self.kind.setCurrentIndex(position)
                self.kind.blockSignals(False)

    def _browse(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Save report", self.path.text(), file_dialog_filters(), self.format().file_filter
        )
        if not path:
            return
        if not Path(path).suffix:
            fmt = next((f for f in REPORT_FORMATS if f.file_filter == chosen), self.format())
            path += fmt.suffix
        self.path.setText(path)

    def export(self) -> None:
        path = Path(self.path.text().strip()).expanduser()
        if not path.name:
            self.message.setText("Choose where to save the report.")
            return
        if not path.suffix:
            path = path.with_suffix(self.format().suffix)
        self.buttons.setEnabled(False)
        self.message.setText("Writing…")
        flagged_only = self.flagged_only.isChecked()

        def done(written: Path) -> None:
            self.buttons.setEnabled(True)
            self.memory.remember(REPORT_KIND, written, format_for_path(written).name)
            self.exported.emit(f"Report saved to {written}.")
            self.accept()

        def failed(message: str) -> None:
            self.buttons.setEnabled(True)
            self.message.setText(f"The report was not saved: {message}")

        store, session_id = self.store, self.session_id
        classifier, whisper = self.classifier, self.whisper_model
        run_task(
            lambda: write_session_report(
                store, session_id, path, flagged_only, classifier, whisper
            ),
            done,
            failed,
            self,
        )
