"""Run a batch on Ray: one actor per worker holds Whisper and the classifier, each recording is one
task, and the driver (the `modlens batch` process) writes every result into the results folder.

Only the driver writes, and it writes a recording once, keyed by its content hash, so a task
that Ray runs again after a worker died cannot be counted twice. A worker that dies has its
recording put back at the front of the queue, where the next free worker (another one, while the
dead one restarts) takes it; after ``max_attempts`` deaths the recording is recorded as failed.

This module imports Ray; the desktop app never imports it (see client.batch.results).
"""

from __future__ import annotations

import os

# Ray reports usage statistics over the network unless told not to; modlens makes no calls
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import contextlib
import resource
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import ray
import ray.exceptions as rex

from client.batch.results import BatchError, BatchItem, FileRecord, ResultsFolder, report_title
from models.errors import ModlensError

# what a task raises when the process or node running it went away
WORKER_LOST = tuple(
    getattr(rex, name)
    for name in (
        "RayActorError",
        "ActorDiedError",
        "ActorUnavailableError",
        "WorkerCrashedError",
        "NodeDiedError",
        "ObjectLostError",
        "OwnerDiedError",
    )
    if hasattr(rex, name)
)
WAIT_S = 0.5


@dataclass(frozen=True)
class WorkerOptions:
    """The models every worker loads (the `scan` options)."""

    whisper: str = "base"
    model: str | None = None
    language: str | None = None
    threshold: float | None = None
    vocabulary: tuple[str, ...] = ()
    threads: int = 1
    beam_size: int = 1
    channels: str = "auto"  # auto | split | mix


@dataclass(frozen=True)
class FileOutcome:
    """What a worker sends back for one recording."""

    digest: str
    status: str  # done | failed
    reason: str
    duration: float
    findings: tuple  # models.voice.Finding
    elapsed: float
    worker: str
    peak_rss_mib: float
    meta: object = None  # client.reports.ReportMeta, where that module has it
    cpu_s: float = 0.0  # CPU seconds the worker process used on it (all its threads)


@dataclass(frozen=True)
class BatchProgress:
    files_total: int
    files_finished: int
    files_failed: int
    bytes_total: int
    bytes_finished: int
    audio_seconds: float
    elapsed: float
    workers: int
    retries: int

    @property
    def audio_hours_per_hour(self) -> float:
        return self.audio_seconds / self.elapsed if self.elapsed else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Time left, from the bytes still to scan at the rate so far."""
        if not self.bytes_finished or not self.elapsed:
            return None
        left = max(0, self.bytes_total - self.bytes_finished)
        return self.elapsed * left / self.bytes_finished


@dataclass
class BatchSummary:
    records: list[FileRecord] = field(default_factory=list)
    retries: int = 0
    elapsed: float = 0.0
    workers: int = 0
    worker_busy: dict[str, float] = field(default_factory=dict)  # worker -> seconds scanning
    worker_audio: dict[str, float] = field(default_factory=dict)  # worker -> audio seconds
    worker_rss_mib: dict[str, float] = field(default_factory=dict)  # worker -> peak RSS

    @property
    def done(self) -> int:
        return sum(r.status == "done" for r in self.records)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.records)

    @property
    def audio_seconds(self) -> float:
        return sum(r.duration for r in self.records)


class FileWorker:
    """A Ray actor: loads the models once, then scans one recording per call."""

    def __init__(self, options: WorkerOptions) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.error: str | None = None
        self.options = options
        try:
            from models.classifier import Classifier
            from models.transcriber import Transcriber
            from models.voice import Scanner

            transcriber = Transcriber(
                options.whisper,
                language=options.language,
                vocabulary=list(options.vocabulary),
                threads=options.threads,
                beam_size=options.beam_size,
            )
            classifier = Classifier(options.model)
            if options.threshold is not None:
                t = options.threshold
                classifier.set_thresholds({"toxic": t, **dict.fromkeys(classifier.labels[1:], t)})
            self.scanner = Scanner(transcriber, classifier)
            self.language = transcriber.language
            whisper = getattr(transcriber, "_model", None)
            self.multilingual = bool(getattr(getattr(whisper, "model", None), "is_multilingual", 1))
        except (ModlensError, ValueError, KeyError, OSError) as exc:
            self.error = str(exc)

    def ping(self) -> tuple[str, str | None]:
        """(this worker's name, why its models did not load or None)."""
        return self.name, self.error

    def _meta(self, item: BatchItem, result) -> object:
        """The report's metadata (sources, models), where client.reports describes them."""
        try:
            from client.reports import meta_for_scan
        except ImportError:
            return None
        scanner = self.scanner
        return meta_for_scan(report_title(item), result, scanner.transcriber, scanner.classifier)

    def scan(self, item: BatchItem) -> FileOutcome:
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        status, reason, duration, findings, meta = "failed", "", 0.0, (), None
        language = item.language or self.language
        try:
            if language not in (None, "en") and not self.multilingual:
                raise ValueError(f"{self.options.whisper} understands English only, not {language}")
            self.scanner.transcriber.language = language
            split = {"auto": None, "split": True, "mix": False}[self.options.channels]
            result = self.scanner.scan([item.path], split_channels=split)
            findings = result.findings
            duration = result.audio_seconds
            notes = [t.note for t in result.tracks if t.note]
            if result.errors and not findings:
                reason = "; ".join(result.errors)
            else:
                status, reason = "done", "; ".join([*result.errors, *notes])
                meta = self._meta(item, result)
        except (ModlensError, ValueError) as exc:
            reason = str(exc)
        except Exception as exc:  # a decoder bug must not stop the batch: record it
            reason = f"unexpected error: {type(exc).__name__}: {exc}"
        finally:
            self.scanner.transcriber.language = self.language
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return FileOutcome(
            item.digest,
            status,
            reason,
            duration,
            tuple(findings),
            time.perf_counter() - began,
            self.name,
            round(peak, 1),
            meta,
            round(_cpu_seconds() - cpu_began, 3),
        )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def connect(address: str | None, cpus: float | None = None) -> bool:
    """Join the cluster at address, or start a local Ray; True when this call started Ray."""
    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level="WARNING")
        else:
            ray.init(
                num_cpus=cpus or os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="WARNING",
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "local"
        raise BatchError(f"Ray could not be started or reached ({where}): {exc}") from exc
    return True


def run_batch(
    items: Sequence[BatchItem],
    results: ResultsFolder,
    options: WorkerOptions,
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    max_attempts: int = 3,
    on_progress: Callable[[BatchProgress], None] | None = None,
    on_event: Callable[[str], None] | None = None,
    file_timeout: float | None = None,
) -> BatchSummary:
    """Scan items (with digests, none finished yet) on the connected Ray cluster.

    A file still scanning after file_timeout seconds has its worker restarted (a decoder that
    hangs must not hold a worker for ever) and counts as an attempt, like a worker that died."""
    began = time.perf_counter()
    summary = BatchSummary()
    if not items:
        return summary
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    count = workers or max(1, int(cpus // cpus_per_worker))
    count = min(count, len(items))
    remote = ray.remote(FileWorker).options(
        num_cpus=cpus_per_worker, max_restarts=-1, max_task_retries=0
    )
    actors = [remote.remote(options) for _ in range(count)]
    summary.workers = count
    say = on_event or (lambda _message: None)

    pending: deque[BatchItem] = deque(items)
    attempts: Counter[str] = Counter()
    tasks: dict[ray.ObjectRef, tuple[int, BatchItem]] = {}
    submitted: dict[ray.ObjectRef, float] = {}
    timed_out: set[str] = set()
    pings: dict[ray.ObjectRef, int] = {a.ping.remote(): i for i, a in enumerate(actors)}
    ping_failures: Counter[int] = Counter()
    idle: deque[int] = deque()
    bytes_total = sum(i.size for i in items)
    state = {"bytes": 0, "audio": 0.0, "failed": 0}

    def progress() -> None:
        if on_progress:
            on_progress(
                BatchProgress(
                    len(items),
                    len(summary.records),
                    state["failed"],
                    bytes_total,
                    state["bytes"],
                    state["audio"],
                    time.perf_counter() - began,
                    count,
                    summary.retries,
                )
            )

    def finish(record: FileRecord, item: BatchItem) -> None:
        summary.records.append(record)
        state["bytes"] += item.size
        state["audio"] += record.duration
        state["failed"] += record.status == "failed"
        progress()

    progress()
    try:
        while pending or tasks:
            while idle and pending:
                index = idle.popleft()
                item = pending.popleft()
                ref = actors[index].scan.remote(item)
                tasks[ref] = (index, item)
                submitted[ref] = time.perf_counter()
            if not tasks and not pings:
                raise BatchError("No Ray worker is left to scan the remaining recordings.")
            ready, _ = ray.wait([*tasks, *pings], num_returns=1, timeout=WAIT_S)
            if file_timeout:
                now = time.perf_counter()
                for ref, at in list(submitted.items()):
                    if now - at > file_timeout and ref not in ready:
                        del submitted[ref]
                        index, item = tasks[ref]
                        timed_out.add(item.digest)
                        ray.kill(actors[index], no_restart=False)  # restarts; the task fails
            for ref in ready:
                if ref in pings:
                    index = pings.pop(ref)
                    try:
                        name, error = ray.get(ref)
                    except WORKER_LOST:
                        ping_failures[index] += 1
                        if ping_failures[index] < 5:
                            pings[actors[index].ping.remote()] = index
                        continue
                    if error:
                        raise BatchError(f"The models could not be loaded on {name}: {error}")
                    idle.append(index)
                    continue
                index, item = tasks.pop(ref)
                submitted.pop(ref, None)
                try:
                    outcome: FileOutcome = ray.get(ref)
                except WORKER_LOST as exc:
                    attempts[item.digest] += 1
                    summary.retries += 1
                    name = os.path.basename(item.path)
                    slow = item.digest in timed_out
                    timed_out.discard(item.digest)
                    if attempts[item.digest] >= max_attempts:
                        reason = (
                            f"it took longer than {file_timeout:g} s to scan, "
                            f"{attempts[item.digest]} times"
                            if slow
                            else f"the worker scanning it died {attempts[item.digest]} times "
                            f"({type(exc).__name__})"
                        )
                        finish(
                            results.write(
                                item, "failed", reason=reason, attempts=attempts[item.digest]
                            ),
                            item,
                        )
                        say(f"{name}: {reason}; recorded as failed")
                    else:
                        pending.appendleft(item)
                        why = f"took longer than {file_timeout:g} s" if slow else "died"
                        say(f"a worker {why} while scanning {name}; it goes to another worker")
                    pings[actors[index].ping.remote()] = index  # back once it has restarted
                    continue
                except rex.RayTaskError as exc:  # scan() itself raised: record, go on
                    finish(results.write(item, "failed", reason=str(exc.cause or exc)), item)
                    idle.append(index)
                    continue
                record = results.write(
                    item,
                    outcome.status,
                    outcome.findings,
                    reason=outcome.reason,
                    duration=outcome.duration,
                    worker=outcome.worker,
                    attempts=attempts[item.digest] + 1,
                    elapsed=outcome.elapsed,
                    meta=outcome.meta,
                    worker_rss_mib=outcome.peak_rss_mib,
                    cpu_s=outcome.cpu_s,
                )
                w = outcome.worker
                summary.worker_busy[w] = summary.worker_busy.get(w, 0.0) + outcome.elapsed
                summary.worker_audio[w] = summary.worker_audio.get(w, 0.0) + outcome.duration
                summary.worker_rss_mib[w] = max(
                    summary.worker_rss_mib.get(w, 0.0), outcome.peak_rss_mib
                )
                finish(record, item)
                idle.append(index)
            if not ready:
                progress()
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):  # the cluster may be gone already
                ray.kill(actor, no_restart=True)
    summary.elapsed = time.perf_counter() - began
    return summary
