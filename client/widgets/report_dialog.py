"""Export a session as a report (HTML, CSV, JSON, SRT or WebVTT) with the moderator's decisions.

The report is written by client.reports on the thread pool; the dialog only gathers choices.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
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

from client.store import Decision, Store, StoredExcerpt
from client.workers import run_task

REPORT_TYPES = (
    ("HTML page", ".html"),
    ("CSV table", ".csv"),
    ("JSON", ".json"),
    ("SRT subtitles", ".srt"),
    ("WebVTT subtitles", ".vtt"),
)


def describe_decision(decision: Decision | None) -> str | None:
    """One line for a report: what the moderator decided, who, and the note."""
    if decision is None:
        return None
    action = {"confirm": "confirmed", "dismiss": "false positive", "relabel": "relabelled"}
    text = action.get(decision.action, decision.action)
    if decision.action != "dismiss":
        text += f" as {decision.label}"
    if decision.moderator:
        text += f" by {decision.moderator}"
    if decision.note:
        text += f": {decision.note}"
    return text


def write_session_report(
    store: Store, session_id: int, path: str | Path, flagged_only: bool = False
) -> Path:
    """Write a stored session's excerpts and decisions to path; the extension picks the format."""
    from client.reports import write_report
    from models.classifier import Verdict
    from models.voice import Finding

    session = store.session(session_id)
    tracks = {t.id: t.path for t in store.tracks(session_id)}
    decisions = store.current_decisions(session_id)
    excerpts: list[StoredExcerpt] = sorted(
        store.excerpts(session_id), key=lambda e: (e.time is None, e.time or 0.0, e.position)
    )
    findings = [
        Finding(
            excerpt=e.as_excerpt(),
            verdict=Verdict(e.label, e.toxic, e.score, dict(e.scores)),
            source=tracks.get(e.track_id, "") if e.track_id else "",
        )
        for e in excerpts
    ]
    notes = [describe_decision(decisions.get(e.id)) for e in excerpts]
    title = session.title if session else f"session {session_id}"
    return write_report(path, findings, notes, title=title, flagged_only=flagged_only)


class ReportDialog(QDialog):
    exported = Signal(str)  # a message for the status bar

    def __init__(self, store: Store, session_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.store = store
        self.session_id = session_id
        session = store.session(session_id)
        stem = _safe_name(session.title if session else f"session-{session_id}")

        self.kind = QComboBox()
        for label, suffix in REPORT_TYPES:
            self.kind.addItem(f"{label} ({suffix})", suffix)
        self.path = QLineEdit(str(Path.home() / f"{stem}.html"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.flagged_only = QCheckBox("Flagged excerpts only")
        self.flagged_only.setChecked(True)
        self.message = QLabel()
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
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Session: <b>{_escape(session.title if session else '')}</b>"))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _on_kind(self) -> None:
        path = Path(self.path.text() or "report")
        self.path.setText(str(path.with_suffix(self.kind.currentData())))

    def _on_path(self, text: str) -> None:
        position = self.kind.findData(Path(text).suffix.lower())
        if position >= 0 and position != self.kind.currentIndex():
            self.kind.blockSignals(True)
            self.kind.setCurrentIndex(position)
            self.kind.blockSignals(False)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save report", self.path.text())
        if path:
            self.path.setText(path)

    def export(self) -> None:
        path = Path(self.path.text().strip()).expanduser()
        if not path.name:
            self.message.setText("Choose where to save the report.")
            return
        if not path.suffix:
            path = path.with_suffix(self.kind.currentData())
        self.buttons.setEnabled(False)
        self.message.setText("Writing…")
        flagged_only = self.flagged_only.isChecked()

        def done(written: Path) -> None:
            self.buttons.setEnabled(True)
            self.exported.emit(f"Report saved to {written}.")
            self.accept()

        def failed(message: str) -> None:
            self.buttons.setEnabled(True)
            self.message.setText(f"The report was not saved: {message}")

        run_task(
            lambda: write_session_report(self.store, self.session_id, path, flagged_only),
            done,
            failed,
            self,
        )


def _safe_name(title: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_. " else "_" for c in title).strip()
    return keep.replace(" ", "_")[:60] or "report"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
