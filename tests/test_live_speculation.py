"""Live latency without weaker transcripts: speculative transcription during the pause, and no
decoding window over only the tail after an utterance's last word."""

import time
from types import SimpleNamespace

import numpy as np
import pytest

from models.live import LiveSession, UtteranceCutter
from models.transcriber import WORD_REACH_S
from tests.voice_fixtures import CLEAN, RATE, RUDE, layout, needs_espeak, speech, tiny_transcriber

BLOCK = RATE // 10  # 100 ms, as a sound card delivers it


def _stream() -> tuple[np.ndarray, float]:
    """Two utterances: RUDE, a 2 s pause, then CLEAN and RUDE with 0.3 s between them (longer
    than the guess's pause, shorter than the cut's), and where that second pause is."""
    rude, clean = speech(RUDE), speech(CLEAN)
    second = 1.0 + len(rude) / RATE + 2.0
    pause_at = second + len(clean) / RATE
    audio = layout((1.0, rude), (second, clean), (pause_at + 0.3, rude), length=16.0)
    return audio, pause_at


def _cut(audio: np.ndarray, speculate: float | None) -> list:
    cutter = UtteranceCutter(min_silence=0.5, speculate=speculate)
    out = []
    for i in range(0, len(audio), BLOCK):
        out += cutter.push(audio[i : i + BLOCK], now=i / RATE)
    return out


@needs_espeak
def test_a_guess_is_the_very_cut_the_pause_confirms_and_changes_no_cut():
    audio, pause_at = _stream()
    plain = _cut(audio, None)
    offered = _cut(audio, 0.2)
    confirmed = [p for p in offered if not p.speculative]
    guesses = [p for p in offered if p.speculative]
    # the cuts are the ones made without speculation, sample for sample
    assert len(plain) == len(confirmed) == 2
    assert all(a.same_cut(b) and a.end == b.end for a, b in zip(plain, confirmed, strict=True))
    # each cut's last guess is that cut; earlier guesses (at a comma, at the 0.3 s pause) stop
    # where the speech paused and are not the cut
    for cut in confirmed:
        mine = [g for g in guesses if g.start == cut.start]
        assert mine and mine[-1].same_cut(cut)
        assert all(g.end < cut.end and not g.same_cut(cut) for g in mine[:-1])
    stale = [g for g in guesses if g.start == confirmed[1].start and g.end < pause_at + 0.3]
    assert stale and pause_at - 0.1 < stale[-1].end < pause_at + 0.3
    # the second cut holds both sentences
    assert confirmed[1].end > pause_at + 0.3 + len(speech(RUDE)) / RATE - 0.3


@needs_espeak
def test_a_monologue_split_at_the_maximum_length_is_cut_the_same_with_speculation():
    talk = np.concatenate([speech(RUDE), np.zeros(int(0.25 * RATE), np.float32)] * 4)
    cuts = {}
    for speculate in (None, 0.2):
        cutter = UtteranceCutter(max_utterance=5.0, speculate=speculate)
        out = [p for p in cutter.push(talk) if not p.speculative]
        cuts[speculate] = [*out, cutter.flush()]
    assert len(cuts[None]) >= 3
    assert all(a.same_cut(b) for a, b in zip(cuts[None], cuts[0.2], strict=True))


def _session(path, transcriber, classifier, audio: np.ndarray, speculate: float | None):
    session = LiveSession(transcriber, classifier, path, speculate=speculate)
    session.start(capture=False)
    for i in range(0, len(audio), BLOCK):
        session.feed(audio[i : i + BLOCK])
        # each block cut and every guess taken by the worker before the next block: on a busy
        # machine a guess and its confirmation could otherwise reach the worker together
        deadline = time.monotonic() + 30
        while not (session._audio.empty() and session._work.empty()):
            assert time.monotonic() < deadline, "the live threads did not keep up"
            time.sleep(0.005)
    return session.stop(timeout=120)


def _seen(result) -> list[tuple]:
    return [
        (f.text, f.start, f.end, f.verdict.label, round(f.verdict.score, 6), f.excerpt.message)
        for f in result.findings
    ]


@needs_espeak
def test_speculative_verdicts_are_the_ones_without_speculation(tmp_path, tiny_model_dir):
    from models.classifier import Classifier

    audio, _ = _stream()
    classifier = Classifier(tiny_model_dir)
    plain = _session(tmp_path / "plain.wav", tiny_transcriber(), classifier, audio, None)
    guessed = _session(tmp_path / "guess.wav", tiny_transcriber(), classifier, audio, 0.2)
    assert not plain.utterances[0].speculated
    # both utterances were transcribed during their pause and committed when it was confirmed;
    # the second one's stale guess (speech went on after 0.3 s) was thrown away
    assert [u.speculated for u in guessed.utterances] == [True, True]
    assert _seen(guessed) == _seen(plain)
    second = " ".join(f.text.lower() for f in guessed.utterances[1].findings)
    assert "round" in second and "idiot" in second
    assert (tmp_path / "guess.jsonl").read_text().count("\n") == len(guessed.findings)


def _segment(end: float) -> SimpleNamespace:
    word = SimpleNamespace(word=" go", start=end - 0.3, end=end, probability=0.9)
    return SimpleNamespace(words=[word], text=" go", start=0.0, end=end)


def test_no_window_is_decoded_over_only_the_tail_after_the_last_word():
    transcriber = tiny_transcriber()
    windows = []

    def faster_whisper(first_end: float):
        """Segments as faster-whisper yields them: the next window is encoded when asked for."""
        yield _segment(first_end)
        transcriber._model.encode(np.zeros((80, 3000), np.float32))
        windows.append(2)
        yield _segment(first_end + 1.0)

    # the audio after the last word is shorter than a word's reach: no second window
    length = 2.0 + WORD_REACH_S - 0.1
    got = list(transcriber._one_utterance(faster_whisper(2.0), length))
    assert len(got) == 1 and windows == []
    # a longer stretch after it may hold speech the first window skipped: decoded as before
    got = list(transcriber._one_utterance(faster_whisper(1.0), 1.0 + WORD_REACH_S + 0.5))
    assert len(got) == 2 and windows == [2]
    # and the guard is off again for every other decoding
    assert transcriber._guard.tail is False


@needs_espeak
@pytest.mark.parametrize("text", [RUDE, CLEAN])
def test_a_live_utterance_is_encoded_once(text):
    transcriber = tiny_transcriber()
    (cut,) = _cut(layout((0.5, speech(text)), length=4.0), None)
    calls = []
    encode = transcriber._model.encode

    def counted(features):
        out = encode(features)  # raises before encoding a window that is only a tail
        calls.append(1)
        return out

    transcriber._model.encode = counted
    try:
        words = [w for s in transcriber.transcribe(cut.audio, vad=False) for w in s.words]
    finally:
        transcriber._model.encode = encode
    assert len(calls) == 1
    assert words and cut.end - cut.start - words[-1].end < WORD_REACH_S
