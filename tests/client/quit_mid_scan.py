"""Run by test_quit_mid_scan: the app opened on argv[1], a recording; the window is closed one
second after the scan of it starts (Whisper busy), and main()'s exit code is printed."""

from __future__ import annotations

import sys

import client.app as app_module

real_create_window = app_module.create_window


def create_window(*args, **kwargs):
    from PySide6.QtCore import QTimer

    window = real_create_window(*args, **kwargs)
    store = window.store

    def close_once_scanning() -> None:
        tracks = [t for s in store.sessions() for t in store.tracks(s.id)]
        if tracks and tracks[0].status == "scanning":
            QTimer.singleShot(1000, window.close)
        else:
            QTimer.singleShot(50, close_once_scanning)

    QTimer.singleShot(0, lambda: window.sessions_view.open_files([sys.argv[1]]))
    QTimer.singleShot(100, close_once_scanning)
    return window


app_module.create_window = create_window
code = app_module.main(["modlens"])
print(f"main returned {code}", flush=True)
raise SystemExit(code)
