"""The command line with hostile or damaged input: escape sequences in chat and in file names,
files cut short, and files with many channels beside ordinary ones."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from client.cli import main
from client.terminal import clean
from tests.voice_fixtures import CLEAN, RUDE, encode, layout, needs_espeak, speech, write_wav

ROOT = Path(__file__).resolve().parents[1]
# what a hostile line can carry: erase the row above and move up, retitle the window, a
# hyperlink, an 8-bit CSI, a bell, a right-to-left override, a bare carriage return
HOSTILE = (
    "gg\x1b[1A\x1b[2K\x1b]0;owned\x07\x1b]8;;http://x.invalid\x1b\\link\x1b]8;;\x1b\\"
    "\x9b31m\x07\u202eti dirty\r idiot"
)
OUR_COLOURS = re.compile(r"\x1b\[(?:\d+)m")


def test_clean_removes_escape_sequences_controls_and_bidi_overrides():
    shown = clean(HOSTILE)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown)
    assert shown.startswith("gglink") and shown.endswith("idiot")
    assert "owned" not in shown  # the window title never shows, nor runs
    # an unterminated string sequence loses only its introducer, not the rest of the line
    assert clean("a\x1b]you idiot") == "ayou idiot"
    assert clean("tab\there\nnext") == "tab here next"
    assert clean("nul\x00") == "nul\ufffd"


def test_classify_prints_no_escape_sequence_from_the_text_and_json_stays_exact(
    tiny_model_dir, capsys
):
    model = ["--model", str(tiny_model_dir), "--threshold", "0"]
    assert main(["classify", *model, "--color", "always", HOSTILE, "fine"]) == 0
    out, _ = capsys.readouterr()
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", OUR_COLOURS.sub("", out))
    assert "idiot" in out
    assert main(["classify", *model, "--color", "never", HOSTILE]) == 0
    out, _ = capsys.readouterr()
    assert "\x1b" not in out and "\r" not in out
    assert main(["classify", *model, "--json", HOSTILE]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out)["text"] == HOSTILE


@needs_espeak
def test_a_hostile_file_name_reaches_the_terminal_cleaned(tmp_path, tiny_model_dir, capsys):
    name = "p\x1b[2K\x1b]0;t\x07\u202ela.wav"
    wav = write_wav(tmp_path / name, layout((0.5, speech(RUDE))))
    broken = tmp_path / "b\x1b[31mroken\x07.mp3"
    broken.write_bytes(b"ID3" + b"\x00" * 100)
    options = ["--whisper", "tiny.en", "--model", str(tiny_model_dir), "--threshold", "0"]
    code = main(["scan", str(wav), str(broken), *options, "--color", "never"])
    out, err = capsys.readouterr()
    assert code == 1
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", out + err)
    assert "p" in out and "idiot" in out.lower()
    assert "broken\ufffd.mp3" in err  # the bell shows as a placeholder, the colour is gone
    code = main(["scan", str(wav), *options, "--json"])
    out, _ = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all(r["source"] == str(wav) for r in records)


# --- files cut short ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """(whole, cut) pairs of WAV, FLAC and MP3 speech files; each cut keeps 45% of the bytes."""
    folder = tmp_path_factory.mktemp("truncated")
    wav = write_wav(folder / "ana.wav", layout((0.3, speech(RUDE)), (4.0, speech(CLEAN))))
    pairs = {}
    for codec, ext in (("pcm_s16le", "wav"), ("flac", "flac"), ("mp3", "mp3")):
        whole = wav if ext == "wav" else encode(wav, folder / f"ana.{ext}", codec)
        data = whole.read_bytes()
        cut = folder / f"ana-cut.{ext}"
        cut.write_bytes(data[: int(len(data) * 0.45)])
        pairs[ext] = (whole, cut)
    return pairs


@needs_espeak
@pytest.mark.parametrize("ext", ["wav", "flac", "mp3"])
def test_a_truncated_file_is_reported_as_incomplete_with_its_own_exit_code(
    truncated, tiny_model_dir, tmp_path, capsys, ext
):
    from models.audio import probe

    whole, cut = truncated[ext]
    declared = probe(cut).duration
    assert declared == pytest.approx(probe(whole).duration, abs=0.1), "the header keeps it"
    report = tmp_path / "report.json"
    options = ["--whisper", "tiny.en", "--model", str(tiny_model_dir), "--all"]
    code = main(["scan", str(cut), *options, "--report", str(report), "--color", "never"])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert "warning: ana-cut: only" in err and f"of the {declared:.1f} s" in err
    assert "INCOMPLETE" in err and "could not be decoded" in err
    assert "100%" not in err, "the progress must not claim the whole file"
    assert out.strip(), "what could be decoded is still listed"
    source = json.loads(report.read_text())["sources"][0]
    assert source["declared_duration_s"] == pytest.approx(declared, abs=0.01)
    assert source["duration_s"] < declared - 1.0
    assert source["complete"] is False and source["warnings"]
    # the whole file: exit 0, no warning
    code = main(["scan", str(whole), *options, "--color", "never"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "INCOMPLETE" not in err and "warning" not in err


def test_scan_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    out, _ = capsys.readouterr()
    assert "exit status:" in out
    assert re.search(r"^\s+3\s+every file was scanned, but one decoded shorter", out, re.M)


# --- many channels beside an ordinary file ---------------------------------------------------


@needs_espeak
def test_scanning_8_9_and_12_channel_files_keeps_every_files_results(tmp_path, tiny_model_dir):
    voice = layout((0.3, speech(RUDE)))
    quiet = np.zeros_like(voice)
    files = [write_wav(tmp_path / "solo.wav", voice)]
    for count in (8, 9, 12):
        # the voice on the last channel, the others silent
        files.append(write_wav(tmp_path / f"ch{count}.wav", *([quiet] * (count - 1)), voice))
    options = ["--whisper", "tiny.en", "--model", str(tiny_model_dir), "--threshold", "0"]
    # a child process, so that a crash in the decoder fails the test instead of the run
    done = subprocess.run(
        [sys.executable, "-m", "client.cli", "scan", *map(str, files), *options, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    speakers = {json.loads(line)["speaker"] for line in done.stdout.splitlines()}
    assert speakers == {"solo", "ch8 ch8", "ch9 ch9", "ch12 ch12"}
