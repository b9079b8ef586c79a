import csv
import io
import json

import pytest

from client.reports import ReportError, clock, write_report
from models.classifier import Verdict
from models.excerpts import Excerpt
from models.transcriber import Word
from models.voice import Finding


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


def test_json_report_keeps_times_words_scores_and_decisions(tmp_path):
    path = write_report(tmp_path / "s.json", FINDINGS, decisions=[None, "ban", "ok"])
    data = json.loads(path.read_text())
    assert (data["excerpts"], data["flagged"]) == (3, 1)
    rude = data["findings"][1]
    assert rude["flagged"] and rude["label"] == "insult" and rude["score"] == 0.93
    assert (rude["start"], rude["end"], rude["speaker"]) == (3661.25, 3662.5, "anna")
    assert [w["text"] for w in rude["words"]] == ["you", "absolute", "idiot"]
    assert rude["decision"] == "ban" and "decision" not in data["findings"][0]


def test_csv_report_has_one_row_per_excerpt_with_the_flag(tmp_path):
    path = write_report(tmp_path / "s.csv", FINDINGS)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["flagged"] for r in rows] == ["no", "yes", "no"]
    assert rows[1]["start"] == "01:01:01.250" and rows[1]["label"] == "insult"
    assert "decision" not in rows[0]


def test_subtitles_mark_the_flagged_line_and_run_in_time_order(tmp_path):
    srt = write_report(tmp_path / "s.srt", FINDINGS).read_text()
    cues = srt.strip().split("\n\n")
    assert cues[0].startswith("1\n00:00:06,000 --> 00:00:07,100\nbo: good game")
    assert cues[2] == (
        "3\n01:01:01,250 --> 01:01:02,500\n[FLAGGED insult 93%] anna: you absolute idiot"
    )
    vtt = write_report(tmp_path / "s.vtt", FINDINGS).read_text()
    assert vtt.startswith("WEBVTT\n\n00:00:06.000 --> 00:00:07.100\n")
    assert "[FLAGGED insult 93%] anna: you absolute idiot" in vtt
    assert "&lt;next&gt; time &amp; bye" in vtt


def test_html_report_is_self_contained_and_escapes_text(tmp_path):
    page = write_report(tmp_path / "s.html", FINDINGS, decisions=["", "ban", None]).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "1 flagged of 3 excerpts" in page
    assert "see you &lt;next&gt; time &amp; bye" in page
    assert 'class="flagged"' in page and ">insult<" in page and ">ban<" in page
    assert "http" not in page and "src=" not in page  # nothing fetched when opened offline


def test_flagged_only_report_leaves_clean_lines_out(tmp_path):
    data = json.loads(write_report(tmp_path / "f.json", FINDINGS, flagged_only=True).read_text())
    assert [f["speaker"] for f in data["findings"]] == ["anna"]


def test_unknown_extension_and_mismatched_decisions_are_refused(tmp_path):
    with pytest.raises(ReportError, match=r"\.json, \.csv"):
        write_report(tmp_path / "s.docx", FINDINGS)
    with pytest.raises(ReportError, match="2 decisions for 3"):
        write_report(tmp_path / "s.json", FINDINGS, decisions=["ok", "ok"])
    assert not list(tmp_path.iterdir())


def test_clock_formats_hours_only_when_needed():
    assert clock(12.5) == "00:12.500"
    assert clock(3725.004, ",", hours=True) == "01:02:05,004"
    assert clock(3725.0) == "01:02:05.000"
