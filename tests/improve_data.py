"""Decisions and undecided excerpts a tiny model learns from in seconds (improve tests)."""

from __future__ import annotations

import json
import random
from pathlib import Path

TOXIC = [
    "you are an idiot",
    "shut up loser",
    "uninstall noob",
    "kys",
    "what a stupid team",
    "report him he is feeding",
]
FINE = ["gg wp everyone", "nice game", "well played", "thanks for the heal", "haha nice one"]
CHEATING = ["buy aimbot here", "wallhack for sale", "selling aimbot cheap"]


def decisions(n: int = 160, seed: int = 1, cheating: int = 0, spam: int = 0) -> list[dict]:
    """n decisions, half insults and half non_toxic, plus studio-category rows."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        if i % 2:
            rows.append({"text": f"{rng.choice(TOXIC)} {i}", "label": "insult"})
        else:
            rows.append({"text": f"{rng.choice(FINE)} {i}", "label": "non_toxic"})
    rows += [{"text": f"{rng.choice(CHEATING)} {i}", "label": "cheating"} for i in range(cheating)]
    rows += [{"text": f"free gold at scam site {i}", "label": "spam"} for i in range(spam)]
    rng.shuffle(rows)
    return rows


def write_decisions(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        import csv

        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows((r["text"], r["label"]) for r in rows)
    return path


def write_unlabeled(path: Path, n: int = 200, seed: int = 2) -> Path:
    rng = random.Random(seed)
    lines = [f"{rng.choice(TOXIC + FINE)} u{i}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def trainable_model(folder: Path, onnx_dir: Path, hf_dir: Path) -> Path:
    """A copy of an exported tiny model folder carrying its trainable weights, as shipped."""
    import shutil

    from training.export import save_reference

    shutil.copytree(onnx_dir, folder)
    save_reference(hf_dir, folder / "trainable")
    return folder
