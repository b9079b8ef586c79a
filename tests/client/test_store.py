"""The store keeps sessions, excerpts and decisions across restarts and exports training data."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from client.store import SCHEMA_VERSION, Store, StoreError
from models.classifier import Verdict
from models.excerpts import Excerpt
from tests.client.old_database import old_database

ROOT = Path(__file__).resolve().parents[2]


def in_a_process_that_died(path, code: str) -> None:
    """Run store calls (code, with `store` open on path) in a child process that then ends,
    as an app that crashed or was killed leaves the database."""
    script = f"from client.store import Store\nstore = Store({str(path)!r})\n{code}\n"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)


def verdict(label: str, score: float) -> Verdict:
    toxic = label != "non_toxic"
    return Verdict(label, toxic, score, {"non_toxic": 1 - score, label: score})


def fill(store: Store):
    session = store.create_session("text", "chat")
    excerpts = [
        Excerpt("gg wp", 0, 5),
        Excerpt("you are trash", 6, 19),
        Excerpt("i will find you", 20, 35),
    ]
    verdicts = [verdict("non_toxic", 0.02), verdict("insult", 0.91), verdict("threat", 0.7)]
    return session, store.add_excerpts(session.id, excerpts, verdicts)


def test_a_decision_survives_reopening_the_database(tmp_path):
    path = tmp_path / "m.sqlite3"
    store = Store(path)
    session, stored = fill(store)
    store.decide(stored[1].id, "confirm", note="repeat offender", moderator="ana")
    store.close()

    again = Store(path)
    decisions = again.current_decisions(session.id)
    assert list(decisions) == [stored[1].id]
    decision = decisions[stored[1].id]
    assert (decision.action, decision.label, decision.note, decision.moderator) == (
        "confirm",
        "insult",
        "repeat offender",
        "ana",
    )
    assert [e.text for e in again.excerpts(session.id)] == [
        "gg wp",
        "you are trash",
        "i will find you",
    ]


def test_undo_takes_back_the_latest_decision_but_keeps_its_history(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    session, stored = fill(store)
    store.decide(stored[2].id, "relabel", label="insult")
    store.decide(stored[2].id, "dismiss")
    last = store.last_decision(session.id)
    assert last.action == "dismiss" and last.label == "non_toxic"
    store.undo(last.id)
    assert store.current_decisions(session.id)[stored[2].id].label == "insult"
    history = store.history(stored[2].id)
    assert [d.action for d in history] == ["relabel", "dismiss"]
    assert history[1].undone is not None


def test_training_export_is_text_label_csv_and_jsonl(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    _, stored = fill(store)
    store.decide(stored[1].id, "confirm")
    store.decide(stored[2].id, "dismiss")
    store.decide(stored[0].id, "relabel", label="profanity")
    assert store.export_training(tmp_path / "d.csv") == 3
    with open(tmp_path / "d.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["text", "label"]
    assert [(r["text"], r["label"]) for r in rows] == [
        ("you are trash", "insult"),
        ("i will find you", "non_toxic"),
        ("gg wp", "profanity"),
    ]
    store.export_training(tmp_path / "d.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert lines[1] == {"text": "i will find you", "label": "non_toxic"}


def test_training_export_reads_back_with_the_training_loader(tmp_path):
    from models.taxonomy import DEFAULT_CATEGORIES
    from training.data import Source, load_source

    store = Store(tmp_path / "m.sqlite3")
    _, stored = fill(store)
    store.decide(stored[1].id, "confirm")
    store.decide(stored[2].id, "dismiss")
    for name in ("d.csv", "d.jsonl"):
        store.export_training(tmp_path / name)
        source = Source("decisions", "labeled", tmp_path / name, {})
        examples = load_source(source, DEFAULT_CATEGORIES)
        assert [(e.text, e.label) for e in examples] == [
            ("you are trash", "insult"),
            ("i will find you", "non_toxic"),
        ]


def test_unfinished_tracks_are_offered_again_and_finished_ones_are_kept(tmp_path):
    path = tmp_path / "m.sqlite3"
    store = Store(path)
    session = store.create_session("files", "match")
    a = store.add_track(session.id, "/x/a.wav")
    b = store.add_track(session.id, "/x/b.wav")
    store.finish_track(b.id, [Excerpt("noob", 0, 4, "b", 1.0, 1.5)], [verdict("insult", 0.8)], 9.0)
    store.close()
    in_a_process_that_died(path, f"store.claim_track({a.id})")  # killed mid-scan of a.wav

    again = Store(path)
    assert [t.path for t in again.unfinished_tracks()] == ["/x/a.wav"]
    done = again.track(b.id)
    assert done.status == "done" and done.duration == 9.0
    assert [(e.text, e.time, e.speaker) for e in again.excerpts(session.id)] == [("noob", 1.0, "b")]
    again.restart_track(a.id)
    assert again.track(a.id).status == "queued" and again.track(a.id).progress == 0


def test_a_newer_or_corrupt_database_is_refused_with_a_message(tmp_path):
    newer = tmp_path / "newer.sqlite3"
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer modlens"):
        Store(newer)
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot be opened"):
        Store(corrupt)


def test_an_old_database_is_migrated(tmp_path):
    path = old_database(
        tmp_path / "v1.sqlite3",
        1,
        "INSERT INTO sessions (kind, title, created) VALUES ('text', 'old', 1.0)",
    )
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.sessions()[0].title == "old" and store.sessions()[0].source_text is None


def test_a_live_capture_cut_short_is_kept_with_its_decisions_not_rescanned(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    session = store.create_session("live", "Live")
    track = store.add_track(session.id, tmp_path / "live.wav")
    in_a_process_that_died(
        tmp_path / "m.sqlite3", f"store.set_track_status({track.id}, 'scanning')"
    )
    (stored,) = store.add_excerpts(
        session.id, [Excerpt("kys", 0, 3)], [verdict("threat", 0.9)], track.id
    )
    store.decide(stored.id, "confirm")
    assert store.unfinished_tracks() == []
    assert [t.id for t in store.close_interrupted_live()] == [track.id]
    assert store.track(track.id).status == "done"
    assert store.current_decisions(session.id)[stored.id].action == "confirm"
    with pytest.raises(StoreError, match="decisions"):
        store.restart_track(track.id)
    assert store.excerpt(stored.id) is not None


def test_a_locked_database_gives_a_store_error_and_keeps_earlier_decisions(tmp_path):
    path = tmp_path / "m.sqlite3"
    store = Store(path)
    session, stored = fill(store)
    first = store.decide(stored[1].id, "confirm")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the database
    store._db.execute("PRAGMA busy_timeout = 50")
    with pytest.raises(StoreError, match="could not be written"):
        store.decide(stored[2].id, "dismiss")
    other.execute("ROLLBACK")
    other.close()
    assert store.current_decisions(session.id) == {stored[1].id: first}
    store.decide(stored[2].id, "dismiss")  # and it works again once the lock is gone
    assert len(store.current_decisions(session.id)) == 2


def scanned_track(store: Store):
    session = store.create_session("files", "match")
    track = store.add_track(session.id, "/x/a.wav")
    store.claim_track(track.id)
    excerpts = [Excerpt("noob", 0, 4, "a", 1.0, 1.5), Excerpt("gg", 5, 7, "a", 3.0, 3.2)]
    stored = store.finish_track(
        track.id, excerpts, [verdict("insult", 0.8), verdict("non_toxic", 0.1)]
    )
    return session, track, excerpts, stored


def test_scanning_a_track_again_never_deletes_an_excerpt_with_a_decision(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    session, track, excerpts, stored = scanned_track(store)
    decision = store.decide(stored[0].id, "confirm", note="kept", moderator="ana")
    # a second scan of the same file (another instance resumed it) finishes the track again
    again = store.finish_track(
        track.id,
        [*excerpts, Excerpt("trash", 9, 14, "a", 6.0, 6.4)],
        [verdict("insult", 0.7), verdict("non_toxic", 0.1), verdict("insult", 0.9)],
    )
    assert store.current_decisions(session.id) == {stored[0].id: decision}
    assert store.excerpt(stored[0].id) is not None
    assert sorted(e.text for e in again) == ["gg", "noob", "trash"]  # not "noob" twice
    assert [e.text for e in store.excerpts(session.id)].count("noob") == 1
    # and nothing in the database deletes a decided excerpt by cascade, whatever the path
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        store._db.execute("DELETE FROM tracks WHERE id = ?", (track.id,))
    with pytest.raises(StoreError), store._transaction() as db:
        db.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
    assert store.current_decisions(session.id) == {stored[0].id: decision}
    # deleting the session on purpose still works (the decisions go first, explicitly)
    store.delete_session(session.id)
    assert store.session(session.id) is None


def test_a_scan_another_live_modlens_runs_is_never_offered_as_unfinished(tmp_path):
    path = tmp_path / "m.sqlite3"
    store = Store(path)
    session = store.create_session("files", "match")
    track = store.add_track(session.id, "/x/a.wav")
    assert [t.id for t in store.unfinished_tracks()] == [track.id]  # queued, nobody scanning
    script = (
        f"from client.store import Store\nstore = Store({str(path)!r})\n"
        f"store.claim_track({track.id})\nprint('claimed', flush=True)\ninput()\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert other.stdout.readline().strip() == "claimed"
        assert store.unfinished_tracks() == []
        with pytest.raises(StoreError, match="being scanned by another modlens"):
            store.restart_track(track.id)
        with pytest.raises(StoreError, match="being scanned by another modlens"):
            store.claim_track(track.id)
        assert store.crashed_scans(limit=1) == []
        assert store.track(track.id).owner_pid == other.pid
    finally:
        other.kill()
        other.wait(10)
    # its owner is gone: now it is unfinished work, offered again
    assert [t.id for t in store.unfinished_tracks()] == [track.id]
    store.restart_track(track.id)
    assert store.track(track.id).status == "queued"


def test_a_file_whose_scan_crashed_twice_is_marked_failed_not_offered_again(tmp_path):
    path = tmp_path / "m.sqlite3"
    store = Store(path)
    session = store.create_session("files", "match")
    bad = store.add_track(session.id, "/x/segfault.mkv")
    fine = store.add_track(session.id, "/x/fine.wav")
    # a scan this process stops on purpose (closing the window) is not a crash
    store.claim_track(fine.id)
    store.release_track(fine.id)
    assert store.track(fine.id).attempts == 0 and store.track(fine.id).status == "queued"

    in_a_process_that_died(path, f"store.claim_track({bad.id})")  # crash 1
    assert store.crashed_scans() == []
    assert {t.id for t in store.unfinished_tracks()} == {bad.id, fine.id}  # offered once more
    store.restart_track(bad.id)
    in_a_process_that_died(path, f"store.claim_track({bad.id})")  # crash 2
    (crashed,) = store.crashed_scans()
    assert crashed.id == bad.id and crashed.attempts == 2
    assert store.track(bad.id).status == "failed"
    assert store.track(bad.id).error == "the scan crashed 2 times; not retried"
    assert [t.id for t in store.unfinished_tracks()] == [fine.id]
    assert store.crashed_scans() == []


def test_a_relabel_to_an_unknown_label_is_refused(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    session, stored = fill(store)
    with pytest.raises(StoreError, match="'spam' is not a category"):
        store.decide(stored[1].id, "relabel", label="spam")
    with pytest.raises(StoreError, match="needs a category"):
        store.decide(stored[1].id, "relabel")
    assert store.current_decisions(session.id) == {}
    # a studio category from the settings is a label like the model's own
    store.set_labels(lambda: ("profanity", "insult", "identity_hate", "threat", "spam"))
    assert store.decide(stored[1].id, "relabel", label="spam").label == "spam"
    assert "spam" in store.labels and store.labels[0] == "non_toxic"


def test_a_missed_excerpt_is_flagged_with_a_category(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    session, stored = fill(store)  # stored[0] "gg wp" passed the model as non_toxic
    missed = store.decide(stored[0].id, "missed", label="insult", note="in context it is")
    assert (missed.action, missed.label) == ("missed", "insult")
    store.decide(stored[1].id, "confirm")
    assert list(store.current_decisions(session.id, action="missed")) == [stored[0].id]
    assert ("gg wp", "insult") in store.training_rows()
    with pytest.raises(StoreError, match="flagged this excerpt already"):
        store.decide(stored[2].id, "missed", label="threat")
    with pytest.raises(StoreError, match="toxic category"):
        store.decide(stored[0].id, "missed", label="non_toxic")
    with pytest.raises(StoreError, match="not a category"):
        store.decide(stored[0].id, "missed", label="rudeness")


def test_one_app_per_database_and_a_dead_holder_is_taken_over(tmp_path):
    from client.store import DatabaseInUse

    path = tmp_path / "m.sqlite3"
    first = Store(path, exclusive=True)
    with pytest.raises(
        DatabaseInUse, match=f"already open on this database \\(process {os.getpid()}"
    ):
        Store(path, exclusive=True)
    Store(path).close()  # a plain reader (the command line, a test) is not refused
    first.close()
    first.close()  # twice is harmless
    second = Store(path, exclusive=True)
    second.close()

    script = (
        f"from client.store import Store\nstore = Store({str(path)!r}, exclusive=True)\n"
        "print('open', flush=True)\ninput()\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert other.stdout.readline().strip() == "open"
        with pytest.raises(DatabaseInUse, match=f"process {other.pid}"):
            Store(path, exclusive=True)
    finally:
        other.kill()  # no chance to clean up: the lock file stays, its lock does not
        other.wait(10)
    assert (tmp_path / "m.sqlite3.lock").exists()
    taken = Store(path, exclusive=True)
    taken.close()


def test_a_write_on_another_thread_does_not_block_reads(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    session, _ = fill(store)
    inside, release = threading.Event(), threading.Event()

    def long_write():
        with store._transaction() as db:
            db.execute("UPDATE sessions SET title = 'renamed' WHERE id = ?", (session.id,))
            inside.set()
            release.wait(10)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert inside.wait(5)
        began = time.monotonic()
        assert store.session(session.id).title == "chat"  # its own connection, a WAL snapshot
        assert len(store.excerpts(session.id)) == 3
        assert time.monotonic() - began < 1.0
    finally:
        release.set()
        writer.join(10)
    assert store.session(session.id).title == "renamed"
