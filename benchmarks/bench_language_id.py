"""Language identification on short chat: py3langid against lingua, and modlens's own routing.

Texts: CONDA chat lines (English-script game chat, very short), OLID tweets (English), GermEval
2018 test tweets (German) and the Russian VK comments (Russian). For each library: the share of
each set given its language, and excerpts per second. fasttext-langdetect is not measured: its
wheel holds no model (it downloads lid.176 on first use), which an offline app cannot do.

    python benchmarks/bench_language_id.py --data ../shared/datasets \
        --json benchmarks/results/language_id.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.data import Source, load_source  # noqa: E402
from training.multilingual import load_language_set  # noqa: E402


def _texts(data: Path, per_set: int) -> dict[str, tuple[str, list[str]]]:
    def rows(fmt: str, path: str, **kw) -> list[str]:
        source = Source(fmt, fmt, data / path, {}, **kw)
        return [
            e.text
            for e in load_source(
                source, ("non_toxic", "profanity", "insult", "identity_hate", "threat")
            )
        ]

    conda = rows("conda", "conda_labeled_test_yuanzhejia/CONDA_test_original.csv", split="test")
    olid = rows("olid", "olid")
    german = load_language_set(data, "germeval2018_test")[0]
    russian = load_language_set(data, "russian_distorted")[0]
    return {
        "conda_chat": ("en", conda[:per_set]),
        "olid_tweets": ("en", olid[:per_set]),
        "germeval_test": ("de", german[:per_set]),
        "russian_vk": ("ru", russian[:per_set]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/datasets")
    parser.add_argument("--per-set", type=int, default=1000)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    import py3langid
    from lingua import LanguageDetectorBuilder

    from models.language import detect_language

    started = time.perf_counter()
    lingua = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
    lingua_load = time.perf_counter() - started

    def lingua_code(text: str) -> str | None:
        found = lingua.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None

    detectors = {
        "py3langid": lambda t: py3langid.classify(t)[0],
        "lingua (low accuracy mode)": lingua_code,
        "modlens (models.language)": lambda t: detect_language(t).language or "",
    }
    sets = _texts(Path(args.data), args.per_set)
    results: dict[str, dict] = {"lingua_load_s": round(lingua_load, 2)}
    for name, detect in detectors.items():
        row = {}
        for set_name, (expected, texts) in sets.items():
            started = time.perf_counter()
            found = [detect(t) for t in texts]
            seconds = time.perf_counter() - started
            row[set_name] = {
                "correct": round(sum(f == expected for f in found) / len(found), 3),
                "per_s": round(len(found) / seconds),
            }
        results[name] = row
        cells = "  ".join(f"{k} {v['correct']:.3f} ({v['per_s']}/s)" for k, v in row.items())
        print(f"{name:<28} {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
