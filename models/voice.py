"""Find the toxic moments in recorded voice sessions: transcribe each speaker's track, cut the
transcript into sentences timed by their words, classify them, and merge tracks in time order.

A session is one or more files; a file whose channels carry different players is read as one
track per channel. Scanning is lazy and reports progress, so a caller (the desktop app's worker
thread, the `scan` command) can show it per file and stop early.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from models.audio import SAMPLE_RATE, AudioError, Chunk, distinct_channels, probe, read_chunks
from models.classifier import Classifier, Verdict
from models.excerpts import Excerpt, split_sentences
from models.transcriber import ChunkReport, Loop, Segment, Stretch, Transcriber, Word

# a pause this long inside a Whisper segment starts a new excerpt even without punctuation
PAUSE_SPLIT_S = 0.8
MAX_EXCERPT_CHARS = 280
# a track is incomplete when this much of the duration its file declares could not be decoded
SHORTFALL_S = 0.5
SHORTFALL_FRACTION = 0.02
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*$")


@dataclass(frozen=True)
class Track:
    """One speaker's audio: a whole file, one audio stream of a file that has several, or one
    channel of a multi-channel stream."""

    path: Path
    speaker: str
    channel: int | None = None  # None: all channels mixed down
    stream: int = 0  # the audio stream of the file


@dataclass(frozen=True)
class Finding:
    """A classified excerpt of speech with the words it covers."""

    excerpt: Excerpt  # speaker, time, end_time set; start/end are offsets into the segment text
    verdict: Verdict
    words: tuple[Word, ...] = ()
    source: str = ""  # the audio file the times point into
    channel: int | None = None
    stream: int = 0  # the audio stream of source

    @property
    def text(self) -> str:
        return self.excerpt.text

    @property
    def speaker(self) -> str:
        return self.excerpt.speaker or ""

    @property
    def start(self) -> float:
        return self.excerpt.time or 0.0

    @property
    def end(self) -> float:
        return self.excerpt.end_time or self.start

    @property
    def toxic(self) -> bool:
        return self.verdict.toxic


@dataclass(frozen=True)
class Progress:
    track: Track
    index: int  # of the track in this scan, from 0
    total: int  # tracks in this scan
    position: float  # seconds of the track transcribed so far
    duration: float | None  # seconds in the track, when known
    findings: int  # excerpts found so far in this track

    @property
    def fraction(self) -> float | None:
        if not self.duration:
            return None
        return max(0.0, min(1.0, self.position / self.duration))


@dataclass(frozen=True)
class TrackResult:
    track: Track
    duration: float | None  # seconds: decoded when known, else what the file declares
    excerpts: int = 0
    flagged: int = 0
    error: str | None = None  # why the track gave nothing: unreadable, silence only, ...
    note: str | None = None  # worth saying but not a failure: one silent channel of several
    decoded_duration: float | None = None  # seconds of audio actually decoded
    declared_duration: float | None = None  # what the container or stream says; None: unknown
    speech_seconds: float = 0.0  # how much the VAD heard as speech
    untranscribed: tuple[Stretch, ...] = ()  # speech with no words even after a retry
    retried: tuple[Stretch, ...] = ()  # stretches decoded a second time
    loops: tuple[Loop, ...] = ()  # repetition loops cut to one
    language: str | None = None  # detected (or set) language of most of the speech
    languages: tuple[str, ...] = ()  # every language heard; more than one: code-switched

    @property
    def mixed_language(self) -> bool:
        return len(self.languages) > 1

    @property
    def language_text(self) -> str:
        """ "en", or "de, fr (mixed)" for a code-switched track; "" when unknown."""
        if self.mixed_language:
            return f"{', '.join(self.languages)} (mixed)"
        return self.language or ""

    @property
    def untranscribed_warnings(self) -> tuple[str, ...]:
        """One sentence per stretch of speech that has no transcript, with its times."""
        return tuple(
            f"{self.track.speaker}: untranscribed speech from {clock(s.start)} to "
            f"{clock(s.end)} ({s.duration:.1f} s); listen to it."
            for s in self.untranscribed
        )

    @property
    def missing(self) -> float | None:
        """Seconds the file declares but that could not be decoded; None when it is whole."""
        decoded, declared = self.decoded_duration, self.declared_duration
        if decoded is None or declared is None:
            return None
        gap = declared - decoded
        return gap if gap > max(SHORTFALL_S, SHORTFALL_FRACTION * declared) else None

    @property
    def warning(self) -> str | None:
        """One sentence when the track was only partly decoded."""
        missing = self.missing
        if missing is None:
            return None
        return (
            f"{self.track.speaker}: only {self.decoded_duration:.1f} s of the "
            f"{self.declared_duration:.1f} s that {self.track.path.name} declares could be "
            f"decoded; the last {missing:.1f} s are missing (the file is truncated or damaged)."
        )


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]  # every excerpt of every track, in time order
    tracks: tuple[TrackResult, ...]
    audio_seconds: float = 0.0
    elapsed: float = 0.0
    transcribe_seconds: float = 0.0
    classify_seconds: float = 0.0
    stopped: bool = False
    problems: tuple[str, ...] = field(default_factory=tuple)  # files that could not be read

    @property
    def flagged(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.toxic)

    @property
    def errors(self) -> tuple[str, ...]:
        return (*self.problems, *(t.error for t in self.tracks if t.error))

    @property
    def untranscribed(self) -> tuple[tuple[Track, Stretch], ...]:
        """Every stretch of speech without a transcript, with its track, in time order."""
        found = [(t.track, s) for t in self.tracks for s in t.untranscribed]
        return tuple(sorted(found, key=lambda x: (x[1].start, x[0].speaker)))

    @property
    def loops(self) -> tuple[tuple[Track, Loop], ...]:
        return tuple((t.track, loop) for t in self.tracks for loop in t.loops)

    @property
    def incomplete(self) -> tuple[TrackResult, ...]:
        """Tracks whose file declares more audio than could be decoded."""
        return tuple(t for t in self.tracks if t.missing is not None)


def clock(seconds: float) -> str:
    """m:ss.s, or h:mm:ss.s past an hour."""
    tenths = round(seconds * 10)
    minutes, tenth_seconds = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes}:{tenth_seconds / 10:04.1f}"
    return f"{hours}:{minutes:02d}:{tenth_seconds / 10:04.1f}" if hours else text


def segment_excerpts(
    segment: Segment, speaker: str | None = None, message: int = 0
) -> list[tuple[Excerpt, tuple[Word, ...]]]:
    """Sentences of a segment, each an Excerpt timed by its first and last word.

    A new excerpt starts after sentence punctuation or a pause of PAUSE_SPLIT_S; a sentence
    longer than MAX_EXCERPT_CHARS is split further at whitespace.
    """
    words = segment.words
    if not words:
        text = segment.text.strip()
        if not text:
            return []
        return [
            (
                Excerpt(text[a:b], a, b, speaker, segment.start, segment.end, message),
                (),
            )
            for a, b in split_sentences(text, MAX_EXCERPT_CHARS)
        ]
    # the segment text rebuilt from its words, so every word has a character span
    text = ""
    spans: list[tuple[int, int]] = []
    groups: list[list[int]] = [[]]
    for i, word in enumerate(words):
        piece = word.text.strip()
        if text:
            text += " "
        spans.append((len(text), len(text) + len(piece)))
        text += piece
        if groups[-1] and word.start - words[i - 1].end >= PAUSE_SPLIT_S:
            groups.append([])
        groups[-1].append(i)
        if _SENTENCE_END.search(piece):
            groups.append([])
    out: list[tuple[Excerpt, tuple[Word, ...]]] = []
    for group in groups:
        if not group:
            continue
        g_start, g_end = spans[group[0]][0], spans[group[-1]][1]
        for a, b in split_sentences(text[g_start:g_end], MAX_EXCERPT_CHARS):
            a, b = a + g_start, b + g_start
            covered = tuple(words[i] for i in group if spans[i][0] < b and spans[i][1] > a)
            if not covered:
                continue
            excerpt = Excerpt(
                text=text[a:b],
                start=a,
                end=b,
                speaker=speaker,
                time=covered[0].start,
                end_time=covered[-1].end,
                message=message,
            )
            out.append((excerpt, covered))
    return out


def tracks_for(
    paths: Sequence[str | os.PathLike[str]], split_channels: bool | None = None
) -> list[Track]:
    """The tracks of a session. split_channels=None splits a file whose channels differ.

    Raises AudioError for the first file that cannot be read; scan() reads files one by one
    so that one bad file does not stop the rest.
    """
    names = _speaker_names([Path(p) for p in paths])
    tracks: list[Track] = []
    for path, name in zip((Path(p) for p in paths), names, strict=True):
        tracks.extend(_file_tracks(path, name, split_channels))
    return tracks


def _file_tracks(path: Path, name: str, split_channels: bool | None) -> list[Track]:
    """One track per audio stream (named by its title, else its number), and per channel of a
    stream whose channels carry different audio."""
    info = probe(path)
    streams = info.streams or ("",)
    tracks: list[Track] = []
    for index, title in enumerate(streams):
        if len(streams) == 1:
            speaker = name
        else:
            speaker = title or f"{name} stream {index + 1}"
            if [t or None for t in streams].count(title) > 1:
                speaker = f"{name} stream {index + 1}"
        tracks.extend(_stream_tracks(path, speaker, index, split_channels))
    return tracks


def _stream_tracks(path: Path, name: str, stream: int, split_channels: bool | None) -> list[Track]:
    info = probe(path, stream)
    if split_channels is False or info.channels <= 1:
        return [Track(path, name, stream=stream)]
    if split_channels is None and distinct_channels(path, stream) <= 1:
        return [Track(path, name, stream=stream)]
    return [Track(path, f"{name} ch{c + 1}", c, stream) for c in range(info.channels)]


def _speaker_names(paths: list[Path]) -> list[str]:
    names = [p.stem for p in paths]
    for i, path in enumerate(paths):
        if names.count(path.stem) > 1:
            names[i] = f"{path.parent.name}/{path.stem}"
    return names


class Scanner:
    """Transcribes and classifies tracks; keeps the models loaded between scans."""

    def __init__(
        self,
        transcriber: Transcriber,
        classifier: Classifier,
        chunk_seconds: float = 300.0,
    ) -> None:
        self.transcriber = transcriber
        self.classifier = classifier
        self.chunk_seconds = chunk_seconds
        self.transcribe_seconds = 0.0
        self.classify_seconds = 0.0
        self.decoded_seconds = 0.0  # of the track scan_track read last
        self.reports: list[ChunkReport] = []  # coverage of the track scan_track read last

    @classmethod
    def load(
        cls,
        whisper: str | os.PathLike[str] = "base",
        model_dir: str | os.PathLike[str] | None = None,
        language: str | None = None,
        vocabulary: Sequence[str] = (),
        thresholds: dict[str, float] | None = None,
        threads: int | None = None,
    ) -> Scanner:
        """Load both models; raises ModelError (missing or damaged) or ValueError (language)."""
        transcriber = Transcriber(whisper, language, vocabulary, threads=threads)
        return cls(transcriber, Classifier(model_dir, thresholds=thresholds))

    def scan_track(
        self,
        track: Track,
        on_progress: Callable[[float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[Finding]:
        """Findings of one track as they are found; on_progress gets seconds transcribed."""
        self.decoded_seconds = 0.0
        self.reports = []
        chunks = self._counted(
            read_chunks(track.path, track.channel, self.chunk_seconds, stream=track.stream)
        )
        segments = self.transcriber.transcribe_chunks(chunks, on_report=self.reports.append)
        message = 0
        position = 0.0
        while True:
            if should_stop and should_stop():
                segments.close()
                return
            began = time.perf_counter()
            try:
                segment = next(segments)
            except StopIteration:
                self.transcribe_seconds += time.perf_counter() - began
                return
            self.transcribe_seconds += time.perf_counter() - began
            pieces = segment_excerpts(segment, track.speaker, message)
            message += 1
            began = time.perf_counter()
            verdicts = self.classifier.classify([e for e, _ in pieces]) if pieces else []
            self.classify_seconds += time.perf_counter() - began
            for (excerpt, words), verdict in zip(pieces, verdicts, strict=True):
                yield Finding(excerpt, verdict, words, str(track.path), track.channel, track.stream)
            # a retried stretch comes after the chunk it belongs to: progress never goes back
            position = max(position, segment.end)
            if on_progress:
                on_progress(position)

    def _counted(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            self.decoded_seconds = chunk.start + chunk.samples.shape[0] / SAMPLE_RATE
            yield chunk

    def scan(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_progress: Callable[[Progress], None] | None = None,
        on_finding: Callable[[Finding], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        split_channels: bool | None = None,
        language: str | None = None,
    ) -> ScanResult:
        """Scan a session; a file that cannot be read is reported in the result, not raised.

        language overrides the transcriber's language for this session (a code such as "de");
        None keeps it (detected per chunk when the transcriber has none).
        """
        if language is None or language == self.transcriber.language:
            return self._scan(paths, on_progress, on_finding, should_stop, split_channels)
        kept = self.transcriber.language
        self.transcriber.set_language(language)
        try:
            return self._scan(paths, on_progress, on_finding, should_stop, split_channels)
        finally:
            self.transcriber.language = kept

    def _scan(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_progress: Callable[[Progress], None] | None,
        on_finding: Callable[[Finding], None] | None,
        should_stop: Callable[[], bool] | None,
        split_channels: bool | None,
    ) -> ScanResult:
        began = time.perf_counter()
        self.transcribe_seconds = self.classify_seconds = 0.0
        paths = [Path(p) for p in paths]
        tracks: list[Track] = []
        problems: list[str] = []
        for path, name in zip(paths, _speaker_names(paths), strict=True):
            try:
                tracks.extend(_file_tracks(path, name, split_channels))
            except AudioError as exc:
                problems.append(str(exc))
        findings: list[Finding] = []
        results: list[TrackResult] = []
        audio_seconds = 0.0
        stopped = False
        for index, track in enumerate(tracks):
            duration = _duration(track)
            found: list[Finding] = []

            def report(position: float, track=track, index=index, duration=duration, found=found):
                if on_progress:
                    on_progress(Progress(track, index, len(tracks), position, duration, len(found)))

            report(0.0)
            error = None
            try:
                for finding in self.scan_track(track, report, should_stop):
                    found.append(finding)
                    if on_finding:
                        on_finding(finding)
            except AudioError as exc:
                error = str(exc)
            if should_stop and should_stop():
                stopped = True
            elif error is None and not found and not _untranscribed(self.reports):
                error = f"{track.speaker}: no speech found (silence or noise only)."
            last = max((f.end for f in found), default=0.0)
            decoded = self.decoded_seconds or None
            # the progress ends where decoding ended: a truncated file does not reach 100%
            seconds = decoded if decoded is not None else duration or last
            if not stopped:
                report(seconds)
            audio_seconds += seconds
            flagged = sum(f.toxic for f in found)
            results.append(
                TrackResult(
                    track,
                    seconds,
                    len(found),
                    flagged,
                    error,
                    decoded_duration=None if stopped else decoded,
                    declared_duration=duration,
                    **_coverage(self.reports, self.transcriber.language),
                )
            )
            findings.extend(found)
            if stopped:
                break
        results = _silent_channels_are_notes(results)
        findings.sort(key=lambda f: (f.start, f.speaker))
        return ScanResult(
            findings=tuple(findings),
            tracks=tuple(results),
            audio_seconds=audio_seconds,
            elapsed=time.perf_counter() - began,
            transcribe_seconds=self.transcribe_seconds,
            classify_seconds=self.classify_seconds,
            stopped=stopped,
            problems=tuple(problems),
        )


def _silent_channels_are_notes(results: list[TrackResult]) -> list[TrackResult]:
    """A silent channel is only a failure when no channel of its file had speech."""
    spoke = {r.track.path for r in results if r.excerpts}
    out = []
    for r in results:
        if r.track.channel is not None and r.track.path in spoke and r.error and not r.excerpts:
            r = replace(r, error=None, note=r.error)
        out.append(r)
    return out


def _untranscribed(reports: Sequence[ChunkReport]) -> tuple[Stretch, ...]:
    return tuple(s for r in reports for s in r.untranscribed)


def _coverage(reports: Sequence[ChunkReport], language: str | None) -> dict[str, object]:
    """TrackResult fields from a track's chunk reports: its speech, untranscribed stretches,
    retries and loops, and its language (the one most of its speech was in)."""
    weight: dict[str, float] = {}
    heard: list[str] = []
    for report in reports:
        seconds = sum(s.duration for s in report.speech)
        if report.language and seconds:
            weight[report.language] = weight.get(report.language, 0.0) + seconds
        for code in (report.language, *(code for code, _ in report.languages)):
            if code and seconds and code not in heard:
                heard.append(code)
    main = max(weight, key=lambda k: weight[k]) if weight else language
    return {
        "speech_seconds": round(sum(s.duration for r in reports for s in r.speech), 3),
        "untranscribed": _untranscribed(reports),
        "retried": tuple(s for r in reports for s in r.retried),
        "loops": tuple(loop for r in reports for loop in r.loops),
        "language": main,
        "languages": tuple(sorted(heard, key=lambda k: -weight.get(k, 0.0))) if main else (),
    }


def _duration(track: Track) -> float | None:
    try:
        return probe(track.path, track.stream).duration
    except AudioError:
        return None
