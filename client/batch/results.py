"""The results folder of `modlens batch`, the source it reads, and reading results back.

A results folder holds, per recording (keyed by the SHA-256 of its content)::

    reports/<digest16>.json    the recording's report, exactly as `modlens scan --report x.json`
    excerpts/<digest16>.parquet  its excerpts as rows of the archive's excerpt table
    files/<digest16>.json      its record: path, manifest ids, done or failed and why, counts

and ``excerpts.parquet``, every excerpt of the archive in one table, rebuilt from the parts at the
end of each run. Each file is written to a temporary name and renamed; the record is written last,
so a recording counts as finished exactly when its record exists, and a stopped batch redoes only
what has no record. Nothing here needs Ray; only writing the Parquet table needs pyarrow, so the
desktop app reads results from the JSON files alone.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path

from models.errors import ModlensError

MEDIA_SUFFIXES = frozenset(
    ".wav .flac .mp3 .ogg .opus .m4a .aac .wma .mp4 .mkv .webm .mov .avi".split()  # noqa: SIM905
)
KEY_CHARS = 16  # hex digits of the SHA-256 in file names
DIGEST_CACHE = "digests.json"  # path -> [size, mtime_ns, sha256], so reruns do not rehash
TABLE = "excerpts.parquet"
# manifest column -> BatchItem field; a few spellings studios use
MANIFEST_COLUMNS = {
    "path": "path",
    "file": "path",
    "player": "player",
    "player_id": "player",
    "match": "match",
    "match_id": "match",
    "ticket": "ticket",
    "ticket_id": "ticket",
    "language": "language",
    "lang": "language",
}


class BatchError(ModlensError, ValueError):
    """A batch source or results folder that cannot be used; the message is for the user."""


@dataclass(frozen=True)
class BatchItem:
    """One recording to scan, with the ids the manifest gives it."""

    path: str  # absolute
    player: str = ""
    match: str = ""
    ticket: str = ""
    language: str | None = None
    size: int = 0
    digest: str = ""  # SHA-256 of the content, hex

    @property
    def key(self) -> str:
        return self.digest[:KEY_CHARS]


@dataclass(frozen=True)
class FileRecord:
    """What a batch knows about one recording once it is finished (done or failed)."""

    digest: str
    path: str
    status: str  # done | failed
    reason: str = ""  # why it failed, or a note on a done file (one silent channel, ...)
    player: str = ""
    match: str = ""
    ticket: str = ""
    language: str | None = None
    duration: float = 0.0  # seconds of audio
    excerpts: int = 0
    flagged: int = 0
    report: str = ""  # relative to the results folder
    table: str = ""
    worker: str = ""  # host:pid of the worker that scanned it
    attempts: int = 1
    elapsed: float = 0.0  # seconds the worker spent on it
    worker_rss_mib: float = 0.0  # the worker's peak memory when it finished this file
    cpu_s: float = 0.0  # CPU seconds the worker used on it
    finished: str = ""

    @property
    def key(self) -> str:
        return self.digest[:KEY_CHARS]

    @classmethod
    def from_json(cls, data: dict) -> FileRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class FlaggedExcerpt:
    """A flagged excerpt of the archive, with where it came from, for triage."""

    digest: str
    path: str
    index: int  # of the excerpt among the report's findings
    player: str
    match: str
    ticket: str
    speaker: str
    start: float
    end: float
    text: str
    label: str
    score: float


@dataclass(frozen=True)
class PlayerSummary:
    player: str
    files: int
    audio_seconds: float
    excerpts: int
    flagged: int
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def top_category(self) -> str:
        return max(self.categories, key=self.categories.get) if self.categories else ""


@dataclass(frozen=True)
class BatchResults:
    root: Path
    records: dict[str, FileRecord]  # digest -> record
    flagged: list[FlaggedExcerpt]

    @property
    def failed(self) -> list[FileRecord]:
        return [r for r in self.records.values() if r.status == "failed"]

    def players(self) -> list[PlayerSummary]:
        return player_summary(self.records.values(), self.flagged)


# --- the source ------------------------------------------------------------------------------


def read_source(source: str | os.PathLike[str]) -> list[BatchItem]:
    """The recordings of a folder (recursively, by extension) or of a manifest CSV."""
    source = Path(source)
    if source.is_dir():
        paths = sorted(
            p for p in source.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file()
        )
        return [BatchItem(str(p.resolve()), size=p.stat().st_size) for p in paths]
    if source.is_file() and source.suffix.lower() == ".csv":
        return read_manifest(source)
    if source.is_file():
        raise BatchError(f"{source} is neither a folder nor a manifest .csv file.")
    raise BatchError(f"{source} does not exist.")


def read_manifest(path: Path) -> list[BatchItem]:
    """Rows of a manifest CSV: a path column (relative to the manifest's folder or absolute),
    and optional player, match, ticket and language columns."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BatchError(f"The manifest {path} cannot be read: {exc}.") from exc
    if not rows:
        raise BatchError(f"The manifest {path} lists no recordings.")
    columns = {c: MANIFEST_COLUMNS.get(c.strip().lower()) for c in rows[0] if c}
    if "path" not in columns.values():
        raise BatchError(f"The manifest {path} has no 'path' column.")
    items = []
    for number, row in enumerate(rows, start=2):
        values = {columns[c]: (v or "").strip() for c, v in row.items() if c and columns.get(c)}
        if not values.get("path"):
            raise BatchError(f"{path}, line {number}: no path.")
        file = Path(values["path"]).expanduser()
        if not file.is_absolute():
            file = path.parent / file
        size = file.stat().st_size if file.is_file() else 0
        items.append(
            BatchItem(
                str(file.resolve()),
                player=values.get("player", ""),
                match=values.get("match", ""),
                ticket=values.get("ticket", ""),
                language=values.get("language") or None,
                size=size,
            )
        )
    return items


def content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content, hex; empty when the file cannot be read."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return ""


def with_digests(
    items: Sequence[BatchItem], threads: int = 4, cache: str | os.PathLike[str] | None = None
) -> list[BatchItem]:
    """The items with their content hashes, read in a few threads (hashlib frees the GIL).

    cache (a JSON file, e.g. in the results folder) keeps each path's size, modification time
    and hash, so a rerun over a large archive reads only new or changed files. A file that
    cannot be read gets a digest of its path, so it is still recorded (as failed)."""
    known: dict[str, list] = {}
    if cache is not None:
        try:
            known = json.loads(Path(cache).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
    fresh: dict[str, list] = {}

    def one(item: BatchItem) -> BatchItem:
        try:
            stat = os.stat(item.path)
            stamp = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            stamp = None
        entry = known.get(item.path)
        if stamp and isinstance(entry, list) and entry[:2] == stamp and len(entry) == 3:
            digest = entry[2]
        else:
            digest = content_hash(item.path)
        if digest and stamp:
            fresh[item.path] = [*stamp, digest]
        if not digest:
            digest = hashlib.sha256(b"unreadable:" + item.path.encode()).hexdigest()
        return replace(item, digest=digest)

    with ThreadPoolExecutor(max(1, threads)) as pool:
        out = list(pool.map(one, items))
    if cache is not None and fresh != {k: known.get(k) for k in fresh}:
        with contextlib.suppress(BatchError):  # only a cache: the next run hashes again
            _write_atomic(Path(cache), json.dumps({**known, **fresh}) + "\n")
    return out


@dataclass(frozen=True)
class Plan:
    todo: list[BatchItem]  # to scan now
    finished: list[BatchItem]  # a record with this content exists: skipped
    duplicates: list[BatchItem]  # the same content as an earlier item of this source


def plan(
    items: Sequence[BatchItem], records: dict[str, FileRecord], retry_failed: bool = False
) -> Plan:
    """What a run must scan: items (with digests) whose content has no record yet, once each.

    A failed recording is skipped too, unless retry_failed."""
    todo, finished, duplicates = [], [], []
    seen: set[str] = set()
    for item in items:
        if item.digest in seen:
            duplicates.append(item)
            continue
        seen.add(item.digest)
        record = records.get(item.digest)
        if record is not None and (record.status == "done" or not retry_failed):
            finished.append(item)
        else:
            todo.append(item)
    return Plan(todo, finished, duplicates)


# --- the results folder ----------------------------------------------------------------------


class ResultsFolder:
    """Reads and writes a batch's results folder; every write is a temporary file and a rename."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def prepare(self) -> None:
        try:
            for name in ("files", "reports", "excerpts"):
                (self.root / name).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"The results folder {self.root} cannot be used: {exc}.") from exc

    def records(self) -> dict[str, FileRecord]:
        """digest -> record of every finished recording (a half-written one has no record)."""
        out: dict[str, FileRecord] = {}
        folder = self.root / "files"
        if not folder.is_dir():
            return out
        for path in sorted(folder.glob("*.json")):
            try:
                record = FileRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue  # damaged: that recording is simply scanned again
            out[record.digest] = record
        return out

    def write(
        self,
        item: BatchItem,
        status: str,
        findings: Sequence = (),
        reason: str = "",
        duration: float = 0.0,
        worker: str = "",
        attempts: int = 1,
        elapsed: float = 0.0,
        table: bool = True,
        meta: object = None,
        worker_rss_mib: float = 0.0,
        cpu_s: float = 0.0,
    ) -> FileRecord:
        """Write one recording's report, its part of the excerpt table, then its record."""
        from client.reports import write_report

        report = table_part = ""
        if status == "done":
            report = f"reports/{item.key}.json"
            # meta: the report's ReportMeta (sources, models) where client.reports has one
            extra = {"meta": meta} if meta is not None else {}
            write_report(self.root / report, list(findings), title=report_title(item), **extra)
            if table:
                table_part = f"excerpts/{item.key}.parquet"
                write_table_part(self.root / table_part, item, findings)
        record = FileRecord(
            digest=item.digest,
            path=item.path,
            status=status,
            reason=reason,
            player=item.player,
            match=item.match,
            ticket=item.ticket,
            language=item.language,
            duration=round(duration, 3),
            excerpts=len(findings),
            flagged=sum(1 for f in findings if f.toxic),
            report=report,
            table=table_part,
            worker=worker,
            attempts=attempts,
            elapsed=round(elapsed, 3),
            worker_rss_mib=worker_rss_mib,
            cpu_s=round(cpu_s, 3),
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        _write_atomic(
            self.root / "files" / f"{item.key}.json",
            json.dumps(asdict(record), indent=1, ensure_ascii=False) + "\n",
        )
        return record

    def consolidate(self) -> Path | None:
        """Rebuild excerpts.parquet from the parts of every recording with a record."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = [
            self.root / r.table for r in self.records().values() if r.status == "done" and r.table
        ]
        tables = [pq.read_table(p) for p in sorted(parts) if p.is_file()]
        table = pa.concat_tables(tables) if tables else excerpt_schema().empty_table()
        target = self.root / TABLE
        tmp = target.with_name(target.name + ".tmp")
        pq.write_table(table, tmp)
        tmp.replace(target)
        return target

    def load(self) -> BatchResults:
        """The records and every flagged excerpt, from the JSON files only."""
        return load_results(self.root)


def report_title(item: BatchItem) -> str:
    ids = [f"{name} {value}" for name, value in (("player", item.player), ("match", item.match))]
    ids = [i for i in ids if not i.endswith(" ")]
    suffix = f" ({', '.join(ids)})" if ids else ""
    return f"modlens batch: {Path(item.path).name}{suffix}"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise BatchError(f"{path} cannot be written: {exc.strerror or exc}.") from exc


def excerpt_schema():  # built on first use, so pyarrow stays optional
    import pyarrow as pa

    return pa.schema(
        [
            ("digest", pa.string()),
            ("path", pa.string()),
            ("player", pa.string()),
            ("match", pa.string()),
            ("ticket", pa.string()),
            ("language", pa.string()),
            ("index", pa.int32()),
            ("speaker", pa.string()),
            ("channel", pa.int32()),
            ("start", pa.float64()),
            ("end", pa.float64()),
            ("text", pa.string()),
            ("flagged", pa.bool_()),
            ("label", pa.string()),
            ("score", pa.float64()),
            ("scores", pa.string()),  # JSON: category -> probability
        ]
    )


def write_table_part(path: Path, item: BatchItem, findings: Sequence) -> None:
    """One recording's rows of the excerpt table, as a Parquet file written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            "digest": item.digest,
            "path": item.path,
            "player": item.player,
            "match": item.match,
            "ticket": item.ticket,
            "language": item.language,
            "index": index,
            "speaker": f.speaker,
            "channel": f.channel,
            "start": round(f.start, 3),
            "end": round(f.end, 3),
            "text": f.text,
            "flagged": bool(f.toxic),
            "label": f.verdict.label,
            "score": round(float(f.verdict.score), 4),
            "scores": json.dumps({k: round(float(v), 4) for k, v in f.verdict.scores.items()}),
        }
        for index, f in enumerate(findings)
    ]
    table = pa.Table.from_pylist(rows, schema=excerpt_schema())
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise BatchError(f"{path} cannot be written: {exc.strerror or exc}.") from exc


# --- reading results back (the app) ----------------------------------------------------------


def is_results_folder(root: str | os.PathLike[str]) -> bool:
    return (Path(root) / "files").is_dir()


def load_results(
    root: str | os.PathLike[str], on_file: Callable[[int, int], None] | None = None
) -> BatchResults:
    """Every record and every flagged excerpt of a results folder; needs neither Ray nor pyarrow.

    Raises BatchError when root is not a batch's results folder."""
    root = Path(root)
    if not is_results_folder(root):
        raise BatchError(f"{root} is not the results folder of a modlens batch (no files/ in it).")
    records = ResultsFolder(root).records()
    flagged: list[FlaggedExcerpt] = []
    for number, record in enumerate(records.values()):
        if on_file:
            on_file(number, len(records))
        if record.status != "done" or not record.report:
            continue
        for index, finding in enumerate(read_report(root / record.report)):
            if not finding.get("flagged"):
                continue
            flagged.append(
                FlaggedExcerpt(
                    digest=record.digest,
                    path=record.path,
                    index=index,
                    player=record.player or str(finding.get("speaker") or ""),
                    match=record.match,
                    ticket=record.ticket,
                    speaker=str(finding.get("speaker") or ""),
                    start=float(finding.get("start") or 0.0),
                    end=float(finding.get("end") or 0.0),
                    text=str(finding.get("text") or ""),
                    label=str(finding.get("label") or ""),
                    score=float(finding.get("score") or 0.0),
                )
            )
    return BatchResults(root, records, flagged)


def read_report(path: Path) -> list[dict]:
    """The findings of a scan JSON report; an unreadable report gives none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    findings = data.get("findings") if isinstance(data, dict) else None
    return [f for f in findings or [] if isinstance(f, dict)]


def player_summary(
    records: Iterable[FileRecord], flagged: Iterable[FlaggedExcerpt]
) -> list[PlayerSummary]:
    """Per player (the manifest's player, else the speaker): files, audio, flagged by category.

    Most flagged first."""
    files: Counter[str] = Counter()
    audio: Counter[str] = Counter()
    excerpts: Counter[str] = Counter()
    for record in records:
        if record.status != "done":
            continue
        name = record.player or Path(record.path).stem
        files[name] += 1
        audio[name] += record.duration
        excerpts[name] += record.excerpts
    categories: dict[str, Counter[str]] = {}
    for excerpt in flagged:
        categories.setdefault(excerpt.player, Counter())[excerpt.label] += 1
    names = set(files) | set(categories)
    out = [
        PlayerSummary(
            player=name,
            files=files[name],
            audio_seconds=audio[name],
            excerpts=excerpts[name],
            flagged=sum(categories.get(name, Counter()).values()),
            categories=dict(categories.get(name, Counter())),
        )
        for name in names
    ]
    return sorted(out, key=lambda p: (-p.flagged, p.player))


def findings_of(path: Path) -> list[tuple[object, object]]:
    """(Excerpt, Verdict) pairs of a scan JSON report, in its order, to keep in the store."""
    from models.classifier import Verdict
    from models.excerpts import Excerpt
    from models.wordlists import ListedVerdict

    out = []
    for finding in read_report(path):
        text = str(finding.get("text") or "")
        excerpt = Excerpt(
            text,
            0,
            len(text),
            finding.get("speaker") or None,
            finding.get("start"),
            finding.get("end"),
        )
        verdict = Verdict(
            str(finding.get("label") or ""),
            bool(finding.get("flagged")),
            float(finding.get("score") or 0.0),
            {k: float(v) for k, v in (finding.get("scores") or {}).items()},
            language=finding.get("language") or None,
            method=finding.get("method") or None,  # None: a report from before it was written
        )
        if finding.get("entry"):  # a word list decided it: the store keeps which entry
            verdict = ListedVerdict(**vars(verdict) | {"entry": str(finding["entry"])})
        out.append((excerpt, verdict))
    return out


def excerpt_id_for(store, session_id: int, index: int) -> int | None:
    """The stored id of the index-th finding of a batch session's report."""
    stored = store.excerpts(session_id)
    return stored[index].id if 0 <= index < len(stored) else None


def session_for(store, root: str | os.PathLike[str], record: FileRecord) -> int:
    """The store session of a batch recording: made on first use from its report (one track,
    the recording; its excerpts in report order), reused afterwards, so decisions are kept."""
    path = str(record.path)
    title = f"Batch: {Path(path).name}"
    for track in store.tracks_with_path(path):
        session = store.session(track.session_id)
        if session is not None and session.title == title:
            return session.id
    pairs = findings_of(Path(root) / record.report)
    session = store.create_session("files", title)
    track = store.add_track(session.id, path)
    store.finish_track(
        track.id, [e for e, _ in pairs], [v for _, v in pairs], duration=record.duration or None
    )
    return session.id
