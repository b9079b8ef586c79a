"""The scan queue's claim on a track: kept alive while a long step reports nothing, counted as
an attempt, and given back (not counted) when the app closes mid-scan."""

from __future__ import annotations

import os
import threading
import time

from client import workers
from client.store import Store


def test_a_long_scan_keeps_its_claim_alive_and_closing_gives_it_back(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "HEARTBEAT_SECONDS", 0.1)
    store = Store(tmp_path / "m.sqlite3")
    session = store.create_session("files", "match")
    track = store.add_track(session.id, tmp_path / "long.wav")
    inside, stopped = threading.Event(), threading.Event()

    def slow_decoder(path, progress, cancelled):
        # one long step (a big file's first decode) with no progress to report
        inside.set()
        while not cancelled():
            time.sleep(0.02)
        stopped.set()
        return [], [], None

    queue = workers.ScanQueue(store, slow_decoder)
    queue.enqueue(track.id, track.path)
    assert inside.wait(10)
    claimed = store.track(track.id)
    assert (claimed.status, claimed.attempts, claimed.owner_pid) == ("scanning", 1, os.getpid())
    assert store.unfinished_tracks() == []  # this live process scans it: not offered

    def beat() -> float:
        return store._db.execute(
            "SELECT heartbeat FROM tracks WHERE id = ?", (track.id,)
        ).fetchone()[0]

    first = beat()
    qtbot.waitUntil(lambda: beat() > first, timeout=5_000)

    queue.shutdown(wait_ms=2000)  # the window closes mid-scan
    assert stopped.is_set()
    released = store.track(track.id)
    assert (released.status, released.attempts, released.owner_pid) == ("queued", 0, None)
    assert [t.id for t in store.unfinished_tracks()] == [track.id]  # offered next time
    assert store.crashed_scans(limit=1) == []  # and not taken for a crash
    store.close()


def test_thread_pool_tasks_leave_no_database_connection_open(qtbot, tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    store.create_session("text", "chat")
    results, errors = [], []
    for _ in range(8):
        workers.run_task(lambda: len(store.sessions()), results.append, errors.append)
    qtbot.waitUntil(lambda: len(results) + len(errors) == 8, timeout=10_000)
    assert errors == [] and results == [1] * 8
    # only the GUI thread's own connection is left; each task's ended with the task
    assert [thread.name for thread, _ in store._connections] == ["MainThread"]
    store.close()
