"""`modlens classify`: label text given as arguments, or one excerpt per line of standard input."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING

from client.terminal import clean, paint, thread_count, use_colour, verdict_cells

if TYPE_CHECKING:
    from models.classifier import Verdict

CHUNK = 256  # lines classified per batch when reading standard input


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "classify",
        help="classify text excerpts",
        description="Classify each TEXT, or each line of standard input when no TEXT (or `-`) is "
        "given.",
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per excerpt and line, in input order"
    )
    parser.add_argument("--model", metavar="DIR", help="model folder (default: the shipped one)")
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="P",
        help="flag when P(toxic) >= P (overrides the model's thresholds)",
    )
    parser.add_argument(
        "--threads", type=thread_count, help="inference threads (1 to twice the number of CPUs)"
    )
    parser.add_argument(
        "--word-lists",
        metavar="FILE",
        help="the studio's block and allow lists (CSV list,category,language,entry or JSON); "
        "a verdict a list decided has method and entry in its JSON",
    )
    parser.add_argument(
        "--language", default="", help="apply only the word list entries of this language"
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def _stdin_lines() -> Iterator[str]:
    # bytes, so a log in another encoding never stops the run
    stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
    for line in stream:
        yield line.rstrip("\r\n")


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _row(index: int, text: str, verdict: Verdict, width: int, colour: bool) -> str:
    # an excerpt in a language nothing covers is said to be unchecked, not shown as clean
    label = verdict.label if verdict.method != "not checked" else "not checked"
    cell, shown = verdict_cells(label, verdict.toxic, text, max(20, width - 32), colour)
    return f"{index:>5}  {cell} {verdict.score:>7.3f}  {shown}"


def run(args: argparse.Namespace) -> int:
    from models.classifier import MAX_EXCERPT_CHARS, Classifier
    from models.errors import ModlensError

    try:
        classifier = Classifier(args.model, threads=args.threads)
        if args.threshold is not None:
            classifier.set_thresholds(
                {"toxic": args.threshold, **dict.fromkeys(classifier.labels[1:], args.threshold)}
            )
        if args.word_lists:
            from models.wordlists import read_word_lists, with_word_lists

            lists = read_word_lists(args.word_lists, classifier.labels)
            classifier = with_word_lists(classifier, lists, args.language)
    except (ModlensError, ValueError) as exc:
        print(f"modlens: {clean(exc)}", file=sys.stderr)
        return 2
    colour = use_colour(args.color)
    width = shutil.get_terminal_size((100, 20)).columns
    # `-` alone reads standard input, as most command-line tools do
    lines = args.texts if args.texts and args.texts != ["-"] else _stdin_lines()
    if not args.json:
        print(paint(f"{'#':>5}  {'label':<15} {'P(toxic)':>7}  text", "dim", colour))
    index, flagged = 0, 0
    partly: list[tuple[int, Verdict]] = []
    for chunk in _chunks(lines, CHUNK):
        for text, verdict in zip(chunk, classifier.classify(chunk), strict=True):
            index += 1
            flagged += verdict.toxic
            if verdict.unread_chars:
                partly.append((index, verdict))
            if args.json:
                print(json.dumps(verdict.to_json(text), ensure_ascii=False))
            else:
                print(_row(index, text, verdict, width, colour))
        sys.stdout.flush()
    for number, verdict in partly:
        print(
            f"modlens: note: excerpt {number} is too long; only its first {MAX_EXCERPT_CHARS:,} "
            f"characters were classified ({verdict.unread_chars:,} not read)",
            file=sys.stderr,
        )
    if not args.json:
        print(paint(f"{flagged} of {index} excerpts flagged", "dim", colour), file=sys.stderr)
    return 0
