"""German and Russian: maintained word lists against the project's own trained option.

For each language, on its public test set (GermEval 2018 test; the Russian distorted-spelling VK
set, all 3,000 rows and its 126 distorted ones), toxic-vs-not precision, recall and F1 of:

- ``safetext``: the safetext package's word list for the language, matched as it matches;
- ``glin``: glin-profanity's dictionary for the language, with its obfuscation handling;
- ``trained``: the project's own option, a character n-gram logistic regression trained on the
  language's training set (GermEval 2018 training; the Russian combined_train set), exactly as
  models/lexicon/ ships it (``training/multilingual.py`` builds it);
- ``shipped``: what ``Classifier`` does with the language today (models.language routing).

    python benchmarks/bench_multilingual.py --data ../shared/datasets \
        --json benchmarks/results/multilingual.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.evaluate import binary_f1  # noqa: E402
from training.multilingual import TEST_SETS, load_language_set  # noqa: E402

GLIN_NAMES = {"de": "german", "ru": "russian"}


def _scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = float(np.sum(truth & predicted))
    return {
        "precision": round(tp / max(1, int(predicted.sum())), 4),
        "recall": round(tp / max(1, int(truth.sum())), 4),
        "f1": round(binary_f1(truth, predicted), 4),
        "rows": len(truth),
        "toxic": int(truth.sum()),
    }


def safetext_flags(language: str, texts: list[str]) -> np.ndarray:
    from safetext import ProfanityChecker

    checker = ProfanityChecker(language)
    return np.array([bool(checker.check(t)) for t in texts])


def glin_flags(language: str, texts: list[str]) -> np.ndarray:
    from glin_profanity import Filter

    checker = Filter({"languages": [GLIN_NAMES[language]], "detect_leetspeak": True})
    return np.array([bool(checker.is_profane(t)) for t in texts])


def shipped_flags(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    from models.classifier import Classifier

    verdicts = Classifier().classify(texts)
    return np.array([v.toxic for v in verdicts]), [v.method for v in verdicts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/datasets")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    from models.language import load_language_model

    data = Path(args.data)
    results: dict[str, dict] = {}
    for name, (language, _) in TEST_SETS.items():
        texts, truth, distorted = load_language_set(data, name)
        model = load_language_model(language)
        methods = {
            "safetext": safetext_flags(language, texts),
            "glin": glin_flags(language, texts),
            "trained": model.predict(texts) if model else np.zeros(len(texts), bool),
        }
        started = time.perf_counter()
        methods["shipped"], how = shipped_flags(texts)
        seconds = time.perf_counter() - started
        row: dict[str, dict] = {}
        for method, flags in methods.items():
            row[method] = _scores(truth, flags)
            if distorted is not None:
                row[method]["distorted_only"] = _scores(truth[distorted], flags[distorted])
        row["shipped"]["methods"] = {m: how.count(m) for m in sorted(set(how))}
        row["shipped"]["excerpts_per_s"] = round(len(texts) / seconds, 1)
        results[name] = row
        print(f"\n{name} ({language}): {len(texts)} rows, {int(truth.sum())} toxic")
        print(f"{'method':<10} {'P':>6} {'R':>6} {'F1':>6}   distorted-only F1")
        for method, s in row.items():
            extra = s.get("distorted_only", {}).get("f1", "")
            print(
                f"{method:<10} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['f1']:>6.3f}   {extra}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
