"""Fixtures for driving the real main window offscreen: a private database and settings file."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "weights" / "default"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
needs_shipped_model = pytest.mark.skipif(
    not (SHIPPED_MODEL / "model.onnx").exists(),
    reason="the shipped model is not in models/weights/default yet",
)


@pytest.fixture
def app_dirs(tmp_path, monkeypatch) -> Path:
    """Data and config folders of the app under tmp_path, so no test touches the user's own."""
    monkeypatch.setenv("MODLENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MODLENS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


def write_settings(folder: Path, **values) -> Path:
    path = folder / "config" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


@pytest.fixture
def open_window(qtbot, app_dirs):
    """open_window(**settings) -> a shown MainWindow whose classifier has finished loading."""
    from client.app import create_window

    windows = []

    def make(wait_for_model: bool = True, **settings):
        path = write_settings(app_dirs, **settings)
        window = create_window(app_dirs / "data" / "modlens.sqlite3", path)
        qtbot.addWidget(window)
        window.show()
        if wait_for_model:
            qtbot.waitUntil(
                lambda: (
                    window.classifier_service.classifier is not None
                    or window.classifier_service.error is not None
                ),
                timeout=60_000,
            )
            assert window.classifier_service.error is None, window.classifier_service.error
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.queue.shutdown(wait_ms=100)
        window.store.close()
        window.collector.stop()


@pytest.fixture(autouse=True)
def collect_qt_garbage_here():
    """After each test, collect its garbage on this (the GUI) thread, so no widget it left in a
    reference cycle is freed later from another test's scan thread (Qt aborts on that)."""
    yield
    gc.collect()


def screenshot_folder() -> Path:
    """docs/screenshots when MODLENS_SCREENSHOTS=1 (to refresh the committed pictures), else a
    temporary folder, so an ordinary test run leaves the working tree alone."""
    if os.environ.get("MODLENS_SCREENSHOTS"):
        folder = SCREENSHOTS
    else:
        import tempfile

        folder = Path(tempfile.gettempdir()) / "modlens-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(widget, name: str) -> Path:
    """Save what the widget shows to name.png in the screenshot folder."""
    path = screenshot_folder() / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path
