"""Run in a child process by the scaling test: open the window the way the app does, on whatever
screen Qt was given, with a session of 40 excerpts, and print how it fits as JSON.

    python -m tests.client.fit_child DATA_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def visible_rows(table) -> int:
    view = table.view
    height = view.viewport().height()
    rows = 0
    for row in range(table.proxy.rowCount()):
        rect = view.visualRect(table.proxy.index(row, 0))
        if rect.top() >= 0 and rect.bottom() <= height:
            rows += 1
    return rows


def main(data_dir: str) -> int:
    from PySide6.QtWidgets import QApplication

    from client.app import create_app, create_window
    from models.classifier import Verdict
    from models.excerpts import Excerpt

    app = create_app()
    folder = Path(data_dir)
    settings = folder / "settings.json"
    settings.write_text(json.dumps({"model_dir": str(folder / "no-model")}), encoding="utf-8")
    window = create_window(folder / "db.sqlite3", settings)
    window.show()
    store = window.store
    session = store.create_session("files", "match")
    track = store.add_track(session.id, folder / "match.wav")
    excerpts = [Excerpt(f"line {i}", 0, 6, "ana", i * 2.0, i * 2.0 + 1) for i in range(40)]
    verdicts = [Verdict("insult", True, 0.9, {"non_toxic": 0.1, "insult": 0.9})] * 40
    store.finish_track(track.id, excerpts, verdicts, duration=90.0)
    window.sessions_view.refresh_sessions(select=session.id)
    window.text_view.review.load_session(session.id)
    for _ in range(20):
        app.processEvents()
    available = window.screen().availableGeometry()
    frame = window.frameGeometry()
    result = {
        "available": [available.width(), available.height()],
        "window": [frame.width(), frame.height()],
        "fits": available.contains(frame),
        "rows": {},
    }
    for name, view in (("sessions", window.sessions_view), ("text", window.text_view)):
        window.tabs.setCurrentWidget(view)
        for _ in range(20):
            app.processEvents()
        result["rows"][name] = visible_rows(view.review.table)
    print(json.dumps(result), flush=True)
    window.queue.shutdown(100)
    window.close()
    QApplication.processEvents()
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
