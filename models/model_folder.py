"""A classifier model folder: model.onnx, tokenizer.json, config.json and a model card.

Loading checks that every file is present, that the model and tokenizer match the checksums
config.json records, and that config.json itself is as the export wrote it (its own checksum
covers the labels, thresholds and window sizes): a truncated copy, a half-written export, swapped
labels or a hand-edited threshold are reported plainly instead of mislabelling in silence. Every
value is checked for type and range, so a bad folder gives one ModelError, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import math
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
CHECKSUM_KEY = "config_sha256"  # sha256 of config.json's canonical JSON without this key
CHECKED_FILES = (MODEL_NAME, TOKENIZER_NAME)
MIN_LENGTH, MAX_LENGTH = 8, 512  # tokens per window; BERT-family encoders stop at 512
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
        """The config in data, every value checked; raises ValueError naming the bad one."""
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        labels = data.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            raise ValueError("labels must be a list of category names")
        taxonomy = Taxonomy(tuple(labels))  # non_toxic first, no duplicates, a toxic category
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        categories = data.get("category_thresholds", {})
        if not isinstance(categories, dict):
            raise ValueError("category_thresholds must map categories to thresholds")
        unknown = sorted(set(categories) - set(taxonomy.toxic))
        if unknown:
            raise ValueError(f"category_thresholds names unknown categories {unknown}")
        max_length = _integer(data, "max_length", 128, MIN_LENGTH, MAX_LENGTH)
        # a stride beyond half a window is narrowed when the classifier loads
        stride = _integer(data, "stride", 32, 0, MAX_LENGTH)
        files = data.get("files")
        if not isinstance(files, dict):
            raise ValueError("it has no files section with the model's checksums")
        for name in CHECKED_FILES:
            record = files.get(name)
            if not (
                isinstance(record, dict)
                and isinstance(record.get("sha256"), str)
                and len(record["sha256"]) == 64
                and isinstance(record.get("bytes"), int)
            ):
                raise ValueError(f"files has no sha256 and bytes for {name}")
        known = {
            "format",
            "labels",
            "threshold",
            "category_thresholds",
            "max_length",
            "stride",
            "files",
            CHECKSUM_KEY,
        }
        return cls(
            labels=tuple(labels),
            threshold=_probability(data.get("threshold", 0.5), "threshold"),
            category_thresholds={
                k: _probability(v, f"category_thresholds.{k}") for k, v in categories.items()
            },
            max_length=max_length,
            stride=stride,
            files=dict(files),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _probability(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


def _integer(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def config_checksum(data: dict[str, Any]) -> str:
    """sha256 of a config's canonical JSON (sorted keys, no spaces), its own checksum left out."""
    body = {k: v for k, v in data.items() if k != CHECKSUM_KEY}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def write_config(folder: Path, config: ModelConfig) -> None:
    """Write config.json with fresh checksums of the model files and of itself, atomically."""
    files = {name: file_record(folder / name) for name in CHECKED_FILES}
    data = replace(config, files=files).to_json()
    ModelConfig.from_json(data)  # never write a config that would be refused on load
    data[CHECKSUM_KEY] = config_checksum(data)
    tmp = folder / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(folder / CONFIG_NAME)


def load_config(folder: str | Path | None = None, verify: bool = True) -> tuple[Path, ModelConfig]:
    """Check a model folder and return its path and config; raise ModelError if it is unusable.

    verify=False skips hashing the model and tokenizer files (their sizes are still checked);
    config.json's own values and checksum are always checked.
    """
    path = Path(folder) if folder is not None else DEFAULT_MODEL_DIR
    if not path.is_dir():
        raise ModelError(f"model folder not found: {path}")
    for name in (CONFIG_NAME, MODEL_NAME, TOKENIZER_NAME):
        if not (path / name).is_file():
            raise ModelError(f"model folder {path} is missing {name}")
    where = path / CONFIG_NAME
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{where} is damaged or not a modlens config: {exc}") from exc
    try:
        config = ModelConfig.from_json(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{where} is damaged or not a modlens config: {exc}.") from exc
    recorded = data.get(CHECKSUM_KEY)
    if not isinstance(recorded, str):
        raise ModelError(
            f"{where} has no checksum of its own ({CHECKSUM_KEY}); it was not written by "
            "`modlens export`. Export the model again."
        )
    try:
        actual = config_checksum(data)
    except ValueError as exc:  # NaN or infinity somewhere in the extra fields
        raise ModelError(f"{where} is damaged or not a modlens config: {exc}.") from exc
    if actual != recorded:
        raise ModelError(
            f"{where} was changed after export (its checksum does not match): labels, "
            "thresholds or window sizes cannot be trusted. Restore it or export the model again; "
            "to change thresholds use the app's settings or --threshold."
        )
    for name in CHECKED_FILES:
        record = config.files[name]
        file = path / name
        size = file.stat().st_size
        if size != record["bytes"]:
            raise ModelError(f"{file} is damaged: {size} bytes, expected {record['bytes']}")
        if verify and sha256_file(file) != record["sha256"]:
            raise ModelError(f"{file} is damaged: its checksum does not match config.json")
    return path, config
