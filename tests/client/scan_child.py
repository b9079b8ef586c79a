"""Run in a child process by test_app_killed: decide on a chat line, queue two recordings, say
when the first is scanned, and keep scanning the second until the parent kills the process.

    python -m tests.client.scan_child DATA_DIR MODEL_DIR FIRST.wav SECOND.wav
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.client.test_app_text import CHAT


def main(data_dir: str, model_dir: str, first: str, second: str) -> None:
    from client.app import create_app, create_window

    app = create_app()
    folder = Path(data_dir)
    settings = folder / "settings.json"
    settings.write_text(json.dumps({"model_dir": model_dir, "moderator": "ana"}), "utf-8")
    window = create_window(folder / "db.sqlite3", settings)
    window.show()
    while not window.queue.warmed.is_set():
        app.processEvents()
        time.sleep(0.01)
    view = window.text_view
    view.editor.setPlainText(CHAT)
    view.check()
    while view.review.table.model.rowCount() == 0:
        app.processEvents()
        time.sleep(0.01)
    excerpt = view.review.table.model.excerpts()[1]
    view.review.table.select_excerpt(excerpt.id)
    view.review.panel.note.setText("kept after a kill")  # typed in the panel, as a moderator does
    view.review.decide("relabel", "threat", "kept after a kill")

    def first_done(track_id: int, _stored) -> None:
        print(json.dumps({"first": track_id, "excerpt": excerpt.id}), flush=True)

    window.queue.done.connect(first_done)
    window.sessions_view.open_files([first, second])
    app.exec()


if __name__ == "__main__":
    main(*sys.argv[1:5])
