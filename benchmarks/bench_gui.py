"""Desktop app timings: how soon the window is up, and how long the event loop ever stalls while
models load and while a recording is scanned.

    .venv/bin/python benchmarks/bench_gui.py [--model DIR] [--audio FILE] [--runs 3]

Start-up runs `modlens`'s own start path in fresh processes (cold imports each time) and reports
the time from process start to the window's first turn of the event loop after show(). The
stall is the longest gap between ticks of a 5 ms timer on the GUI thread. Without --audio, a
ten-second espeak-ng recording is made; without --model, the shipped classifier is used.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def child_startup(folder: str) -> None:
    """Run in a fresh process: start the app the way `modlens` does and print when it is up."""
    began = time.perf_counter()
    os.environ["MODLENS_DATA_DIR"] = folder
    os.environ["MODLENS_CONFIG_DIR"] = folder
    from PySide6.QtCore import QTimer

    from client.app import create_app, create_window

    app = create_app()
    window = create_window()
    window.show()

    def up() -> None:
        print(json.dumps({"up": time.perf_counter() - began}), flush=True)
        window.queue.shutdown(100)
        app.quit()

    QTimer.singleShot(0, up)
    app.exec()


def measure_startup(runs: int) -> list[float]:
    """Seconds from launching a process to its window being up, including Python's own start."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(runs):
            began = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, __file__, "--child-startup", folder],
                stdout=subprocess.PIPE,
                text=True,
            )
            for line in process.stdout:
                if line.startswith("{"):
                    times.append(time.perf_counter() - began)
                    break
            process.wait(60)
    return times


def make_recording(folder: Path) -> Path:
    from tests.voice_fixtures import CLEAN, RUDE, layout, speech, write_wav

    audio = layout((0.5, speech(CLEAN)), (5.0, speech(RUDE)), (9.0, speech(CLEAN)), length=12.0)
    return write_wav(folder / "bench.wav", audio)


def measure_stalls(model: str | None, audio: Path | None) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from client.app import create_app, create_window
    from models.audio import probe

    app = create_app()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        audio = audio or make_recording(folder)
        settings = folder / "settings.json"
        settings.write_text(json.dumps({"model_dir": model or ""}), encoding="utf-8")
        from tests.client.stall_meter import StallMeter

        meter = StallMeter()
        began = time.perf_counter()
        window = create_window(folder / "db.sqlite3", settings)
        window.show()
        app.processEvents()  # the first paint is start-up, measured above; stalls count after it
        meter.start()
        while not window.queue.warmed.is_set() and window.classifier_service.error is None:
            app.processEvents()
            time.sleep(0.002)
        loading = meter.stop()
        ready = time.perf_counter() - began
        if window.classifier_service.error:
            raise SystemExit(f"classifier: {window.classifier_service.error}")

        meter.start()
        began = time.perf_counter()
        session = window.sessions_view.open_files([audio])
        track = window.store.tracks(session)[0].id
        view = window.sessions_view
        while not view.queue_status(track)[0].startswith(("done", "failed")):
            app.processEvents()
            time.sleep(0.002)
        scan_seconds = time.perf_counter() - began
        scanning = meter.stop()
        track_row = window.store.track(track)
        window.queue.shutdown(100)
        window.store.close()
        QApplication.processEvents()
        duration = probe(audio).duration or 0.0
        return {
            "models_ready_s": ready,
            "worst_stall_while_models_load_ms": loading * 1000,
            "worst_stall_during_scan_ms": scanning * 1000,
            "scan_s": scan_seconds,
            "audio_s": duration,
            "speed_x_real_time": duration / scan_seconds if scan_seconds else 0.0,
            "scan_status": track_row.status,
        }


def chat_log(lines: int) -> str:
    """A chat log of `lines` messages from a few players, some of them rude."""
    words = ["gg wp", "nice heal", "you absolute idiot", "push mid", "shit team", "i will kill you"]
    players = ["ana", "bo", "cy", "dee", "eve"]
    return "".join(
        f"[{(i // 60) % 24:02d}:{i % 60:02d}] {players[i % len(players)]}: "
        f"{words[i % len(words)]} {i}\n"
        for i in range(lines)
    )


def measure_text_check(model: str | None, lines: int = 10_000) -> dict[str, float]:
    """The worst event-loop stall while the Text screen checks a long chat log and shows it,
    then while the table is sorted by a column and searched."""
    from PySide6.QtWidgets import QApplication

    from client.app import create_app, create_window
    from tests.client.stall_meter import StallMeter

    app = create_app()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        settings = folder / "settings.json"
        settings.write_text(json.dumps({"model_dir": model or ""}), encoding="utf-8")
        window = create_window(folder / "db.sqlite3", settings)
        window.show()
        while window.classifier_service.classifier is None:
            if window.classifier_service.error:
                raise SystemExit(f"classifier: {window.classifier_service.error}")
            app.processEvents()
            time.sleep(0.002)
        view = window.text_view
        window.tabs.setCurrentWidget(view)
        view.editor.setPlainText(chat_log(lines))
        app.processEvents()
        table = view.review.table
        meter, showing = StallMeter(), StallMeter()
        checked = view._checked

        def results_in(text: str, stored: list) -> None:
            showing.start()  # from here on the GUI thread shows the results; nothing else runs
            checked(text, stored)

        view._checked = results_in
        meter.start()
        began = time.perf_counter()
        view.check()
        while table.model.rowCount() < lines or table.current_excerpt() is None:
            app.processEvents()
            time.sleep(0.002)
        for _ in range(50):  # paint the table and the highlights
            app.processEvents()
            time.sleep(0.002)
        check_s = time.perf_counter() - began
        check_stall = meter.stop()
        showing_stall = showing.stop()
        meter.start()
        began = time.perf_counter()
        table.sort_by(3)  # Confidence
        app.processEvents()
        sort_s = time.perf_counter() - began
        table.set_filter(table.category.currentData(), 0.0, search="idiot")
        app.processEvents()
        table.set_filter(table.category.currentData(), 0.0, search="")
        table.sort_by(0)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.002)
        table_stall = meter.stop()
        window.queue.shutdown(100)
        window.store.close()
        QApplication.processEvents()
        return {
            "text_lines": lines,
            "text_check_s": check_s,
            "worst_stall_text_check_ms": check_stall * 1000,
            "worst_stall_showing_results_ms": showing_stall * 1000,
            "sort_s": sort_s,
            "worst_stall_sort_search_ms": table_stall * 1000,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="classifier folder (default: the shipped model)")
    parser.add_argument("--audio", type=Path, help="recording to scan (default: espeak speech)")
    parser.add_argument("--runs", type=int, default=3, help="start-up runs (default 3)")
    parser.add_argument("--text-lines", type=int, default=10_000, help="Text check size")
    parser.add_argument("--only-text", action="store_true", help="only the Text check")
    parser.add_argument("--child-startup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_startup:
        child_startup(args.child_startup)
        return
    text = measure_text_check(args.model, args.text_lines)
    print(
        f"Text check of {text['text_lines']:,} lines: {text['text_check_s']:.2f} s, worst "
        f"event-loop stall {text['worst_stall_text_check_ms']:.0f} ms (target < 200 ms), "
        f"{text['worst_stall_showing_results_ms']:.0f} ms while showing the results; "
        f"sort and search the table: worst stall {text['worst_stall_sort_search_ms']:.0f} ms"
    )
    if args.only_text:
        return
    startup = measure_startup(args.runs)
    print(
        f"window up after launch: median {statistics.median(startup):.2f} s, "
        f"worst {max(startup):.2f} s over {len(startup)} runs (target < 2 s)"
    )
    stalls = measure_stalls(args.model, args.audio)
    print(
        f"models ready (classifier + Whisper warm-up) after {stalls['models_ready_s']:.2f} s; "
        f"worst event-loop stall meanwhile {stalls['worst_stall_while_models_load_ms']:.0f} ms"
    )
    print(
        f"scan of {stalls['audio_s']:.1f} s of audio ({stalls['scan_status']}): "
        f"{stalls['scan_s']:.2f} s, {stalls['speed_x_real_time']:.1f}x real time; "
        f"worst event-loop stall {stalls['worst_stall_during_scan_ms']:.0f} ms (target < 100 ms)"
    )


if __name__ == "__main__":
    main()
