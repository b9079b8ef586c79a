"""Speech to timed text with faster-whisper: int8 on the CPU, voice activity detection, word
timestamps, and a gaming vocabulary hint so "noob", "gg" and "uninstall" come out right.

Segments are yielded lazily, chunk by chunk, so a caller can show progress and stop early and
a long recording is never decoded whole.

What a moderator must be able to trust, and how it is kept:

- The same audio gives the same words: decoding never samples (temperature 0 only, no
  fallback to random temperatures), and every retry is a fixed, greedy-or-beam setting.
- No speech is lost silently: the Silero VAD's speech stretches are compared with the words
  transcribed in them; a stretch of UNTRANSCRIBED_S or more without words (a whole speech
  stretch from SILENT_STRETCH_S, the start of one before its first word from LEADING_GAP_S)
  is decoded again on its own (a beam of 5, no vocabulary hint), and what is still empty is
  reported as untranscribed speech with its times (ChunkReport.untranscribed). Punctuation
  alone and a "word" longer than LONGEST_WORD_S (Whisper's alignment smeared over speech it
  skipped) cover no speech; a window held back for looping is decoded again over the whole
  speech stretches it touches.
- Hallucinations are held back: a phrase repeated REPEAT_TIMES or more times in a row is cut
  to one (and reported as a loop); only the VAD's speech stretches reach Whisper (joined, their
  times mapped back), so there is no text over silence to invent.
- A player who switches language is not hidden: a multilingual model names the language of
  every 30-second window it decodes, not only of the first one of a chunk (which decides the
  language the chunk is decoded in, or the language set for the session); a window whose most
  likely language is another one (WINDOW_LANGUAGE_P or more) puts it in the chunk's report
  (ChunkReport.languages), so the track shows as mixed ("en, de (mixed)").
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from models.audio import SAMPLE_RATE, Chunk, read_chunks
from models.limits import check_beam_size, check_threads
from models.model_folder import ModelError
from models.whisper_models import resolve_whisper

DEFAULT_VOCABULARY: tuple[str, ...] = (
    "noob",
    "gg",
    "uninstall",
    "report",
    "feed",
    "feeder",
    "tryhard",
    "griefing",
    "smurf",
    "camper",
    "afk",
    "ez",
    "trash",
    "idiot",
    "teamkill",
    "respawn",
    "nerf",
    "carry",
)

# speech stretches without words at least this long are retried, then reported
UNTRANSCRIBED_S = 3.0
# ... and a whole VAD speech stretch that no word reaches from this long: it is an utterance
# left out (bench_scan, 10 minutes: 8 of 110 utterances, threats among them, had no excerpt and
# no report, each one stretch of 2.5-3 s after Whisper skipped or mistimed its window)
SILENT_STRETCH_S = 1.0
# a word covers this much around itself (Whisper's word times are tight, speech pads are not)
WORD_REACH_S = 0.6
# ... and the start of a stretch (where an utterance starts, after the VAD's 0.3 s pad) that
# no word reaches for this long is retried, then reported: Whisper skipped the first words of
# an utterance, and 7 of the 10 utterances bench_scan's 2-hour session lost silently had
# 0.73-2.5 s of their stretch's start without words (one under SILENT_STRETCH_S)
LEADING_GAP_S = 0.5
# a "word" longer than this is Whisper's alignment stretched over speech it skipped (" on"
# for 3.9 s over a whole utterance; in 3,819 words of 9 chunks of the 2-hour session the 4
# longer than 1.2 s were all such): it stays in the transcript, but covers no speech
LONGEST_WORD_S = 1.5
RETRY_BEAM = 5
# a phrase of 1..REPEAT_MAX_WORDS words said REPEAT_TIMES times in a row is a decoding loop
REPEAT_TIMES = 3
REPEAT_MAX_WORDS = 8
# ... and covers at least this many words: "go go go" or "kill yourself" said three times is
# what a player said, not a loop
REPEAT_MIN_WORDS = 8
# a decoding window whose text compresses this well repeats itself (Whisper's own limit)
COMPRESSION_LIMIT = 2.4
# the VAD settings (measured on espeak sessions and game chat: see benchmarks/bench_speech.py)
VAD_PARAMETERS: dict[str, float | int] = {"min_silence_duration_ms": 700, "speech_pad_ms": 300}
# a second language this likely in a chunk marks the track as code-switched
MIXED_LANGUAGE_P = 0.2
# ... as does the most likely language of any later window when it is this likely (faster-
# whisper's own detection threshold; a second language there at 0.2-0.3 was noise: "nn" beside
# German espeak speech, measured)
WINDOW_LANGUAGE_P = 0.5
# Whisper's window; audio already cut at pauses (live) and shorter than this is one utterance
WINDOW_S = 30.0


@dataclass(frozen=True)
class Word:
    text: str  # as Whisper wrote it, usually with a leading space
    start: float  # seconds from the start of the track
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    text: str
    start: float
    end: float
    words: tuple[Word, ...]
    retried: bool = False  # came from a second decoding of a stretch the first one left empty
    compression_ratio: float = 0.0  # of its decoding window's text (zlib); high: it repeats


@dataclass(frozen=True)
class Stretch:
    """A span of time in a track, in seconds from its start."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Loop:
    """A phrase Whisper repeated in a loop; kept once, the repeats dropped."""

    start: float
    end: float
    phrase: str
    times: int


@dataclass(frozen=True)
class ChunkReport:
    """What one chunk's transcription covered, beside its segments."""

    start: float
    end: float
    speech: tuple[Stretch, ...] = ()  # where the VAD heard speech
    untranscribed: tuple[Stretch, ...] = ()  # speech without words, even after a retry
    retried: tuple[Stretch, ...] = ()  # stretches decoded a second time
    loops: tuple[Loop, ...] = ()
    language: str | None = None
    language_probability: float = 0.0
    languages: tuple[tuple[str, float], ...] = field(default_factory=tuple)  # likely ones


def default_threads() -> int:
    # measured: more than two threads does not speed Whisper up on small CPUs
    return max(1, min(4, os.cpu_count() or 1))


def hotwords(vocabulary: Iterable[str] = ()) -> str:
    """The hint phrase for Whisper: the default gaming words plus the studio's own, deduplicated."""
    words: list[str] = []
    for word in (*DEFAULT_VOCABULARY, *vocabulary):
        word = word.strip()
        if word and word.lower() not in {w.lower() for w in words}:
            words.append(word)
    return ", ".join(words)


_KEY = re.compile(r"[\W_]+", re.UNICODE)


def _key(word: Word) -> str:
    return _KEY.sub("", word.text.lower())


# Whisper sometimes writes the vocabulary hint back over speech it did not hear: "tryhard,
# respawn, nerf, carry," over 8 s of a 2-hour bench_scan session. A segment of this many words or
# more, every one a hint word and in the hint's order, is such an echo
HINT_ECHO_WORDS = 3


@functools.lru_cache(maxsize=8)
def _hint_order(hint: str) -> MappingProxyType[str, int]:
    """Each hint word's first place in the hint (worked out once per hint, not per segment)."""
    order: dict[str, int] = {}
    for i, key in enumerate(_KEY.sub(" ", hint.lower()).split()):
        order.setdefault(key, i)
    return MappingProxyType(order)


def hint_echo(words: Sequence[Word], hint: str) -> bool:
    """Whether words are the hint written back: HINT_ECHO_WORDS or more, all hint words, each
    later in the hint than the one before (a player's "report that noob" is not)."""
    order = _hint_order(hint)
    keys = [_key(w) for w in words]
    if len(keys) < HINT_ECHO_WORDS or any(k not in order for k in keys):
        return False
    places = [order[k] for k in keys]
    return all(a < b for a, b in itertools.pairwise(places))


def collapse_loops(words: Sequence[Word]) -> tuple[tuple[Word, ...], tuple[Loop, ...]]:
    """Words with every phrase repeated REPEAT_TIMES or more times in a row kept once.

    Phrases are compared without case or punctuation; a loop covers at least REPEAT_MIN_WORDS
    words; the longest loop at a place wins.
    """
    keys = [_key(w) for w in words]
    kept: list[Word] = []
    loops: list[Loop] = []
    i = 0
    while i < len(words):
        best_n, best_times = 0, 1
        for n in range(1, REPEAT_MAX_WORDS + 1):
            phrase = keys[i : i + n]
            if len(phrase) < n or not any(phrase):
                break
            times = 1
            while keys[i + times * n : i + (times + 1) * n] == phrase:
                times += 1
            if (
                times >= REPEAT_TIMES
                and times * n >= REPEAT_MIN_WORDS
                and times * n > best_times * best_n
            ):
                best_n, best_times = n, times
        if best_n:
            first = words[i : i + best_n]
            kept.extend(first)
            last = words[i + best_times * best_n - 1]
            text = "".join(w.text for w in first).strip()
            loops.append(Loop(first[0].start, last.end, text, best_times))
            i += best_times * best_n
        else:
            kept.append(words[i])
            i += 1
    return tuple(kept), tuple(loops)


_STUTTER = re.compile(r"(\w)\1{5,}", re.UNICODE)
# a "word" this long is a decoding loop inside one token run ("uvvvvvvvv..."), not speech
LONGEST_WORD = 40


def drop_stutters(words: list[Word], loops: list[Loop]) -> list[Word]:
    """Words without the ones that are a letter looped ("uvvvvvvv"): each becomes a Loop, and
    its time is left without words (so coverage sees it)."""
    kept = []
    for word in words:
        text = word.text.strip()
        if len(text) > LONGEST_WORD or _STUTTER.search(text):
            loops.append(Loop(word.start, word.end, text[:20], len(text)))
        else:
            kept.append(word)
    return kept


def uncovered(
    speech: Sequence[Stretch], words: Iterable[Word], minimum: float = UNTRANSCRIBED_S
) -> list[Stretch]:
    """Parts of the speech stretches at least minimum seconds long that no word reaches, whole
    stretches no word reaches from SILENT_STRETCH_S, and the start of a stretch before its
    first word from LEADING_GAP_S (or minimum, if shorter). Words longer than LONGEST_WORD_S
    reach nothing."""
    reach = sorted(
        (w.start - WORD_REACH_S, w.end + WORD_REACH_S)
        for w in words
        if w.end - w.start <= LONGEST_WORD_S
    )
    whole = min(minimum, SILENT_STRETCH_S)
    leading = min(minimum, LEADING_GAP_S)
    out: list[Stretch] = []
    for stretch in speech:
        at = stretch.start
        reached = False
        for lo, hi in reach:
            if hi <= at or lo >= stretch.end:
                continue
            # the start of a stretch is where an utterance starts: words only later leave it out
            if lo - at >= (minimum if reached else leading):
                out.append(Stretch(round(at, 3), round(lo, 3)))
            reached = True
            at = max(at, hi)
        if stretch.end - at >= (minimum if reached else whole):
            out.append(Stretch(round(at, 3), round(stretch.end, 3)))
    return out


# a retry of speech the first pass left without words can run on into the words it placed
# beside that speech (Whisper's word times are late or early by a few tenths of a second): the
# transcript then said "and wait and wait for the respawn". This many words alike, in order,
# at the edge of the retry and beside it, are a repeat and kept once (one word alike is not:
# "go go mid" is what a player says); a retried segment made only of such words is dropped
REPEAT_EDGE_WORDS = 2
# ... looking at the first pass's words this close to the retried stretch
REPEAT_EDGE_S = 3.0


def _overlap(tail: Sequence[str], head: Sequence[str]) -> int:
    """The most words at the end of tail that are the words at the start of head."""
    for k in range(min(len(tail), len(head)), 0, -1):
        if list(tail[-k:]) == list(head[:k]):
            return k
    return 0


def without_repeats(
    segments: Sequence[Segment], placed: Sequence[Word], retried: Stretch
) -> list[Segment]:
    """The segments of a retried stretch without the words at their edges that repeat the
    words placed just before or after it (see REPEAT_EDGE_WORDS)."""
    # the first pass's words within REPEAT_EDGE_S of the retry, in time order (sorted once)
    near = sorted(
        (
            w
            for w in placed
            if w.end >= retried.start - REPEAT_EDGE_S and w.start <= retried.end + REPEAT_EDGE_S
        ),
        key=lambda w: w.start,
    )
    before = [_key(w) for w in near if w.end <= retried.start + 0.05]
    after = [_key(w) for w in near if w.start >= retried.end - 0.05]
    words = [w for segment in segments for w in segment.words]
    keys = [_key(w) for w in words]
    tail = _overlap(keys, after)
    head = _overlap(before, keys)
    enough = min(REPEAT_EDGE_WORDS, len(keys))  # or the whole retry, when shorter
    drop: set[int] = set()
    if tail and tail >= enough:
        drop |= set(range(len(keys) - tail, len(keys)))
    if head and head >= enough:
        drop |= set(range(head))
    if not drop:
        return list(segments)
    out: list[Segment] = []
    at = 0
    for segment in segments:
        kept = tuple(w for i, w in enumerate(segment.words, at) if i not in drop)
        at += len(segment.words)
        if kept == segment.words:
            out.append(segment)
        elif kept:
            text = "".join(w.text for w in kept).strip()
            out.append(
                replace(segment, text=text, start=kept[0].start, end=kept[-1].end, words=kept)
            )
    return out


def _whole(segment: Segment, speech: Sequence[Stretch]) -> Stretch:
    """The time of a segment widened to the whole speech stretches it touches."""
    lo, hi = segment.start - 0.05, segment.end + 0.05
    touched = [s for s in speech if s.end > lo and s.start < hi]
    return Stretch(min([lo, *(s.start for s in touched)]), max([hi, *(s.end for s in touched)]))


def _merge(stretches: Iterable[Stretch]) -> list[Stretch]:
    merged: list[Stretch] = []
    for s in sorted(stretches, key=lambda s: s.start):
        if merged and s.start <= merged[-1].end:
            merged[-1] = Stretch(merged[-1].start, max(merged[-1].end, s.end))
        else:
            merged.append(s)
    return merged


class Transcriber:
    """A loaded Whisper model with the options modlens uses."""

    def __init__(
        self,
        model: str | os.PathLike[str] = "base",
        language: str | None = None,
        vocabulary: Sequence[str] = (),
        threads: int | None = None,
        beam_size: int = 1,
        vad: bool = True,
        retry: bool = True,
    ) -> None:
        threads = check_threads(threads)
        beam_size = check_beam_size(beam_size)
        from faster_whisper import WhisperModel

        self.path = resolve_whisper(model)
        self.name = str(model) if str(model) in ("base", "tiny.en") else Path(model).name
        try:
            self._model = WhisperModel(
                str(self.path),
                device="cpu",
                compute_type="int8",
                cpu_threads=threads or default_threads(),
                local_files_only=True,
            )
        except Exception as exc:  # CTranslate2 raises RuntimeError for a damaged model.bin
            raise ModelError(f"Whisper model {self.path} cannot be loaded: {exc}") from exc
        self.multilingual = bool(self._model.model.is_multilingual)
        self.language: str | None = None
        self.set_language(language)
        self.hotwords = hotwords(vocabulary)
        # greedy decoding: measured ~25% faster than a beam of 5 with base on 2 cores, and the
        # same words on our test speech; a studio with time to spare can raise it
        self.beam_size = beam_size
        self.vad = vad
        self.retry = retry
        # faster-whisper encodes each decoding window as it comes to it; _one_utterance stops
        # it before a window that would hold nothing but the end of the last word, and
        # transcribe_chunk has the languages of each window named (one decoder step each)
        self._guard = threading.local()
        encode = self._model.encode

        def guarded_encode(features):
            if getattr(self._guard, "tail", False):
                raise _TailWindow
            out = encode(features)
            languages = getattr(self._guard, "languages", None)
            if languages is not None:
                languages.append(self._model.model.detect_language(out)[0])
            return out

        self._model.encode = guarded_encode

    def set_language(self, language: str | None) -> None:
        """The language to transcribe in (None: detect it per chunk); ValueError for one this
        model does not know."""
        if not self.multilingual and language not in (None, "en"):
            raise ValueError(f"{self.name} understands English only, not {language!r}.")
        if language is not None and language not in self._model.supported_languages:
            raise ValueError(f"Whisper does not know the language {language!r}.")
        self.language = "en" if not self.multilingual else language

    def _decode(
        self,
        audio: np.ndarray,
        beam_size: int,
        hint: bool,
        languages: list[list[tuple[str, float]]] | None = None,
    ) -> tuple[Iterator, object]:
        """faster-whisper's segments (lazy) and its TranscriptionInfo; with languages (and a
        multilingual model), the language likelihoods of each window go into that list.

        Segment-time tokens stay on even for live utterances: without them tiny.en was not
        faster on 12 espeak utterances and wrote other words ("uncles" for "thanks").
        """
        detecting = self.multilingual and self.language is None
        segments, info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=beam_size,
            # never sample: the same audio gives the same words every time
            temperature=0.0,
            vad_filter=False,
            word_timestamps=True,
            # hotwords, not initial_prompt: on minute-long sessions a prompt listing game words
            # made tiny.en skip most of the speech and misplace word times (measured)
            # the hint is English game words: given only where the language is known (or the
            # model English-only), not to windows that may be German (there it made Whisper
            # write "und tryhard, gg, uninstall" into German speech)
            hotwords=(self.hotwords or None) if hint and not detecting else None,
            # each window stands alone: a hallucination does not carry into the next one
            condition_on_previous_text=False,
            # language detected (not set): every 30 s window is decoded in the language heard
            # in it, so a player who switches to German is transcribed in German (measured on
            # 54 s of English then German with base: German words, against English-sounding
            # nonsense and hint words when the first window's English was kept)
            multilingual=detecting,
        )
        if languages is not None and self.multilingual:
            segments = self._naming_languages(segments, languages)
        return segments, info

    def _naming_languages(self, raw: Iterable, languages: list) -> Iterator:
        """raw's segments; each window faster-whisper encodes meanwhile has its languages named
        in languages (the guard is set only while raw runs, never while a caller holds one)."""
        segments = iter(raw)
        while True:
            self._guard.languages = languages
            try:
                segment = next(segments)
            except StopIteration:
                return
            finally:
                self._guard.languages = None
            yield segment

    def transcribe(
        self, audio: np.ndarray, offset: float = 0.0, vad: bool | None = None
    ) -> Iterator[Segment]:
        """Segments of 16 kHz mono float32 audio, timed from offset seconds.

        vad=False skips voice activity detection, for audio already cut at pauses (live).
        """
        yield from self.transcribe_chunk(audio, offset, vad)

    def speech(self, audio: np.ndarray) -> list[Stretch]:
        """Where the Silero VAD hears speech, in seconds from the start of audio."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        found = get_speech_timestamps(audio, VadOptions(**VAD_PARAMETERS))
        return [Stretch(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in found]

    def transcribe_chunk(
        self,
        audio: np.ndarray,
        offset: float = 0.0,
        vad: bool | None = None,
        on_report: Callable[[ChunkReport], None] | None = None,
    ) -> Iterator[Segment]:
        """Segments of one chunk: the first pass in time order as it is decoded, then what a
        retry found in the stretches it left empty; on_report gets the coverage at the end."""
        length = audio.shape[0] / SAMPLE_RATE
        if audio.size == 0:
            if on_report:
                on_report(ChunkReport(offset, offset))
            return
        use_vad = self.vad if vad is None else vad
        speech = self.speech(audio) if use_vad else [Stretch(0.0, length)]
        if not speech:
            if on_report:
                on_report(ChunkReport(offset, offset + length))
            return
        # language likelihoods of each window, for the report
        windows: list[list[tuple[str, float]]] | None = [] if on_report else None
        # the speech alone, joined; times are mapped back to the chunk afterwards
        pieces = [audio[int(s.start * SAMPLE_RATE) : int(s.end * SAMPLE_RATE)] for s in speech]
        joined = np.concatenate(pieces) if use_vad else audio
        raw, info = self._decode(joined, self.beam_size, hint=True, languages=windows)
        if not use_vad and length < WINDOW_S:
            raw = self._one_utterance(raw, length)
        loops: list[Loop] = []
        heard: list[Word] = []
        held: list[Segment] = []  # from windows whose text repeats itself
        # streamed as decoded, so a caller can show progress and stop early
        hint = getattr(self, "hotwords", "")
        echoes: list[Segment] = []  # the hint written back: decoded again without it
        for segment in self._segments(raw, speech if use_vad else None, 0.0, loops):
            if self.retry and hint_echo(segment.words, hint):
                echoes.append(segment)
                held.append(segment)
                continue
            if use_vad and self.retry and segment.compression_ratio > COMPRESSION_LIMIT:
                held.append(segment)
                continue
            heard.extend(segment.words)
            yield _shifted(segment, offset)
        retried: list[Stretch] = []
        # a window that repeats itself (a loop longer than collapse_loops looks for): its
        # speech is decoded again with a beam; the first pass stands if that loops as well
        # whole speech stretches: a held window's words may start after its stretch does (its
        # first words mistimed or skipped), and a retry of only the rest loses that start
        for span in _merge(_whole(x, speech) for x in held):
            retried.append(span)
            first = [x for x in held if span.start <= x.start and x.end <= span.end]
            part = [
                Stretch(max(a.start, span.start), min(a.end, span.end))
                for a in speech
                if a.end > span.start and a.start < span.end
            ]
            looped: list[Loop] = []
            more: list[Segment] = []
            if part:
                clip = np.concatenate(
                    [audio[int(a.start * SAMPLE_RATE) : int(a.end * SAMPLE_RATE)] for a in part]
                )
                again, _ = self._decode(
                    clip, max(RETRY_BEAM, self.beam_size), hint=False, languages=windows
                )
                more = list(self._segments(again, part, 0.0, looped, retried=True))
            worst = max((x.compression_ratio for x in first), default=0.0)
            # an echo of the hint never stands: without words from the retry, its speech is
            # left uncovered (retried once more, then reported as untranscribed)
            kept = [x for x in first if x not in echoes]
            if looped or not any(x.words for x in more):
                more = kept
            elif max(x.compression_ratio for x in more) >= worst and kept:
                more = kept  # no better: the first pass stands
            for segment in more:
                heard.extend(segment.words)
                yield _shifted(segment, offset)
        if use_vad and self.retry:
            for gap in uncovered(speech, heard):
                retried.append(gap)
                clip = audio[int(gap.start * SAMPLE_RATE) : int(gap.end * SAMPLE_RATE)]
                # a second or so of speech is too little to name a language by (the 2-hour
                # bench_scan session read as "en, pl (mixed)" once the start of utterances was
                # retried); the first pass named the languages of all this speech already
                named = windows if gap.duration >= UNTRANSCRIBED_S else None
                again, _ = self._decode(
                    clip, max(RETRY_BEAM, self.beam_size), hint=False, languages=named
                )
                looped: list[Loop] = []
                more = list(self._segments(again, None, gap.start, looped, retried=True))
                if looped:
                    continue  # the retry looped too: its words are not a transcript
                more = without_repeats(more, heard, gap)
                for segment in more:
                    heard.extend(segment.words)
                    yield _shifted(segment, offset)
        missing = uncovered(speech, heard) if use_vad else []
        if on_report:
            probs = _likely_languages(
                (getattr(info, "all_language_probs", None) or [])[:3], windows or ()
            )
            on_report(
                ChunkReport(
                    start=offset,
                    end=round(offset + length, 3),
                    speech=tuple(_moved(s, offset) for s in speech),
                    untranscribed=tuple(_moved(s, offset) for s in _merge(missing)),
                    retried=tuple(_moved(s, offset) for s in retried),
                    loops=tuple(
                        Loop(
                            round(x.start + offset, 3), round(x.end + offset, 3), x.phrase, x.times
                        )
                        for x in loops
                    ),
                    language=getattr(info, "language", None) or self.language,
                    language_probability=float(getattr(info, "language_probability", 0.0) or 0),
                    languages=probs,
                )
            )

    def _one_utterance(self, raw: Iterable, length: float) -> Iterator:
        """faster-whisper's segments of one utterance cut at pauses, without a second window
        that would hold only the WORD_REACH_S after the last word.

        With word timestamps faster-whisper goes on from the last word's end, so the 0.1-0.3 s
        after it (the cut's tail) was decoded on its own, padded to 30 s: a second encoder
        pass and words that are not there (tiny.en on 60 live espeak utterances: 2 such
        windows, "rez, rez, rez, ..." for 448 tokens and "this."). A later window after a
        longer stretch is decoded as before: speech the first window skipped is not dropped.
        """
        segments = iter(raw)
        last_word = None
        while True:
            self._guard.tail = last_word is not None and length - last_word < WORD_REACH_S
            try:
                segment = next(segments)
            except (StopIteration, _TailWindow):
                return
            finally:
                self._guard.tail = False
            if segment.words:
                last_word = max(last_word or 0.0, float(segment.words[-1].end))
            yield segment

    def _segments(
        self,
        raw: Iterable,
        speech: Sequence[Stretch] | None,
        shift: float,
        loops: list[Loop],
        retried: bool = False,
    ) -> Iterator[Segment]:
        """faster-whisper segments as ours: times in the chunk (mapped back from the joined
        speech when speech is given), repetition loops cut to one and added to loops."""
        mapping = _SpeechMap(speech) if speech else None
        for segment in raw:
            words = []
            for w in segment.words or ():
                if not _KEY.sub("", w.word):
                    # punctuation alone (" ,") is no word: Whisper's alignment stretches it over
                    # speech it skipped, and coverage would count that speech as transcribed
                    continue
                start, end = float(w.start), float(w.end)
                if mapping is not None:
                    start, end = mapping.chunk_times(start, end)
                words.append(
                    Word(
                        w.word, round(start + shift, 3), round(end + shift, 3), float(w.probability)
                    )
                )
            words, found = collapse_loops(drop_stutters(words, loops))
            loops.extend(found)
            if words:
                text = "".join(w.text for w in words).strip()
                start, end = words[0].start, words[-1].end
            else:
                text = segment.text.strip()
                start, end = float(segment.start), float(segment.end)
                if mapping is not None:
                    start, end = mapping.chunk_times(start, end)
                start, end = round(start + shift, 3), round(end + shift, 3)
            if not _KEY.sub("", text):
                continue
            ratio = float(getattr(segment, "compression_ratio", 0.0) or 0.0)
            yield Segment(text, start, end, tuple(words), retried, ratio)

    def transcribe_chunks(
        self,
        chunks: Iterable[Chunk],
        on_report: Callable[[ChunkReport], None] | None = None,
    ) -> Iterator[Segment]:
        for chunk in chunks:
            yield from self.transcribe_chunk(chunk.samples, chunk.start, on_report=on_report)

    def transcribe_file(
        self, path: str | os.PathLike[str], channel: int | None = None
    ) -> Iterator[Segment]:
        """Segments of a file (or one channel of it), decoded and transcribed a chunk at a time."""
        yield from self.transcribe_chunks(read_chunks(path, channel))


def _likely_languages(
    first: Sequence[tuple[str, float]], windows: Iterable[Sequence[tuple[str, float]]]
) -> tuple[tuple[str, float], ...]:
    """The languages heard in a chunk, with their highest likelihood, most likely first: those
    of the chunk's language detection (first) with MIXED_LANGUAGE_P or more, and the most likely
    one of each window (CTranslate2's ("<|de|>", p) pairs) with WINDOW_LANGUAGE_P or more."""
    found = [(code, p) for code, p in first if p >= MIXED_LANGUAGE_P]
    found += [
        (w[0][0].strip("<|>"), w[0][1]) for w in windows if w and w[0][1] >= WINDOW_LANGUAGE_P
    ]
    best: dict[str, float] = {}
    for code, p in found:
        best[code] = max(best.get(code, 0.0), round(float(p), 3))
    return tuple(sorted(best.items(), key=lambda x: -x[1]))


class _TailWindow(Exception):
    """Raised inside faster-whisper to stop it before a window of nothing but a tail."""


class _SpeechMap:
    """Times in the joined speech mapped back to the chunk the speech stretches came from."""

    def __init__(self, speech: Sequence[Stretch]) -> None:
        self.speech = list(speech)
        self.joined_end: list[float] = []
        at = 0.0
        for s in self.speech:
            at += s.duration
            self.joined_end.append(at)

    def _index(self, t: float) -> int:
        import bisect

        return min(bisect.bisect(self.joined_end, t), len(self.speech) - 1)

    def chunk_times(self, start: float, end: float) -> tuple[float, float]:
        """Both ends mapped through the stretch that holds the word's middle, so a word never
        spans the silence that was cut out."""
        i = self._index((start + end) / 2)
        before = self.joined_end[i] - self.speech[i].duration
        move = self.speech[i].start - before
        lo = max(self.speech[i].start, start + move)
        hi = min(self.speech[i].end, end + move)
        return lo, max(lo, hi)


def _shifted(segment: Segment, offset: float) -> Segment:
    if not offset:
        return segment
    words = tuple(
        Word(w.text, round(w.start + offset, 3), round(w.end + offset, 3), w.probability)
        for w in segment.words
    )
    return Segment(
        segment.text,
        round(segment.start + offset, 3),
        round(segment.end + offset, 3),
        words,
        segment.retried,
        segment.compression_ratio,
    )


def _moved(stretch: Stretch, offset: float) -> Stretch:
    return Stretch(round(stretch.start + offset, 3), round(stretch.end + offset, 3))
