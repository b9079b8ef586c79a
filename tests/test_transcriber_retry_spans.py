"""Coverage through transcribe_chunk with a scripted decoder (no model): what Whisper's first
pass leaves out of an utterance is decoded again from the start of its speech stretch, and
punctuation alone does not count as words."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np

from models.audio import SAMPLE_RATE
from models.transcriber import Stretch, Transcriber, Word, hint_echo, hotwords


def _raw(words: list[tuple[str, float, float]], ratio: float = 1.0) -> SimpleNamespace:
    """A faster-whisper segment with these (text, start, end) words."""
    return SimpleNamespace(
        text="".join(w for w, _, _ in words),
        start=words[0][1] if words else 0.0,
        end=words[-1][2] if words else 0.0,
        compression_ratio=ratio,
        words=[SimpleNamespace(word=w, start=a, end=b, probability=0.9) for w, a, b in words],
    )


def _scripted(speech: list[Stretch], first: list, retry: list) -> tuple[Transcriber, list]:
    """A Transcriber whose VAD hears speech and whose decoder returns first, then retry for
    every later decoding; the lengths of the audio it was given go into the list returned."""
    transcriber = Transcriber.__new__(Transcriber)
    transcriber.vad, transcriber.retry, transcriber.beam_size = True, True, 1
    transcriber.multilingual, transcriber.language = False, "en"
    transcriber.speech = lambda audio: list(speech)
    given: list[float] = []

    def decode(audio, beam_size, hint, languages=None):
        given.append(round(audio.shape[0] / SAMPLE_RATE, 2))
        return iter(first if len(given) == 1 else retry), SimpleNamespace(language="en")

    transcriber._decode = decode
    return transcriber, given


def test_a_window_decoded_again_is_decoded_from_the_start_of_its_speech_stretch():
    # two utterances, 1-4 s and 6-9 s; joined: 0-3 s and 3-6 s. The first pass loops in its
    # window of the second one (held back for a retry) and its words start 1.3 s late: the
    # first words of that utterance were skipped (2-hour benchmark session, at 1:14:28)
    speech = [Stretch(1.0, 4.0), Stretch(6.0, 9.0)]
    first = [
        _raw([(" push", 0.0, 0.4), (" mid.", 0.4, 2.8)]),
        _raw([(" nice", 4.3, 4.8), (" work", 4.8, 5.8)], ratio=3.0),
    ]
    retry = [_raw([(" good", 0.0, 0.5), (" game", 0.5, 1.0), (" everyone.", 1.0, 2.8)])]
    transcriber, given = _scripted(speech, first, retry)
    reports: list = []
    segments = list(
        transcriber.transcribe_chunk(
            np.zeros(10 * SAMPLE_RATE, np.float32), 100.0, on_report=reports.append
        )
    )
    assert given[:2] == [6.0, 3.0]  # the whole 6-9 s stretch, not 7.3-8.8 s
    retried = [s for s in segments if s.retried]
    assert [w.text for w in retried[0].words] == [" good", " game", " everyone."]
    assert retried[0].start == 106.0
    assert reports[0].retried == (Stretch(106.0, 109.0),)
    assert reports[0].untranscribed == ()


def test_punctuation_alone_is_no_word_and_its_speech_is_retried_then_reported():
    # Whisper wrote " ," over a whole utterance (2-hour benchmark session, at 1:01:57)
    speech = [Stretch(1.0, 3.4)]
    transcriber, given = _scripted(speech, [_raw([(" ,", 0.05, 2.3)])], [])
    reports: list = []
    segments = list(
        transcriber.transcribe_chunk(
            np.zeros(5 * SAMPLE_RATE, np.float32), on_report=reports.append
        )
    )
    assert segments == []
    assert given == [2.4, 2.4]  # decoded again on its own
    assert reports[0].untranscribed == (Stretch(1.0, 3.4),)


def test_a_short_retry_does_not_name_a_language():
    # a retried utterance start of 0.9 s: too little speech to name its language by
    transcriber = Transcriber.__new__(Transcriber)
    transcriber.vad, transcriber.retry, transcriber.beam_size = True, True, 1
    transcriber.multilingual, transcriber.language = True, "en"
    transcriber.speech = lambda audio: [Stretch(1.0, 3.6)]
    named: list = []

    def decode(audio, beam_size, hint, languages=None):
        named.append(languages is not None)
        words = [(" well", 1.5, 1.8), (" played.", 1.8, 2.3)] if len(named) == 1 else []
        return iter([_raw(words)] if words else []), SimpleNamespace(language="en")

    transcriber._decode = decode
    reports: list = []
    list(
        transcriber.transcribe_chunk(
            np.zeros(5 * SAMPLE_RATE, np.float32), on_report=reports.append
        )
    )
    assert named == [True, False]  # the first pass names languages, the 0.9 s retry does not
    assert reports[0].retried == (Stretch(1.0, 1.9),)


def _words(*texts: str) -> list:
    return [Word(t, i, i + 0.5, 0.9) for i, t in enumerate(texts)]


def test_only_hint_words_in_the_hints_order_are_an_echo_of_it():
    hint = hotwords()
    assert hint_echo(_words(" tryhard,", " respawn,", " nerf,", " carry,"), hint)
    assert not hint_echo(_words(" report", " that", " noob"), hint)  # not all hint words
    assert not hint_echo(_words(" trash", " noob", " gg"), hint)  # hint words, another order
    assert not hint_echo(_words(" gg", " ez"), hint)  # too short to tell
    assert not hint_echo(_words(" tryhard,", " respawn,", " nerf,"), "")  # no hint given


def test_an_echo_of_the_hint_is_replaced_by_what_a_retry_without_it_hears():
    # bench_scan's 2-hour session, at 1:32:43: "tryhard, respawn, nerf, carry," over 8 s
    speech = [Stretch(1.0, 4.0)]
    echo = _raw([(" tryhard,", 0.1, 1.0), (" respawn,", 1.2, 2.0), (" nerf,", 2.1, 2.5)])
    retry = [_raw([(" push", 0.2, 0.6), (" mid", 0.6, 1.0), (" now.", 1.0, 1.4)])]
    transcriber, _ = _scripted(speech, [echo], retry)
    transcriber.hotwords = hotwords()
    reports: list = []
    segments = list(
        transcriber.transcribe_chunk(
            np.zeros(5 * SAMPLE_RATE, np.float32), on_report=reports.append
        )
    )
    assert [s.text for s in segments] == ["push mid now."]
    assert segments[0].retried and segments[0].start == 1.2
    assert reports[0].untranscribed == ()


def test_an_echo_with_nothing_heard_again_is_reported_as_untranscribed_speech():
    speech = [Stretch(1.0, 4.0)]
    echo = _raw([(" tryhard,", 0.1, 1.0), (" respawn,", 1.2, 2.0), (" nerf,", 2.1, 2.5)])
    transcriber, given = _scripted(speech, [echo], [])
    transcriber.hotwords = hotwords()
    reports: list = []
    segments = list(
        transcriber.transcribe_chunk(
            np.zeros(5 * SAMPLE_RATE, np.float32), on_report=reports.append
        )
    )
    assert segments == []  # the echo is not a transcript
    assert reports[0].untranscribed == (Stretch(1.0, 4.0),)
    assert len(given) == 3  # first pass, the echo's stretch, then the uncovered stretch


def test_a_live_utterance_that_echoes_the_hint_is_decoded_again_without_it():
    transcriber, given = _scripted(
        [],
        [_raw([(" afk", 0.0, 0.3), (" ez", 0.3, 0.6), (" trash", 0.6, 0.9)])],
        [_raw([(" thanks", 0.1, 0.5), (" all.", 0.5, 0.9)])],
    )
    transcriber.hotwords = hotwords()
    transcriber._guard = threading.local()
    segments = list(transcriber.transcribe(np.zeros(2 * SAMPLE_RATE, np.float32), vad=False))
    assert [s.text for s in segments] == ["thanks all."]
    assert given == [2.0, 2.0]


def test_a_retried_start_does_not_repeat_the_words_the_first_pass_placed_after_it():
    # the first pass placed "and wait for the respawn" from 3.0 s of a stretch starting at
    # 1.0 s; the retry of 1.0-2.4 s runs on into the first of those words (Whisper's times are
    # late), and the transcript said "and wait" twice
    speech = [Stretch(1.0, 5.5)]
    later = [(" and", 2.0, 2.2), (" wait", 2.2, 2.6), (" for", 2.6, 2.8), (" the", 2.8, 2.9)]
    first = [_raw([*later, (" respawn.", 2.9, 3.5)])]
    retry = [
        _raw([(" let", 0.0, 0.2), (" us", 0.2, 0.4), (" group", 0.4, 0.7), (" up", 0.7, 1.0)]),
        _raw([(" and", 1.0, 1.2), (" wait", 1.2, 1.4)]),
    ]
    transcriber, given = _scripted(speech, [*first], retry)
    reports: list = []
    segments = list(
        transcriber.transcribe_chunk(
            np.zeros(6 * SAMPLE_RATE, np.float32), on_report=reports.append
        )
    )
    assert given == [4.5, 1.4]
    text = " ".join(s.text for s in sorted(segments, key=lambda s: s.start))
    assert text == "let us group up and wait for the respawn."
    assert reports[0].untranscribed == ()


def test_a_retry_that_only_runs_into_the_next_words_by_one_word_keeps_it():
    # one word alike is not enough to call it a repeat ("go" said twice is what a player says)
    speech = [Stretch(1.0, 5.5)]
    first = [_raw([(" go", 2.0, 2.3), (" mid.", 2.3, 2.8)])]
    retry = [_raw([(" everyone", 0.0, 0.5), (" go", 0.6, 1.0)])]
    transcriber, _ = _scripted(speech, first, retry)
    segments = list(transcriber.transcribe_chunk(np.zeros(6 * SAMPLE_RATE, np.float32)))
    text = " ".join(s.text for s in sorted(segments, key=lambda s: s.start))
    assert text == "everyone go go mid."


def test_a_retry_that_is_only_the_next_words_is_dropped_and_its_speech_reported():
    # the retry heard nothing but the words the first pass placed after it ("I will" before
    # "I will carry"): the start of the stretch is still without words of its own
    speech = [Stretch(1.0, 5.5)]
    first = [_raw([(" i", 2.0, 2.2), (" will", 2.2, 2.5), (" carry.", 2.5, 3.0)])]
    retry = [_raw([(" I", 0.5, 0.8), (" will", 0.8, 1.3)])]
    transcriber, _ = _scripted(speech, first, retry)
    reports: list = []
    segments = list(
        transcriber.transcribe_chunk(
            np.zeros(6 * SAMPLE_RATE, np.float32), on_report=reports.append
        )
    )
    assert [s.text for s in segments] == ["i will carry."]
    assert reports[0].untranscribed == (Stretch(1.0, 2.4),)
