"""Hostile and damaged input for models/ and the command line: many-channel audio, model folders
whose config was changed, option values out of range, huge excerpts, a damaged Whisper cache and
a disk that refuses the write."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from models.classifier import MAX_EXCERPT_CHARS, Classifier
from models.errors import ModlensError, SettingError
from models.model_folder import CHECKSUM_KEY, ModelError, config_checksum, load_config

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        **kwargs,
    )


# --- many channels (PyAV's planar to_ndarray crashed with SIGSEGV on 8, 9 and 12) ----------


def tones(path: Path, channels: int, seconds: float = 1.0, rate: int = 16_000) -> Path:
    """A 16-bit WAV whose channel c is a sine of 220 + 50 c Hz."""
    t = np.arange(int(seconds * rate)) / rate
    data = np.stack([0.3 * np.sin(2 * np.pi * (220 + 50 * c) * t) for c in range(channels)], 1)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((data * 32767).astype("<i2").tobytes())
    return path


READ_EVERY_CHANNEL = """
import json, sys
import numpy as np
from models.audio import distinct_channels, probe, read_audio
path = sys.argv[1]
count = probe(path).channels
peaks = []
for channel in range(count):
    audio = read_audio(path, channel)
    peaks.append(float(np.argmax(np.abs(np.fft.rfft(audio)))) * 16000 / len(audio))
mixed = read_audio(path)
print(json.dumps({"channels": count, "distinct": distinct_channels(path), "peaks": peaks,
                  "mixed_seconds": len(mixed) / 16000}))
"""


@pytest.mark.parametrize("channels", [3, 8, 9, 12])
def test_files_with_many_channels_decode_every_channel(tmp_path, channels):
    path = tones(tmp_path / f"ch{channels}.wav", channels)
    # a child process, so that a segmentation fault fails this test instead of the whole run
    done = subprocess.run(
        [sys.executable, "-c", READ_EVERY_CHANNEL, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-1500:]}"
    result = json.loads(done.stdout)
    assert result["channels"] == result["distinct"] == channels
    assert result["peaks"] == pytest.approx([220 + 50 * c for c in range(channels)], abs=2)
    assert result["mixed_seconds"] == pytest.approx(1.0, abs=0.01)


# --- model folders: every value checked, config.json checksummed ----------------------------


def _copy(model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model, tmp_path / "model"))


def _edit(folder: Path, change, reseal: bool) -> None:
    """Change config.json; reseal=True recomputes its checksum, as a careless tool might."""
    path = folder / "config.json"
    data = json.loads(path.read_text())
    change(data)
    if reseal:
        # NaN cannot be sealed; the value check refuses it before the checksum anyway
        with contextlib.suppress(ValueError):
            data[CHECKSUM_KEY] = config_checksum(data)
    path.write_text(json.dumps(data))


def _swap_labels(data):
    data["labels"][1], data["labels"][2] = data["labels"][2], data["labels"][1]


TAMPERING = {
    "swapped labels": (_swap_labels, "checksum does not match"),
    "threshold nan": (lambda d: d.update(threshold=float("nan")), "threshold must be between"),
    "threshold -1": (lambda d: d.update(threshold=-1), "threshold must be between 0 and 1"),
    "threshold 5": (lambda d: d.update(threshold=5), "threshold must be between 0 and 1"),
    "threshold text": (lambda d: d.update(threshold="high"), "threshold must be a number"),
    "category threshold 2": (
        lambda d: d["category_thresholds"].update(insult=2),
        r"category_thresholds\.insult must be between",
    ),
    "unknown category": (
        lambda d: d["category_thresholds"].update(spam=0.5),
        "unknown categories",
    ),
    "negative stride": (lambda d: d.update(stride=-4), "stride must be between 0 and 512"),
    "fractional stride": (lambda d: d.update(stride=3.5), "stride must be a whole number"),
    "max_length 1": (lambda d: d.update(max_length=1), "max_length must be between 8 and 512"),
    "max_length huge": (lambda d: d.update(max_length=10**6), "max_length must be between"),
    "max_length odd type": (lambda d: d.update(max_length="128"), "max_length must be a whole"),
    "no files section": (lambda d: d.pop("files"), "no files section"),
    "no tokenizer checksum": (
        lambda d: d["files"].pop("tokenizer.json"),
        "no sha256 and bytes for tokenizer.json",
    ),
    "wrong format": (lambda d: d.update(format="something/9"), "format is"),
}


# swapped labels that are resealed are another valid model; only the checksum can catch a swap
@pytest.mark.parametrize(
    ("case", "reseal"),
    [(case, False) for case in sorted(TAMPERING)]
    + [(case, True) for case in sorted(TAMPERING) if case != "swapped labels"],
)
def test_a_changed_or_unsound_config_is_refused_with_a_clear_message(
    tiny_model_dir, tmp_path, case, reseal
):
    change, message = TAMPERING[case]
    folder = _copy(tiny_model_dir, tmp_path)
    _edit(folder, change, reseal)
    if not reseal and case != "swapped labels":
        # an edit is caught by the checksum when its value is valid, by name when it is not
        message = f"{message}|checksum does not match"
    with pytest.raises(ModelError, match=message):
        Classifier(folder)


def test_a_config_without_its_own_checksum_is_refused(tiny_model_dir, tmp_path):
    folder = _copy(tiny_model_dir, tmp_path)
    _edit(folder, lambda d: d.pop(CHECKSUM_KEY), reseal=False)
    with pytest.raises(ModelError, match="has no checksum of its own"):
        load_config(folder)


def test_a_model_file_of_the_right_size_but_other_bytes_is_refused(tiny_model_dir, tmp_path):
    folder = _copy(tiny_model_dir, tmp_path)
    data = bytearray((folder / "tokenizer.json").read_bytes())
    data[10] ^= 0x01
    (folder / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"tokenizer\.json is damaged"):
        Classifier(folder)


def test_the_shipped_and_the_tiny_model_still_load(tiny_model_dir):
    for folder in (None, tiny_model_dir):
        path, config = load_config(folder)
        assert config.labels[0] == "non_toxic"
        data = json.loads((path / "config.json").read_text())
        assert data[CHECKSUM_KEY] == config_checksum(data)


def test_the_cli_names_a_damaged_config_without_a_traceback(tiny_model_dir, tmp_path):
    folder = _copy(tiny_model_dir, tmp_path)
    _edit(folder, _swap_labels, reseal=False)
    done = _run(["classify", "--model", str(folder), "hello"])
    assert done.returncode == 2
    assert "checksum does not match" in done.stderr and "Traceback" not in done.stderr


# --- option values out of range -------------------------------------------------------------


def test_thread_counts_out_of_range_are_refused_before_anything_loads(tiny_model_dir):
    for bad in (0, -1, 100_000):
        with pytest.raises(SettingError, match="threads must be a whole number from 1 to"):
            Classifier(tiny_model_dir, threads=bad)
    assert Classifier(tiny_model_dir, threads=1).classify_one("gg").label
    began = time.monotonic()
    done = _run(["classify", "--model", str(tiny_model_dir), "--threads", "100000", "gg"])
    assert done.returncode == 2
    assert "is not a thread count" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - began < 30
    done = _run(["scan", "x.wav", "--threads", "100000"])
    assert done.returncode == 2 and "is not a thread count" in done.stderr


def test_a_beam_size_of_zero_is_a_message_not_a_traceback(tmp_path):
    from models.transcriber import Transcriber

    with pytest.raises(SettingError, match="beam size must be from 1"):
        Transcriber("tiny.en", beam_size=0)
    for bad in ("0", "-3", "1000", "two"):
        done = _run(["scan", str(tmp_path / "x.wav"), "--whisper", "tiny.en", "--beam-size", bad])
        assert done.returncode == 2, done.stderr
        assert "is not a beam size" in done.stderr and "Traceback" not in done.stderr


# --- a huge excerpt ---------------------------------------------------------------------------


def test_a_ten_megabyte_line_is_classified_on_its_start_quickly_and_says_so(tiny_model_dir):
    classifier = Classifier(tiny_model_dir, threads=1)
    line = "you idiot " * 1_000_000
    began = time.monotonic()
    verdict = classifier.classify([line, "gg"])
    assert time.monotonic() - began < 20  # it took about ten minutes and 1.6 GB
    assert verdict[0].unread_chars == len(line) - MAX_EXCERPT_CHARS
    assert verdict[1].unread_chars == 0
    assert verdict[0].to_json()["unread_chars"] == len(line) - MAX_EXCERPT_CHARS
    assert "unread_chars" not in verdict[1].to_json()
    done = _run(["classify", "--model", str(tiny_model_dir), "--json"], input=line + "\ngg\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(r) for r in done.stdout.splitlines()]
    assert rows[0]["text"] == line and rows[0]["unread_chars"] == len(line) - MAX_EXCERPT_CHARS
    assert "excerpt 1 is too long" in done.stderr


# --- the Whisper base cache -------------------------------------------------------------------


def test_a_same_size_damaged_whisper_base_is_found_and_rebuilt(tmp_path, monkeypatch):
    import models.whisper_models as wm

    hashed = []
    real = wm.sha256_file
    monkeypatch.setattr(wm, "sha256_file", lambda p: hashed.append(p) or real(p))
    folder = wm.assemble_base(tmp_path / "whisper-base")
    model = folder / "model.bin"
    sidecar = json.loads((folder / wm.STAMP_NAME).read_text())
    assert sidecar["bytes"] == model.stat().st_size == wm.BASE_BYTES
    assert sidecar["sha256"] == wm.BASE_SHA256
    hashed.clear()
    assert wm.assemble_base(tmp_path / "whisper-base") == folder
    assert hashed == [], "an unchanged copy is not hashed again"
    with open(model, "r+b") as handle:  # same size, other bytes, a new mtime
        handle.seek(5000)
        original = handle.read(16)
        handle.seek(5000)
        handle.write(bytes(b ^ 0xFF for b in original))
    os.utime(model, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    wm.assemble_base(tmp_path / "whisper-base")  # no verify_checksum: the sidecar tells
    with open(model, "rb") as handle:
        handle.seek(5000)
        assert handle.read(16) == original, "the damaged copy was trusted"


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write is then an OSError (EFBIG)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000_000, 20_000_000))
from client.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_whisper_base_that_cannot_be_written_is_a_message(tmp_path):
    from tests.voice_fixtures import write_wav

    wav = write_wav(tmp_path / "a.wav", np.zeros(16_000, dtype=np.float32))
    env = {**os.environ, "MODLENS_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, "scan", str(wav), "--whisper", "base"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Whisper base could not be assembled" in done.stderr
    assert "Traceback" not in done.stderr
    leftovers = [p.name for p in (tmp_path / "cache").iterdir()]
    assert leftovers == [], "a half-written copy was left behind"


def test_setting_errors_are_modlens_errors():
    assert issubclass(SettingError, ModlensError) and issubclass(SettingError, ValueError)
