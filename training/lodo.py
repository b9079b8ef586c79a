"""Leave one domain out: train without a source, test on it.

A studio's game is a domain the shipped model never saw; the closest honest proxy is to hold
out each public source in turn, train on the rest and score the held-out one. The same small
budget is used for every recipe (a fixed-size stratified sample per training source, the same
epochs, sequence length, seed and validation rule), so recipes differ only in their data.

Recipes:
- ``old``: the shipped model's sources (CONDA, OLID, Davidson, HateXplain, Jigsaw, Implicit Hate,
  ETHOS).
- ``new``: the same plus ToxiGen's seed sentences (neutral and hateful mentions of groups), the
  project's generated counterfactual-identity and game-chat rows (training.augment) and disguised
  copies of toxic rows.
- ``balanced``: ``new`` with the public sets' harmless mentions of groups repeated until each
  group word's toxic share is the overall one (training.identity, capped at 4 copies).

Held-out test rows: CONDA's labeled test lines whose text is not in CONDA train/valid; OLID's
test set; for Davidson and HateXplain (no test split of their own that the other recipes lack)
a fixed sample of all their rows, since none of them is trained on when they are held out.
Thresholds are picked on a validation sample of the *training* sources only.

    python -m training.lodo --data ../shared/datasets --out runs/lodo --per-source 250
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.taxonomy import DEFAULT_CATEGORIES, NON_TOXIC
from training.augment import obfuscated_copies
from training.data import Example, Source, load_source, stratified_sample, text_key
from training.identity import balance_identity

log = logging.getLogger("modlens.lodo")

CATEGORIES = tuple(c for c in DEFAULT_CATEGORIES if c != "sexual_harassment")
DOMAINS = ("conda", "olid", "davidson", "hatexplain")


def _source(name: str, fmt: str, path: str, **kwargs: Any) -> Source:
    return Source(name=name, format=fmt, path=Path(path), mapping={}, **kwargs)


def sources(root: Path) -> dict[str, list[Source]]:
    """Every source the recipes use, by name, with paths under the datasets root."""
    return {
        "conda": [
            _source("conda", "conda", str(root / "conda"), files={"train": "CONDA_train.csv"}),
            _source("conda", "conda", str(root / "conda"), files={"validation": "CONDA_valid.csv"}),
            _source(
                "conda",
                "conda",
                str(root / "conda_labeled_test_yuanzhejia/CONDA_test_original.csv"),
                split="test",
            ),
        ],
        "olid": [_source("olid", "olid", str(root / "olid"))],
        "davidson": [_source("davidson", "davidson", str(root / "davidson2017"))],
        "hatexplain": [_source("hatexplain", "hatexplain", str(root / "hatexplain_mbib"))],
        "jigsaw": [_source("jigsaw", "jigsaw", str(root / "jigsaw2018_predibase_pools"))],
        "implicit_hate": [_source("implicit_hate", "implicit_hate", str(root / "implicit_hate"))],
        "ethos": [_source("ethos", "ethos", str(root / "ethos"))],
        "toxigen_seeds": [
            _source(
                "toxigen_seeds",
                "toxigen_seeds",
                str(root / "toxigen_seed_sentences/demonstrations"),
            )
        ],
        "augment": [_source("augment", "augment", str(root))],
    }


RECIPES: dict[str, tuple[str, ...]] = {
    "old": ("conda", "olid", "davidson", "hatexplain", "jigsaw", "implicit_hate", "ethos"),
    "new": (
        "conda",
        "olid",
        "davidson",
        "hatexplain",
        "jigsaw",
        "implicit_hate",
        "ethos",
        "toxigen_seeds",
        "augment",
    ),
}
RECIPES["balanced"] = RECIPES["new"]
IDENTITY_BALANCE_CAP = 4.0


# The full-recipe version (benchmarks/bench_lodo_full.py): the shipped training config with a
# domain taken out. "drop": its sources left out; "to_test": its sources moved whole to test.
FULL_HELD_OUT: dict[str, dict[str, tuple[str, ...]]] = {
    "conda": {"drop": ("conda", "conda_valid"), "to_test": ()},
    "olid": {"drop": (), "to_test": ("olid",)},
    "davidson": {"drop": (), "to_test": ("davidson",)},
    "hatexplain": {"drop": (), "to_test": ("hatexplain",)},
}
# the sources the "new" recipe adds to the "old" one
NEW_SOURCES = tuple(s for s in RECIPES["new"] if s not in RECIPES["old"])


def held_out_config(config: dict[str, Any], domain: str, recipe: str) -> dict[str, Any]:
    """A training config (as read from YAML) without ``domain`` in its training rows.

    ``old`` also leaves out NEW_SOURCES, ``balanced`` adds identity-term balancing; the seed,
    every other setting and the splits of the remaining sources stay as they are, so the
    thresholds are picked on validation rows of those sources only.
    """
    if domain not in FULL_HELD_OUT:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(FULL_HELD_OUT)}")
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
    names = {s["name"] for s in config["sources"]}
    held = FULL_HELD_OUT[domain]
    missing = sorted(set(held["drop"] + held["to_test"]) - names)
    if missing:
        raise ValueError(f"the config has no source named {', '.join(missing)}")
    out = copy.deepcopy(config)
    out["name"] = f"lodo-{domain}-{recipe}"
    out["sources"] = [
        {**s, "split": "test"} if s["name"] in held["to_test"] else s
        for s in out["sources"]
        if s["name"] not in held["drop"] and (recipe != "old" or s["name"] not in NEW_SOURCES)
    ]
    if recipe == "balanced":
        out["identity_balance"] = IDENTITY_BALANCE_CAP
    return out


@dataclass(frozen=True)
class LodoSettings:
    per_source: int = 600  # training rows sampled from each training source
    validation_per_source: int = 40
    test_rows: int = 800  # held-out rows scored (a stratified sample)
    obfuscated_fraction: float = 0.1  # "new": disguised copies, as a share of training rows
    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = 6e-5
    max_length: int = 64
    seed: int = 13
    threads: int | None = None


@dataclass(frozen=True)
class LodoResult:
    held_out: str
    recipe: str
    train_rows: int
    test_rows: int
    test_toxic: int
    threshold: float
    precision: float
    recall: float
    f1: float
    auc: float | None
    seconds: float


def _load(root: Path, name: str, seed: int) -> list[Example]:
    rows: list[Example] = []
    for source in sources(root)[name]:
        rows += load_source(source, CATEGORIES, seed)
    return rows


def held_out_test(root: Path, domain: str, settings: LodoSettings) -> list[Example]:
    rows = _load(root, domain, settings.seed)
    if domain == "conda":
        seen = {text_key(e.text) for e in rows if e.split in ("train", "validation")}
        rows = [e for e in rows if e.split == "test" and text_key(e.text) not in seen]
    elif domain == "olid":
        rows = [e for e in rows if e.split == "test"]
    unique = list({text_key(e.text): e for e in rows if text_key(e.text)}.values())
    if len(unique) > settings.test_rows:
        unique = stratified_sample(unique, settings.test_rows, settings.seed)
    return unique


def training_rows(
    root: Path, recipe: str, held_out: str, settings: LodoSettings, exclude: set[str]
) -> tuple[list[Example], list[Example]]:
    """(train, validation) sampled per source; texts in `exclude` (the test rows) left out."""
    train: list[Example] = []
    validation: list[Example] = []
    for name in RECIPES[recipe]:
        if name == held_out:
            continue
        rows = [
            e
            for e in _load(root, name, settings.seed)
            if e.split != "test" and text_key(e.text) and text_key(e.text) not in exclude
        ]
        rng = random.Random(f"{settings.seed}:{name}")
        rng.shuffle(rows)
        cut = max(1, len(rows) // 10)
        val, rest = rows[:cut], rows[cut:]
        if name != "augment":
            val = stratified_sample(val, settings.validation_per_source, settings.seed)
            validation += val
        limit = settings.per_source
        train += stratified_sample(rest, limit, settings.seed) if len(rest) > limit else rest
    if recipe in ("new", "balanced") and settings.obfuscated_fraction > 0:
        count = round(len(train) * settings.obfuscated_fraction)
        for text, label in obfuscated_copies(
            [(e.text, e.label) for e in train], count, settings.seed
        ):
            train.append(Example(text, label, "obfuscated", "train"))
    if recipe == "balanced":
        train = balance_identity(
            train, IDENTITY_BALANCE_CAP, seed=settings.seed, generated=("augment", "obfuscated")
        )
    return train, validation


def _scored(
    held_out: str,
    recipe: str,
    train_rows: int,
    truth: np.ndarray,
    p_toxic: np.ndarray,
    threshold: float,
    started: float,
) -> LodoResult:
    """One cell of the table: the held-out domain's toxic-vs-not scores at the threshold picked
    on validation."""
    from models.thresholds_fit import toxic_scores
    from training.evaluate import _auc

    scores = toxic_scores(truth, p_toxic >= threshold)
    auc = _auc(truth, p_toxic)
    return LodoResult(
        held_out=held_out,
        recipe=recipe,
        train_rows=train_rows,
        test_rows=len(truth),
        test_toxic=int(truth.sum()),
        threshold=threshold,
        precision=scores.precision,
        recall=scores.recall,
        f1=scores.f1,
        auc=None if auc is None else round(auc, 4),
        seconds=round(time.time() - started, 1),
    )


def run_one(
    root: Path, held_out: str, recipe: str, settings: LodoSettings, out: Path
) -> LodoResult:
    from training.config import TrainConfig
    from training.evaluate import pick_thresholds
    from training.train import fine_tune, predict_proba

    started = time.time()
    test = held_out_test(root, held_out, settings)
    train, validation = training_rows(
        root, recipe, held_out, settings, {text_key(e.text) for e in test}
    )
    config = TrainConfig(
        categories=CATEGORIES,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        max_length=settings.max_length,
        seed=settings.seed,
        threads=settings.threads,
    )
    folder = out / f"{held_out}-{recipe}"
    model, tokenizer = fine_tune(
        [e.text for e in train],
        [CATEGORIES.index(e.label) for e in train],
        CATEGORIES,
        config,
        folder,
    )
    val_probs = predict_proba(model, tokenizer, [e.text for e in validation], settings.max_length)
    val_labels = np.array([CATEGORIES.index(e.label) for e in validation])
    threshold, _ = pick_thresholds(val_probs, val_labels)
    probs = predict_proba(model, tokenizer, [e.text for e in test], settings.max_length)
    truth = np.array([e.label != NON_TOXIC for e in test])
    result = _scored(held_out, recipe, len(train), truth, 1.0 - probs[:, 0], threshold, started)
    # the weights are not kept: only the numbers matter here
    for f in folder.glob("*.safetensors"):
        f.unlink()
    return result


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, unit length) of normalised texts."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from models.normalize import normalize
    from training.config import TrainConfig

    base = TrainConfig().base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModel.from_pretrained(base, dtype=torch.float32).eval()
    prepared = [normalize(t) or " " for t in texts]
    order = np.argsort([len(t) for t in prepared], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = tokenizer(
                [prepared[i] for i in idx],
                truncation=True,
                max_length=64,
                padding=True,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def run_probe(
    root: Path, domains: list[str], recipes: list[str], settings: LodoSettings
) -> list[LodoResult]:
    """The LODO table with a linear probe: logistic regression on frozen MiniLM sentence
    embeddings, one fit per held-out domain and recipe (seconds each once texts are embedded).
    """
    from sklearn.linear_model import LogisticRegression

    from training.evaluate import pick_thresholds

    started = time.time()
    tests = {d: held_out_test(root, d, settings) for d in domains}
    exclude = {text_key(e.text) for rows in tests.values() for e in rows}
    plans = {(d, r): training_rows(root, r, d, settings, exclude) for d in domains for r in recipes}
    texts = sorted(
        {e.text for rows in tests.values() for e in rows}
        | {e.text for train, val in plans.values() for e in (*train, *val)}
    )
    log.info("embedding %d texts", len(texts))
    vectors = embed(texts)
    index = {t: i for i, t in enumerate(texts)}
    log.info("embedded in %.0f s", time.time() - started)

    def matrix(rows: list[Example]) -> tuple[np.ndarray, np.ndarray]:
        return (
            vectors[[index[e.text] for e in rows]],
            np.array([CATEGORIES.index(e.label) for e in rows]),
        )

    results = []
    for (domain, recipe), (train, validation) in plans.items():
        began = time.time()
        x, y = matrix(train)
        probe = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced")
        probe.fit(x, y)

        def probs(rows: list[Example], probe=probe) -> np.ndarray:
            p = np.zeros((len(rows), len(CATEGORIES)))
            p[:, probe.classes_] = probe.predict_proba(matrix(rows)[0])
            return p

        threshold, _ = pick_thresholds(probs(validation), matrix(validation)[1])
        test = tests[domain]
        truth = matrix(test)[1] != 0
        p_toxic = 1.0 - probs(test)[:, 0]
        results.append(_scored(domain, recipe, len(train), truth, p_toxic, threshold, began))
        log.info("%s", results[-1])
    return results


def format_table(results: list[LodoResult]) -> str:
    """Markdown: one row per held-out domain, F1 and AUC per recipe."""
    recipes = list(dict.fromkeys(r.recipe for r in results))
    by = {(r.held_out, r.recipe): r for r in results}
    lines = [
        "| held-out domain | test rows (toxic) | "
        + " | ".join(f"{r} F1 | {r} AUC" for r in recipes)
        + " |",
        "|---|---|" + "---|---|" * len(recipes),
    ]
    for domain in dict.fromkeys(r.held_out for r in results):
        first = next(r for r in results if r.held_out == domain)
        cells = []
        for recipe in recipes:
            r = by.get((domain, recipe))
            cells += [
                "" if r is None else f"{r.f1:.3f}",
                "" if r is None or r.auc is None else f"{r.auc:.3f}",
            ]
        lines.append(
            f"| {domain} | {first.test_rows} ({first.test_toxic}) | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="leave-one-domain-out table")
    parser.add_argument("--data", default="../shared/datasets")
    parser.add_argument("--out", default="runs/lodo")
    parser.add_argument("--domains", nargs="*", default=list(DOMAINS))
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES))
    parser.add_argument("--per-source", type=int, default=LodoSettings.per_source)
    parser.add_argument("--test-rows", type=int, default=LodoSettings.test_rows)
    parser.add_argument("--epochs", type=float, default=LodoSettings.epochs)
    parser.add_argument("--threads", type=int)
    parser.add_argument(
        "--method",
        choices=("probe", "fine-tune"),
        default="probe",
        help="probe: logistic regression on frozen MiniLM embeddings (minutes); fine-tune: "
        "MiniLM fine-tuned per run (hours on 2 cores)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = replace(
        LodoSettings(),
        per_source=args.per_source,
        test_rows=args.test_rows,
        epochs=args.epochs,
        threads=args.threads,
    )
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.method == "probe":
        results = run_probe(Path(args.data), args.domains, args.recipes, settings)
        (out / "results.json").write_text(
            json.dumps(
                {"method": "probe", "settings": asdict(settings),
                 "results": [asdict(r) for r in results]},
                indent=2,
            )
        )  # fmt: skip
        (out / "table.md").write_text(format_table(results))
        print(format_table(results))
        return 0
    results_path = out / "results.jsonl"
    done = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            r = LodoResult(**json.loads(line))
            done[(r.held_out, r.recipe)] = r
    for domain in args.domains:
        for recipe in args.recipes:
            if (domain, recipe) in done:
                continue
            log.info("held out %s, recipe %s", domain, recipe)
            result = run_one(Path(args.data), domain, recipe, settings, out)
            log.info("%s", result)
            done[(domain, recipe)] = result
            with open(results_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(result)) + "\n")
    (out / "settings.json").write_text(json.dumps(asdict(settings), indent=2))
    (out / "table.md").write_text(format_table(list(done.values())))
    print(format_table(list(done.values())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
