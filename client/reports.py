"""Write a session's classified excerpts as JSON, CSV, SRT, WebVTT or a self-contained HTML page,
chosen by the file extension. Flagged lines are marked in every format; a moderator's decision
per excerpt (from the desktop app) is included when given.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from models.errors import ModlensError
from models.taxonomy import Taxonomy
from models.voice import Finding

FORMATS = {".json": "json", ".csv": "csv", ".srt": "srt", ".vtt": "vtt", ".html": "html"}
FORMATS[".htm"] = "html"


class ReportError(ModlensError, ValueError):
    """A report that cannot be written; the message is meant for the user."""


def report_format(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = suffix or "(no extension)"
        raise ReportError(f"Unknown report type {shown!r}: use .json, .csv, .srt, .vtt or .html.")
    return FORMATS[suffix]


def write_report(
    path: str | os.PathLike[str],
    findings: Sequence[Finding],
    decisions: Sequence[str | None] | None = None,
    title: str = "modlens session",
    flagged_only: bool = False,
) -> Path:
    """Write findings (in the order given) to path, in the format its extension names."""
    fmt = report_format(path)
    if decisions is not None and len(decisions) != len(findings):
        raise ReportError(f"{len(decisions)} decisions for {len(findings)} excerpts.")
    rows = list(zip(findings, decisions or [None] * len(findings), strict=True))
    if flagged_only:
        rows = [(f, d) for f, d in rows if f.toxic]
    writers = {"json": to_json, "csv": to_csv, "srt": to_srt, "vtt": to_vtt, "html": to_html}
    text = writers[fmt](rows, title)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(path)
    except OSError as exc:
        raise ReportError(f"{path} cannot be written: {exc.strerror or exc}.") from exc
    return path


Rows = list[tuple[Finding, str | None]]


def finding_record(finding: Finding, decision: str | None = None) -> dict:
    record = {
        "speaker": finding.speaker,
        "start": round(finding.start, 3),
        "end": round(finding.end, 3),
        "text": finding.text,
        "flagged": finding.toxic,
        "label": finding.verdict.label,
        "score": round(finding.verdict.score, 4),
        "scores": {k: round(v, 4) for k, v in finding.verdict.scores.items()},
        "source": finding.source,
        "channel": finding.channel,
        "words": [
            {"text": w.text.strip(), "start": w.start, "end": w.end, "probability": w.probability}
            for w in finding.words
        ],
    }
    if decision is not None:
        record["decision"] = decision
    return record


def to_json(rows: Rows, title: str = "") -> str:
    data = {
        "title": title,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "excerpts": len(rows),
        "flagged": sum(f.toxic for f, _ in rows),
        "findings": [finding_record(f, d) for f, d in rows],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_csv(rows: Rows, title: str = "") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["start", "end", "speaker", "flagged", "label", "score", "text", "source"]
    with_decisions = any(d is not None for _, d in rows)
    writer.writerow([*header, "decision"] if with_decisions else header)
    for f, d in rows:
        row = [
            clock(f.start, ".", hours=True),
            clock(f.end, ".", hours=True),
            f.speaker,
            "yes" if f.toxic else "no",
            f.verdict.label,
            f"{f.verdict.score:.3f}",
            f.text,
            f.source,
        ]
        writer.writerow([*row, d or ""] if with_decisions else row)
    return out.getvalue()


def _cue_text(finding: Finding, decision: str | None) -> str:
    text = f"{finding.speaker}: {finding.text}" if finding.speaker else finding.text
    if finding.toxic:
        mark = f"[FLAGGED {finding.verdict.label} {finding.verdict.score:.0%}]"
        text = f"{mark} {text}"
    if decision:
        text += f" ({decision})"
    return text


def to_srt(rows: Rows, title: str = "") -> str:
    cues = []
    for number, (f, d) in enumerate(_timed(rows), start=1):
        span = f"{clock(f.start, ',', hours=True)} --> {clock(f.end, ',', hours=True)}"
        cues.append(f"{number}\n{span}\n{_cue_text(f, d)}\n")
    return "\n".join(cues)


def to_vtt(rows: Rows, title: str = "") -> str:
    lines = ["WEBVTT", ""]
    for f, d in _timed(rows):
        lines.append(f"{clock(f.start, '.', hours=True)} --> {clock(f.end, '.', hours=True)}")
        # <v Speaker> is WebVTT's voice tag; the mark keeps flagged lines visible in any player
        text = _cue_text(f, d).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines.extend([text, ""])
    return "\n".join(lines)


def _timed(rows: Rows) -> Rows:
    return sorted(rows, key=lambda r: (r[0].start, r[0].end))


def clock(seconds: float, separator: str = ".", hours: bool = False) -> str:
    """12.5 -> 00:00:12.500 (hours=True) or 00:12.500; separator before the milliseconds."""
    millis = max(0, round(seconds * 1000))
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    if hours or h:
        return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"
    return f"{m:02d}:{s:02d}{separator}{ms:03d}"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:70rem}
h1{font-size:1.4rem} .summary{color:#555;margin-bottom:1rem}
table{border-collapse:collapse;width:100%} th,td{padding:.35rem .6rem;text-align:left;
vertical-align:top;border-bottom:1px solid #ddd} th{background:#f4f4f4}
tr.flagged td{background:#fff4f0} .time{font-variant-numeric:tabular-nums;white-space:nowrap}
.label{display:inline-block;padding:0 .4rem;border-radius:.3rem;color:#fff;font-size:.85rem}
.clean{color:#888} .filter{margin:.5rem 0}
"""

_SCRIPT = """
document.getElementById('only').addEventListener('change',function(e){
 document.querySelectorAll('tbody tr').forEach(function(r){
  r.style.display=(e.target.checked&&!r.classList.contains('flagged'))?'none':'';});});
"""


def to_html(rows: Rows, title: str = "modlens session") -> str:
    taxonomy_labels = {f.verdict.label for f, _ in rows}
    labels = ("non_toxic", *sorted(taxonomy_labels - {"non_toxic"}))
    taxonomy = Taxonomy(labels) if len(labels) > 1 else None
    flagged = sum(f.toxic for f, _ in rows)
    with_decisions = any(d is not None for _, d in rows)
    body = []
    for f, d in rows:
        if f.toxic and taxonomy is not None:
            colour = taxonomy.colour(f.verdict.label)
            name = html.escape(Taxonomy.display_name(f.verdict.label))
            label = f'<span class="label" style="background:{colour}">{name}</span>'
        else:
            label = '<span class="clean">clean</span>'
        cells = [
            f'<td class="time">{clock(f.start)}&ndash;{clock(f.end)}</td>',
            f"<td>{html.escape(f.speaker)}</td>",
            f"<td>{label}</td>",
            f'<td class="time">{f.verdict.score:.0%}</td>',
            f"<td>{html.escape(f.text)}</td>",
        ]
        if with_decisions:
            cells.append(f"<td>{html.escape(d or '')}</td>")
        css = ' class="flagged"' if f.toxic else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    heads = ["Time", "Speaker", "Category", "Confidence", "Text"]
    if with_decisions:
        heads.append("Decision")
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p class='summary'>{flagged} flagged of {len(rows)} excerpts &middot; {created}</p>"
        "<label class='filter'><input type='checkbox' id='only'> flagged only</label>"
        f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in heads)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table><script>{_SCRIPT}</script></body></html>\n"
    )
