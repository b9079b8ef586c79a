"""How each int8 quantization of a fine-tuned model compares with its fp32 ONNX graph.

Variants: ONNX Runtime's dynamic quantization (one activation scale per batch; what modlens
shipped until 2026-11-30) and 8-bit MatMulNBits at several block sizes (activations quantized
per row), with the embedding table in int8 (what training/export.py now writes) or in fp32.
On the same texts: how far P(toxic) moves from fp32 (max, mean, rows moved more than 0.05),
verdicts unlike fp32's at the model's thresholds, how far a line's P(toxic) moves when the same
lines are batched in another order, excerpts per second (batch 32) and file size.

    python benchmarks/bench_quantize.py [--model models/weights/default] \
        [--data ../shared/datasets] --json benchmarks/results/quantize.json

The model folder's PyTorch weights (trainable/) are quantized again each way; the texts are the
first --rows lines of the CONDA labeled test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.classifier import Classifier, decide  # noqa: E402
from models.model_folder import (  # noqa: E402
    DEFAULT_MODEL_DIR,
    MODEL_NAME,
    TOKENIZER_NAME,
    ModelConfig,
    load_config,
    write_config,
)


def _dynamic(fused: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fused),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="a model folder")
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--rows", type=int, default=2000, help="lines of the CONDA test")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.data import Source, load_source
    from training.export import export_onnx, fuse_bert, quantize_fused

    source = args.model / "trainable"
    _, shipped = load_config(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(source).float()
    labels = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
    conda = args.data / "conda_labeled_test_yuanzhejia/CONDA_test_original.csv"
    rows = load_source(Source("conda_test", "conda", conda, {}), labels)
    texts = [r.text for r in rows][: args.rows]
    results: dict = {
        "model": str(args.model),
        "rows": len(texts),
        "threads": args.threads,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        fused = fuse_bert(
            export_onnx(model, tmp_path / "raw.onnx"),
            tmp_path / "fused.onnx",
            model.config.num_attention_heads,
            model.config.hidden_size,
        )
        AutoTokenizer.from_pretrained(source).backend_tokenizer.save(str(tmp_path / "tok.json"))
        variants = {
            "fp32": lambda f, out: shutil.copy(f, out),
            "dynamic (per batch)": _dynamic,
            "MatMulNBits 8-bit, block 128, fp32 embeddings": partial(
                quantize_fused, block=128, embeddings=False
            ),
            **{
                f"MatMulNBits 8-bit, block {b}, int8 embeddings": partial(quantize_fused, block=b)
                for b in (128, 64, 32)
            },
        }
        reference = None
        for name, make in variants.items():
            folder = tmp_path / f"variant-{len(results)}"
            folder.mkdir(parents=True)
            make(fused, folder / MODEL_NAME)
            shutil.copy(tmp_path / "tok.json", folder / TOKENIZER_NAME)
            write_config(
                folder,
                ModelConfig(
                    labels=labels,
                    threshold=shipped.threshold,
                    category_thresholds=shipped.category_thresholds,
                    max_length=128,
                ),
            )
            classifier = Classifier(folder, threads=args.threads, languages=False)
            classifier.probabilities(texts[:64])  # warm up
            started = time.perf_counter()
            probs = classifier.probabilities(texts)
            seconds = time.perf_counter() - started
            order = np.random.default_rng(0).permutation(len(texts))
            shuffled = np.empty_like(probs)
            shuffled[order] = classifier.probabilities([texts[i] for i in order])
            limits = [classifier.threshold_for(c) for c in labels[1:]]
            pred = decide(probs, classifier.threshold, limits)
            row = {
                "excerpts_per_s": round(len(texts) / seconds, 1),
                "megabytes": round((folder / MODEL_NAME).stat().st_size / 1e6, 1),
                "batch_order_max_diff": round(float(np.abs(shuffled - probs).max()), 4),
            }
            if reference is None:
                reference = (probs, pred)
            else:
                diff = np.abs((1 - probs[:, 0]) - (1 - reference[0][:, 0]))
                row |= {
                    "max_diff_vs_fp32": round(float(diff.max()), 4),
                    "mean_diff_vs_fp32": round(float(diff.mean()), 5),
                    "rows_moved_over_0.05": int((diff > 0.05).sum()),
                    "verdicts_unlike_fp32": int((pred != reference[1]).sum()),
                }
            results[name] = row
            print(name, json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
