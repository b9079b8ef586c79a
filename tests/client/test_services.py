"""The service layer the views write through: one moderator action, one transaction."""

from __future__ import annotations

import pytest

from client.services import StoreService
from client.store import Store, StoreError
from models.classifier import Verdict
from models.excerpts import Excerpt
from tests.client.test_store import in_a_process_that_died


def verdict(label: str, score: float) -> Verdict:
    return Verdict(label, label != "non_toxic", score, {"non_toxic": 1 - score, label: score})


def test_a_text_check_is_saved_whole_or_not_at_all(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    service = StoreService(store)
    with pytest.raises(ValueError):  # one verdict short: nothing may be half-written
        service.save_text_check(
            "chat", "gg\nnoob", [Excerpt("gg", 0, 2), Excerpt("noob", 3, 7)], []
        )
    assert store.sessions() == []
    stored = service.save_text_check(
        "chat", "gg\nnoob", [Excerpt("gg", 0, 2), Excerpt("noob", 3, 7)],
        [verdict("non_toxic", 0.1), verdict("insult", 0.9)],
    )  # fmt: skip
    (session,) = store.sessions()
    assert session.source_text == "gg\nnoob" and [e.session_id for e in stored] == [session.id] * 2


def test_start_up_recovery_sorts_what_a_crash_left(tmp_path):
    path = tmp_path / "m.sqlite3"
    store = Store(path)
    service = StoreService(store)
    live, live_track, recording = service.start_live("Live", tmp_path / "recordings")
    assert recording.parent == tmp_path / "recordings" and str(live.id) in recording.name
    files = service.open_files(["/x/a.wav", "/x/b.wav", "/x/c.wav"], "match")
    a, b, c = (t.id for t in files)
    store.close()
    # the app died: while capturing, while scanning a.wav, and twice while scanning b.wav
    in_a_process_that_died(
        path,
        f"store.set_track_status({live_track.id}, 'scanning'); store.claim_track({a}); "
        f"store.claim_track({b})",
    )
    in_a_process_that_died(path, f"store.restart_track({b}); store.claim_track({b})")
    store = Store(path)
    recovery = StoreService(store).recover()
    assert [t.id for t in recovery.cut_short] == [live_track.id]
    assert [t.id for t in recovery.crashed] == [b]
    assert [t.id for t in recovery.unfinished] == [a, c]
    assert store.track(live_track.id).status == "done"
    assert store.track(b).error == "the scan crashed 2 times; not retried"


def test_a_live_start_that_failed_leaves_no_session(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    service = StoreService(store)
    session, track, _ = service.start_live("Live", tmp_path / "recordings")
    assert service.live_failed_to_start(session.id) is True
    assert store.sessions() == [] and store.track(track.id) is None


def test_the_window_accepts_the_models_labels_and_the_studios_categories(
    open_window, tiny_model_dir
):
    window = open_window(model_dir=str(tiny_model_dir), categories="Cheating, spam")
    store = window.store
    assert store.labels == (
        "non_toxic", "profanity", "insult", "identity_hate", "threat", "cheating", "spam",
    )  # fmt: skip
    service = StoreService(store)
    (excerpt,) = service.save_text_check(
        "t", "gg ez", [Excerpt("gg ez", 0, 5)], [verdict("insult", 0.8)]
    )
    assert service.decide(excerpt.id, "relabel", "cheating").label == "cheating"
    with pytest.raises(StoreError, match="'griefing' is not a category"):
        service.decide(excerpt.id, "relabel", "griefing")
    window.apply_settings(window.settings.with_changes(categories="griefing"))
    assert service.decide(excerpt.id, "relabel", "griefing").label == "griefing"
