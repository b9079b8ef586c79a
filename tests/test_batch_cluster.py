"""`modlens batch` on a real two-node Ray cluster on 127.0.0.1: a corrupt file, a worker killed
mid-batch, and a stopped batch resumed, with every good file's results found exactly once."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.voice_fixtures import layout, needs_espeak, speech, write_wav

ray = pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
PHRASES = [
    "You are a stupid idiot, uninstall the game.",
    "Good game everyone, nice work on the last round.",
    "Push the middle lane, they are coming around the back.",
    "Shut up you useless noob.",
]
FILES = 20
BAD = 13  # the corrupt one


@pytest.fixture
def cluster():
    """A head and a second worker node, one CPU each, on this machine; always shut down.

    (Ray turns a 127.0.0.1 address into the machine's own address, so the nodes listen there.)"""
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    try:
        nodes.add_node(num_cpus=1)
        yield nodes
    finally:
        nodes.shutdown()


def make_archive(folder: Path) -> tuple[Path, list[dict]]:
    """20 short spoken files (one corrupt) and a manifest with player and match ids."""
    rows = []
    (folder / "audio").mkdir(parents=True)
    for i in range(FILES):
        path = folder / "audio" / f"clip{i:02d}.wav"
        if i == BAD:
            path.write_bytes(b"RIFF\x00\x01\x00\x00WAVEfmt " + os.urandom(3000))
        else:
            # the phrase at a different offset in each file, so no two files have one content
            write_wav(path, layout((0.2 + 0.05 * i, speech(PHRASES[i % len(PHRASES)]))))
        rows.append(
            {"path": f"audio/{path.name}", "player": f"player{i % 3}", "match": f"m{i // 5}"}
        )
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["path", "player", "match"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest, rows


def batch(manifest: Path, out: Path, address: str, model: Path) -> subprocess.Popen:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "client.cli", "batch", str(manifest), "--out", str(out)]
    command += ["--address", address, "--whisper", "tiny.en", "--model", str(model)]
    command += ["--workers", "2", "--color", "never"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def file_workers(cluster) -> list[int]:
    """Process ids of the FileWorker actors of this cluster: children of its raylets that Ray
    named ray::FileWorker."""
    raylets = {
        info.process.pid
        for node in cluster.list_all_nodes()
        for info in node.all_processes.get("raylet", [])
    }
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if cmdline.startswith(b"ray::FileWorker") and parent in raylets:
                pids.append(int(entry.name))
    return pids


def records(out: Path) -> dict[str, dict]:
    return {
        r["path"]: r
        for r in (json.loads(p.read_text()) for p in sorted((out / "files").glob("*.json")))
    }


@needs_espeak
@pytest.mark.slow
def test_batch_on_a_two_node_cluster_survives_a_killed_worker(tmp_path, cluster, tiny_model_dir):
    manifest, rows = make_archive(tmp_path / "archive")
    out = tmp_path / "results"
    began = time.monotonic()
    proc = batch(manifest, out, cluster.address, tiny_model_dir)
    try:
        # once the workers are scanning, kill one of them mid-batch
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(out.glob("files/*.json"))) < 3:
            time.sleep(0.1)
        workers = file_workers(cluster)
        assert len(workers) == 2, (workers, proc.poll())
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - began
    assert proc.returncode == 1, output  # 1: one file failed

    found = records(out)
    paths = {str((manifest.parent / r["path"]).resolve()): r for r in rows}
    assert set(found) == set(paths), output
    bad = str((manifest.parent / rows[BAD]["path"]).resolve())
    assert found[bad]["status"] == "failed" and "decoded" in found[bad]["reason"]
    good = {p: r for p, r in found.items() if p != bad}
    assert all(r["status"] == "done" and r["excerpts"] >= 1 for r in good.values()), good
    assert len({r["worker"] for r in good.values()}) >= 2  # both nodes took files
    # the killed worker's file was scanned again by a worker, and only its result kept
    assert "a worker died while scanning" in output, output
    assert any(r["attempts"] == 2 for r in good.values()), output

    table = pq.read_table(out / "excerpts.parquet").to_pylist()
    per_file = {}
    for row in table:
        per_file.setdefault(row["path"], []).append(row["index"])
    assert set(per_file) == set(good)
    for path, record in good.items():
        assert sorted(per_file[path]) == list(range(record["excerpts"])), path  # exactly once
        report = json.loads((out / record["report"]).read_text())
        assert len(report["findings"]) == record["excerpts"]
    by_path = {row["path"]: row for row in table}
    for path, row in paths.items():
        if path in by_path:
            assert (by_path[path]["player"], by_path[path]["match"]) == (
                row["player"],
                row["match"],
            )

    # a stopped batch: three files lost their records; the rerun scans only those three
    lost = sorted(good)[:3]
    for path in lost:
        (out / "files" / f"{good[path]['digest'][:16]}.json").unlink()
    proc = batch(manifest, out, cluster.address, tiny_model_dir)
    output, _ = proc.communicate(timeout=90)
    assert "3 to scan, 17 already finished" in output, output
    again = records(out)
    assert set(again) == set(found)
    assert all(again[p]["finished"] == found[p]["finished"] for p in found if p not in lost)
    table = pq.read_table(out / "excerpts.parquet").to_pylist()
    assert len(table) == sum(r["excerpts"] for r in again.values())
    assert len({(r["path"], r["index"]) for r in table}) == len(table)
    print(f"cluster batch of {FILES} files with a killed worker: {elapsed:.1f} s")
