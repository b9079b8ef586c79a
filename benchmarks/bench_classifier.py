"""Benchmark the shipped classifier on real data (needs ../shared/datasets; not in `make test`).

Measures, in one run:
- quality of the int8 ONNX model on the CONDA labeled test (all rows, and only rows whose text the
  model never saw in training or validation) and on the TweetEval offensive test, beside a TF-IDF
  logistic-regression baseline trained on CONDA, OLID, Davidson and Jigsaw;
- int8 ONNX against the fp32 PyTorch model of the same weights: toxic-vs-not F1 on the same texts,
  and speed (excerpts per second) at batch 32 on real chat lines.

    python benchmarks/bench_classifier.py [--data ../shared/datasets] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.classifier import Classifier, decide  # noqa: E402
from models.model_folder import DEFAULT_MODEL_DIR  # noqa: E402
from training.data import Source, load_source, text_key  # noqa: E402
from training.evaluate import evaluate  # noqa: E402

REFERENCE = DEFAULT_MODEL_DIR / "trainable"  # the shipped model's PyTorch weights (fp16)


def _rows(
    data: Path,
    fmt: str,
    path: str,
    labels: tuple[str, ...],
    split: str | None = None,
    forced: str | None = None,
) -> list:
    rows = load_source(Source(fmt, fmt, data / path, {}, split=forced), labels)
    return [r for r in rows if split is None or r.split == split]


def _binary(metrics: dict) -> dict:
    b = metrics["binary"]
    return {
        k: round(b[k], 4) if b[k] is not None else None
        for k in ("precision", "recall", "f1", "macro_f1", "auc")
    } | {"rows": metrics["rows"]}


def test_sets(data: Path, labels: tuple[str, ...]) -> dict[str, list]:
    """CONDA labeled test, its rows whose text is not in CONDA train/valid, TweetEval offensive."""
    conda_test = _rows(
        data,
        "conda",
        "conda_labeled_test_yuanzhejia/CONDA_test_original.csv",
        labels,
        forced="test",
    )
    seen = {text_key(r.text) for r in _rows(data, "conda", "conda", labels)}
    return {
        "conda_test": conda_test,
        "conda_test_unseen": [r for r in conda_test if text_key(r.text) not in seen],
        "tweeteval_offensive_test": _rows(
            data, "tweeteval", "tweeteval/offensive", labels, split="test"
        ),
    }


def quality(classifier: Classifier, data: Path) -> tuple[dict, dict]:
    labels = classifier.labels
    limits = [classifier.threshold_for(c) for c in labels[1:]]

    def score(rows: list) -> tuple[dict, np.ndarray]:
        probs = classifier.probabilities([r.text for r in rows])
        truth = np.array([labels.index(r.label) for r in rows])
        return evaluate(probs, truth, labels, classifier.threshold, limits), probs

    results, probs = {}, {}
    sets = test_sets(data, labels)
    for name, rows in sets.items():
        metrics, probs[name] = score(rows)
        results[name] = _binary(metrics)
    return results, {
        "conda_test": (sets["conda_test"], probs["conda_test"]),
        "tweeteval_offensive_test": (
            sets["tweeteval_offensive_test"],
            probs["tweeteval_offensive_test"],
        ),
    }


def tfidf_baseline(data: Path, labels: tuple[str, ...]) -> dict:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score

    train = (
        _rows(data, "conda", "conda", labels)
        + _rows(data, "olid", "olid", labels, "train")
        + _rows(data, "davidson", "davidson2017", labels)
        + _rows(data, "jigsaw", "jigsaw2018_predibase_pools", labels, "train")
    )
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=300_000
    )
    texts = [r.text for r in train]
    features = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
    truth = np.array([r.label != "non_toxic" for r in train])
    model = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
    model.fit(features, truth)
    out = {"train_rows": len(train)}
    for name, rows in test_sets(data, labels).items():
        x = [r.text for r in rows]
        p = model.predict_proba(hstack([words.transform(x), chars.transform(x)]).tocsr())[:, 1]
        y = np.array([r.label != "non_toxic" for r in rows])
        out[name] = {
            "f1": round(f1_score(y, p >= 0.5), 4),
            "macro_f1": round(f1_score(y, p >= 0.5, average="macro"), 4),
            "auc": round(roc_auc_score(y, p), 4),
            "rows": len(rows),
        }
    return out


def routed(classifier: Classifier, data: Path) -> dict:
    """What ships end to end: classify() with language routing, toxic-vs-not per test set, and
    how many excerpts each method judged."""
    from training.evaluate import binary_f1

    out = {}
    for name, rows in test_sets(data, classifier.labels).items():
        started = time.perf_counter()
        verdicts = classifier.classify([r.text for r in rows])
        seconds = time.perf_counter() - started
        truth = np.array([r.label != "non_toxic" for r in rows])
        predicted = np.array([v.toxic for v in verdicts])
        methods = [v.method for v in verdicts]
        languages = [v.language or "none" for v in verdicts]
        out[name] = {
            "f1": round(binary_f1(truth, predicted), 4),
            "excerpts_per_s": round(len(rows) / seconds, 1),
            "methods": {m: methods.count(m) for m in sorted(set(methods))},
            "languages": {
                k: languages.count(k) for k in sorted(set(languages), key=languages.count)[-6:]
            },
        }
    return out


def best_seconds(fn: Callable[[list[str]], object], lines: list[str], repeats: int = 3) -> float:
    """The fastest of repeats passes of fn over lines, after a warm-up on 64 of them."""
    fn(lines[:64])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(lines)
        best = min(best, time.perf_counter() - start)
    return best


def int8_vs_fp32(
    classifier: Classifier, sets: dict, lines: list[str], threads: int, reference: Path = REFERENCE
) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.evaluate import binary_f1
    from training.train import predict_proba

    if not (reference / "config.json").is_file():
        return {"skipped": f"no fp32 reference weights in {reference}"}
    torch.set_num_threads(threads)
    model = AutoModelForSequenceClassification.from_pretrained(reference, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(reference)
    max_length = classifier.config.max_length
    limits = [classifier.threshold_for(c) for c in classifier.labels[1:]]
    out: dict = {"quality": {}}
    for name, (rows, int8_probs) in sets.items():
        truth = np.array([r.label != "non_toxic" for r in rows])
        fp32 = predict_proba(model, tokenizer, [r.text for r in rows], max_length, desc=name)
        f1_fp32 = binary_f1(truth, decide(fp32, classifier.threshold, limits) != 0)
        f1_int8 = binary_f1(truth, decide(int8_probs, classifier.threshold, limits) != 0)
        out["quality"][name] = {
            "f1_fp32": round(f1_fp32, 4),
            "f1_int8": round(f1_int8, 4),
            "difference": round(f1_int8 - f1_fp32, 4),
        }

    int8_seconds = best_seconds(classifier.probabilities, lines)
    fp32_seconds = best_seconds(
        lambda x: predict_proba(model, tokenizer, x, max_length, batch_size=32, desc="fp32"),
        lines,
    )
    out["speed"] = {
        "lines": len(lines),
        "batch": 32,
        "threads": threads,
        "int8_onnx_per_second": round(len(lines) / int8_seconds, 1),
        "fp32_pytorch_per_second": round(len(lines) / fp32_seconds, 1),
        "speedup": round(fp32_seconds / int8_seconds, 2),
    }
    return out


CARD_MARK = "## Benchmarks"


CONDA_NOTE = (
    "CONDA's own labels cap what any model can score on it; `benchmarks/conda_ceiling.py` "
    "measures that cap for a model, and the project's `docs/conda-ceiling.md` explains it."
)


def card_section(results: dict) -> str:
    """The model card's benchmark section, from one run of this script."""
    q, base = results["int8_onnx"], results.get("tfidf_baseline", {})
    lines = [
        CARD_MARK,
        "",
        "Measured by `make bench` (benchmarks/bench_classifier.py) on this "
        f"machine ({os.cpu_count()} cores), toxic vs not:",
        "",
        "| test set | rows | model P | R | F1 | macro-F1 | AUC | TF-IDF F1 | TF-IDF AUC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("conda_test", "CONDA labeled test, all rows"),
        ("conda_test_unseen", "CONDA test, texts not in CONDA train/valid"),
        ("tweeteval_offensive_test", "TweetEval offensive test"),
    ):
        m, b = q[name], base.get(name, {})
        lines.append(
            f"| {label} | {m['rows']} | {m['precision']:.3f} | {m['recall']:.3f} | "
            f"{m['f1']:.3f} | {m['macro_f1']:.3f} | {m['auc']:.3f} | "
            f"{b.get('f1', float('nan')):.3f} | {b.get('auc', float('nan')):.3f} |"
        )
    routed = results.get("int8_routed")
    if routed:
        lines += [
            "",
            "End to end as the app runs it (`Classifier.classify`: each excerpt's language "
            "identified, German and Russian lines to their own models), toxic-vs-not F1: "
            + ", ".join(f"{name} {m['f1']:.3f}" for name, m in routed.items())
            + ".",
        ]
    lines += ["", CONDA_NOTE]
    quiet = results.get("int8_speed_quiet")
    if quiet:
        lines += [
            "",
            f"Speed on a quiet machine (load average {quiet['load_average_1min']}), "
            f"{quiet['lines']} CONDA lines, batch {quiet['batch']}, {quiet['threads']} threads: "
            f"int8 model {quiet['int8_model_per_second']:.0f} excerpts/s; with language "
            f"identification (classify) {quiet['classify_with_language_id_per_second']:.0f} "
            "excerpts/s.",
        ]
    speed = results["int8_vs_fp32"].get("speed")
    if speed:
        lines += [
            "",
            (
                "In the same run as the numbers above (other work on the machine slowed it): "
                if quiet
                else ""
            )
            + f"Speed on {speed['lines']} CONDA chat lines, batch {speed['batch']}, "
            f"{speed['threads']} threads: int8 ONNX {speed['int8_onnx_per_second']:.0f} "
            f"excerpts/s, fp32 PyTorch {speed['fp32_pytorch_per_second']:.0f} excerpts/s "
            f"({speed['speedup']:.1f}x).",
            "",
            "The same test texts through int8 ONNX and fp32 PyTorch, toxic-vs-not F1:",
            "",
        ]
    for name, m in results["int8_vs_fp32"].get("quality", {}).items():
        lines.append(
            f"- {name}: F1 fp32 {m['f1_fp32']:.4f}, int8 {m['f1_int8']:.4f} "
            f"(difference {m['difference']:+.4f})"
        )
    return "\n".join(lines) + "\n" + other_benchmarks()


def _result(name: str) -> dict | None:
    path = ROOT / "benchmarks" / "results" / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def other_benchmarks() -> str:
    """The functional suite, leave-one-domain-out and other-language results, from the JSON
    files their benchmarks wrote (benchmarks/results/), for the model card."""
    lines: list[str] = []
    functional = _result("functional.json")
    if functional:
        lines += [
            "",
            "### The project's functional suite (`benchmarks/bench_functional.py`)",
            "",
            f"Harmless identity mentions passed: {functional['harmless_identity_passed']:.1%}; "
            f"hateful lines flagged: {functional['hateful_flagged']:.1%} "
            "(tests/data/functional_suite.csv, the project's own sentences).",
            "",
            "| functionality | passed |",
            "|---|---|",
        ]
        for name, m in functional["per_functionality"].items():
            lines.append(f"| {name} | {m['passed']}/{m['total']} ({m['rate']:.0%}) |")
    lodo = _result("lodo.json")
    if lodo:
        from training.lodo import LodoResult, format_table

        lines += [
            "",
            "### Leave one domain out (`benchmarks/bench_lodo.py`)",
            "",
            f"Method: {lodo['method']} (linear probe: logistic regression on frozen MiniLM-L6 "
            "sentence embeddings); each source held out in turn, the same sample per training "
            "source for every recipe; `old` = the v2 sources, `new` = plus ToxiGen seed "
            "sentences, the generated identity and game-chat rows and disguised copies, "
            "`balanced` = `new` with identity-term balancing (training/identity.py).",
            "",
            format_table([LodoResult(**r) for r in lodo["results"]]).rstrip(),
        ]
    full = _result("lodo_finetune.json")
    if full:
        from bench_lodo_full import format_table as format_full

        lines += [
            "",
            "### Leave one domain out, full recipe (`benchmarks/bench_lodo_full.py`)",
            "",
            "The training config with the domain taken out of training, everything else "
            "unchanged, thresholds picked on the remaining sources' validation rows; int8, "
            "toxic-vs-not. `old` = the v2 sources, `new` = v5's recipe "
            "(training/configs/default.yaml), `v9a` = v5's plus ToxiGen's hateful seeds framed "
            "and negated (default-v9a.yaml; the shipped average's v9a, v10b and v12b are trained "
            "on its rows, v12b with groups swapped).",
            "",
            format_full(full).rstrip(),
        ]
    other = _result("multilingual.json")
    if other:
        lines += [
            "",
            "### German and Russian (`benchmarks/bench_multilingual.py`), toxic-vs-not F1",
            "",
            "| test set | safetext list | glin-profanity | own n-gram model | what ships |",
            "|---|---|---|---|---|",
        ]
        for name, row in other.items():
            lines.append(
                f"| {name} ({row['shipped']['rows']} rows) | {row['safetext']['f1']:.3f} | "
                f"{row['glin']['f1']:.3f} | {row['trained']['f1']:.3f} | "
                f"{row['shipped']['f1']:.3f} |"
            )
    return "\n".join(lines) + ("\n" if lines else "")


def update_card(model: Path, results: dict) -> None:
    card = model / "README.md"
    text = card.read_text(encoding="utf-8")
    head = text.split(CARD_MARK)[0].rstrip() + "\n\n"
    card.write_text(head + card_section(results), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--model", default=str(DEFAULT_MODEL_DIR))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--lines", type=int, default=4000, help="chat lines for the speed test")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--update-card",
        action="store_true",
        help="write the results into the model card's Benchmarks section",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the TF-IDF baseline (it is model-free)"
    )
    parser.add_argument(
        "--card-from",
        metavar="JSON",
        help="only rewrite the model card's Benchmarks section from an earlier run's results "
        "(and the other benchmarks' files in benchmarks/results), measuring nothing",
    )
    args = parser.parse_args()
    if args.card_from:
        update_card(Path(args.model), json.loads(Path(args.card_from).read_text("utf-8")))
        return 0
    data = Path(args.data)
    if not data.is_dir():
        print(f"bench: datasets not found at {data} (pass --data)", file=sys.stderr)
        return 2
    classifier = Classifier(args.model, threads=args.threads, batch_size=32)
    started = time.time()
    results: dict = {"model": str(args.model)}
    results["int8_onnx"], sets = quality(classifier, data)
    results["int8_routed"] = routed(classifier, data)
    if not args.no_baseline:
        results["tfidf_baseline"] = tfidf_baseline(data, classifier.labels)
    chat = [r.text for r in sets["conda_test"][0]][: args.lines]
    results["int8_vs_fp32"] = int8_vs_fp32(
        classifier, sets, chat, args.threads, Path(args.model) / "trainable"
    )
    results["seconds"] = round(time.time() - started, 1)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.update_card:
        update_card(Path(args.model), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
