"""Archive throughput: `modlens batch` on a local Ray with 1 and 2 workers beside `modlens scan` of
the same files, the memory of each worker, and the throughput projected on N workers.

Throughput is audio hours per wall-clock hour, start-up (Ray, model loading) included. A worker's
rate is also given per CPU hour it used (start-up excluded), which does not depend on what else
the machine runs; N one-CPU workers with a core each do about N times that, plus a fixed start-up
of tens of seconds. The load average around each run is recorded: on a shared machine the
wall-clock numbers are lower bounds. Needs espeak-ng, sox and the cluster extra.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.voice_session import build_session, write_wav
from client.batch.results import ResultsFolder

MODLENS = [sys.executable, "-m", "client.cli"]
ROOT = Path(__file__).resolve().parents[1]


LOADS: dict[str, list[float]] = {}  # run -> 1-minute load average before and after it
CPU: dict[str, float] = {}  # run -> CPU seconds of the command's process (and what it waited for)


def run(command: list[str], name: str) -> tuple[float, str]:
    """Wall seconds of a command; the machine's load around it is kept (it may be shared)."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    load = os.getloadavg()[0]
    cpu = children_cpu()
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    CPU[name] = round(children_cpu() - cpu, 1)
    LOADS[name] = [round(load, 2), round(os.getloadavg()[0], 2)]
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return wall, done.stderr


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def batch_numbers(out: Path, wall: float) -> dict:
    records = [r for r in ResultsFolder(out).records().values() if r.status == "done"]
    audio = sum(r.duration for r in records)
    workers: dict[str, dict[str, float]] = {}
    for r in records:
        w = workers.setdefault(
            r.worker, {"busy_s": 0.0, "cpu_s": 0.0, "audio_s": 0.0, "peak_rss_mib": 0.0}
        )
        w["busy_s"] += r.elapsed
        w["cpu_s"] += r.cpu_s
        w["audio_s"] += r.duration
        w["peak_rss_mib"] = max(w["peak_rss_mib"], r.worker_rss_mib)
    busy = sum(w["busy_s"] for w in workers.values())
    cpu = sum(w["cpu_s"] for w in workers.values())
    return {
        "files": len(records),
        "wall_s": round(wall, 1),
        "audio_h_per_h": round(audio / wall, 1),
        "per_worker_audio_h_per_h": round(audio / busy, 1) if busy else None,
        # what one worker does with a CPU of its own: audio hours per CPU hour it used
        "audio_h_per_cpu_h": round(audio / cpu, 1) if cpu else None,
        "workers": {
            name: {k: round(v, 1) for k, v in w.items()} for name, w in sorted(workers.items())
        },
        "peak_worker_rss_mib": round(max(w["peak_rss_mib"] for w in workers.values()), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each file")
    parser.add_argument("--whisper", default="tiny.en")
    parser.add_argument("--project", type=int, nargs="*", default=[4, 16, 64, 256])
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    if not shutil.which("espeak-ng"):
        raise SystemExit("needs espeak-ng and sox: bash packaging/system-deps.sh")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "archive"
        source.mkdir()
        paths = []
        for i in range(args.files):
            audio, _ = build_session(args.seconds, seed=100 + i)
            paths.append(str(write_wav(source / f"match{i:03d}.wav", audio)))
        audio_s = args.files * args.seconds
        results: dict = {
            "files": args.files,
            "audio_s": audio_s,
            "whisper": args.whisper,
            "cpus": os.cpu_count(),
        }

        scan = [*MODLENS, "scan", *paths, "--whisper", args.whisper]
        wall, _ = run([*scan, "--report", str(folder / "scan.json")], "scan")
        results["scan"] = {
            "wall_s": round(wall, 1),
            "audio_h_per_h": round(audio_s / wall, 1),
            "cpu_s": CPU["scan"],
            "audio_h_per_cpu_h": round(audio_s / CPU["scan"], 1),
            "threads": "default (2 on this machine)",
        }
        print(f"modlens scan: {wall:.1f} s, {audio_s / wall:.1f} audio h/h", flush=True)

        for workers in (1, 2):
            out = folder / f"results{workers}"
            command = [*MODLENS, "batch", str(source), "--out", str(out), "--whisper"]
            command += [args.whisper, "--workers", str(workers), "--cpus", "1", "--color", "never"]
            wall, _ = run(command, f"batch_{workers}_workers")
            numbers = batch_numbers(out, wall)
            results[f"batch_{workers}_workers"] = numbers
            print(
                f"batch, {workers} worker(s): {wall:.1f} s, {numbers['audio_h_per_h']} audio h/h; "
                f"per worker {numbers['per_worker_audio_h_per_h']} audio h/h while scanning, "
                f"{numbers['audio_h_per_cpu_h']} audio h per CPU h, "
                f"peak {numbers['peak_worker_rss_mib']} MiB",
                flush=True,
            )
        # N one-CPU workers, each with a core of its own, at the CPU rate measured here (the
        # wall-clock rate on this shared machine depends on what else runs)
        rate = results["batch_1_workers"]["audio_h_per_cpu_h"]
        results["projection_audio_h_per_h"] = {str(n): round(n * rate, 1) for n in args.project}
        results["load_before_after"] = LOADS
        for n in args.project:
            print(f"projected on {n} one-CPU workers: {n * rate:,.0f} audio h/h")
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
