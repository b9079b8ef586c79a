"""Split pasted text and chat logs into excerpts: one per chat message, long messages into
sentences, each keeping its character offsets into the original text so a UI can highlight it.

Reads plain text, chat logs, CSV, JSON and JSON Lines.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModlensError

FORMATS = ("auto", "plain", "chat", "csv", "json", "jsonl")

MESSAGE_FIELDS = ("message", "text", "content", "msg", "body", "chat", "utterance", "comment")
SPEAKER_FIELDS = ("name", "user", "username", "author", "player", "playerid", "speaker", "sender")
TIME_FIELDS = ("time", "timestamp", "chattime", "date", "ts")
LIST_FIELDS = ("messages", "data", "items", "chat", "logs")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".log": "text",
}

_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
# [12:34] name: msg, [12:34:56] <name> msg, 12:34 name: msg
_CHAT_TIMED = re.compile(
    rf"[ \t]*(?:\[(?P<t1>{_CLOCK})\]|(?P<t2>{_CLOCK}))[ \t]+"
    r"(?:<(?P<n1>[^>\n]{1,40})>|(?P<n2>[^:\n<>\[\]]{1,40}?):)[ \t]*(?P<body>.*)"
)
# [12:34] Server restarting (a timestamp but no name)
_CHAT_TIME_ONLY = re.compile(rf"[ \t]*\[(?P<t1>{_CLOCK})\][ \t]*(?P<body>.*)")
_CHAT_ANGLE = re.compile(r"[ \t]*<(?P<n1>[^>\n]{1,40})>[ \t]*(?P<body>.*)")
# name: msg, only trusted once the log as a whole looks like chat; names have at most three words
_CHAT_NAMED = re.compile(r"[ \t]*(?P<n2>[^\s:<>\[\]]+(?: [^\s:<>\[\]]+){0,2}):[ \t]+(?P<body>.*)")
_STRONG_CHAT = (_CHAT_TIMED, _CHAT_ANGLE, _CHAT_TIME_ONLY)
_CHAT_SHARE = 0.6

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s)")
_JSON_WS = re.compile(r"[ \t\n\r]*")
_TIME_OF_DAY = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(?!\d)")
_SNIFF_BYTES = 8192


class ExcerptError(ModlensError, ValueError):
    """Input that cannot be read as text; the message is meant for the user."""


@dataclass(frozen=True)
class Excerpt:
    text: str
    start: int = 0
    end: int = 0
    speaker: str | None = None
    time: float | None = None
    end_time: float | None = None
    message: int = 0


def split_sentences(text: str, max_chars: int = 280) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences in text, without surrounding whitespace.

    Text of at most max_chars stays whole; longer text splits at sentence ends (. ! ? before
    whitespace), and a sentence still longer than max_chars splits at whitespace near max_chars.
    """
    start, end = _strip_span(text, 0, len(text))
    if start == end:
        return []
    if end - start <= max_chars:
        return [(start, end)]
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.extend(_split_long(text, cursor, match.end(), max_chars))
        cursor = match.end()
    spans.extend(_split_long(text, cursor, end, max_chars))
    return spans


def excerpts_from_text(text: str, fmt: str = "auto", max_chars: int = 280) -> list[Excerpt]:
    """Excerpts of text read as fmt: one of auto, plain, chat, csv, json, jsonl."""
    if fmt not in FORMATS and fmt != "text":
        raise ExcerptError(f"Unknown format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    if not text.strip():
        return []
    if fmt == "auto":
        fmt = detect_format(text)
    elif fmt == "text":
        fmt = "chat" if _looks_like_chat(text) else "plain"
    readers = {
        "plain": _read_plain,
        "chat": _read_chat,
        "csv": _read_csv,
        "json": _read_json,
        "jsonl": _read_jsonl,
    }
    return readers[fmt](text, max_chars)


def excerpts_from_file(
    path: str | os.PathLike[str], fmt: str = "auto", max_bytes: int = 50_000_000
) -> list[Excerpt]:
    """Excerpts of a text file; the format comes from the extension unless fmt says otherwise."""
    path = Path(path)
    if not path.exists():
        raise ExcerptError(f"{path} does not exist.")
    if path.is_dir():
        raise ExcerptError(f"{path} is a folder; choose a text, chat log, CSV or JSON file.")
    size = path.stat().st_size
    if size > max_bytes:
        raise ExcerptError(
            f"{path.name} is {size / 1e6:.1f} MB; files up to {max_bytes / 1e6:.1f} MB can be read."
        )
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ExcerptError(f"{path} could not be read: {error.strerror or error}.") from error
    text = decode_bytes(raw, name=path.name)
    if fmt == "auto":
        fmt = format_for_path(path)
    return excerpts_from_text(text, fmt)


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The format a file's extension implies ("text": plain or chat, by content), else "auto"."""
    return _EXTENSIONS.get(Path(path).suffix.lower(), "auto")


def decode_bytes(raw: bytes, name: str = "The file") -> str:
    """Text of raw file bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252 / latin-1."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    if _looks_binary(raw[:_SNIFF_BYTES]):
        raise ExcerptError(f"{name} is not a text file (it looks like binary data).")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps every byte
        return raw.decode("latin-1", errors="replace")


def detect_format(text: str) -> str:
    """The format auto reads text as: json, jsonl, csv, chat or plain."""
    head = text.lstrip("\ufeff \t\r\n")
    if head[:1] in ("[", "{"):
        try:
            if isinstance(json.loads(head), list | dict):
                return "json"
        except ValueError:
            pass
    if _looks_like_jsonl(text):
        return "jsonl"
    if _csv_header(text) is not None:
        return "csv"
    if _looks_like_chat(text):
        return "chat"
    return "plain"


# --- plain text and chat -------------------------------------------------------------------


def _read_plain(text: str, max_chars: int) -> list[Excerpt]:
    out: list[Excerpt] = []
    message = 0
    for start, end in _lines(text):
        start, end = _strip_span(text, start, end)
        if start == end:
            continue
        _add_verbatim(out, text, start, end, max_chars, message=message)
        message += 1
    return out


def _read_chat(text: str, max_chars: int) -> list[Excerpt]:
    out: list[Excerpt] = []
    message = 0
    for start, end in _lines(text):
        if _strip_span(text, start, end)[0] == end:
            continue
        speaker, time, body = None, None, (start, end)
        for pattern in (*_STRONG_CHAT, _CHAT_NAMED):
            match = pattern.match(text, start, end)
            if match:
                groups = match.groupdict()
                name = groups.get("n1") or groups.get("n2")
                speaker = name.strip() if name else None
                clock = groups.get("t1") or groups.get("t2")
                time = _clock_seconds(clock) if clock else None
                body = match.span("body")
                break
        body_start, body_end = _strip_span(text, *body)
        if body_start < body_end:
            _add_verbatim(out, text, body_start, body_end, max_chars, message, speaker, time)
        message += 1
    return out


def _looks_like_chat(text: str) -> bool:
    total = chat = 0
    for start, end in _lines(text):
        if _strip_span(text, start, end)[0] == end:
            continue
        total += 1
        if any(pattern.match(text, start, end) for pattern in _STRONG_CHAT):
            chat += 1
    return total > 0 and chat >= _CHAT_SHARE * total


def _clock_seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    hours, minutes = parts[0], parts[1]
    seconds = parts[2] if len(parts) > 2 else 0.0
    return hours * 3600 + minutes * 60 + seconds


# --- CSV ----------------------------------------------------------------------------------


def _csv_header(text: str) -> tuple[str, list[str]] | None:
    """(delimiter, header cells) when the first line is a header naming a message column."""
    first_end = _LINE_BREAK.search(text)
    first = text[: first_end.start() if first_end else len(text)].lstrip("\ufeff")
    delimiter = max(",;\t", key=first.count)
    if first.count(delimiter) == 0:
        return None
    cells = next(csv.reader([first], delimiter=delimiter), [])
    names = [c.strip().lower() for c in cells]
    if not any(n in MESSAGE_FIELDS for n in names):
        return None
    return delimiter, cells


def _read_csv(text: str, max_chars: int) -> list[Excerpt]:
    header = _csv_header(text)
    if header is None:
        first = text.splitlines()[0] if text.splitlines() else ""
        delimiter = max(",;\t", key=first.count)
    else:
        delimiter = header[0]
    # the header may start after a BOM; csv would otherwise read it as part of the first name
    offset = 1 if text.startswith("\ufeff") else 0
    reader = csv.reader(io.StringIO(text[offset:], newline=""), delimiter=delimiter)
    rows_and_spans: list[tuple[list[str], tuple[int, int]]] = []
    breaks = list(_LINE_BREAK.finditer(text, offset))
    line_starts = [offset] + [m.end() for m in breaks]
    line_ends = [m.start() for m in breaks] + [len(text)]
    consumed = 0
    try:
        for row in reader:
            first_line, consumed = consumed, reader.line_num
            last_line = min(consumed, len(line_ends)) - 1
            rows_and_spans.append((row, (line_starts[first_line], line_ends[last_line])))
    except csv.Error as error:
        raise ExcerptError(f"The CSV could not be read: {error}.") from error
    if not rows_and_spans:
        return []
    names = [c.strip().lower() for c in rows_and_spans[0][0]]
    rows = rows_and_spans[1:]
    speaker_col = _pick_column(names, SPEAKER_FIELDS)
    time_col = _pick_column(names, TIME_FIELDS)
    message_col = _pick_column(names, MESSAGE_FIELDS)
    if message_col is None:
        message_col = _longest_column(rows, len(names), exclude={speaker_col, time_col})
    if message_col is None:
        return []
    out: list[Excerpt] = []
    for message, (row, (row_start, row_end)) in enumerate(rows):
        if message_col >= len(row):
            continue
        body = row[message_col].strip()
        if not body:
            continue
        speaker = _cell(row, speaker_col).strip() or None
        time = _parse_time(_cell(row, time_col)) if _cell(row, time_col) else None
        # walk the fields before the message so a name equal to the message is not mistaken for it
        cursor = row_start
        for field in row[:message_col]:
            found = text.find(field, cursor, row_end) if field else -1
            if found >= 0:
                cursor = found + len(field)
        found = text.find(body, cursor, row_end)
        span = (found, found + len(body)) if found >= 0 else _strip_span(text, row_start, row_end)
        _add_located(out, text, body, span, found >= 0, max_chars, message, speaker, time)
    return out


def _cell(row: list[str], col: int | None) -> str:
    return row[col] if col is not None and col < len(row) else ""


def _pick_column(names: list[str], candidates: tuple[str, ...]) -> int | None:
    for candidate in candidates:
        if candidate in names:
            return names.index(candidate)
    return None


def _longest_column(rows: list, width: int, exclude: set[int | None]) -> int | None:
    sample = [row for row, _ in rows[:500]]
    best, best_length = None, 0.0
    for col in range(width):
        if col in exclude:
            continue
        values = [row[col] for row in sample if col < len(row)]
        texts = [v for v in values if _parse_number(v) is None]
        if not texts:
            continue
        length = sum(map(len, texts)) / len(values)
        if length > best_length:
            best, best_length = col, length
    return best


def _parse_number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _parse_time(value: object) -> float | None:
    """Seconds from a number of seconds or a clock time hh:mm(:ss); None otherwise.

    A time that is not a finite number (inf, nan, 1e400, an int too large for a float) is no
    time at all: None, never a value that breaks sorting, clocks or the timeline.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _finite(value)
    value = str(value).strip()
    number = _parse_number(value)
    if number is not None:
        return _finite(number)
    match = _TIME_OF_DAY.search(value)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds or 0)


def _finite(value: float) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an int beyond a float's range
        return None
    return number if math.isfinite(number) else None


# --- JSON and JSON Lines --------------------------------------------------------------------


def _read_json(text: str, max_chars: int) -> list[Excerpt]:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except ValueError as error:
        raise ExcerptError(f"The text is not valid JSON: {error}.") from error
    out: list[Excerpt] = []
    for message, (record, start, end) in enumerate(_json_records(text, data)):
        _add_record(out, text, record, (start, end), max_chars, message)
    return out


def _read_jsonl(text: str, max_chars: int) -> list[Excerpt]:
    out: list[Excerpt] = []
    message = 0
    for number, (start, end) in enumerate(_lines(text), start=1):
        start, end = _strip_span(text, start, end)
        if start == end:
            continue
        try:
            record = json.loads(text[start:end].lstrip("\ufeff"))
        except ValueError as error:
            raise ExcerptError(f"Line {number} is not valid JSON: {error}.") from error
        _add_record(out, text, record, (start, end), max_chars, message)
        message += 1
    return out


def _looks_like_jsonl(text: str) -> bool:
    seen = False
    for start, end in _lines(text):
        start, end = _strip_span(text, start, end)
        if start == end:
            continue
        if text[start] not in '{"\ufeff':
            return False
        try:
            if not isinstance(json.loads(text[start:end].lstrip("\ufeff")), dict | str):
                return False
        except ValueError:
            return False
        seen = True
    return seen


def _json_records(text: str, data: object) -> list[tuple[object, int, int]]:
    """Each record of parsed JSON data with its span in text, found by walking the raw text."""
    decoder = json.JSONDecoder()
    start = _skip_json_ws(text, 0)
    if isinstance(data, list):
        return list(_json_array_items(text, start, decoder))
    if not isinstance(data, dict):
        return []
    key = next(
        (
            k
            for name in LIST_FIELDS
            for k in data
            if k.lower() == name and isinstance(data[k], list)
        ),
        None,
    )
    if key is None:
        return [(data, start, len(text.rstrip()))]
    i = _skip_json_ws(text, start + 1)
    while text[i] != "}":
        name, i = decoder.raw_decode(text, i)
        i = _skip_json_ws(text, _skip_json_ws(text, i) + 1)  # past the colon
        if name == key:
            return list(_json_array_items(text, i, decoder))
        _, i = decoder.raw_decode(text, i)
        i = _skip_json_ws(text, i)
        if text[i] == ",":
            i = _skip_json_ws(text, i + 1)
    return []


def _json_array_items(
    text: str, i: int, decoder: json.JSONDecoder
) -> Iterator[tuple[object, int, int]]:
    i = _skip_json_ws(text, i + 1)  # past the opening bracket
    while text[i] != "]":
        value, end = decoder.raw_decode(text, i)
        yield value, i, end
        i = _skip_json_ws(text, end)
        if text[i] == ",":
            i = _skip_json_ws(text, i + 1)


def _skip_json_ws(text: str, i: int) -> int:
    if i == 0 and text.startswith("\ufeff"):
        i = 1
    return _JSON_WS.match(text, i).end()  # type: ignore[union-attr]


def _add_record(
    out: list[Excerpt],
    text: str,
    record: object,
    span: tuple[int, int],
    max_chars: int,
    message: int,
) -> None:
    speaker = time = None
    if isinstance(record, str):
        body = record
    elif isinstance(record, dict):
        fields = {str(k).lower(): v for k, v in record.items()}
        body = next((fields[f] for f in MESSAGE_FIELDS if fields.get(f) is not None), None)
        name = next((fields[f] for f in SPEAKER_FIELDS if fields.get(f) is not None), None)
        speaker = str(name).strip() or None if name is not None else None
        time = next((_parse_time(fields[f]) for f in TIME_FIELDS if f in fields), None)
    else:
        return
    if body is None or isinstance(body, dict | list):
        return
    body = str(body).strip()
    if not body:
        return
    start, end = span
    for ensure_ascii in (False, True):
        escaped = json.dumps(body, ensure_ascii=ensure_ascii)[1:-1]
        found = text.find(escaped, start, end)
        if found >= 0:
            located = (found, found + len(escaped))
            verbatim = escaped == body
            _add_located(out, text, body, located, verbatim, max_chars, message, speaker, time)
            return
    _add_located(out, text, body, span, False, max_chars, message, speaker, time)


# --- shared -------------------------------------------------------------------------------


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, without its line break."""
    start = 0
    for match in _LINE_BREAK.finditer(text):
        yield start, match.start()
        start = match.end()
    if start < len(text):
        yield start, len(text)


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Pieces of text[start:end] no longer than max_chars, cut at whitespace where possible."""
    start, end = _strip_span(text, start, end)
    while end - start > max_chars:
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars + 1)
        if cut < 0:
            cut = next(
                (
                    i
                    for i in range(start + max_chars, start + max_chars // 2, -1)
                    if text[i].isspace()
                ),
                start + max_chars,
            )
        piece = _strip_span(text, start, cut)
        if piece[0] < piece[1]:
            yield piece
        start = _strip_span(text, cut, end)[0]
    if start < end:
        yield start, end


def _add_verbatim(
    out: list[Excerpt],
    text: str,
    start: int,
    end: int,
    max_chars: int,
    message: int,
    speaker: str | None = None,
    time: float | None = None,
) -> None:
    for a, b in _split_in_place(text, start, end, max_chars):
        out.append(Excerpt(text[a:b], a, b, speaker, time, None, message))


def _add_located(
    out: list[Excerpt],
    text: str,
    body: str,
    span: tuple[int, int],
    verbatim: bool,
    max_chars: int,
    message: int,
    speaker: str | None,
    time: float | None,
) -> None:
    """Excerpts of body; sentence offsets when body sits verbatim at span, else span for each."""
    if verbatim:
        _add_verbatim(out, text, span[0], span[1], max_chars, message, speaker, time)
        return
    for a, b in split_sentences(body, max_chars):
        out.append(Excerpt(body[a:b], span[0], span[1], speaker, time, None, message))


def _split_in_place(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    if end - start <= max_chars:
        return [(start, end)]
    return [(start + a, start + b) for a, b in split_sentences(text[start:end], max_chars)]


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\b\x1b")
    return controls > len(head) * 0.1
