"""Improve the model: the moderators' decisions teach the classifier the studio's game.

The dialog counts the decisions and undecided excerpts in the store, then either

- runs `modlens improve` in a **subprocess** (the app never imports torch; Cancel terminates it
  and a kill leaves nothing half-written: the active model is only switched when a better model
  has been written whole), with its progress in a bar, or
- fits the thresholds to the decisions (no torch, seconds), the fast path offered when there are
  too few decisions to fine-tune or the training extra is not installed.

A new model becomes a new version in the data folder (models.versions); the window switches to
it through `improved`, and the Model versions dialog switches back.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.commands.improve import missing_message, missing_training
from client.store import Store
from models.taxonomy import NON_TOXIC
from models.versions import ModelVersions, trainable_dir

MIN_DECISIONS = 100  # as training.improve.ImproveOptions.min_decisions
KILL_AFTER_MS = 3000  # Cancel asks the run to stop; after this it is killed


@dataclass(frozen=True)
class TrainingData:
    """What the store holds to learn from."""

    decisions: tuple[tuple[str, str], ...]  # (text, decided label)
    undecided: tuple[str, ...]

    @property
    def toxic(self) -> int:
        return sum(label != NON_TOXIC for _, label in self.decisions)

    def labels(self) -> Counter:
        return Counter(label for _, label in self.decisions)


def training_data(store: Store) -> TrainingData:
    """Every decided excerpt with its decision, and every excerpt nobody decided on."""
    decided = store.current_decisions()
    undecided = []
    for session in store.sessions():
        for excerpt in store.excerpts(session.id):
            if excerpt.id not in decided and excerpt.text.strip():
                undecided.append(" ".join(excerpt.text.split()))
    return TrainingData(tuple(store.training_rows()), tuple(dict.fromkeys(undecided)))


class ImproveDialog(QDialog):
    improved = Signal(str)  # the new version's folder, once written whole
    thresholds_fitted = Signal(object)  # models.thresholds_fit.ThresholdFit

    def __init__(
        self,
        store: Store,
        model_dir: str,
        categories: Sequence[str],
        classifier: Callable[[], object],
        parent: QWidget | None = None,
        versions: ModelVersions | None = None,
        extra_args: Sequence[str] = (),
        min_decisions: int = MIN_DECISIONS,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Improve the model")
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)
        self.store = store
        self.model_dir = model_dir
        self.categories = list(categories)
        self.classifier = classifier
        self.versions = versions or ModelVersions()
        self.extra_args = list(extra_args)
        self.min_decisions = min_decisions
        self.process: QProcess | None = None
        self.out: Path | None = None
        self.summary: dict | None = None
        self.fit = None
        self._stderr = ""
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._cancelled = False
        self.data = training_data(store)

        self.counts = QLabel()
        self.counts.setTextFormat(Qt.TextFormat.PlainText)
        self.counts.setWordWrap(True)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # messages quote files and labels
        self.note.setWordWrap(True)
        self.stage = QLabel()
        self.stage.setTextFormat(Qt.TextFormat.PlainText)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.result = QLabel()
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.improve_button = QPushButton("&Improve")
        self.improve_button.clicked.connect(self.start)
        self.fit_button = QPushButton("&Fit thresholds")
        self.fit_button.clicked.connect(self.fit_thresholds)
        self.apply_button = QPushButton("&Apply thresholds")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self._apply_fit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        row = QHBoxLayout()
        for button in (self.improve_button, self.cancel_button, self.fit_button, self.apply_button):
            row.addWidget(button)
        row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(self.note)
        layout.addLayout(row)
        layout.addWidget(self.stage)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)
        layout.addWidget(buttons)
        self._describe()

    # --- what there is to learn from --------------------------------------------------------

    def _describe(self) -> None:
        data = self.data
        labels = data.labels()
        shown = ", ".join(f"{label.replace('_', ' ')} {n}" for label, n in labels.most_common())
        self.counts.setText(
            f"{len(data.decisions)} decisions ({data.toxic} toxic, "
            f"{len(data.decisions) - data.toxic} not toxic: {shown or 'none yet'}) and "
            f"{len(data.undecided)} undecided excerpts to keep what the model knows."
        )
        reasons = []
        missing = missing_training()
        if missing:
            reasons.append(missing_message(missing))
        elif trainable_dir(self.model_dir or None) is None:
            reasons.append(
                "The model in use carries no trainable weights (trainable/); switch to the "
                "shipped model or an improved version to fine-tune."
            )
        if len(data.decisions) < self.min_decisions:
            reasons.append(
                f"{len(data.decisions)} decisions are too few to fine-tune (at least "
                f"{self.min_decisions}); fit the thresholds to them instead."
            )
        self.improve_button.setEnabled(not reasons)
        self.note.setText(" ".join(reasons))

    # --- fine-tuning in a subprocess ---------------------------------------------------------

    def command(self) -> list[str]:
        """The `modlens improve` command line this dialog runs (after `start` wrote the files)."""
        folder = Path(self._workdir.name)
        args = ["-m", "client.cli", "improve", "--decisions", str(folder / "decisions.jsonl")]
        args += ["--unlabeled", str(folder / "undecided.txt"), "--out", str(self.out)]
        if self.model_dir:
            args += ["--model", self.model_dir]
        if self.categories:
            args += ["--categories", ",".join(self.categories)]
        return [*args, "--json", "--progress", "json", *self.extra_args]

    def start(self) -> None:
        if self.process is not None:
            return
        self._workdir = tempfile.TemporaryDirectory(prefix="modlens-improve-")
        folder = Path(self._workdir.name)
        (folder / "decisions.jsonl").write_text(
            "".join(
                json.dumps({"text": t, "label": label}) + "\n" for t, label in self.data.decisions
            ),
            encoding="utf-8",
        )
        (folder / "undecided.txt").write_text(
            "".join(t + "\n" for t in self.data.undecided), encoding="utf-8"
        )
        self.versions.clean_staging()
        self.out = self.versions.new_version_path()
        self.summary = None
        self._stderr = ""
        self._cancelled = False
        process = QProcess(self)
        process.setWorkingDirectory(str(folder))
        process.readyReadStandardError.connect(self._read_progress)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._process_error)
        self.process = process
        self.stage.setText("Starting…")
        self.progress.setRange(0, 0)  # busy until the first progress line
        self.result.clear()
        self._busy(True)
        process.start(sys.executable, self.command())

    def _busy(self, busy: bool) -> None:
        self.improve_button.setEnabled(not busy)
        self.fit_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.close_button.setEnabled(not busy)

    def _read_progress(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        self._stderr = (self._stderr + text)[-20_000:]
        for line in text.splitlines():
            if not line.startswith('{"stage"'):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.stage.setText(str(event.get("stage", "")).capitalize() + "…")
            total, done = int(event.get("total") or 0), int(event.get("done") or 0)
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(min(done, max(1, total)))

    def cancel(self) -> None:
        """Ask the run to stop (it removes what it staged); kill it if it does not."""
        if self.process is None:
            return
        self._cancelled = True
        self.stage.setText("Cancelling…")
        self.process.terminate()
        process = self.process

        def kill_if_running() -> None:
            # RuntimeError: the dialog, and its process object, were closed meanwhile
            with contextlib.suppress(RuntimeError):
                if process.state() != QProcess.ProcessState.NotRunning:
                    process.kill()

        # the process as context: the timer goes with it when it is deleted first
        QTimer.singleShot(KILL_AFTER_MS, process, kill_if_running)

    def _process_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._done_with(f"modlens improve could not be started: {self.process.errorString()}")

    def _finished(self, code: int, status) -> None:
        if self.process is None:
            return
        self._read_progress()
        stdout = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        if self._cancelled:
            self._done_with("Cancelled. The model in use is unchanged.")
            return
        if status == QProcess.ExitStatus.CrashExit:
            self._done_with(
                "The training process ended unexpectedly; the model in use is unchanged."
            )
            return
        try:
            summary = json.loads(stdout) if stdout.strip() else None
        except ValueError:
            summary = None
        if summary is None:
            lines = [
                line.removeprefix("modlens: ")
                for line in self._stderr.splitlines()
                if line.startswith("modlens: ")
            ]
            reason = lines[-1] if lines else f"modlens improve stopped (exit {code})."
            self._done_with(reason)
            return
        self.summary = summary
        old, new = summary["old"], summary["new"]
        numbers = (
            f"On {summary['rows']['holdout']} held-out decisions: F1 {old['f1']:.3f} before, "
            f"{new['f1']:.3f} after (precision {old['precision']:.3f} → {new['precision']:.3f}, "
            f"recall {old['recall']:.3f} → {new['recall']:.3f})."
        )
        too_few = summary.get("too_few") or {}
        if too_few:
            numbers += (
                " Not learned, too few decisions: "
                + ", ".join(f"{k.replace('_', ' ')} ({v})" for k, v in too_few.items())
                + "."
            )
        if summary.get("better") and summary.get("written"):
            self._done_with(
                f"A better model: now in use as {Path(summary['written']).name}. {numbers}"
            )
            self.improved.emit(summary["written"])
        else:
            self._done_with(f"The new model is not better, so it was not kept. {numbers}")

    def _done_with(self, message: str) -> None:
        self.result.setText(message)
        self.stage.setText("")
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.summary and self.summary.get("better") else 0)
        self.process = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
        self._busy(False)
        self._describe()

    def running(self) -> bool:
        return self.process is not None

    # --- the fast path: thresholds -----------------------------------------------------------

    def fit_thresholds(self) -> None:
        from client.workers import run_task
        from models.thresholds_fit import fit_classifier

        classifier = self.classifier()
        if classifier is None:
            self.result.setText("The classifier is still loading; try again in a moment.")
            return
        rows = [(t, label) for t, label in self.data.decisions]
        self.fit_button.setEnabled(False)
        self.result.setText("Fitting the thresholds to the decisions…")

        def done(fit) -> None:
            self.fit = fit
            self.fit_button.setEnabled(True)
            values = ", ".join(
                f"{k.replace('_', ' ')} {round(v * 100)} %" for k, v in fit.as_settings().items()
            )
            self.result.setText(
                f"On {fit.rows} decisions: F1 {fit.before.f1:.3f} with the thresholds in use, "
                f"{fit.after.f1:.3f} with these: {values}."
            )
            self.apply_button.setEnabled(True)

        def failed(message: str) -> None:
            self.fit_button.setEnabled(True)
            self.result.setText(message)

        run_task(lambda: fit_classifier(classifier, rows), done, failed, self)

    def _apply_fit(self) -> None:
        if self.fit is not None:
            self.thresholds_fitted.emit(self.fit)
            self.apply_button.setEnabled(False)
            self.result.setText(self.result.text() + " Applied.")

    def reject(self) -> None:
        if self.process is not None:
            self.cancel()
            return
        super().reject()


def use_model(window, path: str | None) -> None:
    """Switch the window's classifier to a model folder (None: the shipped one) and keep it."""
    window.apply_settings(window.settings.with_changes(model_dir=path or ""))


def open_improve(window, **options) -> ImproveDialog:
    """The dialog for a MainWindow; a better model becomes the active version at once."""
    from client.settings import studio_categories

    dialog = ImproveDialog(
        window.store,
        window.settings.model_dir,
        studio_categories(window.settings),
        lambda: window.classifier_service.classifier,
        window,
        **options,
    )

    def improved(path: str) -> None:
        dialog.versions.activate(Path(path).name, previous=window.settings.model_dir)
        use_model(window, path)
        window.show_message(f"Now using the improved model {Path(path).name}.")

    def fitted(fit) -> None:
        window.apply_settings(window.settings.with_changes(thresholds=fit.as_settings()))
        window.show_message("Thresholds fitted to the decisions are in use (see Settings).")

    dialog.improved.connect(improved)
    dialog.thresholds_fitted.connect(fitted)
    dialog.open()
    return dialog
