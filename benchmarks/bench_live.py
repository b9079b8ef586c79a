"""Live latency: from the end of an utterance to its verdict, for tiny.en and base.

Speech from espeak-ng is fed to a LiveSession in 100 ms blocks at real-time pace, as a sound
card would deliver it, so pause detection, transcription and classification all count. Prints
the median and 95th percentile per Whisper model, how many utterances were transcribed during
their pause (speculation), the word error rate of all the transcripts against the lines spoken,
and the load average (other work on the machine slows Whisper).

    python benchmarks/bench_live.py [--utterances 12] [--whisper tiny.en base] [--json out.json]
        [--speculate 0.2 (0: wait for the full pause)] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_scan import classifier_dir  # noqa: E402
from benchmarks.bench_speech import wer  # noqa: E402
from benchmarks.voice_session import LINES, RATE, VOICES, speak  # noqa: E402
from models.classifier import Classifier  # noqa: E402
from models.live import LiveSession  # noqa: E402
from models.transcriber import Transcriber  # noqa: E402

BLOCK = RATE // 10


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run_model(
    whisper: str,
    classifier: Classifier,
    clips: list[np.ndarray],
    folder: Path,
    speculate: float | None,
    threads: int | None = None,
    script: str = "",
) -> dict[str, float]:
    transcriber = Transcriber(whisper, language="en", threads=threads)
    name = f"live-{whisper}-{speculate}-{threads}.wav"
    session = LiveSession(transcriber, classifier, folder / name, speculate=speculate)
    load_before = os.getloadavg()[0]
    session.start(capture=False)
    pace = time.monotonic()
    for clip in clips:
        # each utterance, then 2.5 s of quiet: enough for the verdict before the next one starts
        audio = np.concatenate([clip, np.zeros(int(2.5 * RATE), dtype=np.float32)])
        audio += np.random.default_rng(0).normal(0, 0.002, len(audio)).astype(np.float32)
        for start in range(0, len(audio), BLOCK):
            session.feed(audio[start : start + BLOCK])
            pace += BLOCK / RATE
            time.sleep(max(0.0, pace - time.monotonic()))
    result = session.stop()
    latencies = result.latencies
    processing = [u.processing for u in result.utterances]
    heard = " ".join(f.excerpt.text for u in result.utterances for f in u.findings)
    return {
        "utterances": len(latencies),
        "latency_median_s": round(statistics.median(latencies), 3),
        "latency_p95_s": round(percentile(latencies, 95), 3),
        "processing_median_s": round(statistics.median(processing), 3),
        "processing_p95_s": round(percentile(processing, 95), 3),
        "speculate_s": speculate or 0.0,
        "speculated": sum(u.speculated for u in result.utterances),
        "threads": threads or 0,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        # words against what was spoken: a faster setting must not cost words
        "wer": round(wer(script, heard), 4) if script else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=12)
    parser.add_argument("--whisper", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--model", help="classifier folder (default: shipped)")
    parser.add_argument("--json", help="also write the numbers here")
    parser.add_argument(
        "--speculate", type=float, default=0.2, help="seconds of pause before transcribing"
    )
    parser.add_argument("--threads", type=int, help="Whisper's CPU threads (default: its own)")
    args = parser.parse_args()
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lines = [LINES[i % len(LINES)][0] for i in range(args.utterances)]
        clips = [speak(line, VOICES[i % len(VOICES)], folder) for i, line in enumerate(lines)]
        script = " ".join(lines)
        model_dir, model_name = classifier_dir(args.model, folder)
        classifier = Classifier(model_dir)
        for whisper in args.whisper:
            speculate = args.speculate or None
            out[whisper] = run_model(
                whisper, classifier, clips, folder, speculate, args.threads, script
            )
            numbers = out[whisper]
            print(
                f"{whisper:<8} {numbers['utterances']} utterances: latency median "
                f"{numbers['latency_median_s']:.2f} s, p95 {numbers['latency_p95_s']:.2f} s "
                f"(transcribe + classify median {numbers['processing_median_s']:.2f} s, "
                f"p95 {numbers['processing_p95_s']:.2f} s); {numbers['speculated']} "
                f"transcribed during the pause; WER {numbers['wer']:.3f}; "
                f"load {numbers['load_average_before_after']}; "
                f"classifier: {model_name}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
