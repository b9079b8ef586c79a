"""The Text screen with hostile chat logs: times that are not finite numbers (which crashed the
window with a segmentation fault) are shown as no time."""

from __future__ import annotations

import pytest

from models.excerpts import excerpts_from_file

LOGS = {
    "chat.csv": "time,name,message\ninf,ana,you idiot\nnan,bo,gg wp\n1e400,cy,nice\n3.5,dee,hi\n",
    "chat.json": '[{"time": 1e400, "name": "ana", "message": "you idiot"},'
    ' {"time": NaN, "name": "bo", "message": "gg wp"},'
    ' {"time": -Infinity, "name": "cy", "message": "nice"},'
    ' {"time": 3.5, "name": "dee", "message": "hi"}]',
}


@pytest.mark.parametrize("name", sorted(LOGS))
def test_a_log_with_infinite_and_nan_times_opens_in_the_text_view(
    qtbot, open_window, tiny_model_dir, tmp_path, name
):
    path = tmp_path / name
    path.write_text(LOGS[name], encoding="utf-8")
    assert [e.time for e in excerpts_from_file(path)] == [None, None, None, 3.5]
    window = open_window(model_dir=str(tiny_model_dir), thresholds={"toxic": 0.0})
    view = window.text_view
    window.tabs.setCurrentWidget(view)
    view.open_file(path)
    table = view.review.table
    qtbot.waitUntil(lambda: table.model.rowCount() == 4, timeout=30_000)
    excerpts = table.model.excerpts()
    assert {e.text: e.time for e in excerpts} == {
        "you idiot": None,
        "gg wp": None,
        "nice": None,
        "hi": 3.5,
    }
    window.resize(1100, 700)
    qtbot.wait(50)  # paint the table, the tags and the counts with the rows in place
    assert "Flagged per category" in view.counts.text()
