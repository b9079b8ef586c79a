"""A store file as an older modlens left it, for the migration tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from client import store as store_module


def old_database(path: Path, version: int, *inserts: str) -> Path:
    """The database at schema `version` (its first `version` migrations, applied the way the
    store applies them), holding the rows the INSERT statements add."""
    db = sqlite3.connect(path)
    for script in store_module.MIGRATIONS[:version]:
        for statement in store_module._statements(script):
            db.execute(statement)
    for insert in inserts:
        db.execute(insert)
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()
    return path
