"""`modlens listen`: moderate a microphone live, printing verdicts as utterances end."""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from client.commands.scan import add_voice_options, finding_row, table_header
from client.terminal import paint, use_colour


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "listen",
        help="moderate a microphone live",
        description="Capture a microphone, cut utterances at pauses, and print each verdict as "
        "it comes. The audio is saved as a WAV session with the excerpts beside it (.jsonl).",
    )
    parser.add_argument("--device", help="input device number or name (default: the system's)")
    parser.add_argument("--seconds", type=float, help="stop after S seconds (default: Ctrl+C)")
    parser.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    parser.add_argument(
        "--save", metavar="PATH", help="session recording (.wav); default: a timestamped file"
    )
    parser.add_argument("--report", metavar="PATH", help="also write a report when stopping")
    parser.add_argument("--all", action="store_true", help="print clean excerpts too")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    add_voice_options(parser)
    return parser


def _device(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def new_recording_name(folder: Path) -> Path:
    """A timestamped recording name no file (nor its .jsonl) has yet."""
    stem = f"modlens-live-{datetime.now():%Y%m%d-%H%M%S}"
    for number in range(1, 1000):
        name = folder / (stem + (f"-{number}" if number > 1 else "") + ".wav")
        if not name.exists() and not name.with_suffix(".jsonl").exists():
            return name
    raise SystemExit(f"modlens: no free recording name like {stem}.wav in {folder}")


def run(args: argparse.Namespace) -> int:
    from client.commands.scan import load_models
    from client.reports import ReportError, meta_for_live, report_format, write_report
    from models.live import LiveError, LiveSession
    from models.model_folder import ModelError

    if args.list_devices:
        import sounddevice as sd

        for index, device in enumerate(sd.query_devices()):
            if device["max_input_channels"] > 0:
                print(f"{index:>3}  {device['name']}")
        return 0
    if args.save:
        recording = Path(args.save)
        taken = [p for p in (recording, recording.with_suffix(".jsonl")) if p.exists()]
        if taken:  # an earlier session's evidence: never truncated
            print(
                f"modlens: {taken[0]} already exists; it is not overwritten. "
                "Choose another --save name.",
                file=sys.stderr,
            )
            return 2
    else:
        recording = new_recording_name(Path.cwd())
    try:
        if args.report:
            report_format(args.report)
        transcriber, classifier = load_models(args)
    except (ModelError, ValueError, KeyError, ReportError) as exc:
        print(f"modlens: {exc}", file=sys.stderr)
        return 2
    colour = use_colour(args.color)
    width = shutil.get_terminal_size((110, 20)).columns
    lock = threading.Lock()
    header = [False]

    def show(utterance) -> None:  # runs on the worker thread
        with lock:
            for finding in utterance.findings:
                if finding.toxic or args.all:
                    if not header[0]:
                        print(table_header(colour))
                        header[0] = True
                    print(finding_row(finding, width, colour), flush=True)

    session = LiveSession(
        transcriber,
        classifier,
        recording,
        device=_device(args.device),
        on_utterance=show,
    )
    try:
        session.start()
    except LiveError as exc:
        print(f"modlens: {exc}", file=sys.stderr)
        return 2
    print(f"listening; recording to {recording} (Ctrl+C to stop)", file=sys.stderr)
    try:
        # until the time is up or Ctrl+C, or capture stops by itself (a full disk): then the
        # recording so far is closed and kept, and session.errors says why
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while not session.halted.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    result = session.stop()
    for error in session.errors:  # a full disk says so here
        print(f"modlens: {error}", file=sys.stderr)
    latencies = result.latencies
    summary = (
        f"{sum(f.toxic for f in result.findings)} of {len(result.findings)} excerpts flagged in "
        f"{len(result.utterances)} utterances, {result.seconds:.0f} s recorded to {recording}"
    )
    if latencies:
        summary += f"; latency median {statistics.median(latencies):.2f} s"
    print(paint(summary, "dim", use_colour(args.color, sys.stderr)), file=sys.stderr)
    if args.report:
        try:
            title = f"modlens live: {recording}"
            meta = meta_for_live(title, result, transcriber, classifier, session.errors)
            write_report(args.report, list(result.findings), meta)
        except ReportError as exc:
            print(f"modlens: {exc}", file=sys.stderr)
            return 1
    return 1 if session.errors else 0
