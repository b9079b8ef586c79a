"""Speech-dense voice chat: modlens scan beside the plain faster-whisper pipeline, in one run.

Three recordings are made with espeak-ng and sox, all speech and no long pauses:
  fast     - the game lines back to back, five voices at 130 to 260 words a minute;
  overlap  - two players talking over each other (each line starts before the last one ends);
  music    - the lines over a sox-made chord loop (game music under voice chat).
Each pipeline runs in its own process (so its peak memory is its own) on the same files:
  plain    - faster-whisper as its README shows it: WhisperModel int8, transcribe() with
             vad_filter and word_timestamps, its defaults otherwise (beam 5, temperature
             fallback), then a word-list classifier;
  modlens  - models.voice.Scanner: VAD-joined speech, greedy decoding, coverage check and
             retry, loop guard, the ONNX classifier;
and, with --variants, modlens with a beam of 5 and faster-whisper's BatchedInferencePipeline.
Prints and writes per pipeline: real-time factor (audio seconds per second), peak memory, and
word error rate against the script (words in time order, case and punctuation ignored).

    python benchmarks/bench_speech.py [--whisper base] [--threads 2] [--variants] [--json out]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.voice_session import LINES, RATE, VOICES  # noqa: E402
from benchmarks.voice_session import write_wav as write_mono  # noqa: E402
from tests.voice_fixtures import speech  # noqa: E402

SPEEDS = (130, 175, 220, 260)
RUDE_WORDS = {"idiot", "stupid", "noob", "trash", "moron", "fuck", "worthless", "useless", "hurt"}


def music(seconds: float, folder: Path) -> np.ndarray:
    """A chord loop made with sox: plucked triads over a bass sine, mixed to mono."""
    out = folder / "music.wav"
    chords = [("C3", "E3", "G3", "C2"), ("A2", "C3", "E3", "A1"), ("F2", "A2", "C3", "F1")]
    parts = []
    for i, (a, b, c, bass) in enumerate(chords):
        part = folder / f"chord{i}.wav"
        subprocess.run(
            ["sox", "-D", "-n", "-r", str(RATE), "-b", "16", str(part), "synth", "1.5",
             "pluck", a, "pluck", b, "pluck", c, "sine", bass, "remix", "-"],
            check=True,
        )  # fmt: skip
        parts.append(str(part))
    subprocess.run(["sox", "-D", *parts, str(out)], check=True)
    with wave.open(str(out)) as handle:
        loop = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    loop = loop.astype(np.float32) / 32768.0
    reps = int(np.ceil(seconds * RATE / len(loop)))
    return np.tile(loop, reps)[: int(seconds * RATE)]


def build(folder: Path, lines_per_clip: int = 16) -> dict[str, tuple[Path, str]]:
    """{name: (wav path, script)}."""
    clips: dict[str, tuple[Path, str]] = {}
    rng = np.random.default_rng(12)
    order = [LINES[int(i)][0] for i in rng.integers(len(LINES), size=3 * lines_per_clip)]

    def said(i: int) -> np.ndarray:
        return speech(order[i], VOICES[i % len(VOICES)], SPEEDS[i % len(SPEEDS)])

    # fast: back to back, 0.25 s between lines
    pieces, script = [], []
    for i in range(lines_per_clip):
        pieces += [said(i), np.zeros(RATE // 4, np.float32)]
        script.append(order[i])
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), *pieces])
    clips["fast"] = (write_mono(folder / "fast.wav", audio), " ".join(script))
    # overlap: each line starts 0.8 s before the one before it ends
    at, placed = RATE // 2, []
    for i in range(lines_per_clip, 2 * lines_per_clip):
        clip = said(i)
        placed.append((at, clip))
        at += len(clip) - int(0.8 * RATE)
    audio = np.zeros(at + 2 * RATE, np.float32)
    for start, clip in placed:
        audio[start : start + len(clip)] += 0.7 * clip
    script = [order[i] for i in range(lines_per_clip, 2 * lines_per_clip)]
    clips["overlap"] = (write_mono(folder / "overlap.wav", audio), " ".join(script))
    # music: the lines with 0.4 s between them over a chord loop about 15 dB below the voice
    pieces, script = [], []
    for i in range(2 * lines_per_clip, 3 * lines_per_clip):
        pieces += [said(i), np.zeros(int(0.4 * RATE), np.float32)]
        script.append(order[i])
    voice = np.concatenate([np.zeros(RATE // 2, np.float32), *pieces])
    bed = music(len(voice) / RATE, folder)
    bed *= 0.18 * np.sqrt(np.mean(voice**2)) / max(1e-9, np.sqrt(np.mean(bed**2)))
    audio = np.clip(voice + bed, -1, 1)
    clips["music"] = (write_mono(folder / "music_under_speech.wav", audio), " ".join(script))
    return clips


_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def word_errors(reference: str, hypothesis: str) -> dict[str, int | float]:
    """jiwer's alignment of the hypothesis to the reference, both as words() gives them:
    wer = (substitutions + deletions + insertions) / reference words."""
    import jiwer

    ref, hyp = words(reference), words(hypothesis)
    if not ref or not hyp:  # jiwer needs words on both sides
        rate = 1.0 if ref else float(len(hyp))
        return {"wer": rate, "substitutions": 0, "deletions": len(ref), "insertions": len(hyp)}
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return {
        "wer": out.wer,
        "substitutions": out.substitutions,
        "deletions": out.deletions,
        "insertions": out.insertions,
    }


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words."""
    return float(word_errors(reference, hypothesis)["wer"])


def seconds_of(path: str) -> float:
    with wave.open(path) as handle:
        return handle.getnframes() / handle.getframerate()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_plain(whisper: str, threads: int, files: list[str], batched: bool) -> dict:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from models.whisper_models import resolve_whisper

    model = WhisperModel(
        str(resolve_whisper(whisper)), device="cpu", compute_type="int8", cpu_threads=threads
    )
    pipeline = BatchedInferencePipeline(model) if batched else model
    out, began = {}, time.perf_counter()
    seconds = 0.0
    for path in files:
        kwargs = {"batch_size": 8} if batched else {}
        segments, info = pipeline.transcribe(path, word_timestamps=True, vad_filter=True, **kwargs)
        texts = []
        for segment in segments:
            texts.append(segment.text)
            _flagged = bool(set(words(segment.text)) & RUDE_WORDS)  # the word-list classifier
        out[path] = " ".join(texts)
        seconds += info.duration
    elapsed = time.perf_counter() - began
    return {"texts": out, "elapsed": elapsed, "audio": seconds, "peak_mib": _peak_mib()}


def run_modlens(whisper: str, threads: int, files: list[str], beam: int) -> dict:
    from models.classifier import Classifier
    from models.transcriber import Transcriber
    from models.voice import Scanner

    scanner = Scanner(Transcriber(whisper, threads=threads, beam_size=beam), Classifier())
    out, extra, began, seconds = {}, {}, time.perf_counter(), 0.0
    for path in files:
        result = scanner.scan([path])
        out[path] = " ".join(f.text for f in result.findings)
        track = result.tracks[0]
        extra[path] = {
            "untranscribed_s": round(sum(s.duration for s in track.untranscribed), 1),
            "retried": len(track.retried),
            "loops": len(track.loops),
            "flagged": len(result.flagged),
        }
        seconds += result.audio_seconds
    elapsed = time.perf_counter() - began
    return {
        "texts": out,
        "extra": extra,
        "elapsed": elapsed,
        "audio": seconds,
        "peak_mib": _peak_mib(),
    }


def _child(kind: str, whisper: str, threads: int, files: list[str], queue) -> None:
    if kind == "plain":
        queue.put(run_plain(whisper, threads, files, batched=False))
    elif kind == "plain-batched":
        queue.put(run_plain(whisper, threads, files, batched=True))
    elif kind == "modlens":
        queue.put(run_modlens(whisper, threads, files, beam=1))
    elif kind == "modlens-beam5":
        queue.put(run_modlens(whisper, threads, files, beam=5))


def measure(kind: str, whisper: str, threads: int, files: list[str]) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, whisper, threads, files, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whisper", default="base")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--lines", type=int, default=16, help="lines per recording")
    parser.add_argument("--variants", action="store_true", help="also beam 5 and batched")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    kinds = ["plain", "modlens"] + (["modlens-beam5", "plain-batched"] if args.variants else [])
    report: dict = {"whisper": args.whisper, "threads": args.threads, "load": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        clips = build(Path(tmp), args.lines)
        files = [str(path) for path, _ in clips.values()]
        total = sum(seconds_of(f) for f in files)
        print(f"{len(files)} recordings, {total:.0f} s of speech-dense audio; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)  # fmt: skip
        for kind in kinds:
            numbers = measure(kind, args.whisper, args.threads, files)
            per_clip = {
                name: round(wer(script, numbers["texts"][str(path)]), 3)
                for name, (path, script) in clips.items()
            }
            all_ref = " ".join(script for _, script in clips.values())
            all_hyp = " ".join(numbers["texts"][str(path)] for path, _ in clips.values())
            row = {
                "rtf_x": round(numbers["audio"] / numbers["elapsed"], 2),
                "elapsed_s": round(numbers["elapsed"], 1),
                "peak_mib": round(numbers["peak_mib"]),
                "wer": round(wer(all_ref, all_hyp), 3),
                "wer_per_recording": per_clip,
            }
            if "extra" in numbers:
                row["coverage"] = {
                    name: numbers["extra"][str(path)] for name, (path, _) in clips.items()
                }
            report[kind] = row
            print(
                f"{kind:<14} {row['rtf_x']:5.2f}x real time ({row['elapsed_s']} s), peak "
                f"{row['peak_mib']} MiB, WER {row['wer']:.3f} "
                f"({', '.join(f'{k} {v:.3f}' for k, v in per_clip.items())})"
                + (f"; {row['coverage']}" if "coverage" in row else ""),
                flush=True,
            )
    report["load_after"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
