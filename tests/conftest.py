import os
from pathlib import Path

import pytest

# Qt without a screen; set before anything imports PySide6
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import models

SHIPPED_MODEL = Path(models.__file__).resolve().parent / "weights" / "default"
needs_shipped_model = pytest.mark.skipif(
    not (SHIPPED_MODEL / "model.onnx").exists(),
    reason="the shipped model is not in models/weights/default yet",
)


@pytest.fixture(scope="session")
def tiny_hf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Hugging Face BERT classifier with the default labels (needs torch)."""
    from tests.tiny_model import build_tiny_hf_model

    return build_tiny_hf_model(tmp_path_factory.mktemp("tiny-hf"))


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_hf_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app-ready int8 ONNX model folder exported from the tiny random model; random verdicts."""
    from training.export import export_model

    out = tmp_path_factory.mktemp("tiny-onnx") / "model"
    export_model(
        tiny_hf_model, out, max_length=64, thresholds={"threshold": 0.5, "category_thresholds": {}}
    )
    return out
