"""Whisper's encoder window on live-sized utterances: the padded 30 s window faster-whisper
always encodes against windows trimmed to the utterance's length. A shorter window is cheaper
to encode; this measures whether it costs words (WER against the lines spoken).

espeak-ng speaks benchmarks/voice_session.LINES in every voice at each speed, each utterance
with 0.1 s before and 0.2 s after it and light hiss, as the live cutter would hand it over.

    python benchmarks/bench_encoder_window.py [--whisper tiny.en] [--speeds 140 175 210]
        [--variants full +1 +2 10s] [--json out.json]

Variants: "full" (30 s, what ships), "+N" (the utterance's length plus N seconds), "Ns" (at
least N seconds, and at least the length plus 1 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_speech import wer  # noqa: E402
from benchmarks.voice_session import LINES, RATE, VOICES  # noqa: E402
from models.transcriber import Transcriber  # noqa: E402

FRAMES_PER_S = 100  # Whisper's mel frames


def speak(text: str, voice: str, speed: int, folder: Path) -> np.ndarray:
    raw, out = folder / "raw.wav", folder / "out.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True
    )
    with wave.open(str(out)) as handle:
        audio = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    return audio.astype(np.float32) / 32768.0


def window_frames(variant: str, frames: int) -> int | None:
    """Mel frames to encode for an utterance of frames (None: the full 30 s)."""
    if variant == "full":
        return None
    if variant.endswith("s"):
        floor = int(float(variant[:-1]) * FRAMES_PER_S)
        return max(floor, -(-(frames + FRAMES_PER_S) // 100) * 100)
    return -(-(frames + int(float(variant) * FRAMES_PER_S)) // 100) * 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whisper", default="tiny.en")
    parser.add_argument("--speeds", type=int, nargs="+", default=[140, 175, 210])
    parser.add_argument("--variants", nargs="+", default=["full", "+1", "+2", "10s"])
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    clips: list[tuple[str, np.ndarray]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for speed in args.speeds:
            for voice in VOICES:
                for text, _ in LINES:
                    audio = speak(text, voice, speed, Path(tmp))
                    audio = np.concatenate(
                        [np.zeros(RATE // 10, np.float32), audio, np.zeros(RATE // 5, np.float32)]
                    )
                    audio += rng.normal(0, 0.002, len(audio)).astype(np.float32)
                    clips.append((text, audio))
    transcriber = Transcriber(args.whisper, language="en")
    encode = transcriber._model.encode
    state: dict = {"frames": None, "encode_s": 0.0}

    def trimmed(features):
        frames = state["frames"]
        if frames is not None and features.shape[-1] > frames:
            features = features[..., :frames]
        began = time.perf_counter()
        out = encode(features)
        state["encode_s"] += time.perf_counter() - began
        return out

    transcriber._model.encode = trimmed
    results: dict[str, dict] = {}
    for variant in args.variants:
        errors = words = 0.0
        total = encoding = 0.0
        for text, audio in clips:
            state["frames"] = window_frames(variant, len(audio) // (RATE // FRAMES_PER_S))
            state["encode_s"] = 0.0
            began = time.perf_counter()
            heard = " ".join(s.text for s in transcriber.transcribe(audio, vad=False))
            total += time.perf_counter() - began
            encoding += state["encode_s"]
            errors += wer(text, heard) * len(text.split())
            words += len(text.split())
        results[variant] = {
            "wer": round(errors / words, 4),
            "transcribe_s": round(total, 2),
            "encode_s": round(encoding, 2),
        }
        print(f"{variant:>5}: WER {errors / words:.3f}, {total:.1f} s, encoder {encoding:.1f} s")
    out = {"whisper": args.whisper, "utterances": len(clips), "variants": results}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
