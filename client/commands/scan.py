"""`modlens scan`: transcribe recorded voice sessions and list the toxic excerpts in time."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from client.terminal import beam_size, clean, paint, say, thread_count, use_colour, verdict_cells

EXIT_OK = 0
EXIT_FAILED = 1  # a file could not be scanned, or the report could not be written
EXIT_USAGE = 2  # bad options, or a model that cannot be loaded
EXIT_INCOMPLETE = 3  # every file was scanned, but one decoded shorter than it declares
EXIT_CODES = f"""exit status:
  {EXIT_OK}  every file was scanned whole
  {EXIT_FAILED}  a file could not be scanned (named on standard error; the others were), or the
     report could not be written
  {EXIT_USAGE}  bad options, or a model that cannot be loaded; nothing was scanned
  {EXIT_INCOMPLETE}  every file was scanned, but one decoded shorter than the duration it declares
     (truncated or damaged): its excerpts are listed and the summary says what is missing
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "scan",
        help="transcribe voice recordings and find toxic excerpts",
        description="Transcribe and classify recorded sessions. Each FILE is a speaker's track; "
        "a file whose channels differ is read as one track per channel.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_voice_options(parser)
    parser.add_argument("files", nargs="+", metavar="FILE")
    from client.reports import extensions_text

    parser.add_argument(
        "--report", metavar="PATH", help=f"write a report, by extension: {extensions_text()}"
    )
    parser.add_argument("--all", action="store_true", help="list clean excerpts too")
    parser.add_argument("--json", action="store_true", help="one JSON object per excerpt")
    parser.add_argument(
        "--channels",
        choices=("auto", "split", "mix"),
        default="auto",
        help="multi-channel files: one track per channel (split), mixed down (mix), or split "
        "only when the channels differ (auto)",
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def add_voice_options(parser: argparse.ArgumentParser) -> None:
    """The model options `scan` and `listen` share."""
    parser.add_argument("--model", metavar="DIR", help="classifier folder (default: shipped)")
    parser.add_argument(
        "--whisper",
        default="base",
        metavar="base|tiny.en|DIR",
        help="Whisper model: base (default), tiny.en (faster, English only) or a folder",
    )
    parser.add_argument("--language", help="spoken language code, e.g. en (default: detect)")
    parser.add_argument(
        "--threshold", type=float, metavar="P", help="flag when P(toxic) >= P for every category"
    )
    parser.add_argument(
        "--vocabulary",
        metavar="WORDS",
        help="extra game words for Whisper, comma separated (added to the built-in list)",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        help="CPU threads for Whisper (1 to twice the number of CPUs)",
    )
    parser.add_argument(
        "--beam-size",
        type=beam_size,
        default=1,
        help="Whisper beam size, 1 to 16 (default 1: greedy, fastest)",
    )


def load_models(args: argparse.Namespace):
    """The transcriber and classifier the options ask for; raises ModelError or ValueError."""
    from models.classifier import Classifier
    from models.transcriber import Transcriber

    words = [w for w in (args.vocabulary or "").split(",") if w.strip()]
    transcriber = Transcriber(
        args.whisper,
        language=args.language,
        vocabulary=words,
        threads=args.threads,
        beam_size=args.beam_size,
    )
    classifier = Classifier(args.model)
    if args.threshold is not None:
        classifier.set_thresholds(
            {"toxic": args.threshold, **dict.fromkeys(classifier.labels[1:], args.threshold)}
        )
    return transcriber, classifier


def finding_row(finding, width: int, colour: bool) -> str:
    from client.reports import clock

    verdict = finding.verdict
    speaker = clean(finding.speaker or "")[:14]
    cell, shown = verdict_cells(
        verdict.label, verdict.toxic, finding.text, max(20, width - 58), colour
    )
    return f"{clock(finding.start)}  {speaker:<14} {cell} {verdict.score:>7.3f}  {shown}"


def table_header(colour: bool) -> str:
    return paint(f"{'time':<9}  {'speaker':<14} {'label':<15} {'P(toxic)':>7}  text", "dim", colour)


class ProgressBar:
    """One line per track on standard error, redrawn in place on a terminal."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_line = ""
        self.started = time.monotonic()
        self.current = None

    def __call__(self, progress) -> None:
        if progress.track != self.current:
            self.finish()
            self.current = progress.track
            self.started = time.monotonic()
        fraction = progress.fraction
        width = 24
        filled = int(width * (fraction or 0.0))
        bar = "#" * filled + "-" * (width - filled)
        pct = f"{fraction:4.0%}" if fraction is not None else f"{progress.position:6.0f}s"
        line = (
            f"[{progress.index + 1}/{progress.total}] {clean(progress.track.speaker)[:24]:<24} "
            f"[{bar}] {pct} {progress.findings} excerpts {time.monotonic() - self.started:5.1f}s"
        )
        if self.tty:
            self.stream.write("\r" + line)
        elif (fraction in (0.0, 1.0) or fraction is None) and line != self.last_line:
            # a log file gets the start and end of each track, not every redraw
            self.stream.write(line + "\n")
        self.last_line = line
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.last_line:
            self.stream.write("\n")
            self.stream.flush()
        self.last_line = ""


def run(args: argparse.Namespace) -> int:
    from client.reports import ReportError, meta_for_scan, report_format, write_report
    from models.errors import ModlensError
    from models.voice import Scanner

    if args.report:
        try:
            report_format(args.report)
        except ReportError as exc:
            say(exc)
            return EXIT_USAGE
    try:
        transcriber, classifier = load_models(args)
    except (ModlensError, ValueError, KeyError) as exc:
        say(exc)
        return EXIT_USAGE
    colour = use_colour(args.color)
    width = shutil.get_terminal_size((110, 20)).columns
    split = {"auto": None, "split": True, "mix": False}[args.channels]
    bar = ProgressBar()
    result = Scanner(transcriber, classifier).scan(args.files, bar, split_channels=split)
    bar.finish()
    shown = result.flagged if not args.all else result.findings
    if args.json:
        from client.reports import finding_record

        for finding in shown:
            print(json.dumps(finding_record(finding), ensure_ascii=False))
    elif shown:
        print(table_header(colour))
        for finding in shown:
            print(finding_row(finding, width, colour))
    for problem in result.errors:
        say(problem)
    for track in result.tracks:
        if track.note:
            say(f"note: {track.note}")
    for track in result.incomplete:
        say(f"warning: {track.warning}")
    for track in result.tracks:
        for line in track.untranscribed_warnings:
            say(f"warning: {line}")
        if track.language_text:
            say(f"{track.track.speaker}: language {track.language_text}")
    rtf = result.audio_seconds / result.elapsed if result.elapsed else 0.0
    summary = (
        f"{len(result.flagged)} of {len(result.findings)} excerpts flagged in "
        f"{len(result.tracks)} tracks, {result.audio_seconds / 60:.1f} min of audio decoded in "
        f"{result.elapsed:.1f} s ({rtf:.1f}x real time)"
    )
    if result.incomplete:
        missing = sum(t.missing or 0.0 for t in result.incomplete)
        files = len({t.track.path for t in result.incomplete})
        summary += (
            f"; INCOMPLETE: {missing:.1f} s declared by {files} "
            f"file{'s' if files > 1 else ''} could not be decoded"
        )
    print(paint(summary, "dim", use_colour(args.color, sys.stderr)), file=sys.stderr)
    if args.report:
        try:
            meta = meta_for_scan(_title(args.files), result, transcriber, classifier)
            path = write_report(args.report, list(result.findings), meta)
            print(f"report written to {clean(path)}", file=sys.stderr)
        except ReportError as exc:
            say(exc)
            return EXIT_FAILED
    if result.errors:
        return EXIT_FAILED
    return EXIT_INCOMPLETE if result.incomplete else EXIT_OK


def _title(files: list[str]) -> str:
    names = [os.path.basename(f) for f in files]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"modlens scan: {shown}"
