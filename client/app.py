"""Start the desktop app: the QApplication, the store and settings, and the main window.

The window is shown before any model is touched; the classifier loads on the thread pool
after the first paint and Whisper loads with the first scan, so start-up stays well under 2 s.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

STARTUP_ENV = "MODLENS_REPORT_STARTUP"  # set to print the time until the window is painted


def create_app(argv: Sequence[str] | None = None):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("modlens")
    app.setOrganizationName("modlens")
    app.setApplicationDisplayName("modlens")
    return app


def create_window(
    db_path: str | os.PathLike[str] | None = None,
    settings_path: str | os.PathLike[str] | None = None,
    load_model: bool = True,
):
    """The main window over the store at db_path (default: the user's data folder).

    Raises client.store.StoreError when the database cannot be opened.
    """
    from client.main_window import MainWindow
    from client.settings import load_settings
    from client.store import Store

    store = Store(db_path)
    settings, problem = load_settings(settings_path)
    window = MainWindow(
        store,
        settings,
        Path(settings_path) if settings_path else None,
        load_model=load_model,
    )
    if problem:
        window.show_message(problem)
    return window


def main(argv: Sequence[str] | None = None) -> int:
    began = time.perf_counter()
    app = create_app(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from client.store import StoreError

    try:
        window = create_window()
    except StoreError as exc:
        QMessageBox.critical(None, "modlens cannot start", str(exc))
        return 1
    window.show()
    if os.environ.get(STARTUP_ENV):
        QTimer.singleShot(
            0, lambda: print(f"window up in {time.perf_counter() - began:.3f} s", flush=True)
        )
    code = app.exec()
    window.store.close()
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
