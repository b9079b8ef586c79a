"""One app per database, and the app closes cleanly on Ctrl+C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_app_on_the_same_database_is_refused_with_a_message(
    qtbot, open_window, tiny_model_dir, app_dirs, monkeypatch
):
    from client import app
    from client.store import DatabaseInUse

    first = open_window(model_dir=str(tiny_model_dir))
    db = app_dirs / "data" / "modlens.sqlite3"
    with pytest.raises(
        DatabaseInUse, match=f"already open on this database \\(process {os.getpid()}"
    ):
        app.create_window(db, app_dirs / "config" / "settings.json")
    # the same through main(), as a second launch from the desktop menu: a message, exit 1
    shown = []
    monkeypatch.setattr(
        "PySide6.QtWidgets.QMessageBox.critical", lambda *args: shown.append(args[1:])
    )
    assert app.main([]) == 1
    ((title, text),) = shown
    assert title == "modlens cannot start" and "already open on this database" in text
    # the first app is untouched and keeps writing
    session = first.store.create_session("text", "still mine")
    assert first.store.session(session.id).title == "still mine"
    first.queue.shutdown(wait_ms=100)
    first.store.close()
    again = app.create_window(db, app_dirs / "config" / "settings.json", load_model=False)
    qtbot.addWidget(again)
    assert again.store.session(session.id) is not None
    again.store.close()


def test_ctrl_c_in_the_terminal_closes_the_app_cleanly(tiny_model_dir, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"model_dir": str(tiny_model_dir)}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        MODLENS_DATA_DIR=str(tmp_path / "data"),
        MODLENS_CONFIG_DIR=str(config),
        MODLENS_REPORT_STARTUP="1",
    )
    child = subprocess.Popen(
        [sys.executable, "-c", "from client.app import main; raise SystemExit(main())"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout.readline().startswith("window up"), child.stderr.read()
        time.sleep(1.0)  # the classifier loads meanwhile
        child.send_signal(signal.SIGINT)
        code = child.wait(15)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    err = child.stderr.read()
    assert code == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    # closed cleanly: the database lock is free and the database opens
    from client.store import Store

    Store(tmp_path / "data" / "modlens.sqlite3", exclusive=True).close()
