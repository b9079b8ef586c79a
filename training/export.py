"""Export a fine-tuned model to the folder the app loads: ONNX, fused, quantized to int8.

Three steps a reader can follow top to bottom: `export_onnx` (PyTorch -> fp32 ONNX, dynamic batch
and length), `quantize_int8` (ONNX Runtime's transformer fusions, then int8 weights), and
`check_parity` (the int8 model against PyTorch on the same texts: label agreement, F1 difference).
`export_model` runs all three and writes config.json and the model card.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from models.classifier import Classifier, decide
from models.model_folder import (
    CARD_NAME,
    MODEL_NAME,
    TOKENIZER_NAME,
    ModelConfig,
    write_config,
)
from training.data import read_test_rows
from training.evaluate import binary_f1
from training.train import predict_proba

OPSET = 17
# inputs per quantization scale of a weight row (8-bit MatMulNBits); 64 and 32 were measured too
QUANT_BLOCK = 128


class _Logits(torch.nn.Module):
    """Wraps a sequence classifier so the exported graph returns plain logits."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
        return self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).logits


def export_onnx(model: torch.nn.Module, onnx_path: Path, opset: int = OPSET) -> Path:
    """PyTorch -> fp32 ONNX with dynamic batch and sequence axes."""
    model = model.eval().float()
    ids = torch.ones((2, 8), dtype=torch.long)
    dynamic = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "sequence"},
        "token_type_ids": {0: "batch", 1: "sequence"},
        "logits": {0: "batch"},
    }
    with torch.inference_mode():
        torch.onnx.export(
            _Logits(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(onnx_path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    return onnx_path


def fuse_bert(fp32_path: Path, fused_path: Path, num_heads: int = 0, hidden_size: int = 0) -> Path:
    """ONNX Runtime's transformer fusions (attention, LayerNorm, GELU) for a BERT-like graph."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimize_model(
        str(fp32_path),
        model_type="bert",
        num_heads=num_heads,
        hidden_size=hidden_size,
        opt_level=1,
    ).save_model_to_file(str(fused_path))
    return fused_path


def quantize_fused(
    fused_path: Path, int8_path: Path, block: int = QUANT_BLOCK, embeddings: bool = True
) -> Path:
    """Weight matrices to 8-bit MatMulNBits (symmetric, one scale per `block` inputs, accuracy
    level 4: activations quantized per row, int8 multiplies); with embeddings, the embedding
    table to int8 as well (a lookup, no activations)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(fused_path)),
        algo_config=DefaultWeightOnlyQuantConfig(
            block_size=block, is_symmetric=True, accuracy_level=4, bits=8
        ),
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(int8_path), use_external_data_format=False)
    if embeddings:
        # fused ops come from the com.microsoft domain, which shape inference cannot type
        quantize_dynamic(
            str(int8_path),
            str(int8_path),
            op_types_to_quantize=["Gather"],
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return int8_path


def quantize_int8(
    fp32_path: Path, int8_path: Path, num_heads: int = 0, hidden_size: int = 0
) -> Path:
    """Fuse attention/LayerNorm/GELU for BERT-like graphs, then quantize weights to int8.

    Every weight matrix becomes an 8-bit MatMulNBits node (symmetric, one scale per block of
    QUANT_BLOCK inputs) run at accuracy level 4: ONNX Runtime quantizes each row of activations
    on its own and multiplies in int8. The embedding table is stored as int8 too (a lookup, no
    activations). An excerpt's scores therefore depend on its text alone, never on the excerpts
    batched with it. Plain dynamic quantization (quantize_dynamic on the matrices) takes one
    activation scale per batch and moved a line's P(toxic) with its neighbours
    (benchmarks/bench_quantize.py measures both against fp32).
    """
    with tempfile.TemporaryDirectory() as tmp:
        fused = fuse_bert(fp32_path, Path(tmp) / "fused.onnx", num_heads, hidden_size)
        return quantize_fused(fused, int8_path)


def check_parity(
    model: Any,
    tokenizer: Any,
    folder: Path,
    texts: list[str],
    labels: np.ndarray,
    max_length: int,
) -> dict[str, Any]:
    """Compare the exported int8 folder with the PyTorch model on the same texts.

    Both see the same normalised text truncated to max_length, so differences are quantization's.
    """
    classifier = Classifier(folder)
    started = time.perf_counter()
    int8 = classifier.probabilities(texts, windows=False)  # PyTorch reads the first window only
    int8_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fp32 = predict_proba(model, tokenizer, texts, max_length, desc="parity (pytorch)")
    fp32_seconds = time.perf_counter() - started
    limits = [classifier.threshold_for(c) for c in classifier.labels[1:]]
    pred_int8 = decide(int8, classifier.threshold, limits)
    pred_fp32 = decide(fp32, classifier.threshold, limits)
    truth = labels != 0
    f1_int8 = binary_f1(truth, pred_int8 != 0)
    f1_fp32 = binary_f1(truth, pred_fp32 != 0)
    return {
        "rows": len(texts),
        "label_agreement": float(np.mean(pred_int8 == pred_fp32)),
        "toxic_agreement": float(np.mean((pred_int8 != 0) == (pred_fp32 != 0))),
        "max_abs_prob_diff": float(np.max(np.abs(int8 - fp32))) if len(texts) else 0.0,
        "f1_toxic_fp32": f1_fp32,
        "f1_toxic_int8": f1_int8,
        "f1_difference": f1_int8 - f1_fp32,
        "seconds_int8_onnx": round(int8_seconds, 2),
        "seconds_fp32_pytorch": round(fp32_seconds, 2),
    }


def export_model(
    model_dir: str | Path,
    out_dir: str | Path,
    thresholds: dict[str, Any] | None = None,
    max_length: int = 128,
    parity_texts: list[str] | None = None,
    parity_labels: np.ndarray | None = None,
    card: Callable[[dict[str, Any]], str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write an app-ready model folder from a saved Hugging Face model; return parity results.

    card, given the parity results, returns the model card; the folder replaces out_dir whole.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    labels = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
    # stage beside the target so the final rename is atomic and on the same file system
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        fp32 = export_onnx(model, staging / "model.fp32.onnx")
        quantize_int8(
            fp32, staging / MODEL_NAME, model.config.num_attention_heads, model.config.hidden_size
        )
        fp32.unlink()
        tokenizer.backend_tokenizer.save(str(staging / TOKENIZER_NAME))
        thresholds = thresholds or {}
        config = ModelConfig(
            labels=labels,
            threshold=float(thresholds.get("threshold", 0.5)),
            category_thresholds={
                k: float(v) for k, v in thresholds.get("category_thresholds", {}).items()
            },
            max_length=max_length,
            extra={
                "quantization": "ONNX Runtime MatMulNBits: int8 weights in blocks of "
                f"{QUANT_BLOCK}, activations quantized per row (accuracy level 4); "
                "int8 embeddings",
                "opset": OPSET,
                **(extra or {}),
            },
        )
        write_config(staging, config)
        parity: dict[str, Any] = {}
        if parity_texts:
            labels_array = (
                parity_labels
                if parity_labels is not None
                else np.zeros(len(parity_texts), dtype=np.int64)
            )
            parity = check_parity(model, tokenizer, staging, parity_texts, labels_array, max_length)
            write_config(staging, replace(config, extra={**config.extra, "parity": parity}))
        text = card(parity) if card else f"# modlens classifier\n\nLabels: {', '.join(labels)}\n"
        (staging / CARD_NAME).write_text(text, encoding="utf-8")
        if out_dir.exists():
            backup = out_dir.with_name(out_dir.name + ".old")
            shutil.rmtree(backup, ignore_errors=True)
            out_dir.rename(backup)
            staging.rename(out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            staging.rename(out_dir)
        return parity
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_reference(model_dir: str | Path, out_dir: str | Path) -> None:
    """The fine-tuned PyTorch weights stored as fp16 (upcast to fp32 on load) with the tokenizer."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    model.half().save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out_dir)


def load_test_split(run_dir: Path, labels: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    rows = read_test_rows(run_dir)
    return [r.text for r in rows], np.array([labels.index(r.label) for r in rows])
