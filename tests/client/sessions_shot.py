"""Run in a child process by the screenshot test: open the app on a two-speaker session (a lane
per player on the timeline), filter the transcript, then show the Players tab, and save a picture
of each, with QWidget.grab() or, under X, of the whole screen with ImageMagick.

    python -m tests.client.sessions_shot OUT_PREFIX MODEL_DIR|shipped DATA_DIR grab|x11

writes OUT_PREFIX_lanes.png, OUT_PREFIX_filters.png and OUT_PREFIX_players.png.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def main(prefix: str, model_dir: str, data_dir: str, how: str) -> int:
    from PySide6.QtWidgets import QApplication

    from client.app import create_app, create_window
    from client.store import Store
    from client.widgets.excerpt_table import FLAGGED
    from tests.client.test_sessions_screen import add_match

    app = create_app()
    folder = Path(data_dir)
    settings = folder / "settings.json"
    values = {"moderator": "ana"}
    if model_dir != "shipped":
        values["model_dir"] = model_dir
    settings.write_text(json.dumps(values), encoding="utf-8")
    db = folder / "db.sqlite3"
    store = Store(db)
    session_id, _ = add_match(store, folder / "audio", title="ranked match 7")
    rows = {e.text: e for e in store.excerpts(session_id)}
    store.decide(rows["damn this lag"].id, "dismiss", note="lag, not abuse")
    store.decide(rows["shut up you idiot"].id, "confirm")
    store.close()

    window = create_window(db, settings)
    window.resize(1280, 800)
    window.move(0, 0)  # the whole window on the 1280x800 screen (Xvfb has no window manager)
    window.show()
    deadline = time.monotonic() + 60
    while window.classifier_service.classifier is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    view = window.sessions_view
    window.tabs.setCurrentWidget(view)
    view.refresh_sessions(select=session_id)
    view.review.table.select_excerpt(rows["you are a useless idiot"].id)

    def settle() -> None:
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)

    def save(name: str) -> bool:
        settle()
        out = f"{prefix}_{name}.png"
        if how == "grab":
            return window.grab().save(out)
        return subprocess.run(["import", "-window", "root", out], check=False).returncode == 0

    saved = [save("lanes")]
    view.review.table.set_filter(FLAGGED, state="unreviewed", speaker="anna")
    saved.append(save("filters"))
    view.tabs.setCurrentWidget(view.player_summary)
    saved.append(save("players"))
    result = {
        "lanes": view.timeline.lanes,
        "players": [s.player for s in view.player_summary.stats],
        "saved": all(saved),
    }
    print(json.dumps(result), flush=True)
    # Whisper loads on the scan thread once the classifier is ready; leaving while it is still
    # in native code crashes the interpreter's exit, so let it finish first
    window.queue.warmed.wait(60)
    window.queue.shutdown(100)
    window.close()
    QApplication.processEvents()
    window.store.close()
    return 0 if all(saved) else 1


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:5]))
