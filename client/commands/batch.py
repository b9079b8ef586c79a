"""`modlens batch`: scan an archive of recordings on a Ray cluster (or a local Ray) into a results
folder that the desktop app opens for triage (File > Open batch results…)."""

from __future__ import annotations

import argparse
import os
import sys
import time

from client.commands.scan import add_voice_options
from client.terminal import paint, use_colour
from models.errors import ModlensError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "batch",
        help="scan a folder or manifest of recordings on a Ray cluster",
        description="Scan every recording of SOURCE (a folder, searched recursively, or a "
        "manifest CSV with a path column and optional player, match, ticket and language "
        "columns) on Ray, one task per file. Results go to RESULTS: a scan JSON report and a "
        "Parquet part per file, a record per file, and excerpts.parquet with every excerpt. "
        "A rerun skips the files already finished (by content). Needs the cluster extra: "
        "pip install 'modlens[cluster]'.",
    )
    add_voice_options(parser)
    parser.add_argument("source", metavar="SOURCE", help="a folder or a manifest .csv")
    parser.add_argument("--out", required=True, metavar="RESULTS", help="the results folder")
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="a running Ray cluster (default: $RAY_ADDRESS, else a local Ray on this machine)",
    )
    parser.add_argument("--workers", type=int, metavar="N", help="workers (default: CPUs / cpus)")
    parser.add_argument(
        "--cpus", type=float, default=1.0, metavar="C", help="CPUs per worker (default 1)"
    )
    parser.add_argument(
        "--local-cpus", type=int, metavar="N", help="CPUs of the local Ray (default: all)"
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="scan recordings that failed last time again"
    )
    parser.add_argument(
        "--file-timeout",
        type=float,
        metavar="S",
        help="restart a worker still on one file after S seconds (the file is tried again, at "
        "most three times in all, then recorded as failed; default: no limit)",
    )
    parser.add_argument(
        "--channels", choices=("auto", "split", "mix"), default="auto", help="as for scan"
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def run(args: argparse.Namespace) -> int:
    from client.batch.results import (
        DIGEST_CACHE,
        BatchError,
        ResultsFolder,
        plan,
        read_source,
        with_digests,
    )

    err = sys.stderr
    colour = use_colour(args.color, err)
    try:
        items = read_source(args.source)
        results = ResultsFolder(args.out)
        results.prepare()
    except BatchError as exc:
        print(f"modlens: {exc}", file=err)
        return 2
    if not items:
        print(f"modlens: no recordings in {args.source}.", file=err)
        return 2
    items = with_digests(items, cache=results.root / DIGEST_CACHE)
    work = plan(items, results.records(), args.retry_failed)
    print(
        f"{len(items)} recordings: {len(work.todo)} to scan, {len(work.finished)} already "
        f"finished, {len(work.duplicates)} duplicates",
        file=err,
    )
    if work.todo:
        try:
            from client.batch import engine
        except ModuleNotFoundError as exc:
            # the desktop bundle leaves Ray, pyarrow and the engine out
            missing = str(exc.name).split(".")[0]
            if missing not in ("ray", "pyarrow") and exc.name != "client.batch.engine":
                raise
            print("modlens: batch needs Ray and pyarrow: pip install 'modlens[cluster]'", file=err)
            return 2
        options = engine.WorkerOptions(
            whisper=args.whisper,
            model=args.model,
            language=args.language,
            threshold=args.threshold,
            vocabulary=tuple(w for w in (args.vocabulary or "").split(",") if w.strip()),
            threads=args.threads or max(1, int(args.cpus)),
            beam_size=args.beam_size,
            channels=args.channels,
        )
        address = args.address or os.environ.get("RAY_ADDRESS") or None
        bar = BatchBar(err)
        try:
            started = engine.connect(address, args.local_cpus)
            try:
                summary = engine.run_batch(
                    work.todo,
                    results,
                    options,
                    workers=args.workers,
                    cpus_per_worker=args.cpus,
                    on_progress=bar,
                    on_event=bar.say,
                    file_timeout=args.file_timeout,
                )
            finally:
                bar.finish()
                if started:
                    engine.ray.shutdown()
        except ModlensError as exc:  # Ray unreachable, models missing, results not writable
            print(f"modlens: {exc}", file=err)
            return 1
        for record in summary.records:
            if record.status == "failed":
                print(f"modlens: {record.path}: {record.reason}", file=err)
        rate = summary.audio_seconds / summary.elapsed if summary.elapsed else 0.0
        print(
            paint(
                f"{summary.done} scanned, {summary.failed} failed, {summary.retries} retried "
                f"after a worker died; {summary.audio_seconds / 3600:.3f} h of audio in "
                f"{summary.elapsed:.1f} s on {summary.workers} workers ({rate:.1f} audio h/h)",
                "dim",
                colour,
            ),
            file=err,
        )
    records = results.records()
    if any(r.table for r in records.values()):
        try:
            table = results.consolidate()
            print(f"results in {results.root} (every excerpt: {table})", file=err)
        except ModuleNotFoundError:
            pass
    failed = sum(r.status == "failed" for r in records.values())
    return 1 if failed else 0


class BatchBar:
    """Files and hours done, audio hours per hour and the time left, on one line of stderr."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = ""
        self.last_log = 0.0

    def __call__(self, progress) -> None:
        width = 24
        done = progress.files_finished / progress.files_total if progress.files_total else 1.0
        bar = "#" * int(width * done) + "-" * (width - int(width * done))
        eta = progress.eta_seconds
        left = _hms(eta) if eta is not None else "--:--:--"
        line = (
            f"[{bar}] {progress.files_finished}/{progress.files_total} files "
            f"({progress.files_failed} failed)  {_hms(progress.audio_seconds)} of audio  "
            f"{progress.audio_hours_per_hour:.1f} audio h/h  {progress.workers} workers  "
            f"left {left}"
        )
        if line == self.last:
            return
        if self.tty:
            self.stream.write("\r" + line)
        elif progress.files_finished != _files(self.last) or time.monotonic() - self.last_log > 30:
            self.stream.write(line + "\n")  # a log gets each finished file, not every redraw
            self.last_log = time.monotonic()
        self.last = line
        self.stream.flush()

    def say(self, message: str) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
        self.stream.write(f"modlens: {message}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()


def _files(line: str) -> int | None:
    try:
        return int(line.split("] ", 1)[1].split("/", 1)[0])
    except (IndexError, ValueError):
        return None


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
