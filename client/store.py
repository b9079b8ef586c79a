"""Everything a moderator does, kept in one SQLite database in the user's data folder.

Sessions hold tracks (audio files, a live capture or pasted text) and their classified excerpts;
decisions on excerpts are appended, never overwritten, so an undo is one more row and nothing a
moderator decided is lost. Every write commits at once (WAL, synchronous=FULL), so closing or
killing the app keeps every finished file and every decision. A schema version with migrations
lets later releases open older databases.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from models.errors import ModlensError
from models.excerpts import Excerpt
from models.taxonomy import NON_TOXIC

DB_NAME = "modlens.sqlite3"
DATA_DIR_ENV = "MODLENS_DATA_DIR"

SESSION_KINDS = ("files", "live", "text")
TRACK_STATUSES = ("queued", "scanning", "done", "failed")
ACTIONS = ("confirm", "dismiss", "relabel")

# Each entry moves the schema from version i to i + 1; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE tracks (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued',
        progress REAL NOT NULL DEFAULT 0,
        duration REAL,
        error TEXT,
        added REAL NOT NULL,
        finished REAL
    );
    CREATE TABLE excerpts (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        track_id INTEGER REFERENCES tracks(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        start_char INTEGER NOT NULL DEFAULT 0,
        end_char INTEGER NOT NULL DEFAULT 0,
        speaker TEXT,
        time REAL,
        end_time REAL,
        label TEXT NOT NULL,
        toxic INTEGER NOT NULL,
        score REAL NOT NULL,
        scores TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX excerpts_session ON excerpts(session_id, position);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        excerpt_id INTEGER NOT NULL REFERENCES excerpts(id) ON DELETE CASCADE,
        action TEXT NOT NULL,
        label TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        moderator TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        undone REAL
    );
    CREATE INDEX decisions_excerpt ON decisions(excerpt_id);
    """,
    # v2: the text a session was made from (pasted chat), so a text review can be reopened
    "ALTER TABLE sessions ADD COLUMN source_text TEXT;",
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(ModlensError, RuntimeError):
    """A database that cannot be opened or written; the message is meant for the moderator."""


@dataclass(frozen=True)
class Session:
    id: int
    kind: str
    title: str
    created: float
    source_text: str | None = None


@dataclass(frozen=True)
class Track:
    id: int
    session_id: int
    path: str
    status: str
    progress: float = 0.0
    duration: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class StoredExcerpt:
    """A classified excerpt as kept: the text and where it came from, and the model's verdict."""

    id: int
    session_id: int
    track_id: int | None
    position: int
    text: str
    start: int
    end: int
    speaker: str | None
    time: float | None
    end_time: float | None
    label: str
    toxic: bool
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    def as_excerpt(self) -> Excerpt:
        return Excerpt(self.text, self.start, self.end, self.speaker, self.time, self.end_time)


@dataclass(frozen=True)
class Decision:
    id: int
    excerpt_id: int
    action: str  # confirm | dismiss | relabel
    label: str  # the label the moderator settled on; non_toxic for a dismissed false positive
    note: str
    moderator: str
    created: float
    undone: float | None = None


def default_db_path() -> Path:
    """The database in the user's data folder, or under $MODLENS_DATA_DIR when set."""
    folder = os.environ.get(DATA_DIR_ENV)
    if not folder:
        from platformdirs import user_data_dir

        folder = user_data_dir("modlens", appauthor=False)
    return Path(folder) / DB_NAME


class Store:
    """Data access for sessions, tracks, excerpts and decisions. Safe to call from any thread."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"The database {self.path} cannot be opened: {exc}.") from exc
        except OSError as exc:
            raise StoreError(f"The data folder {self.path.parent} cannot be used: {exc}.") from exc

    # --- schema -----------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The database {self.path} was written by a newer modlens "
                f"(schema {version}; this version reads up to {SCHEMA_VERSION})."
            )
        for number in range(version, SCHEMA_VERSION):
            with self._transaction() as db:
                for statement in _statements(MIGRATIONS[number]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- sessions and tracks ----------------------------------------------------------------

    def create_session(self, kind: str, title: str, source_text: str | None = None) -> Session:
        if kind not in SESSION_KINDS:
            raise ValueError(f"unknown session kind {kind!r}")
        created = time.time()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (kind, title, created, source_text) VALUES (?, ?, ?, ?)",
                (kind, title, created, source_text),
            )
        return Session(cursor.lastrowid, kind, title, created, source_text)

    def sessions(self, kind: str | None = None) -> list[Session]:
        query = "SELECT id, kind, title, created, source_text FROM sessions"
        args: tuple = ()
        if kind:
            query += " WHERE kind = ?"
            args = (kind,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created DESC, id DESC", args).fetchall()
        return [Session(*row) for row in rows]

    def session(self, session_id: int) -> Session | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, kind, title, created, source_text FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
        return Session(*row) if row else None

    def rename_session(self, session_id: int, title: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))

    def add_track(self, session_id: int, path: str | os.PathLike[str]) -> Track:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO tracks (session_id, path, status, added) VALUES (?, ?, 'queued', ?)",
                (session_id, str(path), time.time()),
            )
        return Track(cursor.lastrowid, session_id, str(path), "queued")

    def tracks(self, session_id: int) -> list[Track]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, session_id, path, status, progress, duration, error FROM tracks "
                "WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
        return [Track(*row) for row in rows]

    def track(self, track_id: int) -> Track | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, session_id, path, status, progress, duration, error FROM tracks "
                "WHERE id = ?",
                (track_id,),
            ).fetchone()
        return Track(*row) if row else None

    def unfinished_tracks(self) -> list[Track]:
        """Recordings queued or mid-scan when the app last stopped: offered again on start-up.

        Live captures are not among them: see close_interrupted_live().
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT t.id, t.session_id, t.path, t.status, t.progress, t.duration, t.error "
                "FROM tracks t JOIN sessions s ON s.id = t.session_id "
                "WHERE t.status IN ('queued', 'scanning') AND s.kind != 'live' ORDER BY t.id"
            ).fetchall()
        return [Track(*row) for row in rows]

    def close_interrupted_live(self) -> list[Track]:
        """Mark live captures cut off by a crash as done: their excerpts (and any decisions on
        them) were saved as they came, and the recording is playable up to the cut."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT t.id, t.session_id, t.path, t.status, t.progress, t.duration, t.error "
                "FROM tracks t JOIN sessions s ON s.id = t.session_id "
                "WHERE t.status IN ('queued', 'scanning') AND s.kind = 'live'"
            ).fetchall()
            db.executemany(
                "UPDATE tracks SET status = 'done', error = 'capture was cut short', "
                "finished = ? WHERE id = ?",
                [(time.time(), row[0]) for row in rows],
            )
        return [Track(*row) for row in rows]

    def set_track_status(
        self,
        track_id: int,
        status: str,
        progress: float | None = None,
        error: str | None = None,
        duration: float | None = None,
    ) -> None:
        if status not in TRACK_STATUSES:
            raise ValueError(f"unknown track status {status!r}")
        finished = time.time() if status in ("done", "failed") else None
        with self._transaction() as db:
            db.execute(
                "UPDATE tracks SET status = ?, progress = COALESCE(?, progress), error = ?, "
                "duration = COALESCE(?, duration), finished = ? WHERE id = ?",
                (status, progress, error, duration, finished, track_id),
            )

    def restart_track(self, track_id: int) -> None:
        """Queue a track again from the start, dropping any excerpts a cut-off scan left.

        Refused when a moderator has decided on one of them: decisions are never dropped.
        """
        with self._transaction() as db:
            decided = db.execute(
                "SELECT COUNT(*) FROM decisions d JOIN excerpts e ON e.id = d.excerpt_id "
                "WHERE e.track_id = ?",
                (track_id,),
            ).fetchone()[0]
            if decided:
                raise StoreError(
                    "This recording has decisions on its excerpts; it cannot be scanned again."
                )
            db.execute("DELETE FROM excerpts WHERE track_id = ?", (track_id,))
            db.execute(
                "UPDATE tracks SET status = 'queued', progress = 0, error = NULL, finished = NULL "
                "WHERE id = ?",
                (track_id,),
            )

    # --- excerpts ---------------------------------------------------------------------------

    def add_excerpts(
        self,
        session_id: int,
        excerpts: Sequence[Excerpt],
        verdicts: Sequence,
        track_id: int | None = None,
    ) -> list[StoredExcerpt]:
        """Keep classified excerpts (verdicts are models.classifier.Verdict), in one transaction."""
        if len(excerpts) != len(verdicts):
            raise ValueError(f"{len(excerpts)} excerpts but {len(verdicts)} verdicts")
        out: list[StoredExcerpt] = []
        with self._transaction() as db:
            position = db.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM excerpts WHERE session_id = ?",
                (session_id,),
            ).fetchone()[0]
            for excerpt, verdict in zip(excerpts, verdicts, strict=True):
                row = StoredExcerpt(
                    0,
                    session_id,
                    track_id,
                    position,
                    excerpt.text,
                    excerpt.start,
                    excerpt.end,
                    excerpt.speaker,
                    excerpt.time,
                    excerpt.end_time,
                    verdict.label,
                    bool(verdict.toxic),
                    float(verdict.score),
                    {k: round(float(v), 5) for k, v in verdict.scores.items()},
                )
                cursor = db.execute(
                    "INSERT INTO excerpts (session_id, track_id, position, text, start_char, "
                    "end_char, speaker, time, end_time, label, toxic, score, scores) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.session_id,
                        row.track_id,
                        row.position,
                        row.text,
                        row.start,
                        row.end,
                        row.speaker,
                        row.time,
                        row.end_time,
                        row.label,
                        int(row.toxic),
                        row.score,
                        json.dumps(row.scores),
                    ),
                )
                out.append(replace(row, id=cursor.lastrowid))
                position += 1
        return out

    def finish_track(
        self,
        track_id: int,
        excerpts: Sequence[Excerpt],
        verdicts: Sequence,
        duration: float | None = None,
    ) -> list[StoredExcerpt]:
        """A scanned file's excerpts and its 'done' status, written together or not at all."""
        track = self.track(track_id)
        if track is None:
            raise StoreError(f"track {track_id} is not in the database")
        with self._transaction() as db:
            db.execute("DELETE FROM excerpts WHERE track_id = ?", (track_id,))
            stored = self.add_excerpts(track.session_id, excerpts, verdicts, track_id)
            db.execute(
                "UPDATE tracks SET status = 'done', progress = 1, error = NULL, "
                "duration = COALESCE(?, duration), finished = ? WHERE id = ?",
                (duration, time.time(), track_id),
            )
        return stored

    def excerpts(self, session_id: int) -> list[StoredExcerpt]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, session_id, track_id, position, text, start_char, end_char, speaker, "
                "time, end_time, label, toxic, score, scores FROM excerpts "
                "WHERE session_id = ? ORDER BY track_id, position",
                (session_id,),
            ).fetchall()
        return [_excerpt(row) for row in rows]

    def excerpt(self, excerpt_id: int) -> StoredExcerpt | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, session_id, track_id, position, text, start_char, end_char, speaker, "
                "time, end_time, label, toxic, score, scores FROM excerpts WHERE id = ?",
                (excerpt_id,),
            ).fetchone()
        return _excerpt(row) if row else None

    # --- decisions --------------------------------------------------------------------------

    def decide(
        self,
        excerpt_id: int,
        action: str,
        label: str | None = None,
        note: str = "",
        moderator: str = "",
    ) -> Decision:
        """Record a moderator's decision; the latest one not undone is the excerpt's decision."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        excerpt = self.excerpt(excerpt_id)
        if excerpt is None:
            raise StoreError(f"excerpt {excerpt_id} is not in the database")
        if action == "confirm":
            label = label or excerpt.label
        elif action == "dismiss":
            label = NON_TOXIC
        elif not label:
            raise ValueError("a relabel needs the new label")
        created = time.time()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO decisions (excerpt_id, action, label, note, moderator, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (excerpt_id, action, label, note, moderator, created),
            )
        return Decision(cursor.lastrowid, excerpt_id, action, label, note, moderator, created)

    def undo(self, decision_id: int) -> None:
        """Mark a decision undone; the row stays so the history shows what happened."""
        with self._transaction() as db:
            db.execute(
                "UPDATE decisions SET undone = ? WHERE id = ? AND undone IS NULL",
                (time.time(), decision_id),
            )

    def history(self, excerpt_id: int) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, excerpt_id, action, label, note, moderator, created, undone "
                "FROM decisions WHERE excerpt_id = ? ORDER BY id",
                (excerpt_id,),
            ).fetchall()
        return [Decision(*row) for row in rows]

    def current_decisions(self, session_id: int | None = None) -> dict[int, Decision]:
        """excerpt id -> its latest decision not undone, for a session or for all sessions."""
        query = (
            "SELECT d.id, d.excerpt_id, d.action, d.label, d.note, d.moderator, d.created, "
            "d.undone FROM decisions d JOIN excerpts e ON e.id = d.excerpt_id "
            "WHERE d.undone IS NULL"
        )
        args: tuple = ()
        if session_id is not None:
            query += " AND e.session_id = ?"
            args = (session_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY d.id", args).fetchall()
        return {row[1]: Decision(*row) for row in rows}

    def last_decision(self, session_id: int | None = None) -> Decision | None:
        """The most recent decision not undone: what Undo takes back."""
        decisions = self.current_decisions(session_id)
        return max(decisions.values(), key=lambda d: d.id) if decisions else None

    def training_rows(self) -> list[tuple[str, str]]:
        """(text, label) for every excerpt a moderator decided on, oldest first."""
        decided = self.current_decisions()
        rows: list[tuple[str, str]] = []
        for decision in sorted(decided.values(), key=lambda d: d.id):
            excerpt = self.excerpt(decision.excerpt_id)
            if excerpt is not None:
                rows.append((excerpt.text, decision.label))
        return rows

    def export_training(self, path: str | os.PathLike[str]) -> int:
        """Write decided excerpts as `text,label` CSV, or JSON Lines for a .jsonl path.

        Written to a temporary file and renamed, so a failed export leaves no half file.
        """
        path = Path(path)
        rows = self.training_rows()
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            if path.suffix.lower() in (".jsonl", ".ndjson"):
                for text, label in rows:
                    handle.write(json.dumps({"text": text, "label": label}) + "\n")
            else:
                writer = csv.writer(handle)
                writer.writerow(["text", "label"])
                writer.writerows(rows)
        tmp.replace(path)
        return len(rows)

    # --- the Sessions screen: find, search, delete, cancel (added by the sessions view) ---

    def tracks_with_path(self, path: str | os.PathLike[str]) -> list[Track]:
        """Tracks made from this file (the path as it was added), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, session_id, path, status, progress, duration, error FROM tracks "
                "WHERE path = ? ORDER BY id",
                (str(path),),
            ).fetchall()
        return [Track(*row) for row in rows]

    def search_sessions(self, query: str) -> list[Session]:
        """Sessions whose title, a file name or a player (speaker) name contains query
        (case-insensitive), newest first; every session for an empty query."""
        needle = query.strip().casefold()
        sessions = self.sessions()
        if not needle:
            return sessions
        with self._lock:
            paths = self._db.execute("SELECT session_id, path FROM tracks").fetchall()
            speakers = self._db.execute(
                "SELECT DISTINCT session_id, speaker FROM excerpts WHERE speaker IS NOT NULL"
            ).fetchall()
        words: dict[int, list[str]] = {}
        for session_id, path in paths:
            words.setdefault(session_id, []).append(Path(path).name)
        for session_id, speaker in speakers:
            words.setdefault(session_id, []).append(speaker)
        return [
            s
            for s in sessions
            if needle in s.title.casefold()
            or any(needle in w.casefold() for w in words.get(s.id, ()))
        ]

    def delete_session(self, session_id: int) -> None:
        """Delete a session with its tracks, excerpts and decisions; the audio files stay."""
        with self._transaction() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def cancel_track(self, track_id: int, reason: str = "cancelled") -> bool:
        """Mark a queued or scanning track failed with reason (so it can be retried); False when
        it had already finished."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE tracks SET status = 'failed', error = ?, finished = ? "
                "WHERE id = ? AND status IN ('queued', 'scanning')",
                (reason, time.time(), track_id),
            )
        return cursor.rowcount > 0


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the store's lock; ROLLBACK when the block raises."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock
        self._outer = False

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        self._outer = not self._db.in_transaction
        if self._outer:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self._lock.release()
                raise StoreError(_write_failed(exc)) from exc
        return self._db

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if self._outer:
                try:
                    self._db.execute("ROLLBACK" if kind else "COMMIT")
                except sqlite3.Error as exc:
                    if not kind:
                        with contextlib.suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                        raise StoreError(_write_failed(exc)) from exc
        finally:
            self._lock.release()
        if kind is not None and issubclass(kind, sqlite3.Error) and self._outer:
            raise StoreError(_write_failed(value)) from value


def _write_failed(exc: BaseException) -> str:
    """What a moderator sees when the database refuses a write (locked, disk full, read-only)."""
    return f"The database could not be written ({exc}); nothing was changed. Try again."


def _excerpt(row: Sequence) -> StoredExcerpt:
    (id_, session_id, track_id, position, text, start, end, speaker, time_, end_time) = row[:10]
    label, toxic, score, scores = row[10:]
    return StoredExcerpt(
        id_,
        session_id,
        track_id,
        position,
        text,
        start,
        end,
        speaker,
        time_,
        end_time,
        label,
        bool(toxic),
        score,
        json.loads(scores or "{}"),
    )


def _statements(script: str) -> Iterable[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
