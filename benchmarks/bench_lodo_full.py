"""Leave one domain out with the full recipe: fine-tune the shipped recipe without a source, then
score the exported int8 model on that source's test lines.

bench_lodo.py compares recipes cheaply (a linear probe on frozen sentence embeddings, 600 rows a
source). This is the expensive, faithful version for the domains that matter most to a studio:
the shipped config (training/configs/default.yaml) with one domain taken out of training, every
other setting unchanged, thresholds picked by the training's own rule on the validation rows of
the sources that remain. Two recipes:

- ``old``: the v2 model's sources (the config without ToxiGen's seeds and the generated rows);
- ``new``: the v5 recipe;
- ``v9a``: v5's plus ToxiGen's hateful seeds framed and negated (training/configs/default-v9a.yaml),
  the data of the shipped average's other runs (v10b is v9a's rows with a teacher, which would
  have to be fine-tuned again without the domain: a GPU's work).

Domains: ``conda`` (CONDA train and valid are left out; scored on CONDA's labeled test lines
whose text is not in CONDA train/valid, the same lines as the shipped model's "CONDA unseen"),
``olid`` (every OLID row is moved to the test split; scored on OLID's own test set, which is
TweetEval's offensive test), ``davidson`` and ``hatexplain`` (their rows, as many as the config's
``limit`` draws, are moved to the test split; scored on those of them the run kept in its test
split, ``test.jsonl``, i.e. whose text is in no training or validation row). Each model is also
run through the functional suite.

On 2 cores a pair of runs side by side, one thread each, took 45-60 minutes (`modlens train
--threads 1` by hand, then --score-only); this script trains them one after another.

    python benchmarks/bench_lodo_full.py --data ../shared/datasets --out runs/lodo-ft \
        --domains conda olid --recipes old new --threads 2 \
        --json benchmarks/results/lodo_finetune.json

With --score-only the runs already in --out are scored (and exported, if not yet), not trained
again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from models.taxonomy import NON_TOXIC  # noqa: E402

CONFIGS = ROOT / "training" / "configs"
# recipe -> (config the domain is taken out of, training.lodo recipe applied to it)
RECIPE_CONFIGS = {
    "old": ("default.yaml", "old"),
    "new": ("default.yaml", "new"),
    "v9a": ("default-v9a.yaml", "new"),
}
# the test set each domain is scored on: a name from bench_classifier.test_sets, or "run test
# split" for the domain's own rows in the run's test.jsonl
RUN_TEST = "run test split"
SCORED_ON = {
    "conda": "conda_test_unseen",
    "olid": "tweeteval_offensive_test",
    "davidson": RUN_TEST,
    "hatexplain": RUN_TEST,
}
RECIPES = tuple(RECIPE_CONFIGS)


def recipe_config(domain: str, recipe: str) -> dict[str, Any]:
    """The training config (as read from YAML) of one cell: the recipe's config without domain."""
    from training.config import read_config
    from training.lodo import held_out_config

    config_file, lodo_recipe = RECIPE_CONFIGS[recipe]
    base = read_config(CONFIGS / config_file)
    config = held_out_config(base, domain, lodo_recipe)
    config["name"] = f"lodo-{domain}-{recipe}"
    return config


def run_test_rows(run_dir: Path, domain: str) -> list:
    """The domain's rows in a run's test split (texts in no training or validation row)."""
    from training.data import read_test_rows

    rows = [e for e in read_test_rows(run_dir) if e.source == domain]
    if not rows:
        raise ValueError(f"{run_dir}/test.jsonl has no {domain} rows")
    return rows


def score(model_dir: Path, run_dir: Path, data: Path, domain: str) -> dict[str, Any]:
    """compare_models' numbers for one exported model, with the held-out set named."""
    from bench_classifier import test_sets
    from compare_models import binary_scores, score_model

    from models.classifier import Classifier

    classifier = Classifier(model_dir, threads=2)
    row = score_model(classifier, test_sets(data, classifier.labels))
    if SCORED_ON[domain] == RUN_TEST:
        rows = run_test_rows(run_dir, domain)
        held = {**binary_scores(classifier, rows), "rows": len(rows)}
        held["toxic"] = sum(r.label != NON_TOXIC for r in rows)
    else:
        held = row[SCORED_ON[domain]]
    return {"held_out": domain, "scored_on": SCORED_ON[domain], "held_out_scores": held, **row}


def format_table(results: dict[str, Any]) -> str:
    """A markdown table: one row per held-out domain, the recipes side by side."""
    recipes = [r for r in RECIPES if any(k.endswith(f"-{r}") for k in results)]
    head = "| held out | scored on | " + " | ".join(f"{r} P / R / F1 | {r} AUC" for r in recipes)
    lines = [head + " |", "|---|---|" + "---|---|" * len(recipes)]
    for domain in dict.fromkeys(k.rsplit("-", 1)[0] for k in results):
        scored = SCORED_ON[domain]
        if scored == RUN_TEST:  # the run's own test rows: say how many
            cell = next(results[k] for k in results if k.startswith(f"{domain}-"))
            held = cell["held_out_scores"]
            scored = (
                f"{domain} rows in the run's test split ({held['rows']}, {held['toxic']} toxic)"
            )
        cells = [domain, scored]
        for recipe in recipes:
            row = results.get(f"{domain}-{recipe}")
            if row is None:
                cells += ["", ""]
                continue
            s = row["held_out_scores"]
            cells += [
                f"{s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f}",
                f"{s['auc']:.3f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("runs/lodo-ft"))
    parser.add_argument("--domains", nargs="+", default=list(SCORED_ON), choices=list(SCORED_ON))
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--threads", type=int, help="PyTorch threads while training")
    parser.add_argument("--score-only", action="store_true", help="export and score existing runs")
    parser.add_argument("--json", metavar="PATH", help="results file; new cells are merged in")
    args = parser.parse_args(argv)
    from training.cli import main as training_main

    args.out.mkdir(parents=True, exist_ok=True)
    # results are merged into --json, so domains can be run at different times
    results: dict[str, Any] = {}
    if args.json and Path(args.json).exists():
        results = json.loads(Path(args.json).read_text(encoding="utf-8"))
    for domain in args.domains:
        for recipe in args.recipes:
            name = f"{domain}-{recipe}"
            config_path = args.out / f"{name}.yaml"
            run_dir, model_dir = args.out / name, args.out / f"{name}-model"
            if not args.score_only:
                config = recipe_config(domain, recipe)
                config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
                train = ["train", "--config", str(config_path), "--data", str(args.data)]
                train += ["--out", str(run_dir)]
                if args.threads:
                    train += ["--threads", str(args.threads)]
                if training_main(train):
                    return 1
            export = ["export", "--run", str(run_dir), "--out", str(model_dir)]
            exported = args.score_only and (model_dir / "model.onnx").is_file()
            if not exported and training_main([*export, "--parity-rows", "3000"]):
                return 1
            results[name] = score(model_dir, run_dir, args.data, domain)
            print(name, json.dumps(results[name]["held_out_scores"]), flush=True)
    print(format_table(results), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
