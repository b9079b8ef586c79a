"""The store keeps sessions, excerpts and decisions across restarts and exports training data."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from client.store import SCHEMA_VERSION, Store, StoreError
from models.classifier import Verdict
from models.excerpts import Excerpt


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
    store.set_track_status(a.id, "scanning", progress=0.4)
    store.finish_track(b.id, [Excerpt("noob", 0, 4, "b", 1.0, 1.5)], [verdict("insult", 0.8)], 9.0)
    store.close()  # as if the app was killed mid-scan of a.wav

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
    from client import store as store_module

    path = tmp_path / "v1.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(store_module.MIGRATIONS[0])
    db.execute("INSERT INTO sessions (kind, title, created) VALUES ('text', 'old', 1.0)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.sessions()[0].title == "old" and store.sessions()[0].source_text is None


def test_a_live_capture_cut_short_is_kept_with_its_decisions_not_rescanned(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    session = store.create_session("live", "Live")
    track = store.add_track(session.id, tmp_path / "live.wav")
    store.set_track_status(track.id, "scanning")
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
