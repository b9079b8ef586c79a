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
from models.transcriber import Segment, Transcriber, Word

# a pause this long inside a Whisper segment starts a new excerpt even without punctuation
PAUSE_SPLIT_S = 0.8
MAX_EXCERPT_CHARS = 280
# a track is incomplete when this much of the duration its file declares could not be decoded
SHORTFALL_S = 0.5
SHORTFALL_FRACTION = 0.02
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*$")


@dataclass(frozen=True)
class Track:
    """One speaker's audio: a whole file, or one channel of a multi-channel file."""

    path: Path
    speaker: str
    channel: int | None = None  # None: all channels mixed down


@dataclass(frozen=True)
class Finding:
    """A classified excerpt of speech with the words it covers."""

    excerpt: Excerpt  # speaker, time, end_time set; start/end are offsets into the segment text
    verdict: Verdict
    words: tuple[Word, ...] = ()
    source: str = ""  # the audio file the times point into
    channel: int | None = None

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
    def incomplete(self) -> tuple[TrackResult, ...]:
        """Tracks whose file declares more audio than could be decoded."""
        return tuple(t for t in self.tracks if t.missing is not None)


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
    info = probe(path)
    if split_channels is False or info.channels <= 1:
        return [Track(path, name)]
    if split_channels is None and distinct_channels(path) <= 1:
        return [Track(path, name)]
    return [Track(path, f"{name} ch{c + 1}", c) for c in range(info.channels)]


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
        chunks = self._counted(read_chunks(track.path, track.channel, self.chunk_seconds))
        segments = self.transcriber.transcribe_chunks(chunks)
        message = 0
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
                yield Finding(excerpt, verdict, words, str(track.path), track.channel)
            if on_progress:
                on_progress(segment.end)

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
    ) -> ScanResult:
        """Scan a session; a file that cannot be read is reported in the result, not raised."""
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
            elif error is None and not found:
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


def _duration(track: Track) -> float | None:
    try:
        return probe(track.path).duration
    except AudioError:
        return None
