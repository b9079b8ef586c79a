"""A whole utterance without words is not lost silently, however short the 3 s rule finds it."""

from models.transcriber import SILENT_STRETCH_S, UNTRANSCRIBED_S, Stretch, Word, uncovered


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
