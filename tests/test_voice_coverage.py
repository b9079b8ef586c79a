"""Voice a moderator can trust: no speech lost silently, the same transcript every time, loops
cut, one track per audio stream, the right speaker per channel, and the language per track."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.transcriber import Stretch, Transcriber, Word, collapse_loops, uncovered
from models.voice import Scanner, clock
from tests.voice_fixtures import (
    CLEAN,
    RATE,
    RUDE,
    layout,
    needs_espeak,
    speech,
    tiny_transcriber,
    write_wav,
)


def _words(text: str, start: float = 0.0, step: float = 0.3) -> list[Word]:
    return [
        Word(f" {w}", round(start + i * step, 3), round(start + i * step + 0.25, 3), 0.9)
        for i, w in enumerate(text.split())
    ]


def test_a_repetition_loop_is_kept_once_and_reported_with_its_times():
    looped = _words("you are a noob " + "you're a little bit more, " * 6 + "gg")
    kept, loops = collapse_loops(looped)
    assert " ".join(w.text.strip() for w in kept) == "you are a noob you're a little bit more, gg"
    (loop,) = loops
    assert loop.phrase == "you're a little bit more,"
    assert loop.times == 6
    assert loop.start == looped[4].start and loop.end == looped[-2].end


def test_what_players_really_repeat_is_not_a_loop():
    for said in ("go go go", "kill yourself kill yourself kill yourself", "no no no no no"):
        kept, loops = collapse_loops(_words(said))
        assert not loops and len(kept) == len(said.split())


def test_speech_that_no_word_reaches_is_found_with_its_times():
    speech_at = [Stretch(1.0, 4.0), Stretch(10.0, 28.0)]
    words = _words("one two three", start=1.2) + _words("four five", start=25.0)
    assert uncovered(speech_at, words) == [Stretch(10.0, 24.4)]
    # short gaps (a breath, a pause between words) are not reported
    assert uncovered([Stretch(0.0, 4.0)], _words("a b", 0.0) + _words("c", 3.0)) == []


def test_clock_reads_minutes_and_hours():
    assert clock(33.6) == "0:33.6"
    assert clock(85.84) == "1:25.8"
    assert clock(3725.0) == "1:02:05.0"


@pytest.fixture(scope="module")
def garbled(tmp_path_factory) -> Path:
    """Rude speech, then 9 s of speech played backwards (the VAD hears speech; tiny.en loops on
    it and finds no words on a second try), then clean speech after a pause."""
    backwards = np.concatenate([speech(RUDE)[::-1], speech(CLEAN)[::-1], speech(RUDE)[::-1]])
    audio = layout((1.0, speech(RUDE)), (5.0, backwards), (19.0, speech(CLEAN)), length=23)
    return write_wav(tmp_path_factory.mktemp("garbled") / "anna.wav", audio)


@needs_espeak
def test_speech_without_words_is_retried_then_reported_as_untranscribed(garbled, tiny_model_dir):
    from models.classifier import Classifier

    result = Scanner(tiny_transcriber(), Classifier(tiny_model_dir)).scan([garbled])
    (track,) = result.tracks
    assert track.speech_seconds > 10
    assert track.retried, "the empty stretch is decoded a second time"
    assert track.untranscribed, [f.text for f in result.findings]
    # the stretch lies in the backwards speech, and the real speech either side is transcribed
    for stretch in track.untranscribed:
        assert stretch.start >= 4.0 and stretch.end <= 15.5
    assert sum(s.duration for s in track.untranscribed) >= 3.0
    text = " ".join(f.text.lower() for f in result.findings)
    assert "idiot" in text and "round" in text
    assert result.untranscribed == tuple((track.track, s) for s in track.untranscribed)
    (warning, *_) = track.untranscribed_warnings
    assert warning.startswith("anna: untranscribed speech from 0:0")
    # no loop reaches the transcript: no word eight times in a row
    for finding in result.findings:
        keys = [w.text.strip(" ,.").lower() for w in finding.words]
        assert not any(len(set(keys[i : i + 8])) == 1 for i in range(len(keys) - 7)), keys
    assert track.error is None  # speech was heard: not "silence or noise only"


@needs_espeak
def test_the_same_recording_scanned_twice_gives_the_same_result(garbled, tiny_model_dir):
    import ctranslate2

    from models.classifier import Classifier

    def scan(seed: int):
        ctranslate2.set_random_seed(seed)  # as two processes would: nothing may depend on it
        scanner = Scanner(Transcriber("tiny.en", threads=2), Classifier(tiny_model_dir))
        result = scanner.scan([garbled])
        findings = [
            (f.speaker, f.text, f.start, f.end, f.verdict.label, round(f.verdict.score, 5))
            for f in result.findings
        ]
        track = result.tracks[0]
        return findings, track.untranscribed, track.loops, track.retried

    first, second = scan(1), scan(2)
    assert first == second
    assert first[0] and first[1]


def _two_stream_mkv(path: Path, streams: list[tuple[str, np.ndarray]]) -> Path:
    """A Matroska file with one mono audio stream per (title, samples), as OBS writes them."""
    import av

    with av.open(str(path), "w") as out:
        targets = []
        for title, _ in streams:
            stream = out.add_stream("flac", rate=RATE)
            stream.layout = "mono"
            stream.metadata["title"] = title
            targets.append(stream)
        frames = 1024
        length = max(len(s) for _, s in streams)
        for at in range(0, length, frames):
            for stream, (_, samples) in zip(targets, streams, strict=True):
                block = np.zeros(frames, dtype=np.int16)
                piece = samples[at : at + frames]
                block[: len(piece)] = np.clip(piece * 32767, -32768, 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(block[None, :], format="s16", layout="mono")
                frame.sample_rate, frame.pts = RATE, at
                for packet in stream.encode(frame):
                    out.mux(packet)
        for stream in targets:
            for packet in stream.encode(None):
                out.mux(packet)
    return path


@needs_espeak
def test_every_audio_stream_of_a_container_is_a_track_named_by_its_title(tmp_path, tiny_model_dir):
    from models.audio import probe
    from models.classifier import Classifier

    anna = layout((1.0, speech(RUDE)), length=12)
    bo = layout((6.0, speech(CLEAN)), length=12)
    path = _two_stream_mkv(tmp_path / "match.mkv", [("anna", anna), ("bo", bo)])
    assert probe(path).streams == ("anna", "bo")
    result = Scanner(tiny_transcriber(), Classifier(tiny_model_dir)).scan([path])
    assert not result.errors
    assert [(t.track.speaker, t.track.stream) for t in result.tracks] == [("anna", 0), ("bo", 1)]
    assert result.findings
    for finding in result.findings:
        expected = "anna" if finding.start < 5.0 else "bo"
        assert finding.speaker == expected, (finding.text, finding.start)
        assert finding.stream == (0 if expected == "anna" else 1)
    assert "idiot" in " ".join(f.text.lower() for f in result.findings if f.speaker == "anna")
    assert "round" in " ".join(f.text.lower() for f in result.findings if f.speaker == "bo")
    starts = [f.start for f in result.findings]
    assert starts == sorted(starts)


@needs_espeak
def test_untitled_streams_are_named_by_their_number(tmp_path):
    from models.voice import tracks_for

    path = _two_stream_mkv(
        tmp_path / "clip.mkv",
        [("", layout((0.5, speech(CLEAN)))), ("", layout((0.5, speech(RUDE))))],
    )
    assert [t.speaker for t in tracks_for([path])] == ["clip stream 1", "clip stream 2"]


@needs_espeak
def test_two_players_talking_over_each_other_on_two_channels_keep_their_own_words(
    tmp_path, tiny_model_dir
):
    from models.classifier import Classifier

    # anna and bo speak at the same time, each on a channel of one file
    left = layout((1.0, speech(RUDE)), (9.0, speech("Report him, he is feeding.")), length=13)
    right = layout((1.5, speech(CLEAN)), (9.3, speech("Nice shot, well played.")), length=13)
    path = write_wav(tmp_path / "call.wav", left, right)
    result = Scanner(tiny_transcriber(), Classifier(tiny_model_dir)).scan([path])
    anna_words = {"stupid", "idiot", "noob", "report", "feeding", "uninstall"}
    bo_words = {"good", "everyone", "round", "nice", "shot", "played", "work"}
    assert {f.speaker for f in result.findings} == {"call ch1", "call ch2"}
    for finding in result.findings:
        words = {w.strip(" ,.!?").lower() for w in finding.text.split()}
        if finding.speaker == "call ch1":
            assert not words & bo_words - anna_words, finding.text
        else:
            assert not words & anna_words - bo_words, finding.text
        assert finding.channel == (0 if finding.speaker == "call ch1" else 1)


@pytest.fixture(scope="module")
def base_transcriber() -> Transcriber:
    return Transcriber("base", threads=2)


@needs_espeak
def test_the_language_of_each_track_is_detected_and_can_be_set_per_session(
    tmp_path, tiny_model_dir, base_transcriber
):
    from models.classifier import Classifier

    german = "Das war ein gutes Spiel, vielen Dank an alle. Wir sehen uns morgen wieder."
    path = write_wav(tmp_path / "karl.wav", layout((0.5, speech(german, "de")), length=9))
    scanner = Scanner(base_transcriber, Classifier(tiny_model_dir))
    detected = scanner.scan([path])
    assert detected.tracks[0].language == "de"
    assert detected.tracks[0].language_text.startswith("de")
    forced = scanner.scan([path], language="fr")
    assert forced.tracks[0].language == "fr"
    assert base_transcriber.language is None  # the override lasts one session
    with pytest.raises(ValueError, match="klingon"):
        scanner.scan([path], language="klingon")
    assert base_transcriber.language is None


def test_untranscribed_speech_language_and_loops_reach_every_report_format(tmp_path):
    from client.reports import build_report, format_for_path, meta_for_scan
    from models.transcriber import Loop
    from models.voice import ScanResult, Track, TrackResult

    anna = Track(tmp_path / "anna.wav", "anna")
    track = TrackResult(
        anna,
        300.0,
        12,
        2,
        untranscribed=(Stretch(33.6, 85.8),),
        loops=(Loop(90.0, 99.0, "you're a little bit more", 9),),
        language="de",
        languages=("de", "fr"),
    )
    meta = meta_for_scan("modlens scan: anna.wav", ScanResult(findings=(), tracks=(track,)))
    (source,) = meta.sources
    assert "anna: untranscribed speech from 0:33.6 to 1:25.8 (52.2 s)" in source.problems[0]
    assert "language de, fr (mixed)" in source.notes
    report = build_report([], meta)
    for suffix in (".html", ".csv", ".json", ".srt", ".vtt"):
        text = format_for_path(tmp_path / f"r{suffix}").render(report)
        if suffix == ".csv":  # a row of its own, with its times
            assert "00:00:33.600,00:01:25.800,anna,untranscribed speech: listen to it" in text
        elif suffix == ".srt":  # a cue of its own
            assert "00:00:33,600 --> 00:01:25,800\nanna: untranscribed speech" in text
        else:
            assert "untranscribed speech from 0:33.6 to 1:25.8" in text, suffix


def test_a_letter_looped_into_one_long_word_is_dropped_and_its_time_left_uncovered():
    from models.transcriber import Loop, drop_stutters

    words = [*_words("good game everyone"), Word(" uvvvvvvvvvvvvvvvvvvv", 1.0, 20.0, 0.1)]
    loops: list[Loop] = []
    kept = drop_stutters(words, loops)
    assert [w.text for w in kept] == [" good", " game", " everyone"]
    assert loops and loops[0].start == 1.0 and loops[0].end == 20.0
    # the stretch the looped "word" claimed is speech without words again
    assert uncovered([Stretch(0.0, 20.0)], kept) == [Stretch(1.45, 20.0)]
    assert drop_stutters(_words("gg ez noooo"), []) == _words("gg ez noooo")
