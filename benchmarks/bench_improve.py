"""The learning loop measured: a studio on a game the base model never saw.

1. Train a base model on the default config's public sets **without CONDA** (leave-one-domain-out)
   and export it with its trainable weights (skipped when WORK/base-model exists).
2. From CONDA's train file (Dota 2 chat, deduplicated, shuffled): the first N lines are the
   moderators' decisions (N = 200, 1,000, 5,000: the learning curve) and the next 10,000 lines
   the undecided excerpts.
3. `modlens improve` as a subprocess for each N: wall time and peak memory (its own rusage).
4. F1 (toxic vs not, the model's thresholds) before and after on CONDA's test lines that are not
   in CONDA train/valid, and on the other public test sets (forgetting).

    python benchmarks/bench_improve.py --data DATA --json benchmarks/results/improve.json
    python benchmarks/bench_improve.py --data DATA --quick   # minutes: that it works

The full base recipe (every row of the default config's other sources, 2 epochs) takes about an
hour on two quiet cores. The measured results in benchmarks/results/improve.json come from a
smaller base, trained first with

    python benchmarks/bench_improve.py --data DATA --base-limit 2000 --base-epochs 1 \
        --threads 1 --base-only

(at most 2,000 rows per source, stratified: 9,051 training rows, one epoch; 19 minutes under
load 6.5): a weaker starting point than the shipped model, so its F1 before improving is lower
than the shipped model's would be without CONDA.

--quick trains the base model on a few hundred rows per source for a fraction of an epoch and
improves it with 200 decisions and 1,000 undecided excerpts: a check that everything runs, not a
measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.classifier import Classifier  # noqa: E402
from training.data import Source, load_source, text_key  # noqa: E402
from training.improve import default_threads  # noqa: E402

CONDA_SOURCES = ("conda", "conda_valid", "conda_test")


def base_config(work: Path, limit: int | None, epochs: float | None, threads: int) -> Path:
    config = yaml.safe_load((ROOT / "training" / "configs" / "default.yaml").read_text())
    config["name"] = "default-without-conda"
    if threads:
        config["threads"] = threads
    config["sources"] = [s for s in config["sources"] if s["name"] not in CONDA_SOURCES]
    if limit:
        for source in config["sources"]:
            source["limit"] = min(limit, source.get("limit") or limit)
    if epochs:
        config["epochs"] = epochs
    path = work / "base.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def modlens(*args: str) -> list[str]:
    return [sys.executable, "-m", "client.cli", *args]


def train_base(
    work: Path, data: Path, limit: int | None, epochs: float | None, threads: int
) -> dict:
    """Train and export the base model once; later runs reuse it (and the recipe it was made
    with, kept beside it)."""
    model, recipe_file = work / "base-model", work / "base-recipe.json"
    if (model / "trainable" / "config.json").is_file():
        recipe = json.loads(recipe_file.read_text()) if recipe_file.is_file() else None
        return {"reused": str(model), "recipe": recipe}
    started = time.perf_counter()
    config = base_config(work, limit, epochs, threads)
    run = work / "base-run"
    subprocess.run(
        modlens("train", "--config", str(config), "--data", str(data), "--out", str(run)),
        check=True,
        cwd=ROOT,
    )
    subprocess.run(
        modlens(
            "export",
            "--run",
            str(run),
            "--out",
            str(model),
            "--parity-rows",
            "200",
            "--save-reference",
            str(model / "trainable"),
        ),
        check=True,
        cwd=ROOT,
    )
    recipe = {"limit_per_source": limit, "epochs": epochs or 2.0, "threads": threads or None}
    recipe_file.write_text(json.dumps(recipe) + "\n")
    result = {"seconds": round(time.perf_counter() - started, 1), "model": str(model)}
    return {**result, "recipe": recipe, "load_average": os.getloadavg()}


def conda_lines(data: Path, labels: tuple[str, ...], seed: int) -> list[tuple[str, str]]:
    source = Source("conda", "conda", data / "conda", {}, files={"train": "CONDA_train.csv"})
    seen: set[str] = set()
    rows = []
    for row in load_source(source, labels):
        key = text_key(row.text)
        if key and key not in seen:
            seen.add(key)
            rows.append((row.text, row.label))
    random.Random(seed).shuffle(rows)
    return rows


def test_sets(data: Path, labels: tuple[str, ...]) -> dict[str, list]:
    def rows(fmt: str, path: str, split: str | None = None, forced: str | None = None) -> list:
        found = load_source(Source(fmt, fmt, data / path, {}, split=forced), labels)
        return [r for r in found if split is None or r.split == split]

    conda_test = rows(
        "conda", "conda_labeled_test_yuanzhejia/CONDA_test_original.csv", None, "test"
    )
    seen = {text_key(r.text) for r in rows("conda", "conda")}
    return {
        "conda_test_unseen": [r for r in conda_test if text_key(r.text) not in seen],
        "tweeteval_offensive_test": rows("tweeteval", "tweeteval/offensive", "test"),
        "hatexplain_test": rows("hatexplain", "hatexplain_mbib", "test"),
        "jigsaw_test": rows("jigsaw", "jigsaw2018_predibase_pools", "test"),
    }


def f1_scores(model: Path, sets: dict[str, list], threads: int) -> dict[str, dict]:
    from models.thresholds_fit import toxic_scores

    classifier = Classifier(model, threads=threads)
    out = {}
    for name, rows in sets.items():
        verdicts = classifier.classify([r.text for r in rows])
        truth = [r.label != "non_toxic" for r in rows]
        scores = toxic_scores(truth, [v.toxic for v in verdicts])
        out[name] = {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1}
        out[name]["rows"] = len(rows)
    return out


def run_improve(work: Path, model: Path, decisions: Path, unlabeled: Path, out: Path, threads):
    args = ["improve", "--decisions", str(decisions), "--unlabeled", str(unlabeled)]
    args += ["--model", str(model), "--out", str(out), "--json", "--progress", "bar"]
    if threads:
        args += ["--threads", str(threads)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(modlens(*args), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"improve failed with exit {process.returncode}")
    loads = [round(load, 2), round(os.getloadavg()[0], 2)]  # 1-minute, at start and end
    return json.loads(stdout), round(seconds, 1), round(usage.ru_maxrss / 1024, 1), loads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--work", default=str(ROOT / "runs" / "bench-improve"))
    parser.add_argument("--decisions", default="200,1000,5000")
    parser.add_argument("--unlabeled", type=int, default=10_000)
    parser.add_argument(
        "--threads", type=int, default=0, help="0: improve's default (the cores left free)"
    )
    parser.add_argument("--quick", action="store_true", help="a few minutes: check it runs")
    parser.add_argument(
        "--base-limit", type=int, help="rows per public source for the base model (default: all)"
    )
    parser.add_argument("--base-epochs", type=float, help="epochs of the base model (default 2)")
    parser.add_argument(
        "--base-only", action="store_true", help="train and export the base model, then stop"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(n) for n in args.decisions.split(",")]
    limit, epochs = args.base_limit, args.base_epochs
    if args.quick:
        sizes, args.unlabeled, limit, epochs = [200], min(args.unlabeled, 1000), 300, 0.5
    base = train_base(work, data, limit, epochs, args.threads)
    results: dict = {"quick": args.quick, "base": base}
    if args.base_only:
        print(json.dumps(results["base"], indent=2))
        return 0
    model = work / "base-model"
    labels = Classifier(model).labels
    sets = test_sets(data, labels)
    if args.quick:
        sets = {k: v[:1000] for k, v in sets.items()}
    results["base"]["test"] = f1_scores(model, sets, args.threads or default_threads())
    print(json.dumps(results["base"], indent=2), flush=True)
    lines = conda_lines(data, labels, args.seed)
    pool, undecided = lines[: max(sizes)], lines[max(sizes) : max(sizes) + args.unlabeled]
    unlabeled = work / "undecided.txt"
    unlabeled.write_text("".join(" ".join(t.split()) + "\n" for t, _ in undecided), "utf-8")
    results["improve"] = {}
    for n in sizes:
        decisions = work / f"decisions-{n}.jsonl"
        decisions.write_text(
            "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in pool[:n]),
            "utf-8",
        )
        out = work / f"improved-{n}-{time.strftime('%Y%m%d-%H%M%S')}"
        summary, seconds, peak, loads = run_improve(
            work, model, decisions, unlabeled, out, args.threads
        )
        entry = {
            "decisions": n,
            "undecided": len(undecided),
            "seconds": seconds,
            "peak_mib": peak,
            "load_average": loads,
            "threads": summary["options"]["threads"],
            "training_steps": summary["training_steps"],
            "written": summary["better"],
            "held_out": {"old": summary["old"], "new": summary["new"]},
            "thresholds": summary.get("thresholds"),
            "rows": summary["rows"],
        }
        if summary["better"]:
            entry["test"] = f1_scores(out, sets, args.threads or default_threads())
            entry["f1_change"] = {
                k: round(entry["test"][k]["f1"] - results["base"]["test"][k]["f1"], 4) for k in sets
            }
        results["improve"][str(n)] = entry
        print(json.dumps(entry, indent=2), flush=True)
        if args.json:  # after each size: a long run measured so far is kept
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
