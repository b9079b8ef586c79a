"""Start the desktop app: the QApplication, the store and settings, and the main window.

The window is shown before any model is touched; the classifier loads on the thread pool
after the first paint and Whisper loads with the first scan, so start-up stays well under 2 s.

One app per database: a second one on the same database is told which process has it and
exits (client.store.DatabaseLock). Ctrl+C in the terminal closes the window as Quit does.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

STARTUP_ENV = "MODLENS_REPORT_STARTUP"  # set to print the time until the window is painted
EXIT_WAIT_S = 10.0  # how long a closing app waits for a scan step to finish
SIGNAL_POLL_MS = 200  # how often Qt's loop lets Python run its signal handlers


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

    Raises client.store.StoreError when the database cannot be opened, and its subclass
    DatabaseInUse when another modlens has it open.
    """
    from client.main_window import MainWindow
    from client.services import StoreService
    from client.settings import decision_labels, load_settings
    from client.store import Store
    from models.taxonomy import DEFAULT_CATEGORIES

    store = Store(db_path, exclusive=True)
    try:
        # before anything offers unfinished files: one that crashed the scan twice is failed
        crashed = StoreService(store).fail_crash_loops()
        settings, problem = load_settings(settings_path)
        window = MainWindow(
            store,
            settings,
            Path(settings_path) if settings_path else None,
            load_model=load_model,
        )
    except BaseException:
        store.close()
        raise

    def labels() -> tuple[str, ...]:
        classifier = window.classifier_service.classifier
        model = classifier.labels if classifier is not None else DEFAULT_CATEGORIES
        return decision_labels(model, window.settings)

    store.set_labels(labels)  # the loaded model's taxonomy and the studio's categories
    if problem:
        window.show_message(problem)
    if crashed:
        names = ", ".join(Path(t.path).name for t in crashed)
        window.show_message(f"Not scanned again: {names} (the scan crashed twice; not retried).")
    return window


def quit_on_interrupt(window) -> object:
    """Ctrl+C (SIGINT) and SIGTERM close the window cleanly, as Quit does.

    Qt's event loop runs in C++, where Python cannot run a signal handler; a timer hands
    control back to Python every SIGNAL_POLL_MS so the handler runs. Returns the timer.
    """
    from PySide6.QtCore import QTimer

    def close(signum, frame) -> None:
        window.close()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    signal.signal(signal.SIGINT, close)
    signal.signal(signal.SIGTERM, close)
    timer = QTimer(window)
    timer.setInterval(SIGNAL_POLL_MS)
    timer.timeout.connect(lambda: None)
    timer.start()
    return timer


def main(argv: Sequence[str] | None = None) -> int:
    began = time.perf_counter()
    app = create_app(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from client.store import StoreError

    try:
        window = create_window()
    except StoreError as exc:
        print(f"modlens: {exc}", file=sys.stderr)
        QMessageBox.critical(None, "modlens cannot start", str(exc))
        return 1
    quit_on_interrupt(window)
    window.show()
    if os.environ.get(STARTUP_ENV):
        QTimer.singleShot(
            0, lambda: print(f"window up in {time.perf_counter() - began:.3f} s", flush=True)
        )
    code = app.exec()
    # the window's close told the scan thread to stop; a thread still inside Whisper or ONNX
    # Runtime while Python tears down crashed the process (a segmentation fault at exit when
    # the window was closed 2.5-3 s after a file was opened): it gets EXIT_WAIT_S to finish
    # its step, and if it is still busy the process leaves without tearing down what it uses
    stopped = window.queue.stopped(EXIT_WAIT_S)
    window.store.close()
    if not stopped:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
