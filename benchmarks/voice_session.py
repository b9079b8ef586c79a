"""Synthetic game voice for the voice benchmarks: espeak-ng sentences (polite and rude, several
voices), silences and background noise laid out over a fixed length. Needs espeak-ng and sox.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 16_000

LINES = [
    ("Push mid, they only have two left.", False),
    ("Good game everyone, nice work on the last round.", False),
    ("Can someone heal me, I am almost dead.", False),
    ("You are a stupid idiot, uninstall the game you noob.", True),
    ("Watch the left flank, sniper on the roof.", False),
    ("Shut up you worthless piece of trash.", True),
    ("I will find where you live and hurt you.", True),
    ("Nice shot, that was a clean headshot.", False),
    ("Stop feeding, you are the worst player I have ever seen, moron.", True),
    ("Let us group up at the objective and wait for the respawn.", False),
    ("Fuck this team, you are all useless.", True),
    ("Thanks for the carry, well played.", False),
]
VOICES = ("en-us", "en", "en-us+m3", "en+f3", "en-us+f2")


def speak(text: str, voice: str, folder: Path) -> np.ndarray:
    raw, out = folder / "raw.wav", folder / "out.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True
    )
    with wave.open(str(out)) as handle:
        audio = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    return audio.astype(np.float32) / 32768.0


def build_session(
    seconds: float, seed: int = 7
) -> tuple[np.ndarray, list[tuple[float, str, bool]]]:
    """(audio, [(start, text, rude)]): about half speech, the rest silence and noise."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(int(seconds * RATE), dtype=np.float32)
    spoken: list[tuple[float, str, bool]] = []
    cache: dict[tuple[str, str], np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        at = 1.0
        while True:
            text, rude = LINES[int(rng.integers(len(LINES)))]
            voice = VOICES[int(rng.integers(len(VOICES)))]
            if (text, voice) not in cache:
                cache[(text, voice)] = speak(text, voice, Path(tmp))
            clip = cache[(text, voice)]
            start = int(at * RATE)
            if start + len(clip) >= len(audio):
                break
            audio[start : start + len(clip)] += clip
            spoken.append((at, text, rude))
            at += len(clip) / RATE
            # a pause, sometimes long silence, sometimes a burst of game noise
            gap = float(rng.uniform(0.6, 3.0))
            if rng.random() < 0.25:
                burst = float(rng.uniform(2.0, 6.0))
                begin = int((at + 0.5) * RATE)
                end = min(len(audio), begin + int(burst * RATE))
                if end > begin:  # a burst that would start past the end is left out
                    audio[begin:end] += rng.normal(0, 0.03, end - begin).astype(np.float32)
                gap += burst + 1.0
            at += gap
    # low hiss under everything, as a headset microphone has
    audio += rng.normal(0, 0.002, len(audio)).astype(np.float32)
    return np.clip(audio, -1, 1), spoken


def write_wav(path: Path, audio: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((audio * 32767).astype("<i2").tobytes())
    return path
