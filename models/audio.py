"""Read recorded sessions as 16 kHz mono float32, a chunk at a time, with PyAV.

Any format FFmpeg decodes works (wav, flac, mp3, ogg/opus, m4a, the audio of mp4/mkv/webm).
Chunks end at the quietest moment near their nominal length, so a word is rarely cut in two
and a two-hour file never sits in memory whole. A multi-channel file can be read one channel
at a time, for recordings with one player per channel.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import ModlensError

SAMPLE_RATE = 16_000
# how far back from a chunk's nominal end to look for a quiet place to cut
_CUT_SEARCH_S = 3.0
_CUT_FRAME = 320  # 20 ms
_PROBE_S = 60.0


class AudioError(ModlensError, ValueError):
    """A file that cannot be read as audio; the message is meant for the user."""


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration: float | None  # seconds; None when the container does not say
    channels: int
    sample_rate: int
    codec: str
    stream: int = 0  # which audio stream of the file (0: the first)
    streams: tuple[str, ...] = ()  # every audio stream's title ("" when it has none)


@dataclass(frozen=True)
class Chunk:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    start: float  # seconds from the start of the file


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path} does not exist.")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file.")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path} cannot be read (permission denied).")
    if path.stat().st_size == 0:
        raise AudioError(f"{path.name} is empty (0 bytes).")


def _open(path: Path):
    import av

    _check_file(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except PermissionError as exc:
        raise AudioError(f"{path} cannot be read (permission denied).") from exc
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioError(
            f"{path.name} is not an audio or video file that can be decoded ({_reason(exc)})."
        ) from exc
    if not container.streams.audio:
        container.close()
        raise AudioError(f"{path.name} has no audio track.")
    return container


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if ":" in text else text


def probe(path: str | os.PathLike[str], stream: int = 0) -> AudioInfo:
    """Duration, channel count and codec of one audio stream of a file (the first by default),
    and the titles of all its audio streams, without decoding it."""
    path = Path(path)
    container = _open(path)
    try:
        titles = tuple(_title(s) for s in container.streams.audio)
        stream_index = stream
        stream = _audio_stream(container, path, stream)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        if container.format.name == "wav":
            # FFmpeg clamps a WAV's duration to the bytes present; the header tells what
            # the file should hold, so a truncated copy can be noticed
            duration = _wav_header_seconds(path) or duration
        context = stream.codec_context
        return AudioInfo(
            path=path,
            duration=duration,
            channels=int(context.channels or 1),
            sample_rate=int(context.sample_rate or 0),
            codec=context.name,
            stream=stream_index,
            streams=titles,
        )
    finally:
        container.close()


def _title(stream) -> str:
    """A stream's title (recorders write the player's or the device's name there), or ""."""
    metadata = getattr(stream, "metadata", None) or {}
    return str(metadata.get("title") or metadata.get("TITLE") or "").strip()


def _audio_stream(container, path: Path, stream: int):
    audio = container.streams.audio
    if not 0 <= stream < len(audio):
        container.close()
        raise AudioError(f"{path.name} has no audio stream {stream + 1}.")
    return audio[stream]


def _wav_header_seconds(path: Path) -> float | None:
    """Seconds of audio a PCM WAV's header declares; None when it cannot say."""
    import wave

    try:
        with wave.open(str(path), "rb") as handle:
            frames, rate = handle.getnframes(), handle.getframerate()
            size = frames * handle.getnchannels() * handle.getsampwidth()
    except (wave.Error, EOFError, OSError):
        return None  # float or extensible WAV, RF64, a damaged header: trust FFmpeg
    if not (rate and frames) or size >= 0xFFFF0000:
        return None  # no size written (a stream, or a recording that was never closed)
    return frames / rate


def _decoded_blocks(path: Path, mono: bool, stream: int = 0) -> Iterator[np.ndarray]:
    """Blocks of shape (channels, samples) at SAMPLE_RATE of one audio stream; one mixed
    channel when mono."""
    import av

    container = _open(path)
    resampler = None
    decoded_any = False
    try:
        stream = _audio_stream(container, path, stream)
        stream.thread_type = "AUTO"
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # one damaged packet; keep what can be read
                for frame in frames:
                    if resampler is None:
                        # packed samples in the file's own layout: PyAV's planar to_ndarray
                        # crashes (SIGSEGV) on 8 or more channels, and FFmpeg cannot mix some
                        # layouts (9 channels) down to mono; numpy mixes any channel count
                        resampler = av.AudioResampler(
                            format="flt", layout=frame.layout.name, rate=SAMPLE_RATE
                        )
                    for out in resampler.resample(frame):
                        decoded_any = True
                        yield _channels_first(out, mono)
            if resampler is not None:
                for out in resampler.resample(None):
                    yield _channels_first(out, mono)
        except av.error.FFmpegError as exc:
            if not decoded_any:
                raise AudioError(
                    f"{path.name} is damaged and cannot be decoded ({_reason(exc)})."
                ) from exc
            # a truncated tail: what came before is still worth scanning
    finally:
        container.close()
    if not decoded_any:
        raise AudioError(f"{path.name} contains no decodable audio.")


def _channels_first(frame, mono: bool) -> np.ndarray:
    """A packed float frame as shape (channels, samples); the channels' mean when mono."""
    channels = len(frame.layout.channels)
    block = frame.to_ndarray().reshape(frame.samples, channels).T
    return block.mean(axis=0, keepdims=True, dtype=np.float32) if mono else block


def read_chunks(
    path: str | os.PathLike[str],
    channel: int | None = None,
    chunk_seconds: float = 300.0,
    stream: int = 0,
) -> Iterator[Chunk]:
    """Chunks of about chunk_seconds of mono audio, cut at the quietest 20 ms near each end.

    channel=None mixes all channels down; an int takes that channel alone. stream picks the
    audio stream of a file that has several (a recorder's one stream per player).
    """
    path = Path(path)
    target = int(chunk_seconds * SAMPLE_RATE)
    search = min(int(_CUT_SEARCH_S * SAMPLE_RATE), target // 2)
    pending: list[np.ndarray] = []
    pending_len = 0
    offset = 0  # samples already yielded
    blocks = _decoded_blocks(path, mono=channel is None, stream=stream)
    for block in blocks:
        if channel is not None:
            if channel >= block.shape[0]:
                raise AudioError(f"{path.name} has no channel {channel + 1}.")
            block = block[channel]
        else:
            block = block[0]
        pending.append(np.ascontiguousarray(block, dtype=np.float32))
        pending_len += block.shape[0]
        while pending_len >= target + search:
            audio = np.concatenate(pending)
            cut = _quiet_cut(audio, target - search, target + search)
            yield Chunk(audio[:cut], offset / SAMPLE_RATE)
            offset += cut
            pending = [audio[cut:]]
            pending_len = pending[0].shape[0]
    if pending_len:
        yield Chunk(np.concatenate(pending), offset / SAMPLE_RATE)


def _quiet_cut(audio: np.ndarray, lo: int, hi: int) -> int:
    """The sample index between lo and hi at the centre of the quietest 20 ms frame."""
    window = audio[lo:hi]
    frames = window[: (window.shape[0] // _CUT_FRAME) * _CUT_FRAME].reshape(-1, _CUT_FRAME)
    if frames.shape[0] == 0:
        return hi
    energy = np.square(frames).mean(axis=1)
    return lo + int(np.argmin(energy)) * _CUT_FRAME + _CUT_FRAME // 2


def read_audio(
    path: str | os.PathLike[str], channel: int | None = None, stream: int = 0
) -> np.ndarray:
    """The whole file as one array; for short clips (tests, previews), not for sessions."""
    return np.concatenate([c.samples for c in read_chunks(path, channel, stream=stream)])


def distinct_channels(path: str | os.PathLike[str], stream: int = 0) -> int:
    """How many channels carry different audio: 1 when a stereo file is the same mix twice.

    Looks at the first minute only. Files with more than two channels count every channel,
    since surround mixes are not how voice sessions are recorded.
    """
    info = probe(path, stream)
    if info.channels <= 1:
        return 1
    if info.channels > 2:
        return info.channels
    taken: list[np.ndarray] = []
    total = 0
    for block in _decoded_blocks(Path(path), mono=False, stream=stream):
        taken.append(block)
        total += block.shape[1]
        if total >= _PROBE_S * SAMPLE_RATE:
            break
    audio = np.concatenate(taken, axis=1)
    left, right = audio[0], audio[1]
    level = float(np.sqrt(np.mean(left**2)) + np.sqrt(np.mean(right**2)))
    if level < 1e-6:
        return 1
    difference = float(np.sqrt(np.mean((left - right) ** 2)))
    return 2 if difference / level > 0.05 else 1
