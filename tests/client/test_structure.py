"""Structure that keeps the store safe: views write only through client.services."""

from __future__ import annotations

import ast
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "client"
# every Store method that writes to the database
WRITES = {
    "create_session", "rename_session", "delete_session", "discard_session", "add_track",
    "claim_track", "heartbeat", "release_track", "crashed_scans", "close_interrupted_live",
    "set_track_status", "restart_track", "cancel_track", "add_excerpts", "finish_track",
    "decide", "undo", "export_training", "transaction", "_transaction",
}  # fmt: skip


def direct_writes(path: Path) -> list[str]:
    """`<something>.store.<write>(...)` and `store.<write>(...)` calls in a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        named_store = (isinstance(owner, ast.Attribute) and owner.attr == "store") or (
            isinstance(owner, ast.Name) and owner.id == "store"
        )
        if named_store and node.func.attr in WRITES:
            found.append(f"{path.name}:{node.lineno} store.{node.func.attr}()")
    return found


def test_no_view_writes_the_store_directly():
    views = [*sorted((CLIENT / "widgets").glob("*.py")), CLIENT / "main_window.py"]
    assert views
    offenders = [hit for path in views for hit in direct_writes(path)]
    assert offenders == [], "write through client.services.StoreService: " + ", ".join(offenders)


def test_the_workers_write_through_the_service_too():
    assert direct_writes(CLIENT / "workers.py") == []
