"""A classifier model folder: model.onnx, tokenizer.json, config.json and a model card.

Loading checks that every file is present and that the ONNX file matches its recorded checksum,
so a truncated copy or a half-written export is reported plainly instead of crashing later.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from models.errors import ModlensError
from models.taxonomy import Taxonomy

CONFIG_NAME = "config.json"
MODEL_NAME = "model.onnx"
TOKENIZER_NAME = "tokenizer.json"
CARD_NAME = "README.md"
FORMAT = "modlens-classifier/1"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "weights" / "default"


class ModelError(ModlensError, RuntimeError):
    """A model folder that cannot be used; the message says what is wrong and where."""


@dataclass(frozen=True)
class ModelConfig:
    labels: tuple[str, ...]
    threshold: float = 0.5
    category_thresholds: dict[str, float] = field(default_factory=dict)
    max_length: int = 128
    stride: int = 32
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def taxonomy(self) -> Taxonomy:
        return Taxonomy(self.labels)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "labels": list(self.labels),
            "threshold": self.threshold,
            "category_thresholds": dict(self.category_thresholds),
            "max_length": self.max_length,
            "stride": self.stride,
            "files": self.files,
            **self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelConfig:
        known = {
            "format",
            "labels",
            "threshold",
            "category_thresholds",
            "max_length",
            "stride",
            "files",
        }
        return cls(
            labels=tuple(data["labels"]),
            threshold=float(data.get("threshold", 0.5)),
            category_thresholds={
                k: float(v) for k, v in data.get("category_thresholds", {}).items()
            },
            max_length=int(data.get("max_length", 128)),
            stride=int(data.get("stride", 32)),
            files=dict(data.get("files", {})),
            extra={k: v for k, v in data.items() if k not in known},
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def write_config(folder: Path, config: ModelConfig) -> None:
    """Write config.json with fresh checksums of the model files, atomically."""
    files = {name: file_record(folder / name) for name in (MODEL_NAME, TOKENIZER_NAME)}
    data = replace(config, files=files).to_json()
    tmp = folder / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / CONFIG_NAME)


def load_config(folder: str | Path | None = None, verify: bool = True) -> tuple[Path, ModelConfig]:
    """Check a model folder and return its path and config; raise ModelError if it is unusable."""
    path = Path(folder) if folder is not None else DEFAULT_MODEL_DIR
    if not path.is_dir():
        raise ModelError(f"model folder not found: {path}")
    for name in (CONFIG_NAME, MODEL_NAME, TOKENIZER_NAME):
        if not (path / name).is_file():
            raise ModelError(f"model folder {path} is missing {name}")
    try:
        data = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
        config = ModelConfig.from_json(data)
        config.taxonomy  # noqa: B018 - validates the label list
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path / CONFIG_NAME} is damaged or not a modlens config: {exc}") from exc
    if verify:
        for name, record in config.files.items():
            file = path / name
            if not file.is_file():
                raise ModelError(f"model folder {path} is missing {name}")
            if "bytes" in record and file.stat().st_size != record["bytes"]:
                raise ModelError(
                    f"{file} is damaged: {file.stat().st_size} bytes, expected {record['bytes']}"
                )
            if "sha256" in record and sha256_file(file) != record["sha256"]:
                raise ModelError(f"{file} is damaged: its checksum does not match config.json")
    return path, config
