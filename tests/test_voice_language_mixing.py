"""A player who switches language mid-session: the track shows as mixed, whichever language the
session is scanned in, and a track in one language does not."""

from models.transcriber import _likely_languages
from models.voice import Scanner
from tests.voice_fixtures import (
    RATE,
    base_transcriber,
    layout,
    needs_espeak,
    speech,
    write_wav,
)

ENGLISH = (
    "Push mid, they only have two left.",
    "Good game everyone, nice work on the last round.",
    "Can someone heal me, I am almost dead.",
    "Watch the left flank, sniper on the roof.",
)
GERMAN = (
    "Das war ein gutes Spiel, vielen Dank an alle.",
    "Wir sehen uns morgen wieder.",
    "Du bist so ein dummer Idiot, hör endlich auf.",
    "Geh nach links, der Gegner kommt von oben.",
)


def _talk(*lines: tuple[str, str]):
    parts, at = [], 0.5
    for text, voice in lines:
        clip = speech(text, voice)
        parts.append((at, clip))
        at += len(clip) / RATE + 1.0
    return layout(*parts)


@needs_espeak
def test_a_switch_to_german_after_the_first_window_shows_the_track_as_mixed(
    tmp_path, tiny_model_dir
):
    from models.classifier import Classifier

    # over 30 s of English speech first: the chunk's language detection hears English only
    english = [(line, "en") for line in ENGLISH * 2]
    audio = _talk(*english, *((line, "de") for line in GERMAN * 2))
    path = write_wav(tmp_path / "switch.wav", audio)
    scanner = Scanner(base_transcriber(), Classifier(tiny_model_dir))
    for language in (None, "en"):  # detected, and set for the session (the app's default)
        result = scanner.scan([path], language=language)
        (track,) = result.tracks
        assert track.language == "en"
        assert set(track.languages) == {"en", "de"}, track.languages
        assert track.mixed_language and track.language_text.endswith("(mixed)")
        later = " ".join(f.text for f in result.findings if f.start > 31.0)
        if language is None:
            # detected: each window is transcribed in its own language, the German in German
            said = set(later.replace(".", " ").replace(",", " ").split())
            assert {"Dank", "morgen", "dummer"} <= said, later
            assert not said & {"tryhard", "gg", "uninstall"}, later  # no English hint words

    english_only = write_wav(tmp_path / "english.wav", _talk(*english, *english))
    (track,) = scanner.scan([english_only]).tracks
    assert track.languages == ("en",) and not track.mixed_language
    assert track.language_text == "en"


def test_a_window_counts_its_most_likely_language_only_when_it_is_clear():
    first = [("en", 0.93), ("de", 0.03)]
    german = [("<|de|>", 0.97), ("<|nn|>", 0.29)]
    unsure = [("<|cy|>", 0.41), ("<|en|>", 0.38)]
    assert _likely_languages(first, [german, unsure]) == (("de", 0.97), ("en", 0.93))
    assert _likely_languages(first, [unsure]) == (("en", 0.93),)
    # the chunk's own detection keeps its second language from MIXED_LANGUAGE_P up
    assert _likely_languages([("de", 0.7), ("en", 0.25)], []) == (("de", 0.7), ("en", 0.25))
