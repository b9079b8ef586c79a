"""A whole utterance without words is not lost silently, however short the 3 s rule finds it."""

from models.transcriber import (
    LONGEST_WORD_S,
    SILENT_STRETCH_S,
    UNTRANSCRIBED_S,
    Stretch,
    Word,
    uncovered,
)


def _words(text: str, start: float, step: float = 0.3) -> list[Word]:
    return [
        Word(f" {w}", round(start + i * step, 3), round(start + i * step + 0.25, 3), 0.9)
        for i, w in enumerate(text.split())
    ]


def test_a_speech_stretch_that_no_word_reaches_is_found_from_one_second():
    said = _words("push mid they only have two left", start=1.2)
    threat = Stretch(10.0, 12.6)  # a whole utterance Whisper wrote nothing for (2.6 s)
    assert threat.duration < UNTRANSCRIBED_S
    assert uncovered([Stretch(1.0, 3.6), threat], said) == [threat]
    # a breath the VAD took for speech, shorter than SILENT_STRETCH_S, is not reported
    breath = Stretch(20.0, 20.0 + SILENT_STRETCH_S - 0.2)
    assert uncovered([Stretch(1.0, 3.6), breath], said) == []


def test_a_gap_inside_transcribed_speech_still_needs_three_seconds():
    # words reach into the stretch, so the rest of it is a gap: reported from 3 s only
    assert uncovered([Stretch(0.0, 3.5)], _words("gg", start=0.2)) == []  # 2.45 s after it
    assert uncovered([Stretch(0.0, 6.0)], _words("gg", start=0.2)) == [Stretch(1.05, 6.0)]


def test_the_start_of_an_utterance_without_words_is_found_from_half_a_second():
    # "Thanks for the carry, well played.": Whisper skipped the first four words, so the first
    # word starts 1.33 s into the stretch (2-hour benchmark session, at 1:37:52)
    stretch = Stretch(10.0, 12.6)
    assert uncovered([stretch], _words("well played", start=11.33)) == [Stretch(10.0, 10.73)]
    # a stretch whose first word comes after the VAD's 0.3 s pad is not reported
    assert uncovered([stretch], _words("thanks for the carry well played", start=10.3)) == []


def test_a_word_stretched_over_a_whole_utterance_covers_no_speech():
    # Whisper's alignment put " on" over 3.9 s, a whole utterance it had skipped
    stretch = Stretch(20.0, 23.9)
    smeared = [Word(" on", 20.0, 23.9, 0.3)]
    assert smeared[0].end - smeared[0].start > LONGEST_WORD_S
    assert uncovered([stretch], smeared) == [stretch]
