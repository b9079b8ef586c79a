"""Model versions: every improved model kept in the user's data folder, with its card.

``<data folder>/models/`` holds one folder per version (``v001-20261129-201500`` …), each an
app-ready model folder (model.onnx, tokenizer.json, config.json, README.md and, for a model
that can be improved again, its trainable weights in ``trainable/``). Nothing is overwritten:
`new_version_path` always names a folder that does not exist yet. Which version is active is
recorded in ``active.json`` (with when it changed and the one before), so switching back is one
call; the app shows the versions and mirrors the active one into its classifier setting.
A folder whose name starts with a dot is a training run still staging (or one that was killed):
it is never listed, and `clean_staging` removes those that no process is writing any more.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import ModlensError
from models.model_folder import CONFIG_NAME, DEFAULT_MODEL_DIR, ModelError, load_config

DATA_DIR_ENV = "MODLENS_DATA_DIR"
VERSIONS_DIR = "models"
ACTIVE_NAME = "active.json"
TRAINABLE_DIR = "trainable"  # the fp16 PyTorch weights and tokenizer beside the int8 ONNX
DEFAULT_NAME = "shipped default"
STAGING_PREFIX = ".improve-"


class VersionError(ModlensError, RuntimeError):
    """A model version that cannot be listed, recorded or switched to."""


@dataclass(frozen=True)
class ModelVersion:
    name: str  # the folder's name, or DEFAULT_NAME for the shipped model
    path: Path
    labels: tuple[str, ...]
    created: float | None = None
    trainable: bool = False
    improve: dict[str, Any] = field(default_factory=dict)  # the summary `modlens improve` wrote
    problem: str | None = None  # why the folder cannot be loaded, when it cannot

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_NAME

    def describe(self) -> str:
        """One plain line: what it was trained on and how it scored on held-out decisions."""
        if self.problem:
            return f"cannot be used: {self.problem}"
        if not self.improve:
            return "the model modlens ships with" if self.is_default else "a model folder"
        rows = self.improve.get("rows", {})
        old, new = self.improve.get("old", {}), self.improve.get("new", {})
        text = (
            f"{rows.get('decisions_used', 0)} decisions, {rows.get('unlabeled', 0)} undecided "
            f"excerpts; held-out F1 {old.get('f1', 0):.3f} → {new.get('f1', 0):.3f}"
        )
        added = self.improve.get("new_categories") or []
        if added:
            text += "; new: " + ", ".join(added)
        return text


def data_dir() -> Path:
    folder = os.environ.get(DATA_DIR_ENV)
    if folder:
        return Path(folder)
    from platformdirs import user_data_dir

    return Path(user_data_dir("modlens", appauthor=False))


def trainable_dir(model_dir: str | os.PathLike[str] | None) -> Path | None:
    """The folder of trainable weights a model folder carries, or None."""
    folder = (Path(model_dir) if model_dir else DEFAULT_MODEL_DIR) / TRAINABLE_DIR
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    return None


def _version(name: str, path: Path) -> ModelVersion:
    try:
        _, config = load_config(path, verify=False)
    except ModelError as exc:
        return ModelVersion(name, path, (), problem=str(exc))
    improve = config.extra.get("improve") if isinstance(config.extra.get("improve"), dict) else {}
    created = improve.get("created") if improve else None
    if created is None:
        created = (path / CONFIG_NAME).stat().st_mtime
    return ModelVersion(
        name,
        path,
        config.labels,
        float(created),
        trainable_dir(path) is not None,
        improve or {},
    )


class ModelVersions:
    """The versions in one folder (default: <data folder>/models)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir() / VERSIONS_DIR

    def versions(self, include_default: bool = True) -> list[ModelVersion]:
        """The shipped default first, then every kept version, oldest first."""
        out = [_version(DEFAULT_NAME, DEFAULT_MODEL_DIR)] if include_default else []
        if self.root.is_dir():
            folders = sorted(
                p
                for p in self.root.iterdir()
                if p.is_dir() and not p.name.startswith(".") and (p / CONFIG_NAME).exists()
            )
            out += [_version(p.name, p) for p in folders]
        return out

    def new_version_path(self) -> Path:
        """A folder name for the next version; it does not exist yet."""
        self.root.mkdir(parents=True, exist_ok=True)
        taken = [p.name for p in self.root.iterdir()]
        number = 1 + max(
            (int(n[1:4]) for n in taken if n[:1] == "v" and n[1:4].isdigit()), default=0
        )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.root / f"v{number:03d}-{stamp}"
        while path.exists():  # two in one second
            number += 1
            path = self.root / f"v{number:03d}-{stamp}"
        return path

    def _read_active(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / ACTIVE_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def active_path(self) -> Path | None:
        """The recorded active version's folder; None for the shipped default."""
        name = self._read_active().get("active")
        if not isinstance(name, str):
            return None
        try:
            return self.resolve(name)
        except VersionError:
            return None

    def previous(self) -> str | None:
        value = self._read_active().get("previous")
        return value if isinstance(value, str) else None

    def name_of(self, model_dir: str | os.PathLike[str] | None) -> str | None:
        """The version name of a model folder (DEFAULT_NAME for the shipped one), or None."""
        if not model_dir:
            return DEFAULT_NAME
        path = Path(model_dir).resolve()
        if path == DEFAULT_MODEL_DIR.resolve():
            return DEFAULT_NAME
        if path.parent == self.root.resolve():
            return path.name
        return None

    def activate(self, name: str, previous: str | None = None) -> Path | None:
        """Record a version as active and return its folder (None for the shipped model).

        name: a version's name, DEFAULT_NAME, or the path of any model folder (one outside the
        versions, as Settings may name). previous: what was in use before (a name or a folder;
        default: the recorded active one), so `previous()` can switch back to it.
        VersionError when it is not a usable model."""
        path = self.resolve(name)
        if path is not None:
            try:
                load_config(path)
            except ModelError as exc:
                raise VersionError(f"model version {name} cannot be used: {exc}") from exc
        if previous is None:
            previous = self._read_active().get("active", DEFAULT_NAME)
        record = {"active": name, "previous": previous or DEFAULT_NAME, "changed": time.time()}
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / (ACTIVE_NAME + ".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.root / ACTIVE_NAME)
        return path

    def resolve(self, name: str) -> Path | None:
        """The folder a recorded name stands for (None: the shipped model); VersionError when
        there is none."""
        if not name or name == DEFAULT_NAME:
            return None
        candidate = Path(name)
        if candidate.is_absolute():
            if candidate.is_dir():
                return candidate
        elif not name.startswith(".") and "/" not in name and (self.root / name).is_dir():
            return self.root / name
        raise VersionError(f"there is no model version {name!r} in {self.root}")

    def staging_path(self) -> Path:
        """A dot-folder in the versions folder for a run to write into before it is kept."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{STAGING_PREFIX}{os.getpid()}-{time.time_ns()}"
        path.mkdir()
        return path

    def clean_staging(self) -> list[Path]:
        """Remove staging folders left by runs that were killed (their process has ended)."""
        removed = []
        if not self.root.is_dir():
            return removed
        for path in self.root.glob(STAGING_PREFIX + "*"):
            pid = path.name[len(STAGING_PREFIX) :].split("-")[0]
            if pid.isdigit() and _alive(int(pid)):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
