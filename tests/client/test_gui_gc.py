"""Garbage that holds Qt objects is freed on the GUI thread, never from a scan thread."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

from client.gui_gc import GuiThreadCollector


class _Cycle:
    """An object in a reference cycle that notes the thread its finaliser ran in."""

    freed_in: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_in.append(threading.current_thread().name)


def test_while_the_window_lives_cycles_are_collected_on_the_gui_thread(qtbot, open_window):
    window = open_window()
    assert not gc.isenabled()
    _Cycle.freed_in.clear()
    for _ in range(3):
        _Cycle()
    kept = [{} for _ in range(3 * gc.get_threshold()[0])]  # past the first threshold
    # a worker thread allocating heavily must not run the collector
    worker = threading.Thread(target=lambda: [[{} for _ in range(50)] for _ in range(2000)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(_Cycle.freed_in) == 3, timeout=5_000)
    assert set(_Cycle.freed_in) == {threading.main_thread().name}
    del kept
    window.close()
    assert gc.isenabled()


def test_stop_collects_at_once_and_gives_automatic_collection_back(qtbot):
    collector = GuiThreadCollector(interval_ms=60_000)
    assert not gc.isenabled()
    _Cycle.freed_in.clear()
    _Cycle()
    collector.stop()
    assert _Cycle.freed_in == [threading.main_thread().name]
    assert gc.isenabled()
