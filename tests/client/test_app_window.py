"""The real window: up in under 2 s from launch, readable at 200% scaling and fitting a laptop
screen there, and drawn on a real X server (Xvfb), each checked in a fresh process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.client.conftest import SHIPPED_MODEL, screenshot_folder

ROOT = Path(__file__).resolve().parents[2]


def run_child(
    args: list[str], env: dict[str, str], prefix: tuple[str, ...] = (), timeout: float = 120
) -> dict:
    result = subprocess.run(
        [*prefix, sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0 and lines, result.stdout + result.stderr
    return json.loads(lines[-1])


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(extra)
    return env


def model_for_pictures(tiny_model_dir: Path) -> str:
    """The shipped classifier when it is there (real highlights), else the tiny test model."""
    return "shipped" if (SHIPPED_MODEL / "model.onnx").exists() else str(tiny_model_dir)


def colours_in(path: Path) -> int:
    image = QImage(str(path))
    assert not image.isNull()
    seen = set()
    for y in range(0, image.height(), 7):
        for x in range(0, image.width(), 7):
            seen.add(image.pixel(x, y))
    return len(seen)


def test_the_window_is_up_in_under_two_seconds(tmp_path):
    env = child_env(QT_QPA_PLATFORM="offscreen")
    times = []
    for _ in range(3):
        began = time.perf_counter()
        run_child(["benchmarks/bench_gui.py", "--child-startup", str(tmp_path)], env)
        times.append(time.perf_counter() - began)
    print(f"\nwindow up after launch: {', '.join(f'{t:.2f}' for t in times)} s")
    # each time includes the child's own shutdown, so the window itself is up sooner still
    assert sorted(times)[1] < 2.0


def test_the_window_is_readable_at_200_percent(tiny_model_dir, tmp_path):
    out = screenshot_folder() / "text_200.png"
    env = child_env(QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2")
    result = run_child(
        [
            "-m",
            "tests.client.window_shot",
            str(out),
            model_for_pictures(tiny_model_dir),
            str(tmp_path),
            "grab",
        ],
        env,
    )
    assert result == {"rows": 5, "saved": True}
    image = QImage(str(out))
    # grab() at scale 2 gives twice the pixels of the 1280x800 window
    assert (image.width(), image.height()) == (2560, 1600)
    assert colours_in(out) > 20


def test_at_200_percent_the_window_fits_a_laptop_screen_and_shows_rows(tmp_path):
    """A 1920x1080 screen at 200% leaves 960x540: the window opens inside it, and the tables
    still show a useful number of rows."""
    screens = tmp_path / "screens.json"
    screen = {"name": "laptop", "x": 0, "y": 0, "width": 1920, "height": 1080}
    screens.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    env = child_env(QT_QPA_PLATFORM=f"offscreen:configfile={screens}", QT_SCALE_FACTOR="2")
    result = run_child(["-m", "tests.client.fit_child", str(tmp_path)], env)
    assert result["available"] == [960, 540]
    assert result["fits"], result
    assert result["rows"]["text"] >= 10, result
    assert result["rows"]["sessions"] >= 4, result


@pytest.mark.skipif(
    not (shutil.which("xvfb-run") and shutil.which("import")),
    reason="needs xvfb-run and ImageMagick: apt-get install xvfb xauth imagemagick",
)
def test_the_window_draws_on_a_real_x_server(tiny_model_dir, tmp_path):
    out = screenshot_folder() / "xvfb_window.png"
    env = child_env(QT_QPA_PLATFORM="xcb")
    env.pop("DISPLAY", None)
    result = run_child(
        [
            "-m",
            "tests.client.window_shot",
            str(out),
            model_for_pictures(tiny_model_dir),
            str(tmp_path),
            "x11",
        ],
        env,
        prefix=("xvfb-run", "-a", "-s", "-screen 0 1280x800x24"),
    )
    assert result["rows"] == 5 and result["saved"]
    assert colours_in(out) > 20


def test_the_qt_binding_keeps_its_references_to_none(qapp):
    """PySide6 6.12.0 under Python 3.11 dropped a reference to None on every void call, so the
    app aborted (none_dealloc) after a few thousand calls; pyproject pins it below 6.12."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    assert sys.getrefcount(None) - before > -100
