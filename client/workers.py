"""Work that must not run on the GUI thread, with Qt signals to report back.

- `run_task` runs one function on the global thread pool (classify pasted text, export).
- `ClassifierService` loads the classifier in the background after the window is up.
- `ScanQueue` scans queued audio files one after another on its own thread, reporting each
  file's progress, result or error; a failed file never stops the queue.
- `LiveCapture` listens to a microphone, classifying utterances as they end.

Results cross threads as signal arguments (dataclasses). Every write goes through
client.services.StoreService; the store gives each thread (the scan queue's, the live capture's
worker, the thread pool's) its own SQLite connection. No Qt signal is emitted from PortAudio's
callback thread: the level comes from LiveSession's on_level hook, on its capture thread, and
reaches the window as a queued signal.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from client.services import StoreService
from client.settings import Settings, vocabulary_words
from client.store import Store, StoreError, close_thread_connections
from models.errors import ModlensError

HEARTBEAT_SECONDS = 30.0  # how often a running scan or capture tells the store it is alive


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
        finally:
            # the pool may end this thread unseen by Python: its connections end with the task
            close_thread_connections()

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
        # the studio's block and allow lists (models.wordlists.WordLists), applied to every
        # verdict of the loaded classifier: Text, Sessions and Live alike
        self.word_lists = None

    def load(self, settings: Settings) -> None:
        """(Re)load with these settings; a load already running is superseded."""
        self._generation += 1
        generation = self._generation
        self.loading = True
        self.error = None
        word_lists = self.word_lists

        def build():
            from models.classifier import Classifier

            classifier = Classifier(settings.model_dir or None)
            known = {"toxic", *classifier.labels[1:]}
            thresholds = {k: v for k, v in settings.thresholds.items() if k in known}
            if thresholds:
                classifier.set_thresholds(thresholds)
            from models.wordlists import with_word_lists

            return with_word_lists(classifier, word_lists, settings.language)

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
        language: str | None = None,
    ) -> ScanOutcome:
        """Scan one file; language (a code such as "de") overrides the settings' language."""
        from models.voice import Scanner

        classifier = self.classifier(cancelled)
        if classifier is None:
            return ScanOutcome([], [], None)
        scanner = Scanner(self.transcriber(self.settings()), classifier)

        def on_progress(report) -> None:
            fraction = report.fraction
            if fraction is not None:
                progress((report.index + fraction) / max(1, report.total))

        result = scanner.scan(
            [path], on_progress=on_progress, should_stop=cancelled, language=language or None
        )
        if not result.findings and result.errors:
            raise ScanError(" ".join(result.errors))
        duration = max((t.duration or 0.0 for t in result.tracks), default=0.0) or None
        excerpts = [finding.excerpt for finding in result.findings]
        verdicts = [finding.verdict for finding in result.findings]
        untranscribed = [
            (track.speaker, stretch.start, stretch.end) for track, stretch in result.untranscribed
        ]
        languages = [t.language_text for t in result.tracks if t.language_text]
        return ScanOutcome(
            excerpts, verdicts, duration, untranscribed, ", ".join(dict.fromkeys(languages))
        )


@dataclass(frozen=True)
class ScanOutcome:
    """What scanning one file gives the store: classified excerpts, the file's length, the
    stretches of speech left without words ((speaker, start, end)) and the language heard."""

    excerpts: list
    verdicts: list
    duration: float | None
    untranscribed: list[tuple[str, float, float]] = field(default_factory=list)
    language: str | None = None

    @classmethod
    def of(cls, result: ScanOutcome | tuple) -> ScanOutcome:
        """A scan function's result: a ScanOutcome, or (excerpts, verdicts, duration)."""
        if isinstance(result, ScanOutcome):
            return result
        excerpts, verdicts, duration = result
        return cls(list(excerpts), list(verdicts), duration)


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
        scan: Callable[..., ScanOutcome | tuple[list, list, float | None]],
        parent: QObject | None = None,
    ) -> None:
        """scan(path, progress=fn(fraction), cancelled=fn()->bool[, language=code]) ->
        ScanOutcome or (excerpts, verdicts, secs)."""
        super().__init__(parent)
        self.store = store
        self.service = StoreService(store)
        self.scan = scan
        self._jobs: list[ScanJob] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel_current = threading.Event()
        self.current: int | None = None
        self._warm = False
        self.warmed = threading.Event()  # set once warm_up() has run (or failed)
        self._fraction = 0.0
        # a daemon thread: closing the app never waits for Whisper to finish a window
        self._thread = threading.Thread(target=self._run, name="modlens-scan", daemon=True)
        self._thread.start()
        # tells the store the scan is alive, even while a long step reports no progress
        self._beater = threading.Thread(target=self._beat, name="modlens-scan-beat", daemon=True)
        self._beater.start()

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
        """Stop after the current file's next progress step; unfinished files stay queued.

        A file cut off this way is not a crash: it is released (queued, its attempt not
        counted), so the next start offers it again rather than taking it for a crash loop.
        """
        self._stop.set()
        self._cancel_current.set()
        self._wake.set()
        current = self.current
        self._thread.join(wait_ms / 1000)
        if current is not None:
            with contextlib.suppress(StoreError):
                self.service.scan_stopped(current)

    def stopped(self, timeout: float) -> bool:
        """After shutdown(): whether the scan thread has stopped, waiting up to timeout seconds
        for it to finish the step it is in."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            current = self.current
            if current is not None:
                with contextlib.suppress(StoreError):  # busy or closed: the next beat
                    self.service.scan_alive(current, self._fraction)

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
                    try:
                        self.idle.emit()
                    except RuntimeError:  # the window that owned the queue is gone
                        return
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
        self._fraction = 0.0
        self._cancel_current.clear()
        # claimed (this process scans it, one more attempt) before any decoder touches the file:
        # if it crashes the process, the next start knows; if another modlens scans it, skip it
        self.service.claim_scan(job.track_id)
        self.started.emit(job.track_id)
        last = [0.0]

        def progress(fraction: float) -> None:
            fraction = min(1.0, max(0.0, float(fraction)))
            if fraction - last[0] >= 0.01 or fraction >= 1.0:
                last[0] = fraction
                self._fraction = fraction
                self.progress.emit(job.track_id, fraction)

        try:
            # the session's language, when the moderator set one (passed only then, so a scan
            # function without the argument still works)
            language = self.service.scan_language(job.track_id)
            extra = {"language": language} if language else {}
            outcome = ScanOutcome.of(
                self.scan(
                    job.path, progress=progress, cancelled=self._cancel_current.is_set, **extra
                )
            )
            if self._cancel_current.is_set():
                # stopped on purpose: queued again, offered again on restart, not a crash
                self.service.scan_stopped(job.track_id)
                return
            stored = self.service.scan_done(
                job.track_id,
                outcome.excerpts,
                outcome.verdicts,
                outcome.duration,
                outcome.untranscribed,
                outcome.language,
            )
        except Exception as exc:
            if self._stop.is_set():
                return
            message = user_message(exc)
            try:
                self.service.scan_failed(job.track_id, message)
            finally:
                self._emit_failed(job.track_id, message)
            return
        self.done.emit(job.track_id, stored)


class LiveCapture(QObject):
    """A live microphone session over models.live.LiveSession, saved to the store as it goes.

    The session is one 'live' track whose file is the recording LiveSession writes, marked
    'scanning' (owned by this process) while capture runs: if the app dies, the next start keeps
    what was heard and marks it done. Loading Whisper and opening the device happen on the
    thread pool; a start that fails leaves no session behind.
    """

    level = Signal(float)  # 0..1 input level, from the capture thread: connect it queued
    utterance = Signal(object)  # list[StoredExcerpt] just stored
    failed = Signal(str)
    started = Signal()
    stopped = Signal(float)  # seconds recorded
    halted = Signal(str)  # capture stopped by itself (a full disk); the message

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.service = StoreService(store)
        self.session_id: int | None = None
        self.track_id: int | None = None
        self.starting = False
        self._stop_requested = False
        self.halt_reason: str | None = None  # why the last capture stopped by itself
        self._live = None
        self._heartbeat = QTimer(self)
        self._heartbeat.setInterval(int(HEARTBEAT_SECONDS * 1000))
        self._heartbeat.timeout.connect(self._beat)
        self.halted.connect(self._on_halted)  # emitted on the capture thread: runs queued

    @property
    def running(self) -> bool:
        return self._live is not None

    def recording_folder(self) -> Path:
        return self.store.path.parent / "recordings"

    def start(self, title: str, classifier, settings: Settings) -> int:
        """Make the live session and start opening the microphone; returns the session id.

        Raises StoreError when the session cannot be written (then nothing starts).
        """
        session, track, recording = self.service.start_live(title, self.recording_folder())
        self.session_id, self.track_id = session.id, track.id
        self.starting = True
        self._stop_requested = False
        self.halt_reason = None
        device: str | int | None = settings.input_device or None

        def open_session():
            from models.live import LiveSession
            from models.transcriber import Transcriber

            transcriber = Transcriber(
                settings.whisper_model,
                language=settings.language or None,
                vocabulary=vocabulary_words(settings),
            )
            live = LiveSession(
                transcriber,
                classifier,
                recording,
                device=device,
                speaker="mic",
                on_utterance=self._on_utterance,
                on_level=self._on_level,
                on_error=self._on_error,
            )
            live.start()
            return live

        run_task(open_session, self._on_open, self._on_open_failed, self)
        return session.id

    def _on_open(self, live) -> None:
        self.starting = False
        self._live = live
        self._heartbeat.start()
        self.started.emit()
        if self._stop_requested:  # Stop was pressed while the microphone was opening
            self.stop()

    def _on_open_failed(self, message: str) -> None:
        self.starting = False
        if self.session_id is not None:
            try:
                if not self.service.live_failed_to_start(self.session_id):
                    self.service.live_stopped(self.track_id, 0.0, error=message)
            except StoreError as exc:
                message += f" ({exc})"
        self.session_id = self.track_id = None
        self.failed.emit(f"Live capture could not start: {message}")
        self.stopped.emit(0.0)

    def stop(self, wait: bool = False) -> None:
        """Stop capture and finish the utterances already heard; wait=True blocks (app close)."""
        live, self._live = self._live, None
        if live is None:
            if self.starting:
                self._stop_requested = True
            return
        self._heartbeat.stop()
        track_id = self.track_id
        if wait:
            result = live.stop(timeout=10.0)
            with contextlib.suppress(StoreError):
                self.service.live_stopped(track_id, result.seconds, _halt_reason(live))
            return

        def finish():
            result = live.stop()
            self.service.live_stopped(track_id, result.seconds, _halt_reason(live))
            return result

        def done(result) -> None:
            for error in live.errors:
                if error != live.halt_reason:  # that one was said when it happened
                    self.failed.emit(error)
            self.stopped.emit(result.seconds)

        def failed(message: str) -> None:
            self.failed.emit(f"Live capture did not stop cleanly: {message}")
            self.stopped.emit(0.0)

        run_task(finish, done, failed, self)

    def _beat(self) -> None:
        if self.track_id is not None:
            with contextlib.suppress(StoreError):
                self.service.live_alive(self.track_id)

    def _on_halted(self, message: str) -> None:
        # the GUI thread: say why, and stop as if Stop had been pressed (keeps what was heard)
        self.halt_reason = message
        self.failed.emit(message)
        self.stop()

    # --- called on LiveSession's threads ------------------------------------------------------

    def _on_level(self, level: float) -> None:
        # the capture thread (never PortAudio's): the signal is queued to the GUI thread
        with contextlib.suppress(RuntimeError):  # the window is gone
            self.level.emit(level)

    def _on_error(self, message: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.halted.emit(message)

    def _on_utterance(self, utterance) -> None:
        # the capture's worker thread, with its own database connection
        if self.session_id is None or not utterance.findings:
            return
        stored = self.service.live_heard(
            self.session_id,
            self.track_id,
            [f.excerpt for f in utterance.findings],
            [f.verdict for f in utterance.findings],
        )
        with contextlib.suppress(RuntimeError):
            self.utterance.emit(stored)


def _halt_reason(live) -> str | None:
    """Why capture stopped by itself (kept as the live track's note), or None."""
    return live.halt_reason
