"""Scan a 10-minute game voice session end to end and report speed and memory.

Whisper base int8 on the CPU, with VAD and word timestamps, then the classifier on every excerpt.
Prints the real-time factor (audio seconds per second of wall time), the classifier's share of
the time, and peak memory. Targets: >= 10x real time, classifier < 5%.

    python benchmarks/bench_scan.py [--minutes 10] [--whisper base] [--model DIR] [--json out.json]

--twice scans the session a second time with the same models and says whether every excerpt
(text, times, verdict), every untranscribed stretch, every retry and every loop cut came out the
same. The numbers include the speech the VAD heard, what was retried, what stayed untranscribed,
the loops cut, and the utterances spoken that neither an excerpt nor an untranscribed stretch
reaches (speech lost silently; should be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_speech import word_errors, words  # noqa: E402
from benchmarks.voice_session import build_session, write_wav  # noqa: E402
from models.classifier import Classifier  # noqa: E402
from models.model_folder import DEFAULT_MODEL_DIR  # noqa: E402
from models.transcriber import Transcriber  # noqa: E402
from models.voice import Scanner  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def classifier_dir(requested: str | None, folder: Path) -> tuple[Path | None, str]:
    if requested:
        return Path(requested), requested
    if (DEFAULT_MODEL_DIR / "model.onnx").exists():
        return None, "shipped default"
    # before the shipped model exists: a tiny random model of the same shape, built in another
    # process so that torch does not count in this one's memory
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from tests.tiny_model import build_tiny_hf_model;"
        "from training.export import export_model; f = Path(sys.argv[2]);"
        "export_model(build_tiny_hf_model(f / 'hf'), f / 'onnx', max_length=64)"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(folder)], check=True, capture_output=True
    )
    return folder / "onnx", "tiny random model (shipped model not present yet)"


_DECODE = """
import sys
sys.path.insert(0, sys.argv[1])
from models.audio import read_chunks
samples = longest = 0
for chunk in read_chunks(sys.argv[2]):
    samples += len(chunk.samples)
    longest = max(longest, len(chunk.samples))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(samples / 16000, longest / 16000, int(status) / 1024)
"""


def decode_memory(hours: float, folder: Path) -> dict[str, float]:
    """Peak memory of a process that reads a long recording chunk by chunk (no transcription)."""
    path = folder / "long.flac"
    synth = ["synth", str(hours * 3600), "whitenoise", "vol", "0.01"]
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(path), *synth], check=True)
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _DECODE, str(ROOT), str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, longest, rss = map(float, out.stdout.split())
    return {
        "long_decode_hours": round(seconds / 3600, 2),
        "long_decode_s": round(time.perf_counter() - began, 1),
        "long_decode_largest_chunk_s": round(longest, 1),
        "long_decode_peak_rss_mib": round(rss),
        "long_decode_whole_array_would_be_mib": round(seconds * 16000 * 4 / 2**20),
    }


def signature(result) -> list[tuple]:
    """What a moderator sees of a scan: every excerpt, untranscribed stretch, retry and loop."""
    excerpts = [
        (f.speaker, f.text, f.start, f.end, f.verdict.label, round(f.verdict.score, 5))
        for f in result.findings
    ]
    gaps = [("untranscribed", t.speaker, s.start, s.end) for t, s in result.untranscribed]
    retried = [("retry", r.track.speaker, s.start, s.end) for r in result.tracks for s in r.retried]
    loops = [("loop", t.speaker, x.start, x.end, x.phrase, x.times) for t, x in result.loops]
    return [*excerpts, *gaps, *retried, *loops]


# an utterance spoken at t counts as heard when an excerpt or untranscribed stretch overlaps
# [t, t + HEARD_S] (every espeak line is longer than this)
HEARD_S = 1.0


def silently_lost(result, spoken: list[tuple[float, str, bool]]) -> list[str]:
    """The spoken utterances that no excerpt and no untranscribed stretch reaches."""
    spans = [(f.start, f.end) for f in result.findings]
    spans += [(s.start, s.end) for _, s in result.untranscribed]
    return [
        f"{at:.1f} {text}"
        for at, text, _ in spoken
        if not any(lo < at + HEARD_S and hi > at for lo, hi in spans)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--whisper", default="base")
    parser.add_argument("--model", help="classifier folder (default: shipped)")
    parser.add_argument("--language", default="en")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument(
        "--long-hours", type=float, default=2.0, help="also decode a recording this long (0: skip)"
    )
    parser.add_argument("--twice", action="store_true", help="scan again and compare")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        audio, spoken = build_session(args.minutes * 60)
        path = write_wav(folder / "session.wav", audio)
        del audio
        build_s = time.perf_counter() - began
        model_dir, model_name = classifier_dir(args.model, folder)

        began = time.perf_counter()
        transcriber = Transcriber(
            args.whisper, language=args.language, threads=args.threads, beam_size=args.beam_size
        )
        classifier = Classifier(model_dir)
        load_s = time.perf_counter() - began
        rss_loaded = peak_mib()

        load_before = os.getloadavg()[0]
        cpu_before = cpu_seconds()
        result = Scanner(transcriber, classifier).scan([path])
        cpu_scan = cpu_seconds() - cpu_before
        rss_peak = peak_mib()
        load_after = os.getloadavg()[0]
        again = Scanner(transcriber, classifier).scan([path]) if args.twice else None
        load_end = os.getloadavg()[0]
        long_decode = decode_memory(args.long_hours, folder) if args.long_hours else {}

    flagged = result.flagged
    track = result.tracks[0]
    lost = silently_lost(result, spoken)
    script = " ".join(text for _, text, _ in sorted(spoken))
    heard = " ".join(f.text for f in sorted(result.findings, key=lambda f: (f.start, f.end)))
    errors = word_errors(script, heard)
    coverage = {
        # words against the script, in time order; more words than spoken is text a retry or a
        # hallucination added (the same words twice, an echo of the hint)
        "wer": round(errors["wer"], 4),
        "words_spoken": len(words(script)),
        "words_transcribed": len(words(heard)),
        # where the words differ: a word added (a repeat, a hallucination), one left out, one
        # misheard
        "words_inserted": errors["insertions"],
        "words_deleted": errors["deletions"],
        "words_substituted": errors["substitutions"],
        "speech_s": track.speech_seconds,
        "retried": len(track.retried),
        "untranscribed": [f"{s.start:.1f}-{s.end:.1f}" for s in track.untranscribed],
        "loops_cut": len(track.loops),
        "language": track.language_text,
        "utterances_silently_lost": len(lost),
        "silently_lost_first": lost[:10],
    }
    if again is not None:
        first, second = signature(result), signature(again)
        coverage["second_scan_identical"] = first == second
        coverage["second_scan_differences"] = len(set(first) ^ set(second))
        coverage["second_scan_s"] = round(again.elapsed, 1)
        coverage["second_scan_untranscribed"] = len(again.tracks[0].untranscribed)
        coverage["second_scan_loops_cut"] = len(again.tracks[0].loops)
        coverage["load_average_after_second"] = round(load_end, 2)
    numbers = {
        "audio_seconds": round(result.audio_seconds, 1),
        "utterances_spoken": len(spoken),
        "rude_spoken": sum(r for _, _, r in spoken),
        "excerpts": len(result.findings),
        "flagged": len(flagged),
        "whisper": args.whisper,
        "classifier": model_name,
        "session_build_s": round(build_s, 1),
        "model_load_s": round(load_s, 2),
        "scan_s": round(result.elapsed, 1),
        "real_time_factor": round(result.audio_seconds / result.elapsed, 1),
        "transcribe_s": round(result.transcribe_seconds, 1),
        "classify_s": round(result.classify_seconds, 3),
        "classifier_share": round(result.classify_seconds / result.elapsed, 4),
        "scan_cpu_s": round(cpu_scan, 1),
        "cpu_count": os.cpu_count(),
        # other work on the machine (a training job) slows the scan; the load average shows it
        "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
        "peak_rss_mib_after_load": round(rss_loaded),
        "peak_rss_mib": round(rss_peak),
        **coverage,
        **long_decode,
    }
    width = max(map(len, numbers))
    for key, value in numbers.items():
        print(f"{key:<{width}}  {value}")
    print(
        f"\n{numbers['real_time_factor']}x real time (target >= 10x); classifier "
        f"{numbers['classifier_share']:.2%} of the time (target < 5%); peak "
        f"{numbers['peak_rss_mib']} MiB"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
