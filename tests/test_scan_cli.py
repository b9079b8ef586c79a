import json

import pytest

from client.cli import main
from tests.voice_fixtures import CLEAN, RUDE, layout, needs_espeak, speech, write_wav

pytestmark = needs_espeak


def _seconds(row: str) -> float:
    minutes, seconds = row.split()[0].split(":")
    return int(minutes) * 60 + float(seconds)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    anna = write_wav(folder / "anna.wav", layout((1.0, speech(RUDE)), (5.0, speech(CLEAN))))
    (folder / "broken.mp3").write_bytes(b"ID3" + b"\x00" * 200)
    return folder, anna


def test_scan_lists_every_excerpt_with_time_and_speaker_and_writes_a_report(
    recordings, tiny_model_dir, capsys
):
    folder, anna = recordings
    report = folder / "report.json"
    args = ["scan", str(anna), "--whisper", "tiny.en", "--model", str(tiny_model_dir)]
    code = main([*args, "--all", "--report", str(report), "--color", "never"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["time", "speaker", "label"]
    assert _seconds(lines[1]) == pytest.approx(1.0, abs=0.5)
    assert "anna" in lines[1] and "idiot" in lines[1].lower()
    assert any(
        _seconds(line) == pytest.approx(5.0, abs=0.5) and "round" in line for line in lines[1:]
    )
    assert "[1/1] anna" in err and "100%" in err  # the progress bar, on standard error
    assert "report written" in err
    data = json.loads(report.read_text())
    assert data["excerpts"] == len(lines) - 1


def test_one_bad_file_is_named_the_others_are_scanned_and_the_exit_is_non_zero(
    recordings, tiny_model_dir, capsys
):
    folder, anna = recordings
    missing = folder / "gone.wav"
    options = ["--whisper", "tiny.en", "--model", str(tiny_model_dir), "--threshold", "0"]
    code = main(["scan", str(folder / "broken.mp3"), str(missing), str(anna), "--json", *options])
    out, err = capsys.readouterr()
    assert code == 1
    assert "broken.mp3" in err and "gone.wav does not exist" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all(r["speaker"] == "anna" and r["flagged"] for r in records)


def test_scan_refuses_an_unknown_report_type_before_any_work(recordings, capsys):
    folder, anna = recordings
    assert main(["scan", str(anna), "--report", str(folder / "out.pdf")]) == 2
    assert "Unknown report type '.pdf'" in capsys.readouterr().err


def test_scan_names_a_missing_whisper_model(recordings, capsys, tmp_path):
    _, anna = recordings
    assert main(["scan", str(anna), "--whisper", str(tmp_path / "nowhere")]) == 2
    assert "Whisper model" in capsys.readouterr().err
