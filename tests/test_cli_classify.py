import json
import subprocess
import sys
from pathlib import Path

import pytest

from client.cli import main


def _run(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args], input=stdin, capture_output=True, timeout=120
    )


def test_json_output_has_one_object_per_argument_in_order(
    tiny_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["classify", "--model", str(tiny_model_dir), "--json", "gg", "", "kys"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["gg", "", "kys"]
    for row in rows:
        assert set(row) == {"text", "label", "toxic", "score", "scores", "language", "method"}
        assert row["label"] in row["scores"]
    assert rows[1]["label"] == "non_toxic" and rows[1]["toxic"] is False


def test_lines_from_standard_input_are_classified_even_when_not_utf8(
    tiny_model_dir: Path,
) -> None:
    stdin = b"hello there\n" + "caf\xe9 noob\n".encode("cp1252") + b"\n\xff\xfe\n"
    result = _run(["classify", "--model", str(tiny_model_dir), "--json"], stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(rows) == 4
    assert rows[0]["text"] == "hello there"
    assert rows[1]["text"].startswith("caf") and rows[1]["text"].endswith("noob")
    assert rows[2] == {**rows[2], "text": "", "label": "non_toxic", "toxic": False}
    # `-` reads standard input too, not the text "-"
    dash = _run(["classify", "--model", str(tiny_model_dir), "--json", "-"], b"gg\nwp\n")
    assert [json.loads(line)["text"] for line in dash.stdout.decode().splitlines()] == ["gg", "wp"]


def test_the_table_lists_every_excerpt_with_its_label(tiny_model_dir: Path) -> None:
    result = _run(
        [
            "classify",
            "--model",
            str(tiny_model_dir),
            "--color",
            "always",
            "gg wp",
            "you are an idiot",
        ]
    )
    assert result.returncode == 0
    out = result.stdout.decode()
    lines = out.splitlines()
    assert "label" in lines[0] and "P(toxic)" in lines[0]
    assert len(lines) == 3
    assert "gg wp" in lines[1] and "you are an idiot" in lines[2]
    assert "\033[" in out
    assert "of 2 excerpts flagged" in result.stderr.decode()


def test_a_missing_model_folder_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    result = _run(["classify", "--model", str(tmp_path / "missing"), "hello"])
    assert result.returncode == 2
    assert b"model folder not found" in result.stderr
    assert b"Traceback" not in result.stderr


def test_a_bad_threshold_is_a_clear_error(tiny_model_dir: Path) -> None:
    result = _run(["classify", "--model", str(tiny_model_dir), "--threshold", "3", "hi"])
    assert result.returncode == 2
    assert b"between 0 and 1" in result.stderr


def test_a_huge_paste_on_standard_input_streams_through(tiny_model_dir: Path) -> None:
    stdin = b"".join(f"message number {i} gg\n".encode() for i in range(3000))
    result = _run(["classify", "--model", str(tiny_model_dir), "--json"], stdin)
    assert result.returncode == 0
    rows = result.stdout.decode().splitlines()
    assert len(rows) == 3000
    assert json.loads(rows[-1])["text"] == "message number 2999 gg"


def test_json_says_language_and_method_and_the_table_says_not_checked(
    tiny_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    french = "tu es vraiment le pire joueur que j'ai jamais vu"
    args = ["classify", "--model", str(tiny_model_dir), "--threshold", "1.0"]
    assert main([*args, "--json", "gg wp", french, "иди нахуй, дебил"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["language"], r["method"]) for r in rows] == [
        ("en", "model"),
        ("fr", "not checked"),
        ("ru", "model"),
    ]
    assert rows[1]["toxic"] is False and rows[2]["toxic"] is True
    assert main([*args, "--color", "never", french]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "not checked" in table[1] and "non toxic" not in table[1]
