"""The batch's source, plan and results folder, without Ray: manifests, skipping finished content,
atomic per-file results, the excerpt table, reading results back and their store sessions."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from client.batch.results import (
    BatchError,
    BatchItem,
    ResultsFolder,
    content_hash,
    excerpt_id_for,
    load_results,
    plan,
    read_source,
    session_for,
    with_digests,
)
from client.cli import main
from models.classifier import Verdict
from models.excerpts import Excerpt
from models.voice import Finding


def finding(text: str, at: float, label: str = "non_toxic", score: float = 0.1) -> Finding:
    toxic = label != "non_toxic"
    scores = {"non_toxic": 1 - score, "insult": score if label == "insult" else 0.0}
    if label not in scores:
        scores[label] = score
    excerpt = Excerpt(text, 0, len(text), "anna", at, at + 1.5)
    return Finding(excerpt, Verdict(label, toxic, score, scores), (), "x.wav")


def files(folder: Path, *names: str) -> list[Path]:
    out = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"audio of {name}".encode())
        out.append(path)
    return out


def test_a_folder_is_read_recursively_by_media_extension(tmp_path):
    files(tmp_path, "a.wav", "deep/er/b.OGG", "c.mkv", "notes.txt", "d.wav.part")
    items = read_source(tmp_path)
    assert [Path(i.path).name for i in items] == ["a.wav", "c.mkv", "b.OGG"]  # by path
    assert all(Path(i.path).is_absolute() and i.size > 0 for i in items)


def test_a_manifest_gives_ids_and_language_and_paths_relative_to_it(tmp_path):
    files(tmp_path, "audio/one.wav", "two.wav")
    manifest = tmp_path / "season.csv"
    manifest.write_text(
        "Path,player_id,Match,ticket,language\n"
        "audio/one.wav,p-1,m-9,T-4,de\n"
        f"{tmp_path / 'two.wav'},p-2,,,\n",
        encoding="utf-8",
    )
    one, two = read_source(manifest)
    assert (Path(one.path), one.player, one.match, one.ticket, one.language) == (
        (tmp_path / "audio/one.wav").resolve(),
        "p-1",
        "m-9",
        "T-4",
        "de",
    )
    assert (two.player, two.match, two.language) == ("p-2", "", None)


@pytest.mark.parametrize(
    ("text", "message"),
    [("player\np1\n", "no 'path' column"), ("path,player\n", "lists no recordings")],
)
def test_a_manifest_without_paths_is_refused(tmp_path, text, message):
    manifest = tmp_path / "m.csv"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(BatchError, match=message):
        read_source(manifest)
    with pytest.raises(BatchError, match="does not exist"):
        read_source(tmp_path / "nothing")


def test_the_plan_skips_finished_content_and_duplicates(tmp_path):
    a, b, c, copy = files(tmp_path, "a.wav", "b.wav", "c.wav", "copy/a.wav")
    copy.write_bytes(a.read_bytes())  # same content under another name
    items = with_digests([BatchItem(str(p)) for p in (a, b, c, copy)])
    assert items[0].digest == content_hash(a) == items[3].digest
    out = ResultsFolder(tmp_path / "out")
    out.prepare()
    out.write(items[0], "done", [finding("gg", 1.0)], duration=2.0, table=False)
    out.write(items[1], "failed", reason="not audio")
    work = plan(items, out.records())
    assert [Path(i.path).name for i in work.todo] == ["c.wav"]
    assert len(work.finished) == 2 and [i.path for i in work.duplicates] == [str(copy)]
    assert [Path(i.path).name for i in plan(items, out.records(), True).todo] == ["b.wav", "c.wav"]
    # a renamed or moved file is still the same content: nothing to do
    renamed = a.rename(tmp_path / "renamed.wav")
    assert plan(with_digests([BatchItem(str(renamed))]), out.records()).todo == []


def test_results_are_written_per_file_and_read_back_without_ray(tmp_path):
    out = ResultsFolder(tmp_path / "out")
    out.prepare()
    item = BatchItem("/archive/m1/anna.wav", player="p-anna", match="m1", digest="ab" * 32)
    findings = [
        finding("good game", 1.0),
        finding("you idiot", 4.0, "insult", 0.93),
        finding("i will end you", 8.0, "threat", 0.71),
    ]
    record = out.write(item, "done", findings, duration=12.5, worker="h:1", elapsed=0.8)
    assert record.excerpts == 3 and record.flagged == 2
    report = json.loads((out.root / record.report).read_text())
    assert [f["text"] for f in report["findings"]] == ["good game", "you idiot", "i will end you"]
    assert report["flagged"] == 2  # the scan report's format
    bo = BatchItem("/archive/m1/bo.wav", player="p-bo", match="m1", digest="cd" * 32)
    out.write(bo, "done", [finding("shut up", 2.0, "insult", 0.99)], duration=5.0)
    out.write(BatchItem("/archive/x.wav", digest="ef" * 32), "failed", reason="not audio")
    # a record cut off mid-write does not count; a damaged one is scanned again
    (out.root / "files" / "0000000000000000.json.tmp").write_text("{")
    (out.root / "files" / "1111111111111111.json").write_text("{not json")

    results = load_results(out.root)
    assert len(results.records) == 3 and [r.reason for r in results.failed] == ["not audio"]
    flagged = sorted(results.flagged, key=lambda e: -e.score)
    assert [(e.player, e.match, e.label, e.index) for e in flagged] == [
        ("p-bo", "m1", "insult", 0),
        ("p-anna", "m1", "insult", 1),
        ("p-anna", "m1", "threat", 2),
    ]
    players = {p.player: p for p in results.players()}
    assert (players["p-anna"].files, players["p-anna"].flagged) == (1, 2)
    assert players["p-anna"].audio_seconds == 12.5 and players["p-anna"].excerpts == 3
    assert players["p-anna"].categories == {"insult": 1, "threat": 1}
    with pytest.raises(BatchError, match="not the results folder"):
        load_results(tmp_path)


def test_the_excerpt_table_has_every_excerpt_once_with_its_ids(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = ResultsFolder(tmp_path / "out")
    out.prepare()
    item = BatchItem("/a/anna.wav", player="p1", match="m1", ticket="T-1", digest="12" * 32)
    out.write(item, "done", [finding("hi", 0.5), finding("idiot", 2.0, "insult", 0.9)])
    out.write(item, "done", [finding("hi", 0.5), finding("idiot", 2.0, "insult", 0.9)])  # again
    out.write(BatchItem("/a/bo.wav", digest="34" * 32), "done", [])
    table = pq.read_table(out.consolidate()).to_pylist()
    assert [(r["path"], r["index"], r["text"], r["flagged"]) for r in table] == [
        ("/a/anna.wav", 0, "hi", False),
        ("/a/anna.wav", 1, "idiot", True),
    ]
    assert (table[1]["player"], table[1]["match"], table[1]["ticket"]) == ("p1", "m1", "T-1")
    assert json.loads(table[1]["scores"])["insult"] == 0.9


def test_opening_a_batch_recording_makes_one_session_and_keeps_decisions(tmp_path):
    from client.store import Store

    out = ResultsFolder(tmp_path / "out")
    out.prepare()
    item = BatchItem(str(tmp_path / "anna.wav"), digest="56" * 32)
    findings = [finding("gg", 1.0), finding("idiot", 3.0, "insult", 0.9)]
    record = out.write(item, "done", findings, duration=6.0, table=False)
    store = Store(tmp_path / "db.sqlite3")
    try:
        session = session_for(store, out.root, record)
        excerpt = excerpt_id_for(store, session, 1)
        stored = store.excerpt(excerpt)
        assert (stored.text, stored.label, stored.toxic, stored.time) == ("idiot", "insult", 1, 3.0)
        assert [t.path for t in store.tracks(session)] == [item.path]
        store.decide(excerpt, "dismiss", note="banter")
        assert session_for(store, out.root, record) == session  # reused, not made again
        assert len(store.sessions()) == 1
        assert store.current_decisions(session)[excerpt].action == "dismiss"
        assert excerpt_id_for(store, session, 7) is None
    finally:
        store.close()


def test_a_rerun_with_everything_finished_needs_no_ray(tmp_path, monkeypatch, capsys):
    (audio,) = files(tmp_path / "src", "a.wav")
    out = ResultsFolder(tmp_path / "out")
    out.prepare()
    (item,) = with_digests([BatchItem(str(audio))])
    out.write(item, "done", [finding("gg", 1.0)], duration=1.0, table=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails from here on
    monkeypatch.delitem(sys.modules, "client.batch.engine", raising=False)
    assert main(["batch", str(tmp_path / "src"), "--out", str(out.root)]) == 0
    assert "0 to scan, 1 already finished" in capsys.readouterr().err
    # with work to do and no Ray, the command says what to install
    files(tmp_path / "src", "b.wav")
    assert main(["batch", str(tmp_path / "src"), "--out", str(out.root)]) == 2
    assert "pip install 'modlens[cluster]'" in capsys.readouterr().err
    # the desktop bundle has Ray and the engine left out altogether: the same message
    monkeypatch.setitem(sys.modules, "client.batch.engine", None)
    assert main(["batch", str(tmp_path / "src"), "--out", str(out.root)]) == 2
    assert "pip install 'modlens[cluster]'" in capsys.readouterr().err


def test_the_progress_line_shows_files_hours_rate_and_time_left():
    from client.commands.batch import BatchBar

    engine = pytest.importorskip("client.batch.engine")
    stream = io.StringIO()
    bar = BatchBar(stream)
    bar(engine.BatchProgress(10, 4, 1, 1000, 400, 7200.0, 60.0, 2, 1))
    line = stream.getvalue()
    assert "4/10 files (1 failed)" in line and "02:00:00 of audio" in line
    assert "120.0 audio h/h" in line and "left 00:01:30" in line


def test_a_rerun_reads_only_new_or_changed_files(tmp_path):
    import os

    (audio,) = files(tmp_path, "a.wav")
    cache = tmp_path / "digests.json"
    (first,) = with_digests([BatchItem(str(audio))], cache=cache)
    assert first.digest == content_hash(audio)
    stat = audio.stat()
    audio.write_bytes(b"x" * stat.st_size)  # same size, and the old time put back
    os.utime(audio, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (again,) = with_digests([BatchItem(str(audio))], cache=cache)
    assert again.digest == first.digest  # from the cache: the file was not read
    os.utime(audio, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    (changed,) = with_digests([BatchItem(str(audio))], cache=cache)
    assert changed.digest == content_hash(audio) != first.digest
