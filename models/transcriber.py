"""Speech to timed text with faster-whisper: int8 on the CPU, voice activity detection, word
timestamps, and a gaming vocabulary hint so "noob", "gg" and "uninstall" come out right.

Segments are yielded lazily, chunk by chunk, so a caller can show progress and stop early and
a long recording is never decoded whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.audio import Chunk, read_chunks
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
        english_only = not self._model.model.is_multilingual
        if english_only and language not in (None, "en"):
            raise ValueError(f"{self.name} understands English only, not {language!r}.")
        self.language = "en" if english_only else language
        self.hotwords = hotwords(vocabulary)
        # greedy decoding: measured ~25% faster than a beam of 5 with base on 2 cores, and the
        # same words on our test speech; a studio with time to spare can raise it
        self.beam_size = beam_size
        self.vad = vad

    def transcribe(
        self, audio: np.ndarray, offset: float = 0.0, vad: bool | None = None
    ) -> Iterator[Segment]:
        """Segments of 16 kHz mono float32 audio, timed from offset seconds.

        vad=False skips voice activity detection, for audio already cut at pauses (live).
        """
        if audio.size == 0:
            return
        segments, _ = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            vad_filter=self.vad if vad is None else vad,
            vad_parameters={"min_silence_duration_ms": 700, "speech_pad_ms": 300},
            word_timestamps=True,
            # hotwords, not initial_prompt: on minute-long sessions a prompt listing game words
            # made tiny.en skip most of the speech and misplace word times (measured)
            hotwords=self.hotwords or None,
            # each chunk stands alone: a hallucination does not carry into the next window
            condition_on_previous_text=False,
        )
        for segment in segments:
            words = tuple(
                Word(
                    w.word,
                    round(float(w.start) + offset, 3),
                    round(float(w.end) + offset, 3),
                    float(w.probability),
                )
                for w in segment.words or ()
                if w.word.strip()
            )
            text = segment.text.strip()
            if not text:
                continue
            yield Segment(
                text=text,
                start=round(float(segment.start) + offset, 3),
                end=round(float(segment.end) + offset, 3),
                words=words,
            )

    def transcribe_chunks(self, chunks: Iterable[Chunk]) -> Iterator[Segment]:
        for chunk in chunks:
            yield from self.transcribe(chunk.samples, offset=chunk.start)

    def transcribe_file(
        self, path: str | os.PathLike[str], channel: int | None = None
    ) -> Iterator[Segment]:
        """Segments of a file (or one channel of it), decoded and transcribed a chunk at a time."""
        yield from self.transcribe_chunks(read_chunks(path, channel))
