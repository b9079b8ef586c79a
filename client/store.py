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
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from models.errors import ModlensError
from models.excerpts import Excerpt
from models.taxonomy import DEFAULT_CATEGORIES, NON_TOXIC

DB_NAME = "modlens.sqlite3"
DATA_DIR_ENV = "MODLENS_DATA_DIR"

SESSION_KINDS = ("files", "live", "text")
TRACK_STATUSES = ("queued", "scanning", "done", "failed")
# confirm: the model was right; dismiss: a false positive; relabel: toxic, but another category;
# missed: the model passed it (not flagged) and the moderator flags it, with a category
ACTIONS = ("confirm", "dismiss", "relabel", "missed")
CRASH_LIMIT = 2  # scans of one file that ended with the process gone before it is not retried
STALE_SECONDS = 300.0  # a scan owner whose heartbeat is older than this is taken to be dead
_HOST = socket.gethostname()
_INSTANCE = uuid.uuid4().hex  # this process, as an owner of scans (a pid can be reused)

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
    # v3: who is scanning a track (so a scan running elsewhere is never offered as unfinished),
    # how many scans were started (a file that crashes the process is not retried forever), and
    # a guard: an excerpt that carries a decision is never deleted along the way
    """
    ALTER TABLE tracks ADD COLUMN owner_pid INTEGER;
    ALTER TABLE tracks ADD COLUMN owner_host TEXT;
    ALTER TABLE tracks ADD COLUMN owner_token TEXT;
    ALTER TABLE tracks ADD COLUMN heartbeat REAL;
    ALTER TABLE tracks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER excerpts_keep_decided BEFORE DELETE ON excerpts
    WHEN EXISTS (SELECT 1 FROM decisions WHERE excerpt_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'an excerpt with a moderator decision is never deleted');
    END;
    """,
    # v4: voice trust. The language a session is scanned in (NULL: detected), the language each
    # track was heard in, and the stretches of speech a scan heard but could not put into words
    """
    ALTER TABLE sessions ADD COLUMN language TEXT;
    ALTER TABLE tracks ADD COLUMN language TEXT;
    CREATE TABLE untranscribed (
        id INTEGER PRIMARY KEY,
        track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        speaker TEXT NOT NULL DEFAULT '',
        start REAL NOT NULL,
        end_time REAL NOT NULL
    );
    CREATE INDEX untranscribed_track ON untranscribed(track_id, start);
    """,
    # v5: how each verdict was reached ("model", "word list", "not checked"; NULL: before this
    # was kept), the excerpt's language, and the word list entry that decided it
    """
    ALTER TABLE excerpts ADD COLUMN method TEXT;
    ALTER TABLE excerpts ADD COLUMN language TEXT;
    ALTER TABLE excerpts ADD COLUMN entry TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(ModlensError, RuntimeError):
    """A database that cannot be opened or written; the message is meant for the moderator."""


class DatabaseInUse(StoreError):
    """Another modlens holds the database: two windows on one database undo each other's work."""


@dataclass(frozen=True)
class Session:
    id: int
    kind: str
    title: str
    created: float
    source_text: str | None = None
    language: str | None = None  # the language its files are scanned in; None: detected


@dataclass(frozen=True)
class Track:
    id: int
    session_id: int
    path: str
    status: str
    progress: float = 0.0
    duration: float | None = None
    error: str | None = None
    attempts: int = 0  # scans started; one that never ended means the process died in it
    owner_pid: int | None = None  # the process scanning it now (None when nobody is)
    owner_host: str | None = None
    language: str | None = None  # heard in its last scan ("en", or "de, en (mixed)")


_TRACK_COLUMNS = (
    "t.id, t.session_id, t.path, t.status, t.progress, t.duration, t.error, t.attempts, "
    "t.owner_pid, t.owner_host, t.language"
)
_SESSION_COLUMNS = "id, kind, title, created, source_text, language"


@dataclass(frozen=True)
class UntranscribedSpeech:
    """A stretch of a track where speech was heard but no words came out: never classified, so
    never counted as harmless; the moderator has to listen to it."""

    id: int
    track_id: int
    speaker: str
    start: float
    end: float


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
    # how the verdict was reached (models.classifier.METHODS; None: kept before this was), the
    # excerpt's language (ISO 639-1) and the word list entry that decided it ("block: camper")
    method: str | None = None
    language: str | None = None
    entry: str | None = None

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


class DatabaseLock:
    """One modlens per database: an advisory lock on `<database>.lock` beside it.

    The operating system drops the lock when its process ends, however it ends, so a lock left
    by a crashed or killed modlens is simply taken over. The file says which process holds it.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        db_path = Path(db_path)
        self.path = db_path.with_name(db_path.name + ".lock")
        self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock or raise DatabaseInUse naming the process that has it."""
        if self._file is not None:
            return
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while open
        try:
            _lock_file(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DatabaseInUse(
                f"modlens is already open on this database ({holder}). Use that window, or "
                "close it first: two windows on one database would undo each other's work."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {_HOST}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
            handle.close()  # closing drops the lock


def _lock_file(handle) -> None:
    """Lock an open file without waiting; OSError when another process has it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


def close_thread_connections() -> None:
    """Close this thread's connections to every open store: for a pooled thread (Qt's thread
    pool) at the end of a task, since the pool may end the thread without Python noticing."""
    for store in list(_STORES):
        store.close_thread_connection()


class Store:
    """Data access for sessions, tracks, excerpts and decisions. Safe to call from any thread:
    each thread gets its own SQLite connection (WAL lets them read while another writes).

    exclusive=True (the desktop app) also takes the DatabaseLock, so a second app on the same
    database is refused with DatabaseInUse instead of rescanning and deleting the first's work.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, exclusive: bool = False) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        self._labels: Callable[[], Iterable[str]] = lambda: DEFAULT_CATEGORIES
        self.instance_lock = DatabaseLock(self.path) if exclusive else None
        _STORES.add(self)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.instance_lock is not None:
                self.instance_lock.acquire()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"The database {self.path} cannot be opened: {exc}.") from exc
        except OSError as exc:
            self.close()
            raise StoreError(f"The data folder {self.path.parent} cannot be used: {exc}.") from exc
        except StoreError:
            self.close()
            raise

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is not None:
            return db
        if self._closed:
            raise StoreError(f"The database {self.path} is closed.")
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"The database {self.path} cannot be opened: {exc}.") from exc
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA busy_timeout = 5000")
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"The database {self.path} cannot be opened: {exc}.") from exc
        with self._connections_lock:
            # connections of threads that have ended are closed here (nobody else uses them)
            alive = []
            for thread, other in self._connections:
                if thread.is_alive():
                    alive.append((thread, other))
                else:
                    other.close()
            self._connections = [*alive, (threading.current_thread(), db)]
        self._local.db = db
        return db

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

    def transaction(self) -> _Transaction:
        """Group several writes of this thread into one: all of them are kept, or none."""
        return self._transaction()

    def close_thread_connection(self) -> None:
        """Close this thread's connection (the next call on this thread opens a new one)."""
        db = getattr(self._local, "db", None)
        if db is None:
            return
        self._local.db = None
        with self._connections_lock:
            self._connections = [(t, c) for t, c in self._connections if c is not db]
        db.close()

    def close(self) -> None:
        """Close every thread's connection and release the instance lock; safe to repeat."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for _thread, db in connections:
            db.close()
        self._local = threading.local()
        if self.instance_lock is not None:
            self.instance_lock.release()

    # --- labels -----------------------------------------------------------------------------

    def set_labels(self, labels: Iterable[str] | Callable[[], Iterable[str]]) -> None:
        """The labels a decision may name: the model's taxonomy plus the studio's categories.

        A callable is asked at each decision, so settings changed meanwhile count.
        """
        if callable(labels):
            self._labels = labels
        else:
            fixed = tuple(labels)
            self._labels = lambda: fixed

    @property
    def labels(self) -> tuple[str, ...]:
        known = [NON_TOXIC, *self._labels()]
        return tuple(dict.fromkeys(known))

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
        query = f"SELECT {_SESSION_COLUMNS} FROM sessions"
        args: tuple = ()
        if kind:
            query += " WHERE kind = ?"
            args = (kind,)
        rows = self._db.execute(query + " ORDER BY created DESC, id DESC", args).fetchall()
        return [Session(*row) for row in rows]

    def session(self, session_id: int) -> Session | None:
        row = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?",
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
        rows = self._db.execute(
            f"SELECT {_TRACK_COLUMNS} FROM tracks t WHERE t.session_id = ? ORDER BY t.id",
            (session_id,),
        ).fetchall()
        return [Track(*row) for row in rows]

    def track(self, track_id: int) -> Track | None:
        row = self._db.execute(
            f"SELECT {_TRACK_COLUMNS} FROM tracks t WHERE t.id = ?", (track_id,)
        ).fetchone()
        return Track(*row) if row else None

    def unfinished_tracks(self) -> list[Track]:
        """Recordings queued or mid-scan when the app last stopped: offered again on start-up.

        A track another live modlens (or this one) is scanning is not unfinished: offering it
        would scan it twice and drop the other's excerpts. Live captures are not among them
        either: see close_interrupted_live().
        """
        rows = self._db.execute(
            f"SELECT {_TRACK_COLUMNS}, t.owner_token, t.heartbeat "
            "FROM tracks t JOIN sessions s ON s.id = t.session_id "
            "WHERE t.status IN ('queued', 'scanning') AND s.kind != 'live' ORDER BY t.id"
        ).fetchall()
        return [Track(*row[:-2]) for row in rows if not _owner_alive(_track_owner(row))]

    def claim_track(self, track_id: int) -> Track:
        """Mark a track as being scanned by this process, and count the attempt, before the
        scan starts: if the process dies in it, the next start knows (see crashed_scans)."""
        with self._transaction() as db:
            if _not_owned_elsewhere(db, track_id) is None:
                raise StoreError(f"track {track_id} is not in the database")
            db.execute(
                "UPDATE tracks SET status = 'scanning', progress = 0, error = NULL, "
                "finished = NULL, attempts = attempts + 1, owner_pid = ?, owner_host = ?, "
                "owner_token = ?, heartbeat = ? WHERE id = ?",
                (os.getpid(), _HOST, _INSTANCE, time.time(), track_id),
            )
        return self.track(track_id)

    def heartbeat(self, track_id: int, progress: float | None = None) -> None:
        """This process is still scanning the track (and how far it is)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE tracks SET heartbeat = ?, progress = COALESCE(?, progress) "
                "WHERE id = ? AND owner_token = ?",
                (time.time(), progress, track_id, _INSTANCE),
            )

    def release_track(self, track_id: int) -> None:
        """A scan this process stopped on purpose (closing, cancelled): queued again, and the
        attempt does not count as a crash."""
        with self._transaction() as db:
            db.execute(
                "UPDATE tracks SET status = 'queued', attempts = MAX(0, attempts - 1), "
                "owner_pid = NULL, owner_host = NULL, owner_token = NULL, heartbeat = NULL "
                "WHERE id = ? AND owner_token = ? AND status = 'scanning'",
                (track_id, _INSTANCE),
            )

    def crashed_scans(self, limit: int = CRASH_LIMIT) -> list[Track]:
        """Mark failed the files whose scan was started `limit` times and never ended (the
        process died in it each time): offering them again would crash it again. At start-up."""
        crashed: list[Track] = []
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {_TRACK_COLUMNS}, t.owner_token, t.heartbeat "
                "FROM tracks t JOIN sessions s ON s.id = t.session_id "
                "WHERE t.status = 'scanning' AND s.kind != 'live' AND t.attempts >= ?",
                (limit,),
            ).fetchall()
            for row in rows:
                if _owner_alive(_track_owner(row)):
                    continue
                track = Track(*row[:-2])
                message = f"the scan crashed {track.attempts} times; not retried"
                db.execute(
                    "UPDATE tracks SET status = 'failed', error = ?, finished = ?, "
                    "owner_pid = NULL, owner_host = NULL, owner_token = NULL WHERE id = ?",
                    (message, time.time(), track.id),
                )
                crashed.append(replace(track, status="failed", error=message, owner_pid=None))
        return crashed

    def close_interrupted_live(self) -> list[Track]:
        """Mark live captures cut off by a crash as done: their excerpts (and any decisions on
        them) were saved as they came, and the recording is playable up to the cut. A capture
        another live modlens is still running is left alone."""
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {_TRACK_COLUMNS}, t.owner_token, t.heartbeat "
                "FROM tracks t JOIN sessions s ON s.id = t.session_id "
                "WHERE t.status IN ('queued', 'scanning') AND s.kind = 'live'"
            ).fetchall()
            rows = [row for row in rows if not _owner_alive(_track_owner(row))]
            db.executemany(
                "UPDATE tracks SET status = 'done', error = 'capture was cut short', "
                "finished = ?, owner_pid = NULL, owner_host = NULL, owner_token = NULL "
                "WHERE id = ?",
                [(time.time(), row[0]) for row in rows],
            )
        return [Track(*row[:-2]) for row in rows]

    def set_track_status(
        self,
        track_id: int,
        status: str,
        progress: float | None = None,
        error: str | None = None,
        duration: float | None = None,
    ) -> None:
        """Set a track's status; 'scanning' makes this process its owner (see claim_track for a
        scan, which also counts the attempt), 'done' and 'failed' end the ownership."""
        if status not in TRACK_STATUSES:
            raise ValueError(f"unknown track status {status!r}")
        finished = time.time() if status in ("done", "failed") else None
        owner = (os.getpid(), _HOST, _INSTANCE, time.time()) if status == "scanning" else None
        with self._transaction() as db:
            db.execute(
                "UPDATE tracks SET status = ?, progress = COALESCE(?, progress), error = ?, "
                "duration = COALESCE(?, duration), finished = ?, owner_pid = ?, owner_host = ?, "
                "owner_token = ?, heartbeat = ? WHERE id = ?",
                (status, progress, error, duration, finished, *(owner or (None,) * 4), track_id),
            )

    def rescan_track(self, track_id: int) -> None:
        """Queue a scanned track again (another language, say), keeping its excerpts until the
        new scan replaces them: finish_track keeps every decided one, so nothing is refused.
        StoreError when another live modlens is scanning it."""
        with self._transaction() as db:
            if _not_owned_elsewhere(db, track_id) is None:
                raise StoreError(f"track {track_id} is not in the database")
            _requeue(db, track_id)

    def restart_track(self, track_id: int) -> None:
        """Queue a track again from the start, dropping any excerpts a cut-off scan left.

        Refused when a moderator has decided on one of them (decisions are never dropped), and
        when another live modlens is scanning it.
        """
        with self._transaction() as db:
            _not_owned_elsewhere(db, track_id)
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
            _requeue(db, track_id)

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
                    getattr(verdict, "method", None) or None,
                    getattr(verdict, "language", None) or None,
                    getattr(verdict, "entry", None) or None,
                )
                cursor = db.execute(
                    "INSERT INTO excerpts (session_id, track_id, position, text, start_char, "
                    "end_char, speaker, time, end_time, label, toxic, score, scores, method, "
                    "language, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                        row.method,
                        row.language,
                        row.entry,
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
        untranscribed: Sequence[tuple[str, float, float]] = (),
        language: str | None = None,
    ) -> list[StoredExcerpt]:
        """A scanned file's excerpts and its 'done' status, written together or not at all;
        with them the stretches of speech it left without words ((speaker, start, end), which
        replace the last scan's) and the language it was heard in.

        Excerpts an earlier scan of the track left are replaced, except those a moderator has
        decided on: they stay with their decisions, and the new scan's excerpt at the same place
        with the same text is not added twice. A decision is never lost to a rescan.
        """
        if len(excerpts) != len(verdicts):
            raise ValueError(f"{len(excerpts)} excerpts but {len(verdicts)} verdicts")
        track = self.track(track_id)
        if track is None:
            raise StoreError(f"track {track_id} is not in the database")
        with self._transaction() as db:
            db.execute(
                "DELETE FROM excerpts WHERE track_id = ? AND id NOT IN "
                "(SELECT excerpt_id FROM decisions)",
                (track_id,),
            )
            kept = {
                _same_place(text, speaker, start)
                for text, speaker, start in db.execute(
                    "SELECT text, speaker, time FROM excerpts WHERE track_id = ?", (track_id,)
                )
            }
            new = [
                (e, v)
                for e, v in zip(excerpts, verdicts, strict=True)
                if _same_place(e.text, e.speaker, e.time) not in kept
            ]
            self.add_excerpts(track.session_id, [e for e, _ in new], [v for _, v in new], track_id)
            db.execute("DELETE FROM untranscribed WHERE track_id = ?", (track_id,))
            db.executemany(
                "INSERT INTO untranscribed (track_id, speaker, start, end_time) "
                "VALUES (?, ?, ?, ?)",
                [(track_id, speaker or "", float(a), float(b)) for speaker, a, b in untranscribed],
            )
            db.execute(
                "UPDATE tracks SET status = 'done', progress = 1, error = NULL, "
                "duration = COALESCE(?, duration), finished = ?, owner_pid = NULL, "
                "owner_host = NULL, owner_token = NULL, language = ? WHERE id = ?",
                (duration, time.time(), language or None, track_id),
            )
        return [e for e in self.excerpts(track.session_id) if e.track_id == track_id]

    def untranscribed(self, session_id: int) -> list[UntranscribedSpeech]:
        """The session's stretches of speech without words, in time order."""
        rows = self._db.execute(
            "SELECT u.id, u.track_id, u.speaker, u.start, u.end_time FROM untranscribed u "
            "JOIN tracks t ON t.id = u.track_id WHERE t.session_id = ? "
            "ORDER BY u.start, u.track_id, u.id",
            (session_id,),
        ).fetchall()
        return [UntranscribedSpeech(*row) for row in rows]

    def set_session_language(self, session_id: int, language: str | None) -> None:
        """The language the session's files are scanned in from now on; None: detect it."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sessions SET language = ? WHERE id = ?", (language or None, session_id)
            )

    def session_language(self, session_id: int) -> str | None:
        row = self._db.execute(
            "SELECT language FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return row[0] if row else None

    def excerpts(self, session_id: int) -> list[StoredExcerpt]:
        rows = self._db.execute(
            "SELECT id, session_id, track_id, position, text, start_char, end_char, speaker, "
            "time, end_time, label, toxic, score, scores, method, language, entry FROM excerpts "
            "WHERE session_id = ? ORDER BY track_id, position",
            (session_id,),
        ).fetchall()
        return [_excerpt(row) for row in rows]

    def excerpt(self, excerpt_id: int) -> StoredExcerpt | None:
        row = self._db.execute(
            "SELECT id, session_id, track_id, position, text, start_char, end_char, speaker, "
            "time, end_time, label, toxic, score, scores, method, language, entry FROM excerpts "
            "WHERE id = ?",
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
        """Record a moderator's decision; the latest one not undone is the excerpt's decision.

        confirm keeps the model's label; dismiss records non_toxic (a false positive); relabel
        and missed need a label from self.labels (the taxonomy and the studio's categories).
        missed is for an excerpt the model passed: the moderator flags it with a category.
        An unknown label is refused with StoreError.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        excerpt = self.excerpt(excerpt_id)
        if excerpt is None:
            raise StoreError(f"excerpt {excerpt_id} is not in the database")
        if action == "confirm":
            label = label or excerpt.label
            if label != excerpt.label:
                self._check_label(label)
        elif action == "dismiss":
            label = NON_TOXIC
        elif not label:
            raise StoreError(f"A {action} decision needs a category.")
        else:
            self._check_label(label)
            if action == "missed":
                if label == NON_TOXIC:
                    raise StoreError("A missed excerpt needs a toxic category.")
                if excerpt.toxic:
                    raise StoreError(
                        "The model flagged this excerpt already: confirm or relabel it instead."
                    )
        created = time.time()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO decisions (excerpt_id, action, label, note, moderator, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (excerpt_id, action, label, note, moderator, created),
            )
        return Decision(cursor.lastrowid, excerpt_id, action, label, note, moderator, created)

    def _check_label(self, label: str) -> None:
        known = self.labels
        if label not in known:
            raise StoreError(
                f"{label!r} is not a category here; known: {', '.join(known)}. "
                "Studio categories are added in Settings."
            )

    def undo(self, decision_id: int) -> None:
        """Mark a decision undone; the row stays so the history shows what happened."""
        with self._transaction() as db:
            db.execute(
                "UPDATE decisions SET undone = ? WHERE id = ? AND undone IS NULL",
                (time.time(), decision_id),
            )

    def history(self, excerpt_id: int) -> list[Decision]:
        rows = self._db.execute(
            "SELECT id, excerpt_id, action, label, note, moderator, created, undone "
            "FROM decisions WHERE excerpt_id = ? ORDER BY id",
            (excerpt_id,),
        ).fetchall()
        return [Decision(*row) for row in rows]

    def current_decisions(
        self, session_id: int | None = None, action: str | None = None
    ) -> dict[int, Decision]:
        """excerpt id -> its latest decision not undone, for a session or for all sessions;
        with action (e.g. "missed"), only the excerpts whose current decision is that."""
        query = (
            "SELECT d.id, d.excerpt_id, d.action, d.label, d.note, d.moderator, d.created, "
            "d.undone FROM decisions d JOIN excerpts e ON e.id = d.excerpt_id "
            "WHERE d.undone IS NULL"
        )
        args: tuple = ()
        if session_id is not None:
            query += " AND e.session_id = ?"
            args = (session_id,)
        rows = self._db.execute(query + " ORDER BY d.id", args).fetchall()
        current = {row[1]: Decision(*row) for row in rows}
        if action is not None:
            current = {k: d for k, d in current.items() if d.action == action}
        return current

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

        CSV cells that a spreadsheet would run as a formula (= + - @ tab CR) get a leading
        quote (client.reports.spreadsheet_cell; the `labeled` training reader takes it off).
        Written to a temporary file and renamed; on any failure the temporary file is removed
        and nothing is left behind.
        """
        import io

        from client.reports import atomic_write_text, spreadsheet_cell

        path = Path(path)
        rows = self.training_rows()
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            text = "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows)
        else:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["text", "label"])
            writer.writerows((spreadsheet_cell(t), spreadsheet_cell(label)) for t, label in rows)
            text = out.getvalue()
        try:
            atomic_write_text(path, text)
        except (OSError, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StoreError(f"{path} cannot be written: {reason}.") from exc
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
        """Delete a session with its tracks, excerpts and decisions; the audio files stay.

        The moderator's own choice: its decisions are deleted first, on purpose (an excerpt
        with a decision is never deleted by a cascade; see the excerpts_keep_decided trigger).
        """
        with self._transaction() as db:
            db.execute(
                "DELETE FROM decisions WHERE excerpt_id IN "
                "(SELECT id FROM excerpts WHERE session_id = ?)",
                (session_id,),
            )
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def discard_session(self, session_id: int) -> bool:
        """Delete a session nothing was kept in (a live start that failed): no excerpts. False
        (and nothing deleted) when it has any."""
        with self._transaction() as db:
            if db.execute(
                "SELECT 1 FROM excerpts WHERE session_id = ? LIMIT 1", (session_id,)
            ).fetchone():
                return False
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        return True

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


def _requeue(db: sqlite3.Connection, track_id: int) -> None:
    """The track back in the queue, unclaimed, as if never scanned."""
    db.execute(
        "UPDATE tracks SET status = 'queued', progress = 0, error = NULL, finished = NULL, "
        "owner_pid = NULL, owner_host = NULL, owner_token = NULL, heartbeat = NULL "
        "WHERE id = ?",
        (track_id,),
    )


def _not_owned_elsewhere(db: sqlite3.Connection, track_id: int) -> Sequence | None:
    """The track's owner columns (None when there is no such track); StoreError when another
    live modlens is scanning it."""
    owner = db.execute(
        "SELECT owner_pid, owner_host, owner_token, heartbeat FROM tracks WHERE id = ?",
        (track_id,),
    ).fetchone()
    if owner is not None and owner[2] != _INSTANCE and _owner_alive(owner):
        raise StoreError(
            f"This recording is being scanned by another modlens ({_owner_name(owner)})."
        )
    return owner


def _owner_alive(owner: Sequence) -> bool:
    """Whether the process that claimed a track (pid, host, token, heartbeat) still runs."""
    pid, host, token, beat = owner
    if pid is None:
        return False
    if token == _INSTANCE:
        return True
    if beat is None or time.time() - beat > STALE_SECONDS:
        return False
    if host != _HOST:
        return True  # a fresh heartbeat from another machine (a shared folder)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as someone else
        return True
    return True


def _track_owner(row: Sequence) -> tuple:
    """(owner_pid, owner_host, owner_token, heartbeat) of a row of _TRACK_COLUMNS followed by
    t.owner_token, t.heartbeat."""
    return (row[8], row[9], row[-2], row[-1])


def _owner_name(owner: Sequence) -> str:
    return f"process {owner[0]} on {owner[1]}"


def _write_failed(exc: BaseException) -> str:
    """What a moderator sees when the database refuses a write (locked, disk full, read-only)."""
    return f"The database could not be written ({exc}); nothing was changed. Try again."


def _same_place(text: str, speaker: str | None, start: float | None) -> tuple:
    """What makes two scans' excerpts the same one: text, speaker and start to 0.1 s."""
    return (text.strip(), speaker, None if start is None else round(start, 1))


def _excerpt(row: Sequence) -> StoredExcerpt:
    (id_, session_id, track_id, position, text, start, end, speaker, time_, end_time) = row[:10]
    label, toxic, score, scores, method, language, entry = row[10:]
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
        method,
        language,
        entry,
    )


def _statements(script: str) -> Iterable[str]:
    """The complete SQL statements of a script (a trigger's body keeps its semicolons)."""
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    return out
