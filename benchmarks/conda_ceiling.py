"""How far CONDA's own labels let a model go: seen vs unseen texts, a label oracle, an error audit.

CONDA's test split shares 35.8% of its texts with train. For those texts the best any model can do
is predict the label the annotators gave most often in train/valid (the "oracle"); where copies
disagree, that caps F1. For unseen texts there is no oracle, so a human audits a random sample of
the model's errors: each is `label_wrong` (the gold label contradicts CONDA's own definition),
`model_wrong` (the gold label is right and the model missed it) or `ambiguous`. The audit file
holds row ids and judgements only, no dataset text.

    python benchmarks/conda_ceiling.py --data ../shared/datasets                 # the numbers
    python benchmarks/conda_ceiling.py --data ... --sample 80 --out /tmp/a.csv   # errors to audit
    python benchmarks/conda_ceiling.py --data ... --audit benchmarks/results/conda_audit.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.classifier import Classifier  # noqa: E402
from models.model_folder import DEFAULT_MODEL_DIR  # noqa: E402
from models.taxonomy import DEFAULT_CATEGORIES, NON_TOXIC  # noqa: E402
from training.data import Source, load_source, text_key  # noqa: E402
from training.evaluate import binary_f1  # noqa: E402

TOXIC = {"E", "I"}
JUDGEMENTS = ("label_wrong", "model_wrong", "ambiguous")


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load(data: Path) -> tuple[list[dict], dict[str, list[int]]]:
    """Labeled test rows (id, text, toxic, key) and the toxic votes per text in train/valid."""
    votes: dict[str, list[int]] = defaultdict(list)
    for example in load_source(Source("conda", "conda", data / "conda", {}), DEFAULT_CATEGORIES):
        votes[text_key(example.text)].append(int(example.label != NON_TOXIC))
    rows = []
    for row in _read(data / "conda_labeled_test_yuanzhejia" / "CONDA_test_original.csv"):
        if not row["intentClass"].strip():
            continue
        text = row["utterance"].replace("[SEPA]", " ").strip()
        key = text_key(text)
        if not key:
            continue  # an empty line, as the benchmark and the training data drop it
        intent = row["intentClass"].strip()
        rows.append(
            {"id": row[""], "text": text, "intent": intent, "toxic": intent in TOXIC, "key": key}
        )
    return rows, votes


def measure(rows: list[dict], votes: dict[str, list[int]], classifier: Classifier) -> dict:
    probs = classifier.probabilities([r["text"] for r in rows])
    for row, p in zip(rows, probs, strict=True):
        verdict = classifier.verdict(p)
        row["score"], row["pred"] = verdict.score, verdict.toxic
    truth = np.array([r["toxic"] for r in rows])
    pred = np.array([r["pred"] for r in rows])
    seen = np.array([r["key"] in votes for r in rows])
    oracle = pred.copy()
    for i, row in enumerate(rows):
        if seen[i]:
            v = votes[row["key"]]
            oracle[i] = sum(v) * 2 >= len(v)
    # how often copies of one text in train/valid carry the same toxic-or-not label
    multi = [v for v in votes.values() if len(v) > 1]
    agree = sum(max(Counter(v).values()) for v in multi) / max(1, sum(len(v) for v in multi))
    return {
        "rows": len(rows),
        "seen_rows": int(seen.sum()),
        "unseen_rows": int((~seen).sum()),
        "toxic_share_seen": round(float(truth[seen].mean()), 3),
        "toxic_share_unseen": round(float(truth[~seen].mean()), 3),
        "model_f1_all": round(binary_f1(truth, pred), 4),
        "model_f1_seen": round(binary_f1(truth[seen], pred[seen]), 4),
        "model_f1_unseen": round(binary_f1(truth[~seen], pred[~seen]), 4),
        "oracle_f1_seen": round(binary_f1(truth[seen], oracle[seen]), 4),
        "oracle_seen_model_unseen_f1_all": round(binary_f1(truth, oracle), 4),
        "repeated_texts_in_train_valid": len(multi),
        "copies_agreeing_with_majority": round(agree, 4),
        "unseen_errors": {
            "false_negatives": int((truth & ~pred & ~seen).sum()),
            "false_positives": int((~truth & pred & ~seen).sum()),
            "true_positives": int((truth & pred & ~seen).sum()),
        },
    }


def project(results: dict, audit: dict[str, str], rows: list[dict]) -> dict:
    """Unseen F1 if the audited `model_wrong` share of the errors were fixed.

    Only audited rows that this model still gets wrong count, so an audit made for one model
    stays usable, with a smaller sample, for the next.
    """
    by_id = {r["id"]: r for r in rows}
    kinds: dict[str, Counter] = {"fn": Counter(), "fp": Counter()}
    for row_id, judgement in audit.items():
        row = by_id[row_id]
        if row["pred"] == row["toxic"]:
            continue  # audited for an earlier model that got it wrong; this one gets it right
        kinds["fn" if row["toxic"] else "fp"][judgement] += 1
    errors = results["unseen_errors"]
    fn, fp, tp = errors["false_negatives"], errors["false_positives"], errors["true_positives"]
    fixed_fn = fn * kinds["fn"]["model_wrong"] / max(1, sum(kinds["fn"].values()))
    fixed_fp = fp * kinds["fp"]["model_wrong"] / max(1, sum(kinds["fp"].values()))
    tp2, fn2, fp2 = tp + fixed_fn, fn - fixed_fn, fp - fixed_fp
    return {
        "audited": {k: dict(v) for k, v in kinds.items()},
        "unseen_f1_if_model_wrong_fixed": round(2 * tp2 / (2 * tp2 + fn2 + fp2), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--sample", type=int, default=0, help="write N unseen errors to --out")
    parser.add_argument(
        "--out", type=Path, help="CSV for the errors to audit (keep it outside git)"
    )
    parser.add_argument("--audit", type=Path, help="CSV of id,judgement to project from")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    rows, votes = load(args.data)
    results = measure(rows, votes, Classifier(args.model))
    if args.sample:
        if not args.out:
            parser.error("--sample needs --out")
        errors = [r for r in rows if r["key"] not in votes and r["pred"] != r["toxic"]]
        picked = random.Random(args.seed).sample(errors, min(args.sample, len(errors)))
        with open(args.out, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "gold", "score", "text", "judgement"])
            for r in picked:
                writer.writerow([r["id"], r["intent"], f"{r['score']:.2f}", r["text"], ""])
    if args.audit:
        audit = {r["id"]: r["judgement"] for r in _read(args.audit) if r["judgement"]}
        unknown = set(audit.values()) - set(JUDGEMENTS)
        if unknown:
            parser.error(f"unknown judgements {sorted(unknown)}; use {', '.join(JUDGEMENTS)}")
        results["audit"] = project(results, audit, rows)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
