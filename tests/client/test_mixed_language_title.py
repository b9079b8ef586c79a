"""A track heard in two languages while the session is set to one: the title says how to have
each part transcribed in its own language; detected, or one language, it says nothing more."""

from __future__ import annotations

from client.widgets.sessions_view import MIXED_ADVICE


def test_a_mixed_track_in_a_session_set_to_one_language_says_to_detect(open_window, tmp_path):
    # no model: nothing scans the track behind the test's back
    window = open_window(wait_for_model=False, model_dir=str(tmp_path / "no-model"))
    store, view = window.store, window.sessions_view
    session = store.create_session("files", "match 12")
    track = store.add_track(session.id, tmp_path / "anna.wav")
    store.finish_track(track.id, [], [], duration=60.0, language="en, de (mixed)")
    store.set_session_language(session.id, "en")
    view.show_session(session.id)
    assert "language en, de (mixed)" in view.title.text()
    assert view.title.text().endswith(MIXED_ADVICE)

    store.set_session_language(session.id, None)  # detected: each window in its language
    view.show_session(session.id)
    assert MIXED_ADVICE not in view.title.text()
    store.finish_track(track.id, [], [], duration=60.0, language="en")
    store.set_session_language(session.id, "en")
    view.show_session(session.id)
    assert MIXED_ADVICE not in view.title.text()
