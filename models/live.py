"""Live voice moderation: capture a microphone at 16 kHz, cut utterances at pauses with the
Silero VAD, and transcribe and classify each one in a worker thread as soon as it ends.

Speculation: an utterance is transcribed and classified already after a short pause
(LiveSession's speculate, 0.2 s), while the cutter waits for the full one (min_silence); when the
full pause confirms the cut, the verdicts are committed at once. The speculative audio is the
exact audio the confirmed cut has (the cutter checks it sample for sample), so the result is the
one the non-speculative path gives; when speech resumes instead, the guess is thrown away.

The audio goes to a WAV file whose header is rewritten after every block, and each classified
excerpt to a JSON Lines file beside it, both flushed as they go: stopping, or a crash, leaves a
playable recording and the verdicts so far, reviewable later like a recorded session.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.audio import SAMPLE_RATE
from models.classifier import Classifier
from models.errors import ModlensError
from models.transcriber import Transcriber
from models.voice import Finding, segment_excerpts

FRAME = 512  # Silero VAD's window at 16 kHz (32 ms)
_TAIL_FRAMES = 3  # an utterance keeps 96 ms after its last speech frame
_CONTEXT = 64


class LiveError(ModlensError, RuntimeError):
    """Live capture cannot start or run; the message is meant for the user."""


@dataclass(frozen=True)
class Utterance:
    index: int
    start: float  # seconds into the session recording
    end: float
    findings: tuple[Finding, ...]
    latency: float  # seconds from the end of speech to the verdicts, pause detection included
    processing: float  # seconds spent transcribing and classifying
    speculated: bool = False  # transcribed during the pause, before the cut was confirmed


@dataclass(frozen=True)
class LiveResult:
    recording: Path
    excerpts_file: Path
    utterances: tuple[Utterance, ...]
    seconds: float  # of audio recorded

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for u in self.utterances for f in u.findings)

    @property
    def latencies(self) -> list[float]:
        return [u.latency for u in self.utterances]


class WavWriter:
    """16-bit mono WAV written as it goes; the header is valid after every write().

    An existing file is never overwritten (FileExistsError): it may be an earlier recording.
    A write that fails (a full disk) leaves the file as it was after the last good write.
    """

    def __init__(self, path: str | os.PathLike[str], rate: int = SAMPLE_RATE) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.frames = 0
        self._file = open(self.path, "xb")  # noqa: SIM115 - kept open for the session
        self._file.write(self._header(0))
        self._file.flush()

    def _header(self, data_bytes: int) -> bytes:
        return (
            b"RIFF"
            + struct.pack("<I", 36 + data_bytes)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, self.rate, self.rate * 2, 2, 16)
            + b"data"
            + struct.pack("<I", data_bytes)
        )

    def write(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
        good = 44 + self.frames * 2
        try:
            self._file.write(pcm.tobytes())
            frames = self.frames + pcm.shape[0]
            end = self._file.tell()
            self._file.seek(4)
            self._file.write(struct.pack("<I", 36 + frames * 2))
            self._file.seek(40)
            self._file.write(struct.pack("<I", frames * 2))
            self._file.seek(end)
            self._file.flush()
        except OSError:
            self._restore(good)
            raise
        self.frames = frames

    def _restore(self, good: int) -> None:
        """Back to the recording as it was after the last good write, as far as the disk lets."""
        with contextlib.suppress(OSError, ValueError):
            self._file.seek(good)
            self._file.truncate(good)
            self._file.seek(4)
            self._file.write(struct.pack("<I", 36 + self.frames * 2))
            self._file.seek(40)
            self._file.write(struct.pack("<I", self.frames * 2))
            self._file.seek(good)
            self._file.flush()

    def close(self) -> None:
        """Flush and close; a disk that refuses the last bytes still gets the file closed."""
        if self._file.closed:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            self._restore(44 + self.frames * 2)
        finally:
            with contextlib.suppress(OSError):
                self._file.close()


class StreamingVad:
    """Silero VAD over a stream: speech probability of each 32 ms frame, state carried along."""

    def __init__(self) -> None:
        self._session = _vad_session()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        window = np.concatenate([self._context, frame.astype(np.float32)])[None, :]
        out, self._h, self._c = self._session.run(
            None, {"input": window, "h": self._h, "c": self._c}
        )
        self._context = frame[-_CONTEXT:].astype(np.float32)
        return float(np.asarray(out).reshape(-1)[0])


VAD_FILE = "silero_vad_v6.onnx"  # in faster-whisper's assets (pinned to 1.2.x in pyproject)
VAD_INPUTS = {"input", "h", "c"}


def _vad_session():
    """The Silero VAD model that ships with faster-whisper, in an ONNX Runtime session of our
    own (one thread: it runs 31 times a second beside Whisper), checked for the inputs used."""
    import onnxruntime
    from faster_whisper.utils import get_assets_path

    path = Path(get_assets_path()) / VAD_FILE
    if not path.is_file():
        raise LiveError(
            f"The voice activity model {VAD_FILE} is not in faster-whisper's assets; "
            "this faster-whisper version is not supported (see pyproject.toml)."
        )
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    inputs = {i.name for i in session.get_inputs()}
    if inputs != VAD_INPUTS:
        raise LiveError(
            f"The voice activity model {path} has inputs {sorted(inputs)}, not "
            f"{sorted(VAD_INPUTS)}; this faster-whisper version is not supported."
        )
    return session


@dataclass
class _Pending:
    audio: np.ndarray
    start: float
    end: float
    ended_at: float  # monotonic clock when the last speech frame arrived
    speculative: bool = False  # offered after a short pause; the cut may still change

    def same_cut(self, other: _Pending) -> bool:
        """Whether other is this very utterance: the same start and the same samples."""
        return (
            self.start == other.start
            and self.audio.shape == other.audio.shape
            and bool(np.array_equal(self.audio, other.audio))
        )


@dataclass
class UtteranceCutter:
    """Cuts a stream of samples into utterances: speech followed by min_silence of pause.

    push() takes any number of samples and returns the utterances that ended inside them.
    With speculate (seconds, less than min_silence), it also returns, marked speculative, the
    utterance as it would be cut if the pause that has lasted speculate goes on to min_silence:
    the same samples the confirmed cut will have, unless speech resumes first.
    """

    min_silence: float = 0.5
    speculate: float | None = None
    min_speech: float = 0.25
    max_utterance: float = 20.0
    pre_roll: float = 0.2
    threshold: float = 0.5
    neg_threshold: float = 0.35
    vad: StreamingVad = field(default_factory=StreamingVad)

    def __post_init__(self) -> None:
        self._buffer = np.zeros(0, dtype=np.float32)
        self._frames_seen = 0  # frames consumed so far
        self._speech: list[np.ndarray] = []  # frames of the utterance in progress
        self._probs: list[float] = []  # their speech probabilities
        self._speech_start = 0  # frame index
        self._last_speech = 0  # frame index of the last speech frame
        self._last_speech_clock = 0.0
        self._pre: list[tuple[np.ndarray, float]] = []

    @property
    def in_speech(self) -> bool:
        return bool(self._speech)

    def push(self, samples: np.ndarray, now: float | None = None) -> list[_Pending]:
        now = time.monotonic() if now is None else now
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32)])
        out: list[_Pending] = []
        usable = (self._buffer.shape[0] // FRAME) * FRAME
        frames, self._buffer = self._buffer[:usable], self._buffer[usable:]
        silence_frames = int(self.min_silence * SAMPLE_RATE / FRAME)
        # at least the tail _close keeps, so the guess holds every sample the cut will
        guess_frames = int((self.speculate or 0.0) * SAMPLE_RATE / FRAME)
        if not _TAIL_FRAMES <= guess_frames < silence_frames:
            guess_frames = 0
        max_frames = int(self.max_utterance * SAMPLE_RATE / FRAME)
        pre_frames = max(1, int(self.pre_roll * SAMPLE_RATE / FRAME))
        for frame in frames.reshape(-1, FRAME):
            index = self._frames_seen
            self._frames_seen += 1
            p = self.vad(frame)
            if not self._speech:
                self._pre = [*self._pre[len(self._pre) - pre_frames + 1 :], (frame, p)]
                if p >= self.threshold:
                    self._speech = [f for f, _ in self._pre]
                    self._probs = [q for _, q in self._pre]
                    self._speech_start = index - len(self._pre) + 1
                    self._last_speech = index
                    self._last_speech_clock = now
                    self._pre = []
                continue
            self._speech.append(frame)
            self._probs.append(p)
            if p >= self.neg_threshold:
                self._last_speech = index
                self._last_speech_clock = now
            if index - self._last_speech >= silence_frames:
                done = self._close()
            elif len(self._speech) >= max_frames:
                done = self._split(now)
            elif guess_frames and index - self._last_speech == guess_frames:
                done = self._guess()  # changes nothing: the cuts are those made without it
            else:
                continue
            if done:
                out.append(done)
        return out

    def flush(self, now: float | None = None) -> _Pending | None:
        """The utterance in progress, cut where it is (at stop)."""
        if not self._speech:
            return None
        if now is not None:
            self._last_speech_clock = now
        return self._close()

    def _pending(self, frames: list[np.ndarray], probs: list[float], ended_at: float):
        speech = sum(p >= self.threshold for p in probs) * FRAME / SAMPLE_RATE
        if speech < self.min_speech:
            return None
        audio = np.concatenate(frames)
        start = self._speech_start * FRAME / SAMPLE_RATE
        return _Pending(audio, start, start + audio.shape[0] / SAMPLE_RATE, ended_at)

    def _cut(self) -> _Pending | None:
        """The utterance in progress as a pause cuts it: up to the last speech frame and a tail."""
        keep = self._last_speech - self._speech_start + 1 + _TAIL_FRAMES
        return self._pending(self._speech[:keep], self._probs[:keep], self._last_speech_clock)

    def _close(self) -> _Pending | None:
        done = self._cut()
        self._speech, self._probs, self._pre = [], [], []
        return done

    def _guess(self) -> _Pending | None:
        """The cut a pause would make now, the utterance kept going (speech may resume)."""
        done = self._cut()
        if done is not None:
            done.speculative = True
        return done

    def _split(self, now: float) -> _Pending | None:
        """A monologue at max_utterance: cut at the least speech-like frame of its last 3 s, so
        a word is not split, and go on with the rest as the next utterance."""
        window = min(len(self._probs) - 1, int(3.0 * SAMPLE_RATE / FRAME))
        tail = np.asarray(self._probs[-window:])
        split = len(self._probs) - window + int(np.argmin(tail))
        done = self._pending(self._speech[:split], self._probs[:split], now)
        self._speech, self._probs = self._speech[split:], self._probs[split:]
        self._speech_start += split
        self._last_speech = max(self._last_speech, self._speech_start)
        return done


class LiveSession:
    """A running live capture. start(), then stop() returns what was heard.

    on_utterance is called from the worker thread for every utterance with words in it; the
    caller's thread is never blocked by transcription. Verdicts are also put on self.results.
    on_level gets each block's peak level from the capture thread (not PortAudio's).
    on_error gets a message, from the capture thread, when capture stops by itself (the disk
    is full): the recording and verdicts so far are kept, later audio is dropped (never piled
    up in memory), the utterance in progress is still transcribed, and stop() still works.
    speculate: seconds of pause after which an utterance is transcribed before min_silence
    confirms its end (None: wait for the full pause); the verdicts are the same either way.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        classifier: Classifier,
        recording: str | os.PathLike[str],
        device: int | str | None = None,
        speaker: str = "mic",
        on_utterance: Callable[[Utterance], None] | None = None,
        on_level: Callable[[float], None] | None = None,
        min_silence: float = 0.5,
        block_seconds: float = 0.1,
        on_error: Callable[[str], None] | None = None,
        speculate: float | None = 0.2,
    ) -> None:
        self.transcriber = transcriber
        self.classifier = classifier
        self.recording = Path(recording)
        self.excerpts_file = self.recording.with_suffix(".jsonl")
        self.device = device
        self.speaker = speaker
        self.on_utterance = on_utterance
        self.on_level = on_level  # peak 0..1 of each block, for a level meter
        self.on_error = on_error  # capture stopped by itself (disk full); a message
        self.halted = threading.Event()  # set when capture stopped by itself
        self.halt_reason: str | None = None  # and why
        self.block = int(block_seconds * SAMPLE_RATE)
        self.cutter = UtteranceCutter(min_silence=min_silence, speculate=speculate)
        self.results: queue.Queue[Utterance] = queue.Queue()
        self.errors: list[str] = []
        self._audio: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue()
        self._work: queue.Queue[_Pending | None] = queue.Queue()
        self._utterances: list[Utterance] = []
        self._stream = None
        self._threads: list[threading.Thread] = []
        self._writer: WavWriter | None = None
        self._jsonl = None
        self._overflows = 0

    # --- capture -------------------------------------------------------------------------

    def start(self, capture: bool = True) -> None:
        """Open the microphone and the session files and start the threads.

        capture=False opens no microphone: audio comes from feed(). A microphone that cannot
        be opened, or a recording (or its .jsonl) that exists already, raises LiveError before
        any file is created or changed.
        """
        for path in (self.recording, self.excerpts_file):
            if path.exists():
                raise LiveError(
                    f"{path} already exists; it is not overwritten. Choose another name."
                )
        if capture:
            try:
                import sounddevice as sd
            except (ImportError, OSError) as exc:  # no PortAudio library on this machine
                raise LiveError(
                    f"No sound system was found, so no microphone can be used ({exc})."
                ) from exc
            try:
                self._stream = sd.InputStream(
                    samplerate=SAMPLE_RATE,
                    channels=1,
                    dtype="float32",
                    device=self.device,
                    blocksize=self.block,
                    callback=self._on_audio,
                )
            except Exception as exc:  # PortAudioError, ValueError for a bad device
                raise LiveError(f"cannot open {self._device_name()}: {exc}") from exc
        try:
            self._writer = WavWriter(self.recording)
            self._jsonl = open(self.excerpts_file, "x", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            self._close_stream()
            if self._writer is not None:
                self._writer.close()
            raise LiveError(f"The recording cannot be written: {exc}") from exc
        self._threads = [
            threading.Thread(target=self._segment_loop, name="live-vad", daemon=True),
            threading.Thread(target=self._work_loop, name="live-whisper", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if self._stream is not None:
            try:
                self._stream.start()
            except Exception as exc:
                self.stop()
                for path in (self.recording, self.excerpts_file):  # ours, and empty
                    with contextlib.suppress(OSError):
                        path.unlink()
                raise LiveError(f"cannot start {self._device_name()}: {exc}") from exc

    def _device_name(self) -> str:
        if self.device is None or self.device == "":
            return "the system's default microphone"
        return f"the microphone {self.device}"

    def _on_audio(self, indata, frames, time_info, status) -> None:
        # PortAudio's thread: copy and hand over, nothing else
        if self.halted.is_set():
            return  # capture stopped by itself: nothing piles up until stop()
        if status and status.input_overflow:
            self._overflows += 1
        self._audio.put((indata[:, 0].copy(), time.monotonic()))

    def feed(self, samples: np.ndarray) -> None:
        """Audio from another source (a game's voice stream, a benchmark): 16 kHz mono float32."""
        if self.halted.is_set():
            return
        self._audio.put((np.asarray(samples, dtype=np.float32).reshape(-1), time.monotonic()))

    def stop(self, timeout: float = 120.0) -> LiveResult:
        """Stop capture, finish the utterances already heard, and close the files."""
        self._close_stream()
        self._audio.put(None)
        self._join(timeout)
        seconds = self._writer.frames / SAMPLE_RATE if self._writer else 0.0
        return LiveResult(self.recording, self.excerpts_file, tuple(self._utterances), seconds)

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception as exc:  # a device unplugged meanwhile: the files still close
                self.errors.append(f"the microphone did not close cleanly: {exc}")

    def _join(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        if self._writer:
            self._writer.close()
        if self._jsonl and not self._jsonl.closed:
            with contextlib.suppress(OSError):
                self._jsonl.close()

    def __enter__(self) -> LiveSession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- threads -----------------------------------------------------------------------

    def _segment_loop(self) -> None:
        try:
            while (item := self._audio.get()) is not None:
                samples, arrived = item
                try:
                    self._writer.write(samples)
                except OSError as exc:
                    self._halt(self._write_failed(exc))
                    break
                if self.on_level is not None and samples.size:
                    self.on_level(float(np.abs(samples).max()))
                for pending in self.cutter.push(samples, arrived):
                    self._work.put(pending)
            last = self.cutter.flush(time.monotonic())
            if last is not None:
                self._work.put(last)
        except Exception as exc:  # keep the worker able to finish what it has
            self._halt(f"capture stopped: {exc}")
        finally:
            self._work.put(None)
            while self.halted.is_set() and not self._audio.empty():
                self._audio.get_nowait()  # what came before the halt is not kept in memory

    def _write_failed(self, exc: OSError) -> str:
        kept = f"the recording up to {self._writer.frames / SAMPLE_RATE:.0f} s is kept"
        if exc.errno == errno.ENOSPC:
            return f"The disk is full: capture stopped; {kept} in {self.recording}."
        return f"The recording could not be written ({exc}): capture stopped; {kept}."

    def _halt(self, message: str) -> None:
        self.halt_reason = message
        self.halted.set()
        self.errors.append(message)
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception as exc:  # the listener's problem must not stop the shutdown
                self.errors.append(f"reporting that capture stopped failed: {exc}")

    def _work_loop(self) -> None:
        guess: tuple[_Pending, tuple[Finding, ...], float] | None = None
        while (pending := self._work.get()) is not None:
            try:
                if pending.speculative:
                    # only while nothing newer waits: a queued cut is this one confirmed (run
                    # it as it is) or a later one (this guess is stale)
                    guess = (pending, *self._findings(pending)) if self._work.empty() else None
                    continue
                if guess is not None and guess[0].same_cut(pending):
                    _, findings, processing = guess
                    speculated = True
                else:
                    findings, processing = self._findings(pending)
                    speculated = False
                guess = None
                self._commit(pending, findings, processing, speculated)
            except Exception as exc:
                guess = None
                self.errors.append(f"utterance at {pending.start:.1f} s failed: {exc}")

    def _findings(self, pending: _Pending) -> tuple[tuple[Finding, ...], float]:
        """The utterance transcribed and classified, and the seconds that took."""
        began = time.monotonic()
        pieces = []
        for segment in self.transcriber.transcribe(pending.audio, offset=pending.start, vad=False):
            pieces.extend(segment_excerpts(segment, self.speaker, len(self._utterances)))
        verdicts = self.classifier.classify([e for e, _ in pieces]) if pieces else []
        findings = tuple(
            Finding(e, v, w, str(self.recording), None)
            for (e, w), v in zip(pieces, verdicts, strict=True)
        )
        return findings, time.monotonic() - began

    def _commit(
        self,
        pending: _Pending,
        findings: tuple[Finding, ...],
        processing: float,
        speculated: bool,
    ) -> None:
        """Verdicts of a confirmed utterance out: the excerpts file, results, on_utterance."""
        utterance = Utterance(
            index=len(self._utterances),
            start=pending.start,
            end=pending.end,
            findings=findings,
            latency=time.monotonic() - pending.ended_at,
            processing=processing,
            speculated=speculated,
        )
        if not findings:
            return
        self._utterances.append(utterance)
        lines = []
        for finding in findings:
            record = {
                "speaker": finding.speaker,
                "start": finding.start,
                "end": finding.end,
                "text": finding.text,
                "flagged": finding.toxic,
                **finding.verdict.to_json(),
                "latency": round(utterance.latency, 3),
            }
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        try:
            self._jsonl.write("".join(lines))
            self._jsonl.flush()
        except OSError as exc:  # the verdicts still reach on_utterance (the app's database)
            self.errors.append(f"the excerpts file could not be written: {exc}")
        self.results.put(utterance)
        if self.on_utterance:
            self.on_utterance(utterance)
