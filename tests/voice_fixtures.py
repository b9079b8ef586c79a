"""Real speech for the voice tests, made with espeak-ng and sox, and helpers to lay it out in time.

Speech is cached per text for the test run; models are loaded once per run.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

RATE = 16_000
RUDE = "You are a stupid idiot, uninstall the game you noob."
CLEAN = "Good game everyone, nice work on the last round."

needs_espeak = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="espeak-ng and sox make the test speech: bash packaging/system-deps.sh",
)

_CACHE = Path(tempfile.mkdtemp(prefix="modlens-speech-"))
atexit.register(shutil.rmtree, _CACHE, True)


@functools.cache
def speech(text: str, voice: str = "en", speed: int = 160) -> np.ndarray:
    """16 kHz mono float32 speech of text, with espeak's own leading and trailing quiet trimmed.

    The same text gives the same samples every time (sox without dither, -D), so a test can
    compare two scans of it.
    """
    key = abs(hash((text, voice, speed)))
    raw, out = _CACHE / f"{key}-raw.wav", _CACHE / f"{key}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True
    )
    with wave.open(str(out)) as handle:
        audio = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    audio = audio.astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[loud[0] : loud[-1] + 1].copy()


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def noise(seconds: float, level: float = 0.01, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * level).astype(
        np.float32
    )


def layout(*parts: tuple[float, np.ndarray], length: float | None = None) -> np.ndarray:
    """Audio with each (start seconds, samples) part placed at its time, silence between."""
    end = max(int(start * RATE) + len(samples) for start, samples in parts)
    total = max(end, int((length or 0) * RATE)) + RATE // 2
    out = np.zeros(total, dtype=np.float32)
    for start, samples in parts:
        at = int(start * RATE)
        out[at : at + len(samples)] += samples
    return out


def write_wav(path: Path, *channels: np.ndarray) -> Path:
    """A 16-bit WAV with one channel per array (padded to the longest)."""
    length = max(len(c) for c in channels)
    stacked = np.zeros((length, len(channels)), dtype=np.float32)
    for i, channel in enumerate(channels):
        stacked[: len(channel), i] = channel
    pcm = (np.clip(stacked, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(len(channels))
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(pcm.tobytes())
    return path


def encode(source: Path, target: Path, codec: str, video: bool = False) -> Path:
    """Re-encode a WAV with PyAV (mp3, libopus, aac, flac, ...), optionally beside a video track."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        if video:
            vstream = dst.add_stream("mpeg4", rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        rate = 48_000 if codec == "libopus" else RATE
        astream = dst.add_stream(codec, rate=rate)
        astream.layout = "mono"
        resampler = av.AudioResampler(
            format=astream.codec_context.format.name, layout="mono", rate=rate
        )
        seconds = 0.0
        for frame in src.decode(audio=0):
            for out in resampler.resample(frame):
                for packet in astream.encode(out):
                    dst.mux(packet)
            seconds = float(frame.pts + frame.samples) / frame.sample_rate if frame.pts else 0
        for out in resampler.resample(None):
            for packet in astream.encode(out):
                dst.mux(packet)
        for packet in astream.encode(None):
            dst.mux(packet)
        if video:
            for i in range(max(1, int(seconds * 5))):
                image = av.VideoFrame.from_ndarray(
                    np.full((48, 64, 3), i % 255, dtype=np.uint8), format="rgb24"
                )
                image.pts = i
                for packet in vstream.encode(image):
                    dst.mux(packet)
            for packet in vstream.encode(None):
                dst.mux(packet)
    return target


@functools.cache
def tiny_transcriber():  # a models.transcriber.Transcriber, loaded once per run
    from models.transcriber import Transcriber

    return Transcriber("tiny.en", threads=2)


@functools.cache
def base_transcriber():  # the multilingual base model, loaded once per run
    from models.transcriber import Transcriber

    return Transcriber("base", threads=2)


def onset(audio: np.ndarray, level: float = 0.02) -> float:
    """Seconds to the first sample louder than level."""
    return float(np.flatnonzero(np.abs(audio) > level)[0]) / RATE
