"""Run in a child process by the screenshot tests: open the app on a checked chat log and save a
picture of it, either with QWidget.grab() or, under X, of the whole screen with ImageMagick.

    python -m tests.client.window_shot OUT.png MODEL_DIR|shipped DATA_DIR grab|x11
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.client.test_app_text import CHAT


def main(out: str, model_dir: str, data_dir: str, how: str) -> int:
    from PySide6.QtWidgets import QApplication

    from client.app import create_app, create_window

    app = create_app()
    folder = Path(data_dir)
    settings = folder / "settings.json"
    # "shipped": the real classifier; otherwise a test model with every message flagged
    values = {"moderator": "ana"}
    if model_dir != "shipped":
        values.update(model_dir=model_dir, thresholds={"toxic": 0.0})
    settings.write_text(json.dumps(values), encoding="utf-8")
    window = create_window(folder / "db.sqlite3", settings)
    window.resize(1280, 800)
    window.show()
    deadline = time.monotonic() + 60
    while window.classifier_service.classifier is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    view = window.text_view
    window.tabs.setCurrentWidget(view)
    view.editor.setPlainText(CHAT)
    view.check()
    while view.review.table.model.rowCount() == 0 and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    view.review.table.next_flagged()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    if how == "grab":
        ok = window.grab().save(out)
    else:
        ok = subprocess.run(["import", "-window", "root", out], check=False).returncode == 0
    print(json.dumps({"rows": view.review.table.model.rowCount(), "saved": ok}), flush=True)
    window.queue.shutdown(100)
    window.close()
    QApplication.processEvents()
    window.store.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:5]))
