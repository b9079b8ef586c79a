"""Reports of a session: the model's verdict and the moderator's decision side by side, as JSON,
CSV, SRT, WebVTT or a self-contained HTML page.

One registry (REPORT_FORMATS) maps each format to its file extensions, its writer and its
file-dialog filter; the `scan` command, the app's report dialog and anything else look formats
up there. A report is built from every excerpt of the session (ReportEntry: a Finding and the
moderator's decision, if any), so its counts are the session's even when only the flagged or
decided excerpts are listed. ReportMeta says what was scanned (sources with their decoded and
declared durations and any warnings), with which models and thresholds.

Everything from input (text, names, notes, file names) is escaped for the format it goes into:
HTML-escaped, neutralised against spreadsheet formulas in CSV, kept on one line in subtitles.
A time that is not a finite number is written as null (JSON) or "unknown time". Files are
written to a temporary file and renamed, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client.labels import method_text
from models.errors import ModlensError
from models.taxonomy import NON_TOXIC, Taxonomy

if TYPE_CHECKING:
    from models.classifier import Classifier
    from models.live import LiveResult
    from models.transcriber import Transcriber
    from models.voice import Finding, ScanResult

REPORT_FORMAT_VERSION = "modlens-report/2"
UNKNOWN_TIME = "unknown time"
# a source is incomplete when this much of its declared duration was not decoded (the rule of
# models.voice.TrackResult.missing)
SHORTFALL_S = 0.5
SHORTFALL_FRACTION = 0.02


class ReportError(ModlensError, ValueError):
    """A report that cannot be written; the message is meant for the user."""


# --- what a report holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModeratorDecision:
    """What a moderator decided on one excerpt, as a report shows it."""

    action: str  # confirm | dismiss | relabel | missed (client.store.ACTIONS)
    label: str  # the label the moderator settled on; non_toxic for a dismissed false positive
    moderator: str = ""
    note: str = ""
    decided_at: float | None = None  # Unix time

    @property
    def flagged(self) -> bool:
        return self.label != NON_TOXIC

    def when(self) -> str:
        """The time of the decision in UTC, or "" when unknown."""
        moment = _moment(self.decided_at)
        return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


@dataclass(frozen=True)
class ReportEntry:
    """One excerpt of the session: the model's finding and the moderator's decision, if any."""

    finding: Finding
    decision: ModeratorDecision | None = None

    @property
    def model_flagged(self) -> bool:
        return bool(self.finding.toxic)

    @property
    def final_label(self) -> str:
        if self.decision is not None:
            return self.decision.label
        return self.finding.verdict.label if self.model_flagged else NON_TOXIC

    @property
    def final_flagged(self) -> bool:
        return self.decision.flagged if self.decision is not None else self.model_flagged

    @property
    def status(self) -> str:
        """The review state, as the window names it (client.labels.ReviewState): unreviewed,
        confirmed, dismissed (a false positive), relabeled, or missed (flagged by the moderator
        where the model passed it)."""
        d = self.decision
        if d is None:
            return "unreviewed"
        if not d.flagged:
            return "dismissed" if self.model_flagged else "confirmed"
        if not self.model_flagged:
            return "missed"
        return "confirmed" if d.label == self.finding.verdict.label else "relabeled"

    def decision_text(self, details: bool = True) -> str:
        """ "dismissed as a false positive by ana, 2026-11-29 20:10 UTC: note"; "" when no
        decision. Without details, only what was decided."""
        d = self.decision
        if d is None:
            return ""
        name = Taxonomy.display_name(d.label) if d.flagged else "non-toxic"
        text = {
            "dismissed": "dismissed as a false positive",
            "confirmed": f"confirmed as {name}",
            "relabeled": f"relabeled as {name}",
            "missed": f"missed by the model, flagged as {name}",
        }[self.status]
        if details:
            if d.moderator:
                text += f" by {d.moderator}"
            if d.when():
                text += f", {d.when()}"
            if d.note:
                text += f": {d.note}"
        return text

    @property
    def noteworthy(self) -> bool:
        """Listed in a flagged-only report: the model flagged it or a moderator decided on it."""
        return self.model_flagged or self.decision is not None


@dataclass(frozen=True)
class SourceInfo:
    """A file (or channel) the session was made from, and how much of it was read."""

    path: str
    speaker: str = ""
    duration_s: float | None = None  # decoded
    declared_duration_s: float | None = None  # what the container says; None if unknown
    # what makes it incomplete besides a decoded-vs-declared shortfall (added by `problems`)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # worth saying but not a failure (one silent channel of several)
    # (start, end) seconds of speech heard but left without words (also among the warnings)
    untranscribed: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", str(self.path))
        object.__setattr__(self, "warnings", tuple(w for w in self.warnings if w))
        object.__setattr__(self, "notes", tuple(n for n in self.notes if n))

    @property
    def shortfall(self) -> str | None:
        decoded, declared = _finite(self.duration_s), _finite(self.declared_duration_s)
        if decoded is None or declared is None:
            return None
        if declared - decoded > max(SHORTFALL_S, SHORTFALL_FRACTION * declared):
            return f"decoded {decoded:.1f} s of {declared:.1f} s declared"
        return None

    @property
    def problems(self) -> tuple[str, ...]:
        shortfall = self.shortfall
        if shortfall and not any(shortfall in w for w in self.warnings):
            return (shortfall, *self.warnings)
        return self.warnings

    @property
    def complete(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ReportMeta:
    """What a report is about: the session, what it was made from, and with which models."""

    title: str = "modlens session"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    model_name: str = ""
    model_version: str = ""
    whisper_model: str = ""  # empty for text sessions or when unknown
    thresholds: dict[str, float] = field(default_factory=dict)  # "toxic" and per category
    sources: tuple[SourceInfo, ...] = ()
    warnings: tuple[str, ...] = ()  # about the session as a whole (files that were unreadable)
    notes: tuple[str, ...] = ()  # plain remarks

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(self.sources))
        created = self.created if self.created.tzinfo else self.created.astimezone()
        object.__setattr__(self, "created", created.astimezone(UTC))
        object.__setattr__(self, "warnings", tuple(w for w in self.warnings if w))
        object.__setattr__(self, "notes", tuple(n for n in self.notes if n))

    @property
    def incomplete_sources(self) -> tuple[SourceInfo, ...]:
        return tuple(s for s in self.sources if not s.complete)


@dataclass(frozen=True)
class ReportSummary:
    """Counts over the whole session, whatever the report lists."""

    excerpts: int
    model_flagged: int
    flagged: int  # after the moderator's decisions
    confirmed: int
    dismissed: int
    relabeled: int
    missed: int  # flagged by a moderator where the model said clean
    unreviewed: int  # flagged by the model, no decision yet
    listed: int

    @classmethod
    def of(cls, entries: Sequence[ReportEntry], listed: int) -> ReportSummary:
        def count(test: Callable[[ReportEntry], bool]) -> int:
            return sum(1 for e in entries if test(e))

        return cls(
            excerpts=len(entries),
            model_flagged=count(lambda e: e.model_flagged),
            flagged=count(lambda e: e.final_flagged),
            confirmed=count(lambda e: e.status == "confirmed"),
            dismissed=count(lambda e: e.status == "dismissed"),
            relabeled=count(lambda e: e.status == "relabeled"),
            missed=count(lambda e: e.status == "missed"),
            unreviewed=count(lambda e: e.model_flagged and e.decision is None),
            listed=listed,
        )

    def line(self) -> str:
        """ "9 excerpts; the model flagged 4; after review 4 flagged (...); 6 listed"."""
        reviewed = [
            f"{n} {word}"
            for n, word in (
                (self.confirmed, "confirmed"),
                (self.dismissed, "dismissed"),
                (self.relabeled, "relabeled"),
                (self.missed, "missed by the model"),
                (self.unreviewed, "not reviewed"),
            )
            if n
        ]
        text = (
            f"{self.excerpts} excerpts in the session; the model flagged {self.model_flagged}; "
            f"after review {self.flagged} flagged"
        )
        if reviewed:
            text += f" ({', '.join(reviewed)})"
        if self.listed != self.excerpts:
            text += f"; {self.listed} listed here (flagged or decided)"
        return text


@dataclass(frozen=True)
class Report:
    meta: ReportMeta
    entries: tuple[ReportEntry, ...]  # the listed ones, in the order given
    summary: ReportSummary


def build_report(
    entries: Iterable[ReportEntry | Finding],
    meta: ReportMeta | None = None,
    flagged_only: bool = False,
) -> Report:
    """A report of every excerpt of a session (Findings count as undecided entries); with
    flagged_only, only those the model flagged or a moderator decided on are listed."""
    every = tuple(e if isinstance(e, ReportEntry) else ReportEntry(e) for e in entries)
    listed = tuple(e for e in every if e.noteworthy) if flagged_only else every
    return Report(meta or ReportMeta(), listed, ReportSummary.of(every, len(listed)))


# --- the registry of formats --------------------------------------------------------------


@dataclass(frozen=True)
class ReportFormat:
    name: str  # json, csv, ...
    title: str  # what a file dialog calls it
    extensions: tuple[str, ...]  # the first is the one a new file gets
    render: Callable[[Report], str]

    @property
    def suffix(self) -> str:
        return self.extensions[0]

    @property
    def file_filter(self) -> str:
        """A Qt file-dialog filter: "HTML page (*.html *.htm)"."""
        return f"{self.title} ({' '.join('*' + e for e in self.extensions)})"


def format_for_path(path: str | os.PathLike[str]) -> ReportFormat:
    """The format a file name asks for; ReportError for an extension no format writes."""
    suffix = Path(path).suffix.lower()
    for fmt in REPORT_FORMATS:
        if suffix in fmt.extensions:
            return fmt
    shown = suffix or "(no extension)"
    raise ReportError(f"Unknown report type {shown!r}: use {extensions_text()}.")


def format_named(name: str) -> ReportFormat:
    for fmt in REPORT_FORMATS:
        if fmt.name == name:
            return fmt
    raise ReportError(f"Unknown report format {name!r}: use {', '.join(FORMAT_NAMES)}.")


def report_format(path: str | os.PathLike[str]) -> str:
    """The name of the format a file name asks for (see format_for_path)."""
    return format_for_path(path).name


def extensions_text() -> str:
    """ ".html, .csv, .json, .srt or .vtt" for messages and --help."""
    suffixes = [f.suffix for f in REPORT_FORMATS]
    return ", ".join(suffixes[:-1]) + " or " + suffixes[-1]


def file_dialog_filters() -> str:
    """Every format as a Qt file-dialog filter string, one per format."""
    return ";;".join(f.file_filter for f in REPORT_FORMATS)


# --- writing ------------------------------------------------------------------------------


def write_report(
    path: str | os.PathLike[str],
    entries: Iterable[ReportEntry | Finding],
    meta: ReportMeta | None = None,
    *,
    title: str | None = None,
    flagged_only: bool = False,
) -> Path:
    """Write a report of the session's excerpts to path, in the format its extension names.

    entries are every excerpt of the session (the counts are over all of them); title, when
    given, replaces meta's. The file appears whole or not at all.
    """
    fmt = format_for_path(path)
    meta = meta or ReportMeta()
    if title is not None:
        meta = replace(meta, title=title)
    text = fmt.render(build_report(entries, meta, flagged_only))
    path = Path(path)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise ReportError(f"{path} cannot be written: {exc.strerror or exc}.") from exc
    except UnicodeError as exc:
        raise ReportError(f"{path} cannot be written: {exc}.") from exc
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text as UTF-8 to a temporary file beside path and rename it over path; on any
    failure the temporary file is removed and the exception raised."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes the file private; a report is an ordinary document
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


# --- building metadata --------------------------------------------------------------------


def model_meta(classifier: Classifier) -> dict[str, Any]:
    """model_name, model_version and thresholds of a loaded models.classifier.Classifier."""
    config = classifier.config
    extra = getattr(config, "extra", {}) or {}
    name = str(extra.get("name") or Path(classifier.path).name)
    version = [str(extra[k]) for k in ("version", "trained_from_run") if extra.get(k)]
    digest = (getattr(config, "files", {}) or {}).get("model.onnx", {}).get("sha256")
    if digest:
        version.append(f"sha256 {digest[:12]}")
    thresholds = {"toxic": float(classifier.threshold)}
    for label in classifier.labels[1:]:
        thresholds[label] = float(classifier.threshold_for(label))
    return {"model_name": name, "model_version": ", ".join(version), "thresholds": thresholds}


def meta_for_scan(
    title: str,
    result: ScanResult,
    transcriber: Transcriber | None = None,
    classifier: Classifier | None = None,
) -> ReportMeta:
    """ReportMeta for a models.voice.ScanResult: a source per track with its durations and
    warnings, the files that could not be read, and the models used.

    A track's decoded duration is its `decoded_duration`, else its `duration`; a shortfall
    against `declared_duration` becomes the source's warning (SourceInfo.shortfall).
    """
    sources = []
    for track in result.tracks:
        decoded = track.decoded_duration
        sources.append(
            SourceInfo(
                path=str(track.track.path),
                speaker=track.track.speaker,
                duration_s=decoded if decoded is not None else track.duration,
                declared_duration_s=track.declared_duration,
                # speech the VAD heard but Whisper left without words: listen to it
                warnings=(track.error, *getattr(track, "untranscribed_warnings", ())),
                notes=(track.note, *_voice_notes(track)),
                untranscribed=tuple((s.start, s.end) for s in getattr(track, "untranscribed", ())),
            )
        )
    warnings = list(result.problems)
    if result.stopped:
        warnings.append("The scan was stopped before every file was read.")
    return ReportMeta(
        title=title,
        whisper_model=str(getattr(transcriber, "name", "") or ""),
        sources=tuple(sources),
        warnings=tuple(warnings),
        **(model_meta(classifier) if classifier is not None else {}),
    )


def _voice_notes(track: Any) -> tuple[str, ...]:
    """The language heard on a models.voice.TrackResult and the repetition loops cut from it."""
    notes = []
    language = getattr(track, "language_text", "")
    if language:
        notes.append(f"language {language}")
    for loop in getattr(track, "loops", ()):
        notes.append(
            f"a repetition loop was cut at {_duration_text(loop.start)} "
            f"({loop.times} times {loop.phrase!r})"
        )
    return tuple(notes)


def meta_for_live(
    title: str,
    result: LiveResult,
    transcriber: Transcriber | None = None,
    classifier: Classifier | None = None,
    errors: Sequence[str] = (),
) -> ReportMeta:
    """ReportMeta for a models.live.LiveResult: the recording as the one source (its length
    as recorded), capture errors (a full disk) as its warnings, and the models used."""
    source = SourceInfo(
        path=str(result.recording), duration_s=result.seconds, warnings=tuple(errors)
    )
    return ReportMeta(
        title=title,
        whisper_model=str(getattr(transcriber, "name", "") or ""),
        sources=(source,),
        **(model_meta(classifier) if classifier is not None else {}),
    )


# --- shared helpers -----------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    """value as a float when it is a finite number, else None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _moment(timestamp: float | None) -> datetime | None:
    seconds = _finite(timestamp)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _span(finding: Finding) -> tuple[float | None, float | None]:
    """(start, end) in seconds, None when not a finite time; an unknown end is the start."""
    start = _finite(finding.excerpt.time)
    end = _finite(finding.excerpt.end_time)
    if start is None:
        return None, None
    return start, end if end is not None and end >= start else start


def clock(seconds: float | None, separator: str = ".", hours: bool = False) -> str:
    """12.5 -> 00:00:12.500 (hours=True) or 00:12.500; separator before the milliseconds.
    A time that is not a finite number is "unknown time"."""
    value = _finite(seconds)
    if value is None:
        return UNKNOWN_TIME
    millis = max(0, round(value * 1000))
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    if hours or h:
        return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"
    return f"{m:02d}:{s:02d}{separator}{ms:03d}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP: prefix a single quote).

    A cell that already starts with a quote gets one more, so spreadsheet_text() undoes it
    exactly; spreadsheets show a leading quote as "this is text".
    """
    if value.startswith((*_FORMULA_START, "'")):
        return "'" + value
    return value


def spreadsheet_text(value: str) -> str:
    """The text spreadsheet_cell() neutralised, as it was."""
    if value.startswith("'") and value[1:].startswith((*_FORMULA_START, "'")):
        return value[1:]
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """Text for a subtitle cue: line breaks, tabs and "-->" become spaces, other control
    characters (and Unicode line/paragraph separators) are dropped, spaces are collapsed."""
    text = re.sub(r"[\r\n\t\v\f\u2028\u2029\x85]|-->", " ", text)
    text = _CONTROL.sub("", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cs")
    return " ".join(text.split())


# --- JSON ---------------------------------------------------------------------------------


def finding_record(finding: Finding, decision: str | None = None) -> dict:
    """The model's view of one excerpt as JSON-ready values (times null when not finite)."""
    start, end = _span(finding)
    verdict = finding.verdict
    record: dict[str, Any] = {
        "speaker": finding.speaker,
        "start": None if start is None else round(start, 3),
        "end": None if end is None else round(end, 3),
        "text": finding.text,
        "flagged": bool(finding.toxic),
        "label": verdict.label,
        "score": _round(verdict.score, 4),
        "scores": {k: _round(v, 4) for k, v in verdict.scores.items()},
        "source": finding.source,
        "channel": finding.channel,
        # how the verdict was reached ("model", "word list", "not checked"; null: not known),
        # the excerpt's language and the word list entry that decided it
        "method": verdict.method,
        "language": verdict.language,
        "entry": getattr(verdict, "entry", None) or None,
        "words": [
            {
                "text": w.text.strip(),
                "start": _finite(w.start),
                "end": _finite(w.end),
                "probability": _finite(w.probability),
            }
            for w in finding.words
        ],
    }
    if decision is not None:
        record["decision"] = decision
    return record


def _round(value: float, digits: int) -> float | None:
    number = _finite(value)
    return None if number is None else round(number, digits)


def decision_record(decision: ModeratorDecision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    moment = _moment(decision.decided_at)
    return {
        "action": decision.action,
        "label": decision.label,
        "moderator": decision.moderator,
        "decided_at": moment.isoformat(timespec="seconds") if moment else None,
        "note": decision.note,
    }


def entry_record(entry: ReportEntry) -> dict[str, Any]:
    """The model's fields (as finding_record) and the moderator's decision beside them."""
    return {
        **finding_record(entry.finding),
        "decision": decision_record(entry.decision),
        "status": entry.status,
        "final_label": entry.final_label,
        "final_flagged": entry.final_flagged,
    }


def source_record(source: SourceInfo) -> dict[str, Any]:
    return {
        "path": source.path,
        "speaker": source.speaker,
        "duration_s": _round(source.duration_s, 3) if source.duration_s is not None else None,
        "declared_duration_s": (
            _round(source.declared_duration_s, 3)
            if source.declared_duration_s is not None
            else None
        ),
        "complete": source.complete,
        "warnings": list(source.problems),
        "notes": list(source.notes),
        # only when there is some, so a source without it reads as before
        **(
            {"untranscribed": [[_round(a, 3), _round(b, 3)] for a, b in source.untranscribed]}
            if source.untranscribed
            else {}
        ),
    }


def report_data(report: Report) -> dict[str, Any]:
    """The JSON report as a dict (the scan format)."""
    meta, summary = report.meta, report.summary
    return {
        "format": REPORT_FORMAT_VERSION,
        "title": meta.title,
        "created": meta.created.isoformat(timespec="seconds"),
        "model": {
            "name": meta.model_name or None,
            "version": meta.model_version or None,
            "thresholds": {k: _round(v, 4) for k, v in meta.thresholds.items()},
        },
        "whisper_model": meta.whisper_model or None,
        "sources": [source_record(s) for s in meta.sources],
        "warnings": list(meta.warnings),
        "notes": list(meta.notes),
        "excerpts": summary.excerpts,
        "flagged": summary.flagged,
        "summary": {
            "excerpts": summary.excerpts,
            "model_flagged": summary.model_flagged,
            "flagged_after_review": summary.flagged,
            "confirmed": summary.confirmed,
            "dismissed": summary.dismissed,
            "relabeled": summary.relabeled,
            "missed": summary.missed,
            "not_reviewed": summary.unreviewed,
            "listed": summary.listed,
        },
        "findings": [entry_record(e) for e in report.entries],
    }


def to_json(report: Report) -> str:
    # allow_nan=False: a non-finite number that slipped through fails here, not in a reader
    return json.dumps(report_data(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --- CSV ----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "start",
    "end",
    "speaker",
    "text",
    "model_flagged",
    "model_label",
    "model_score",
    "decision",
    "final_label",
    "final_flagged",
    "moderator",
    "decided_at",
    "note",
    "source",
    "method",
    "language",
    "list_entry",
)


def to_csv(report: Report) -> str:
    """One row per listed excerpt; text cells are neutralised against formulas, numbers stay
    numbers."""
    out = io.StringIO()
    # CRLF (RFC 4180) also makes the writer quote a cell holding a bare carriage return
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in report.entries:
        f, d = entry.finding, entry.decision
        start, end = _span(f)
        moment = _moment(d.decided_at) if d else None
        score = _finite(f.verdict.score)
        texts = [
            f.speaker,
            f.text,
            "yes" if entry.model_flagged else "no",
            f.verdict.label,
        ]
        after = [
            entry.status if d else "",
            entry.final_label,
            "yes" if entry.final_flagged else "no",
            d.moderator if d else "",
            moment.isoformat(timespec="seconds") if moment else "",
            d.note if d else "",
            f.source,
            f.verdict.method or "",
            f.verdict.language or "",
            getattr(f.verdict, "entry", None) or "",
        ]
        writer.writerow(
            [
                clock(start, ".", hours=True),
                clock(end, ".", hours=True),
                *(spreadsheet_cell(t) for t in texts),
                "" if score is None else f"{score:.3f}",
                *(spreadsheet_cell(t) for t in after),
            ]
        )
    # speech heard but not transcribed: a row each, so a spreadsheet shows where to listen
    for source in report.meta.sources:
        for start, end in source.untranscribed:
            blank = [""] * (CSV_COLUMNS.index("source") - 6)
            after = [""] * (len(CSV_COLUMNS) - CSV_COLUMNS.index("source") - 1)
            writer.writerow(
                [
                    clock(start, ".", hours=True),
                    clock(end, ".", hours=True),
                    spreadsheet_cell(source.speaker),
                    "untranscribed speech: listen to it",
                    "",
                    "untranscribed",
                    *blank,
                    spreadsheet_cell(source.path),
                    *after,
                ]
            )
    return out.getvalue()


# --- subtitles ----------------------------------------------------------------------------


def _cue_text(entry: ReportEntry) -> str:
    f, d = entry.finding, entry.decision
    text = f"{f.speaker}: {f.text}" if f.speaker else f.text
    if entry.model_flagged:
        text = f"[FLAGGED {f.verdict.label} {f.verdict.score:.0%}] {text}"
    if d is not None:
        said = entry.decision_text(details=False)
        if d.moderator:
            said += f" by {d.moderator}"
        if d.note:
            said += f": {d.note}"
        text += f" (moderator: {said})"
    return one_line(text)


def _cues(report: Report, separator: str) -> list[tuple[str, str]]:
    """(timing line, text) per entry: lines with an unknown time first, shown for the first
    second and marked, then the others in time order."""
    unknown, timed = [], []
    for entry in report.entries:
        start, end = _span(entry.finding)
        if start is None:
            span = f"{clock(0.0, separator, True)} --> {clock(1.0, separator, True)}"
            unknown.append((span, f"[{UNKNOWN_TIME}] {_cue_text(entry)}"))
        else:
            span = f"{clock(start, separator, True)} --> {clock(end, separator, True)}"
            timed.append(((start, end), span, _cue_text(entry)))
    for source in report.meta.sources:  # speech heard but not transcribed: where to listen
        for start, end in source.untranscribed:
            span = f"{clock(start, separator, True)} --> {clock(end, separator, True)}"
            who = f"{source.speaker}: " if source.speaker else ""
            timed.append(((start, end), span, f"{who}untranscribed speech, listen to it"))
    timed.sort(key=lambda cue: cue[0])
    return unknown + [(span, text) for _, span, text in timed]


def to_srt(report: Report) -> str:
    cues = [
        f"{number}\n{span}\n{text}\n"
        for number, (span, text) in enumerate(_cues(report, ","), start=1)
    ]
    return "\n".join(cues)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(report: Report) -> str:
    """WebVTT with NOTE blocks for the session's counts, models and sources."""
    lines = ["WEBVTT", ""]
    notes = [report.summary.line(), *_meta_lines(report.meta)]
    for note in notes:
        lines.extend([f"NOTE {one_line(note)}", ""])
    for span, text in _cues(report, "."):
        lines.extend([span, _vtt_escape(text), ""])
    return "\n".join(lines)


def _meta_lines(meta: ReportMeta) -> list[str]:
    """Plain lines about the title, models, thresholds, sources and warnings."""
    lines = [f"{meta.title}, {meta.created.strftime('%Y-%m-%d %H:%M UTC')}"]
    model = _model_text(meta)
    if model:
        lines.append(model)
    for source in meta.sources:
        lines.append(f"source {_source_text(source)}")
    lines.extend(f"warning: {w}" for w in meta.warnings)
    lines.extend(meta.notes)
    return lines


def _model_text(meta: ReportMeta) -> str:
    parts = []
    if meta.model_name:
        version = f" ({meta.model_version})" if meta.model_version else ""
        parts.append(f"classifier {meta.model_name}{version}")
    if meta.whisper_model:
        parts.append(f"Whisper {meta.whisper_model}")
    if meta.thresholds:
        parts.append(f"thresholds {_thresholds_text(meta.thresholds)}")
    return "; ".join(parts)


def _thresholds_text(thresholds: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in thresholds.items() if _finite(v) is not None)


def _duration_text(seconds: float | None) -> str:
    """4.5 -> "4.5 s", 3725 -> "1:02:05"."""
    value = _finite(seconds)
    if value is None:
        return "unknown duration"
    if value < 60:
        return f"{value:.1f} s"
    h, rest = divmod(round(value), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def _source_text(source: SourceInfo) -> str:
    text = source.path
    if source.speaker:
        text += f" ({source.speaker})"
    text += f", {_duration_text(source.duration_s)}"
    if _finite(source.declared_duration_s) is not None:
        text += f" of {_duration_text(source.declared_duration_s)} declared"
    if source.problems:
        text += f": INCOMPLETE: {'; '.join(source.problems)}"
    elif source.notes:
        text += f": {'; '.join(source.notes)}"
    return text


# --- HTML ---------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:80rem}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.5rem} .summary,.meta{color:#555}
table{border-collapse:collapse;width:100%} th,td{padding:.35rem .6rem;text-align:left;
vertical-align:top;border-bottom:1px solid #ddd} th{background:#f4f4f4}
tr.flagged td{background:#fff4f0} tr.dismissed td{color:#777}
tr.dismissed .model .label{text-decoration:line-through}
.time{font-variant-numeric:tabular-nums;white-space:nowrap}
.label{display:inline-block;padding:0 .4rem;border-radius:.3rem;color:#fff;font-size:.85rem}
.clean{color:#888} .filter{margin:.5rem 0;display:block} .who{color:#555;font-size:.85rem}
.warning{border:2px solid #c62828;background:#fdecea;padding:.6rem 1rem;margin:1rem 0}
tr.incomplete td{background:#fdecea}
"""

_SCRIPT = """
document.getElementById('only').addEventListener('change',function(e){
 document.querySelectorAll('#excerpts tbody tr').forEach(function(r){
  r.style.display=(e.target.checked&&!r.classList.contains('flagged'))?'none':'';});});
"""


def _e(text: str) -> str:
    return html.escape(_CONTROL.sub(lambda m: m.group() if m.group() in "\t\n" else "", text))


def _label_html(label: str, taxonomy: Taxonomy | None) -> str:
    if label == NON_TOXIC or taxonomy is None:
        return '<span class="clean">non-toxic</span>'
    colour = taxonomy.colour(label) if label in taxonomy.labels else "#555"
    return (
        f'<span class="label" style="background:{colour}">{_e(Taxonomy.display_name(label))}</span>'
    )


def _decision_html(entry: ReportEntry, taxonomy: Taxonomy | None) -> str:
    d = entry.decision
    if d is None:
        return '<span class="clean">not reviewed</span>' if entry.model_flagged else ""
    status = entry.status
    if status == "dismissed":
        head = "<b>dismissed</b> (false positive)"
    elif status == "missed":
        head = f"<b>missed</b> by the model, flagged as {_label_html(d.label, taxonomy)}"
    else:
        head = f"<b>{status}</b> as {_label_html(d.label, taxonomy)}"
    who = ", ".join(x for x in (d.moderator, d.when()) if x)
    parts = [head]
    if who:
        parts.append(f'<div class="who">{_e(who)}</div>')
    if d.note:
        parts.append(f"<div>{_e(d.note)}</div>")
    return "".join(parts)


def _taxonomy_for(entries: Sequence[ReportEntry]) -> Taxonomy | None:
    seen: set[str] = set()
    for e in entries:
        seen.add(e.finding.verdict.label)
        if e.decision is not None:
            seen.add(e.decision.label)
    toxic = sorted(seen - {NON_TOXIC})
    return Taxonomy((NON_TOXIC, *toxic)) if toxic else None


def to_html(report: Report) -> str:
    meta, summary = report.meta, report.summary
    taxonomy = _taxonomy_for(report.entries)
    body = []
    for entry in report.entries:
        f = entry.finding
        start, end = _span(f)
        if start is None:
            when = UNKNOWN_TIME
        elif end is None or end <= start:  # a chat line has one time, not a span
            when = clock(start)
        else:
            when = f"{clock(start)}&ndash;{clock(end)}"
        if entry.model_flagged:
            model = f"{_label_html(f.verdict.label, taxonomy)} {_percent(f.verdict.score)}"
        else:
            model = f'<span class="clean">non-toxic {_percent(1.0 - f.verdict.score)}</span>'
        how = method_text(
            f.verdict.method, f.verdict.label, f.verdict.language, getattr(f.verdict, "entry", "")
        )
        if how:  # a word list or an uncovered language decided, not the model
            model += f'<br><span class="method">{_e(how)}</span>'
        cells = [
            f'<td class="time">{when}</td>',
            f"<td>{_e(f.speaker)}</td>",
            f"<td>{_e(f.text)}</td>",
            f'<td class="model">{model}</td>',
            f"<td>{_decision_html(entry, taxonomy)}</td>",
        ]
        classes = [entry.status]
        if entry.final_flagged:
            classes.append("flagged")
        body.append(f'<tr class="{" ".join(classes)}">{"".join(cells)}</tr>')
    heads = ["Time", "Speaker", "Text", "Model verdict", "Moderator decision"]

    incomplete = meta.incomplete_sources
    alerts = [f"{_e(s.path)}: {_e('; '.join(s.problems))}" for s in incomplete]
    alerts += [_e(w) for w in meta.warnings]
    warning = ""
    if alerts:
        items = "".join(f"<li>{a}</li>" for a in alerts)
        warning = (
            "<div class='warning'><b>This report is incomplete: some of the session was not "
            f"read.</b><ul>{items}</ul></div>"
        )
    model = _model_text(meta)
    about = [f"Created {meta.created.strftime('%Y-%m-%d %H:%M UTC')}"]
    if model:
        about.append(_e(model))
    about += [_e(n) for n in meta.notes]
    sources = ""
    if meta.sources:
        rows = []
        for s in meta.sources:
            declared = s.declared_duration_s
            css = "" if s.complete else ' class="incomplete"'
            rows.append(
                f"<tr{css}><td>{_e(s.path)}</td><td>{_e(s.speaker)}</td>"
                f'<td class="time">{_duration_text(s.duration_s)}</td>'
                f'<td class="time">{"" if _finite(declared) is None else _duration_text(declared)}'
                f"</td><td>{_e('; '.join(s.problems or ('complete', *s.notes)))}</td></tr>"
            )
        sources = (
            "<h2>Sources</h2><table><thead><tr><th>File</th><th>Speaker</th><th>Decoded</th>"
            f"<th>Declared</th><th>Status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(meta.title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(meta.title)}</h1>{warning}"
        f"<p class='summary'>{_e(summary.line())}</p>"
        f"<p class='meta'>{' &middot; '.join(about)}</p>"
        f"{sources}<h2>Excerpts</h2>"
        "<label class='filter'><input type='checkbox' id='only'> flagged only</label>"
        f"<table id='excerpts'><thead><tr>{''.join(f'<th>{h}</th>' for h in heads)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table><script>{_SCRIPT}</script></body></html>\n"
    )


def _percent(score: float) -> str:
    value = _finite(score)
    return "" if value is None else f"{value:.0%}"


REPORT_FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat("html", "HTML page", (".html", ".htm"), to_html),
    ReportFormat("csv", "CSV table", (".csv",), to_csv),
    ReportFormat("json", "JSON", (".json",), to_json),
    ReportFormat("srt", "SRT subtitles", (".srt",), to_srt),
    ReportFormat("vtt", "WebVTT subtitles", (".vtt",), to_vtt),
)
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in REPORT_FORMATS)
# extension -> format name, for callers that only need the name
FORMATS: dict[str, str] = {ext: f.name for f in REPORT_FORMATS for ext in f.extensions}
