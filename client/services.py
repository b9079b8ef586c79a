"""The one way the window writes to the store.

Views (the Live, Sessions and Text screens, the review pane) and the workers call a
:class:`StoreService` for every write; no widget calls a ``Store`` write method itself. Each
method is one moderator action, written in one transaction, and refusals arrive as
``StoreError`` (a ``ModlensError``) with a message for the window.

Threads: the store gives every thread its own SQLite connection, so a worker thread (the scan
queue, live capture, an export on the thread pool) may call the service too; the GUI thread
never waits on a connection another thread is using.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from client.store import Decision, Session, Store, StoredExcerpt, StoreError, Track
from models.excerpts import Excerpt

FORGOTTEN = "not finished; skipped"


@dataclass(frozen=True)
class Recovery:
    """What start-up found after a crash or a kill."""

    cut_short: tuple[Track, ...]  # live captures cut off: kept as they are, marked done
    crashed: tuple[Track, ...]  # files whose scan crashed the app again and again: failed
    unfinished: tuple[Track, ...]  # files to offer again (nobody alive is scanning them)


class StoreService:
    """Moderator actions over a Store; safe on any thread (each has its own connection)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- sessions ---------------------------------------------------------------------------

    def open_files(self, paths: Sequence[str | os.PathLike[str]], title: str) -> list[Track]:
        """One 'files' session with a queued track per file; all of it or nothing."""
        with self.store.transaction():
            session = self.store.create_session("files", title)
            return [self.store.add_track(session.id, path) for path in paths]

    def create_session(self, kind: str, title: str, source_text: str | None = None) -> Session:
        return self.store.create_session(kind, title, source_text)

    def rename_session(self, session_id: int, title: str) -> None:
        self.store.rename_session(session_id, title)

    def delete_session(self, session_id: int) -> None:
        self.store.delete_session(session_id)

    def save_text_check(
        self, title: str, text: str, excerpts: Sequence[Excerpt], verdicts: Sequence
    ) -> list[StoredExcerpt]:
        """A checked chat: its session (with the text, to reopen it) and excerpts, together."""
        with self.store.transaction():
            session = self.store.create_session("text", title, source_text=text)
            return self.store.add_excerpts(session.id, excerpts, verdicts)

    # --- decisions --------------------------------------------------------------------------

    def decide(
        self,
        excerpt_id: int,
        action: str,
        label: str | None = None,
        note: str = "",
        moderator: str = "",
    ) -> Decision:
        """confirm, dismiss, relabel (label) or missed (label); see Store.decide."""
        return self.store.decide(excerpt_id, action, label, note, moderator)

    def undo(self, decision_id: int) -> None:
        self.store.undo(decision_id)

    def export_training(self, path: str | os.PathLike[str]) -> int:
        return self.store.export_training(path)

    # --- start-up and unfinished files ------------------------------------------------------

    def recover(self) -> Recovery:
        """After a crash: close cut-off live captures, fail files that crashed the scan
        CRASH_LIMIT times (never offered again), and list the rest of the unfinished files."""
        cut_short = self.close_cut_short_live()
        crashed = self.fail_crash_loops()
        return Recovery(tuple(cut_short), tuple(crashed), tuple(self.store.unfinished_tracks()))

    def close_cut_short_live(self) -> list[Track]:
        """Live captures a crash cut off (their owner is gone): done, with what was heard."""
        return self.store.close_interrupted_live()

    def fail_crash_loops(self) -> list[Track]:
        """Files whose scan took the app down CRASH_LIMIT times: failed, with the reason, so
        they are never offered (and crash it) again. Call before offering unfinished files."""
        return self.store.crashed_scans()

    def resume(self, track_id: int) -> Track:
        """Queue an unfinished file again; StoreError when that would lose decisions or when
        another live modlens is scanning it (then nothing changes)."""
        self.store.restart_track(track_id)
        track = self.store.track(track_id)
        if track is None:
            raise StoreError(f"track {track_id} is not in the database")
        return track

    def keep_as_is(self, track_id: int, reason: str) -> None:
        """An unfinished file that cannot be rescanned: done with what it has, and why."""
        self.store.set_track_status(track_id, "done", error=reason)

    def forget(self, track_id: int) -> None:
        self.store.set_track_status(track_id, "failed", error=FORGOTTEN)

    def cancel_track(self, track_id: int, reason: str = "cancelled") -> bool:
        return self.store.cancel_track(track_id, reason)

    # --- the scan queue (its own thread) -----------------------------------------------------

    def claim_scan(self, track_id: int) -> Track:
        return self.store.claim_track(track_id)

    def scan_alive(self, track_id: int, progress: float | None = None) -> None:
        self.store.heartbeat(track_id, progress)

    def scan_done(
        self,
        track_id: int,
        excerpts: Sequence[Excerpt],
        verdicts: Sequence,
        duration: float | None,
        untranscribed: Sequence[tuple[str, float, float]] = (),
        language: str | None = None,
    ) -> list[StoredExcerpt]:
        return self.store.finish_track(
            track_id, excerpts, verdicts, duration, untranscribed, language
        )

    def scan_language(self, track_id: int) -> str | None:
        """The language the moderator set for the track's session; None: detect it."""
        track = self.store.track(track_id)
        return self.store.session_language(track.session_id) if track is not None else None

    def set_session_language(self, session_id: int, language: str | None) -> list[Track]:
        """Scan the session's files in language from now on (None: detect it) and queue its
        scanned files again; returns the tracks to scan. Decided excerpts stay (finish_track)."""
        self.store.set_session_language(session_id, language)
        again = []
        for track in self.store.tracks(session_id):
            if track.status in ("done", "failed"):
                self.store.rescan_track(track.id)
                again.append(self.store.track(track.id) or track)
        return again

    def scan_failed(self, track_id: int, message: str) -> None:
        self.store.set_track_status(track_id, "failed", error=message)

    def scan_stopped(self, track_id: int) -> None:
        """Stopped on purpose (closing, cancelling): queued again, not counted as a crash."""
        self.store.release_track(track_id)

    # --- live capture -------------------------------------------------------------------------

    def start_live(self, title: str, folder: Path) -> tuple[Session, Track, Path]:
        """A live session and its track; the recording goes to a new file in folder."""
        with self.store.transaction():
            session = self.store.create_session("live", title)
            recording = folder / f"live-{time.strftime('%Y%m%d-%H%M%S')}-{session.id}.wav"
            track = self.store.add_track(session.id, recording)
            self.store.set_track_status(track.id, "scanning")
        return session, track, recording

    def live_alive(self, track_id: int) -> None:
        self.store.heartbeat(track_id)

    def live_heard(
        self, session_id: int, track_id: int, excerpts: Sequence[Excerpt], verdicts: Sequence
    ) -> list[StoredExcerpt]:
        return self.store.add_excerpts(session_id, excerpts, verdicts, track_id)

    def live_stopped(self, track_id: int, seconds: float, error: str | None = None) -> None:
        self.store.set_track_status(track_id, "done", progress=1.0, error=error, duration=seconds)

    def live_failed_to_start(self, session_id: int) -> bool:
        """A capture that never started leaves nothing behind: its empty session is deleted.
        False when something was kept in it after all (then it stays, as a failed track)."""
        return self.store.discard_session(session_id)
