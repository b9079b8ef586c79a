from pathlib import Path

import pytest

import models
from models.transcriber import Segment, Word
from models.voice import Scanner, segment_excerpts
from tests.voice_fixtures import (
    CLEAN,
    RATE,
    RUDE,
    layout,
    needs_espeak,
    noise,
    speech,
    tiny_transcriber,
    write_wav,
)

SHIPPED = Path(models.__file__).parent / "weights" / "default" / "model.onnx"
needs_shipped_model = pytest.mark.skipif(
    not SHIPPED.exists(), reason="the shipped classifier is not in models/weights/default yet"
)


def _words(*items: tuple[str, float, float]) -> tuple[Word, ...]:
    return tuple(Word(text, start, end, 0.9) for text, start, end in items)


def test_a_segment_splits_into_sentences_timed_by_their_words():
    words = _words(
        (" You", 1.0, 1.2),
        (" idiot.", 1.2, 1.6),
        (" Good", 1.8, 2.0),
        (" game", 2.0, 2.3),
        (" everyone", 3.5, 3.9),  # a long pause starts a new excerpt without punctuation
    )
    segment = Segment("You idiot. Good game everyone", 1.0, 3.9, words)
    pieces = segment_excerpts(segment, speaker="anna", message=4)
    assert [e.text for e, _ in pieces] == ["You idiot.", "Good game", "everyone"]
    first, first_words = pieces[0]
    assert (first.time, first.end_time, first.speaker, first.message) == (1.0, 1.6, "anna", 4)
    assert [w.text for w in first_words] == [" You", " idiot."]
    assert pieces[1][0].time == 1.8 and pieces[1][0].end_time == 2.3
    rebuilt = "You idiot. Good game everyone"
    assert all(rebuilt[e.start : e.end] == e.text for e, _ in pieces)


def test_a_segment_without_words_keeps_its_own_times():
    pieces = segment_excerpts(Segment("Well played.", 4.0, 5.5, ()), speaker="bo")
    assert [(e.text, e.time, e.end_time) for e, _ in pieces] == [("Well played.", 4.0, 5.5)]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A two-player session: anna is rude at 1 s, bo is polite at 6 s, on separate files."""
    folder = tmp_path_factory.mktemp("session")
    anna = write_wav(folder / "anna.wav", layout((1.0, speech(RUDE)), length=10))
    bo = write_wav(folder / "bo.wav", layout((6.0, speech(CLEAN)), length=10))
    return anna, bo


@needs_espeak
def test_a_two_track_session_gets_speakers_right_and_merges_them_in_time(session, tiny_model_dir):
    from models.classifier import Classifier

    progress = []
    scanner = Scanner(tiny_transcriber(), Classifier(tiny_model_dir))
    result = scanner.scan(session, on_progress=progress.append)
    assert not result.errors
    assert [t.track.speaker for t in result.tracks] == ["anna", "bo"]
    by_speaker = {f.speaker: f for f in result.findings}
    assert set(by_speaker) == {"anna", "bo"}
    assert "idiot" in by_speaker["anna"].text.lower()
    assert "round" in by_speaker["bo"].text.lower()
    assert by_speaker["anna"].start == pytest.approx(1.0, abs=0.5)
    assert by_speaker["bo"].start == pytest.approx(6.0, abs=0.5)
    starts = [f.start for f in result.findings]
    assert starts == sorted(starts)
    assert all(f.source.endswith(f"{f.speaker}.wav") for f in result.findings)
    # progress for both tracks, ending at each track's full length
    finals = [p for p in progress if p.fraction == 1.0]
    assert [p.track.speaker for p in finals] == ["anna", "bo"]
    assert all(p.total == 2 for p in progress)
    assert result.audio_seconds == pytest.approx(2 * 10.5, abs=0.5)


@needs_espeak
def test_players_on_the_channels_of_one_file_become_two_speakers(tmp_path, tiny_model_dir):
    left = layout((1.0, speech(RUDE)), length=9)
    right = layout((5.5, speech(CLEAN)), length=9)
    path = write_wav(tmp_path / "match.wav", left, right)
    scanner = Scanner.load("tiny.en", tiny_model_dir, vocabulary=["Sniper Alley"])
    assert scanner.transcriber.hotwords.endswith("Sniper Alley")
    result = scanner.scan([path])
    speakers = [(f.speaker, round(f.start)) for f in result.findings]
    assert [s for s, _ in speakers] == ["match ch1", "match ch2"]
    assert [f.channel for f in result.findings] == [0, 1]
    assert "round" in result.findings[1].text.lower()


@needs_espeak
def test_a_scan_can_stop_early_and_bad_files_do_not_stop_the_rest(
    session, tmp_path, tiny_model_dir
):
    from models.classifier import Classifier

    (tmp_path / "empty.ogg").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("not audio")
    quiet = write_wav(tmp_path / "quiet.wav", noise(3.0, level=0.002))
    scanner = Scanner(tiny_transcriber(), Classifier(tiny_model_dir))
    paths = [tmp_path / "empty.ogg", tmp_path / "notes.wav", quiet, session[1]]
    result = scanner.scan(paths)
    assert len(result.errors) == 3
    assert any("empty" in e for e in result.errors)
    assert any("not an audio" in e for e in result.errors)
    assert any("quiet: no speech" in e for e in result.errors)
    assert [f.speaker for f in result.findings] == ["bo"]

    seen = []
    stopped = scanner.scan(session, on_finding=seen.append, should_stop=lambda: bool(seen))
    assert stopped.stopped
    assert len(stopped.findings) == 1 and len(stopped.tracks) == 1


@needs_espeak
@needs_shipped_model
def test_the_rude_line_is_flagged_with_its_category_and_time_and_the_clean_one_is_not(session):
    from models.classifier import Classifier

    result = Scanner(tiny_transcriber(), Classifier()).scan(session)
    rude = [f for f in result.findings if f.speaker == "anna"]
    clean = [f for f in result.findings if f.speaker == "bo"]
    assert rude and clean
    flagged = [f for f in rude if f.toxic]
    assert flagged, [(f.text, f.verdict.label, f.verdict.score) for f in rude]
    assert flagged[0].verdict.label in ("insult", "profanity")
    assert flagged[0].start == pytest.approx(1.0, abs=0.5)
    rude_end = 1.0 + len(speech(RUDE)) / RATE
    assert flagged[-1].end <= rude_end + 0.5
    assert any("idiot" in w.text.lower() for f in flagged for w in f.words)
    assert not any(f.toxic for f in clean), [(f.text, f.verdict.label) for f in clean]
