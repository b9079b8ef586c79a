"""Work that must not run on the GUI thread, with Qt signals to report back.

- `run_task` runs one function on the global thread pool (classify pasted text, export).
- `ClassifierService` loads the classifier in the background after the window is up.
- `ScanQueue` scans queued audio files one after another on its own thread, reporting each
  file's progress, result or error; a failed file never stops the queue.
- `LiveCapture` listens to a microphone, classifying utterances as they end.

Results cross threads as signal arguments (dataclasses); the store is written by the GUI thread
or by the scan thread (the store serialises access), never by a widget directly.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from client.settings import Settings, vocabulary_words
from client.store import Store
from models.errors import ModlensError


def user_message(exc: BaseException) -> str:
    """A one-line message for the window; the traceback goes to the terminal for developers."""
    text = str(exc).strip() or exc.__class__.__name__
    if not isinstance(exc, ModlensError | OSError | ValueError):
        traceback.print_exception(exc)
        text = f"{exc.__class__.__name__}: {text}"
    return text


class _TaskSignals(QObject):
    finished = Signal(object)
    failed = Signal(str)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _TaskSignals) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported in the window, never a crash
            self._emit(self.signals.failed, user_message(exc))
        else:
            self._emit(self.signals.finished, result)

    @staticmethod
    def _emit(signal, value) -> None:
        # RuntimeError: the window that asked was closed meanwhile; nobody is left to tell
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


_live_signals: set[_TaskSignals] = set()


def run_task(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[str], None],
    parent: QObject | None = None,
) -> None:
    """Run fn on the thread pool; on_done(result) or on_error(message) run on the GUI thread."""
    signals = _TaskSignals(parent)
    _live_signals.add(signals)

    def done(result: Any) -> None:
        _live_signals.discard(signals)
        on_done(result)

    def failed(message: str) -> None:
        _live_signals.discard(signals)
        on_error(message)

    signals.finished.connect(done)
    signals.failed.connect(failed)
    QThreadPool.globalInstance().start(_Task(fn, signals))


class ClassifierService(QObject):
    """Holds the classifier; loading starts on request and happens off the GUI thread."""

    ready = Signal(object)  # Classifier
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.classifier = None
        self.error: str | None = None
        self.loading = False
        self._generation = 0

    def load(self, settings: Settings) -> None:
        """(Re)load with these settings; a load already running is superseded."""
        self._generation += 1
        generation = self._generation
        self.loading = True
        self.error = None

        def build():
            from models.classifier import Classifier

            classifier = Classifier(settings.model_dir or None)
            known = {"toxic", *classifier.labels[1:]}
            thresholds = {k: v for k, v in settings.thresholds.items() if k in known}
            if thresholds:
                classifier.set_thresholds(thresholds)
            return classifier

        def done(classifier) -> None:
            if generation != self._generation:
                return
            self.loading = False
            self.classifier = classifier
            self.ready.emit(classifier)

        def failed(message: str) -> None:
            if generation != self._generation:
                return
            self.loading = False
            self.classifier = None
            self.error = message
            self.failed.emit(message)

        run_task(build, done, failed, self)


def _lower_priority(niceness: int = 10) -> None:
    """Lower this thread's CPU priority (Linux) so the GUI thread wins when cores are busy.

    Threads Whisper starts from here inherit it; elsewhere this does nothing.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


class ScanError(ModlensError, RuntimeError):
    """A recording that gave nothing to review; the message says why."""


class VoiceScan:
    """The scan function for ScanQueue: transcribe and classify one file with models.voice.

    Runs on the queue's thread. The Whisper model loads on the first file and is kept while the
    settings that shape it stay the same; the classifier comes from ClassifierService and the
    scan waits for it if it is still loading.
    """

    def __init__(self, service: ClassifierService, settings: Callable[[], Settings]) -> None:
        self.service = service
        self.settings = settings
        self._transcriber = None
        self._transcriber_key: tuple | None = None

    def transcriber(self, settings: Settings):
        from models.transcriber import Transcriber

        key = (settings.whisper_model, settings.language, settings.vocabulary)
        if self._transcriber is None or key != self._transcriber_key:
            self._transcriber = Transcriber(
                settings.whisper_model,
                language=settings.language or None,
                vocabulary=vocabulary_words(settings),
            )
            self._transcriber_key = key
        return self._transcriber

    def warm_up(self) -> None:
        self.transcriber(self.settings())

    def classifier(self, cancelled: Callable[[], bool]):
        while self.service.classifier is None:
            if self.service.error:
                raise ScanError(f"The classifier could not be loaded: {self.service.error}")
            if cancelled():
                return None
            time.sleep(0.1)
        return self.service.classifier

    def __call__(
        self,
        path: str,
        progress: Callable[[float], None],
        cancelled: Callable[[], bool],
    ) -> tuple[list, list, float | None]:
        from models.voice import Scanner

        classifier = self.classifier(cancelled)
        if classifier is None:
            return [], [], None
        scanner = Scanner(self.transcriber(self.settings()), classifier)

        def on_progress(report) -> None:
            fraction = report.fraction
            if fraction is not None:
                progress((report.index + fraction) / max(1, report.total))

        result = scanner.scan([path], on_progress=on_progress, should_stop=cancelled)
        if not result.findings and result.errors:
            raise ScanError(" ".join(result.errors))
        duration = max((t.duration or 0.0 for t in result.tracks), default=0.0) or None
        excerpts = [finding.excerpt for finding in result.findings]
        verdicts = [finding.verdict for finding in result.findings]
        return excerpts, verdicts, duration


@dataclass(frozen=True)
class ScanJob:
    track_id: int
    path: str


class ScanQueue(QObject):
    """Scans tracks one at a time on a worker thread, in the order they were queued."""

    started = Signal(int)  # track id
    progress = Signal(int, float)  # track id, 0..1
    done = Signal(int, object)  # track id, list[StoredExcerpt]
    failed = Signal(int, str)  # track id, message
    idle = Signal()

    def __init__(
        self,
        store: Store,
        scan: Callable[..., tuple[list, list, float | None]],
        parent: QObject | None = None,
    ) -> None:
        """scan(path, progress=fn(fraction), cancelled=fn()->bool) -> (excerpts, verdicts, secs)."""
        super().__init__(parent)
        self.store = store
        self.scan = scan
        self._jobs: list[ScanJob] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel_current = threading.Event()
        self.current: int | None = None
        self._warm = False
        self.warmed = threading.Event()  # set once warm_up() has run (or failed)
        # a daemon thread: closing the app never waits for Whisper to finish a window
        self._thread = threading.Thread(target=self._run, name="modlens-scan", daemon=True)
        self._thread.start()

    def warm_up(self) -> None:
        """Load the scan's models on the queue's thread now, before the first file.

        Loading Whisper holds Python's GIL for tens of milliseconds (its tokenizer); done at
        start-up, that pause does not land in the middle of the moderator's review.
        """
        self.warmed.clear()
        self._warm = True
        self._wake.set()

    def enqueue(self, track_id: int, path: str) -> None:
        with self._lock:
            self._jobs.append(ScanJob(track_id, path))
        self._wake.set()

    def pending(self) -> list[int]:
        with self._lock:
            return [job.track_id for job in self._jobs]

    def busy(self) -> bool:
        return self.current is not None or bool(self.pending())

    def cancel(self, track_id: int) -> None:
        with self._lock:
            self._jobs = [job for job in self._jobs if job.track_id != track_id]
        if self.current == track_id:
            self._cancel_current.set()

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Stop after the current file's next progress step; unfinished files stay queued."""
        self._stop.set()
        self._cancel_current.set()
        self._wake.set()
        self._thread.join(wait_ms / 1000)

    def _next(self) -> ScanJob | None:
        with self._lock:
            return self._jobs.pop(0) if self._jobs else None

    def _run(self) -> None:
        _lower_priority()
        while not self._stop.is_set():
            if self._warm:
                self._warm = False
                warm_up = getattr(self.scan, "warm_up", None)
                if warm_up is not None:
                    try:
                        warm_up()
                    except Exception as exc:  # the first scan reports it properly
                        print(f"modlens: warming up the scan failed: {exc}", file=sys.stderr)
                self.warmed.set()
            job = self._next()
            if job is None:
                self._wake.clear()
                if self.current is None:
                    self.idle.emit()
                self._wake.wait(0.5)
                continue
            try:
                self._scan(job)
            except Exception as exc:  # the store refused a write: say so, keep the queue alive
                self._emit_failed(job.track_id, user_message(exc))
            self.current = None

    def _emit_failed(self, track_id: int, message: str) -> None:
        with contextlib.suppress(RuntimeError):  # the window has gone
            self.failed.emit(track_id, message)

    def _scan(self, job: ScanJob) -> None:
        self.current = job.track_id
        self._cancel_current.clear()
        self.store.set_track_status(job.track_id, "scanning", progress=0.0)
        self.started.emit(job.track_id)
        last = [0.0]

        def progress(fraction: float) -> None:
            fraction = min(1.0, max(0.0, float(fraction)))
            if fraction - last[0] >= 0.01 or fraction >= 1.0:
                last[0] = fraction
                self.progress.emit(job.track_id, fraction)

        try:
            excerpts, verdicts, duration = self.scan(
                job.path, progress=progress, cancelled=self._cancel_current.is_set
            )
            if self._cancel_current.is_set():
                return  # stays queued/scanning in the store: offered again on restart
            stored = self.store.finish_track(job.track_id, excerpts, verdicts, duration)
        except Exception as exc:
            if self._stop.is_set():
                return
            message = user_message(exc)
            try:
                self.store.set_track_status(job.track_id, "failed", error=message)
            finally:
                self._emit_failed(job.track_id, message)
            return
        self.done.emit(job.track_id, stored)


class LiveCapture(QObject):
    """A live microphone session over models.live.LiveSession, saved to the store as it goes.

    The session is one 'live' track whose file is the recording LiveSession writes, marked
    'scanning' while capture runs: if the app dies, the recording is offered for a rescan.
    Loading Whisper and opening the device happen on the thread pool.
    """

    level = Signal(float)  # 0..1 input level
    utterance = Signal(object)  # list[StoredExcerpt] just stored
    failed = Signal(str)
    started = Signal()
    stopped = Signal(float)  # seconds recorded

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.session_id: int | None = None
        self.track_id: int | None = None
        self.starting = False
        self._live = None

    @property
    def running(self) -> bool:
        return self._live is not None

    def recording_path(self, session_id: int) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return self.store.path.parent / "recordings" / f"live-{stamp}-{session_id}.wav"

    def start(self, session_id: int, classifier, settings: Settings) -> None:
        self.session_id = session_id
        recording = self.recording_path(session_id)
        self.track_id = self.store.add_track(session_id, recording).id
        self.starting = True
        device: str | int | None = settings.input_device or None

        def open_session():
            from models.transcriber import Transcriber

            transcriber = Transcriber(
                settings.whisper_model,
                language=settings.language or None,
                vocabulary=vocabulary_words(settings),
            )
            live = _MeteredLiveSession(
                transcriber,
                classifier,
                recording,
                device=device,
                speaker="mic",
                on_utterance=self._on_utterance,
                on_level=self.level.emit,
            )
            self.store.set_track_status(self.track_id, "scanning")
            live.start()
            return live

        run_task(open_session, self._on_open, self._on_open_failed, self)

    def _on_open(self, live) -> None:
        self.starting = False
        self._live = live
        self.started.emit()

    def _on_open_failed(self, message: str) -> None:
        self.starting = False
        if self.track_id is not None:
            self.store.set_track_status(self.track_id, "failed", error=message)
        self.failed.emit(f"Live capture could not start: {message}")
        self.stopped.emit(0.0)

    def stop(self, wait: bool = False) -> None:
        """Stop capture and finish the utterances already heard; wait=True blocks (app close)."""
        live, self._live = self._live, None
        if live is None:
            return
        track_id = self.track_id
        if wait:
            result = live.stop(timeout=10.0)
            self.store.set_track_status(track_id, "done", progress=1.0, duration=result.seconds)
            return

        def finish():
            result = live.stop()
            self.store.set_track_status(track_id, "done", progress=1.0, duration=result.seconds)
            return result

        def done(result) -> None:
            for error in result_errors(live):
                self.failed.emit(error)
            self.stopped.emit(result.seconds)

        def failed(message: str) -> None:
            self.failed.emit(f"Live capture did not stop cleanly: {message}")
            self.stopped.emit(0.0)

        run_task(finish, done, failed, self)

    def _on_utterance(self, utterance) -> None:
        # the capture's worker thread; the store serialises the write
        if self.session_id is None or not utterance.findings:
            return
        stored = self.store.add_excerpts(
            self.session_id,
            [f.excerpt for f in utterance.findings],
            [f.verdict for f in utterance.findings],
            self.track_id,
        )
        self.utterance.emit(stored)


def result_errors(live) -> list[str]:
    return list(getattr(live, "errors", []))


def _metered(base):
    """A LiveSession that also reports the input level of every block it receives."""

    class Metered(base):
        def __init__(self, *args, on_level: Callable[[float], None] | None = None, **kwargs):
            super().__init__(*args, **kwargs)
            self._on_level_cb = on_level

        # LiveSession has no level hook yet; its audio callback is the one place to measure
        def _on_audio(self, indata, frames, time_info, status) -> None:
            super()._on_audio(indata, frames, time_info, status)
            if self._on_level_cb is not None and frames:
                peak = float(abs(indata[:, 0]).max())
                self._on_level_cb(peak)

    return Metered


def _MeteredLiveSession(*args, **kwargs):
    from models.live import LiveSession

    return _metered(LiveSession)(*args, **kwargs)
