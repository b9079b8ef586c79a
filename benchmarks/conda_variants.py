"""Train-on-CONDA variants, one epoch each, to see which ideas move CONDA test F1 (needs datasets).

Every variant fine-tunes the MiniLM base on CONDA train plus 80% of CONDA valid (the same hash split
as training/configs/default.yaml), picks its threshold on the other CONDA valid rows, and scores the
labeled CONDA test: all rows, and the rows whose text is not in CONDA train/valid ("unseen").

    baseline  one row per distinct text with its majority label (ties: the first seen)
    dups      every copy of a text kept, so frequent lines weigh as they occur in chat
    context   the two previous lines of the match go in as a first segment (text pair)
    typos     30% of training texts get one typo (swap, drop, double, vowel) per step
    token     an auxiliary loss on CONDA's token tags (T = toxic word), weight 0.5

About six minutes a variant on 2 CPU cores (context about eleven).

    python benchmarks/conda_variants.py --data ../shared/datasets [--variants baseline,typos]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.metrics import f1_score, roc_auc_score  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)

from models.normalize import normalize  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.data import DEFAULT_MAPPINGS, _conda_label, _hash_split, text_key  # noqa: E402

VARIANTS = ("baseline", "dups", "context", "typos", "token")
CATEGORIES = ("non_toxic", "profanity", "insult", "identity_hate", "threat")


def load(data: Path, seed: int) -> list[dict]:
    """CONDA rows in match order, each with its split, class index and toxic-word set."""
    rows = []
    files = [
        ("train", data / "conda" / "CONDA_train.csv", "Id"),
        ("auto", data / "conda" / "CONDA_valid.csv", "Id"),
        ("test", data / "conda_labeled_test_yuanzhejia" / "CONDA_test_original.csv", ""),
    ]
    mapping = DEFAULT_MAPPINGS["conda"]
    for split, path, id_column in files:
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                text = row["utterance"].replace("[SEPA]", " ").strip()
                key = text_key(text)
                if not row["intentClass"].strip() or not key:
                    continue
                row_split = split
                if split == "auto":  # by text hash as `files: {auto: ...}` does; its test -> train
                    row_split = _hash_split(key, seed, (0.1, 0.1))
                    row_split = "train" if row_split == "test" else row_split
                tags = [t for t in row["slotClasses"].split() if t != "SEPA"]
                words = [w.split(" (")[0].strip() for w in row["slotTokens"].split("), ")]
                words = [w for w in words if w and w != "[SEPA]"]
                rows.append(
                    {
                        "order": (int(row["matchId"]), int(row["chatTime"]), int(row[id_column])),
                        "text": text,
                        "key": key,
                        "split": row_split,
                        "label": CATEGORIES.index(mapping[_conda_label(row)]),
                        "toxic_words": {
                            normalize(w).lower()
                            for w, t in zip(words, tags, strict=False)
                            if t == "T"
                        },
                    }
                )
    rows.sort(key=lambda r: r["order"])
    history: dict[int, list[str]] = {}
    for row in rows:
        previous = history.setdefault(row["order"][0], [])
        row["context"] = " | ".join(previous[-2:])
        previous.append(row["text"])
    return rows


def typo(text: str, rng: random.Random) -> str:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 3 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w, j, op = words[i], rng.randrange(len(words[i]) - 1), rng.randrange(4)
    if op == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif op == 1:
        w = w[:j] + w[j + 1 :]
    elif op == 2:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + rng.choice("aeiouy") + w[j + 1 :]
    words[i] = w
    return " ".join(words)


class Run:
    def __init__(self, variant: str, max_length: int, seed: int) -> None:
        base = TrainConfig().base_model_path()
        self.variant, self.max_length = variant, max_length
        self.rng = random.Random(seed)
        torch.manual_seed(seed)
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=len(CATEGORIES)
        )
        self.token_head = torch.nn.Linear(self.model.config.hidden_size, 2)

    def encode(self, rows: list[dict], train: bool = False):
        texts = [
            typo(r["text"], self.rng)
            if train and self.variant == "typos" and self.rng.random() < 0.3
            else r["text"]
            for r in rows
        ]
        texts = [normalize(t) for t in texts]
        if self.variant == "context":
            return self.tokenizer(
                [normalize(r["context"]) for r in rows],
                texts,
                truncation="longest_first",
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
        return self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
            return_offsets_mapping=self.variant == "token",
        )

    def token_labels(self, rows: list[dict], batch) -> torch.Tensor:
        """1 for sub-words of a word CONDA tagged T, 0 for other words, -100 for specials/pad."""
        labels = torch.full(batch["input_ids"].shape, -100)
        for i, row in enumerate(rows):
            text = normalize(row["text"])
            for j, ((start, end), sid) in enumerate(
                zip(batch["offset_mapping"][i].tolist(), batch.sequence_ids(i), strict=True)
            ):
                if sid is None:
                    continue
                left = text.rfind(" ", 0, start) + 1
                right = text.find(" ", end)
                word = text[left : right if right >= 0 else len(text)].lower()
                labels[i, j] = int(word in row["toxic_words"])
        return labels

    def fit(self, rows: list[dict], epochs: float, batch_size: int, lr: float) -> None:
        params = list(self.model.parameters()) + list(self.token_head.parameters())
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        steps = int(len(rows) / batch_size * epochs)
        schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
        counts = np.bincount([r["label"] for r in rows], minlength=len(CATEGORIES)) + 1.0
        weights = torch.tensor((counts.sum() / counts) ** 0.5, dtype=torch.float32)
        weights = weights / weights[0]
        self.model.train()
        step = 0
        while step < steps:
            order = list(range(len(rows)))
            self.rng.shuffle(order)
            for start in range(0, len(order), batch_size):
                if step >= steps:
                    break
                batch_rows = [rows[i] for i in order[start : start + batch_size]]
                batch = self.encode(batch_rows, train=True)
                offsets = batch.pop("offset_mapping", None)
                out = self.model(**batch, output_hidden_states=self.variant == "token")
                labels = torch.tensor([r["label"] for r in batch_rows])
                loss = F.cross_entropy(out.logits, labels, weight=weights)
                if self.variant == "token":
                    batch["offset_mapping"] = offsets
                    tags = self.token_labels(batch_rows, batch)
                    logits = self.token_head(out.hidden_states[-1])
                    loss = loss + 0.5 * F.cross_entropy(
                        logits.reshape(-1, 2), tags.reshape(-1), ignore_index=-100
                    )
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                step += 1

    @torch.inference_mode()
    def p_toxic(self, rows: list[dict]) -> np.ndarray:
        self.model.eval()
        out = np.zeros(len(rows))
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]["text"]))
        for start in range(0, len(order), 128):
            idx = order[start : start + 128]
            batch = self.encode([rows[i] for i in idx])
            batch.pop("offset_mapping", None)
            out[idx] = 1.0 - torch.softmax(self.model(**batch).logits, -1)[:, 0].numpy()
        return out


def run_variant(variant: str, rows: list[dict], args: argparse.Namespace) -> dict:
    started = time.time()
    train = [r for r in rows if r["split"] == "train"]
    if variant != "dups":  # one row per text, majority label (first seen on ties)
        by_key: dict[str, list[dict]] = {}
        for r in train:
            by_key.setdefault(r["key"], []).append(r)
        train = []
        for copies in by_key.values():
            top = Counter(c["label"] for c in copies).most_common(1)[0][0]
            train.append(next(c for c in copies if c["label"] == top))
    train_keys = {r["key"] for r in rows if r["split"] == "train"}
    seen_val: set[str] = set()
    val = []
    for r in rows:
        if r["split"] == "validation" and r["key"] not in train_keys | seen_val:
            seen_val.add(r["key"])
            val.append(r)
    test = [r for r in rows if r["split"] == "test"]
    unseen = np.array([r["key"] not in train_keys | seen_val for r in test])
    run = Run(variant, 96 if variant == "context" else 64, args.seed)
    run.fit(train, args.epochs, 32, 6e-5)
    p_val, p_test = run.p_toxic(val), run.p_toxic(test)
    y_val = np.array([r["label"] > 0 for r in val])
    y_test = np.array([r["label"] > 0 for r in test])
    grid = np.arange(0.05, 0.96, 0.01)
    threshold = grid[int(np.argmax([f1_score(y_val, p_val >= t) for t in grid]))]
    pred = p_test >= threshold
    return {
        "variant": variant,
        "train_rows": len(train),
        "threshold": round(float(threshold), 2),
        "f1": round(f1_score(y_test, pred), 4),
        "auc": round(roc_auc_score(y_test, p_test), 4),
        "f1_unseen": round(f1_score(y_test[unseen], pred[unseen]), 4),
        "auc_unseen": round(roc_auc_score(y_test[unseen], p_test[unseen]), 4),
        "test_rows": len(test),
        "unseen_rows": int(unseen.sum()),
        "seconds": round(time.time() - started),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="append one JSON line per variant here")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    rows = load(args.data, args.seed)
    for variant in variants:
        result = run_variant(variant, rows, args)
        print(json.dumps(result), flush=True)
        if args.json:
            with open(args.json, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
