"""The main window: Live, Sessions and Text screens in tabs, menus for opening, exporting and
settings, and a status bar saying what the models are doing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from client.gui_gc import GuiThreadCollector
from client.labels import plain_html
from client.services import StoreService
from client.settings import Settings, save_settings
from client.store import Store
from client.widgets.live_view import LiveView
from client.widgets.sessions_view import SessionsView
from client.widgets.text_view import TextView
from client.workers import ClassifierService, ScanQueue, VoiceScan, run_task
from models.taxonomy import Taxonomy

LOAD_DELAY_MS = 200
DEFAULT_SIZE = (1280, 800)
SHORTCUTS = """<table cellspacing=4>
<tr><td><b>N</b> / <b>J</b></td><td>next flagged excerpt</td></tr>
<tr><td><b>P</b> / <b>K</b></td><td>previous flagged excerpt</td></tr>
<tr><td><b>C</b></td><td>confirm the model's category</td></tr>
<tr><td><b>F</b> / <b>X</b></td><td>dismiss as a false positive</td></tr>
<tr><td><b>R</b></td><td>relabel to the category chosen beside Relabel (or flag what the
model missed)</td></tr>
<tr><td><b>Enter</b> in the note</td><td>keep the note with its excerpt (saved at once when it
is decided)</td></tr>
<tr><td><b>Ctrl+F</b></td><td>search the excerpts by text or player</td></tr>
<tr><td><b>Space</b> / <b>Enter</b></td><td>play the excerpt (Sessions)</td></tr>
<tr><td><b>Ctrl+Z</b></td><td>undo the last decision in this session</td></tr>
<tr><td><b>Ctrl+Enter</b></td><td>check the text (Text)</td></tr>
<tr><td><b>Ctrl+1/2/3</b></td><td>Live, Sessions, Text</td></tr>
</table><p>Single keys work while the excerpt table has the focus. After a decision the
review moves on to the next unreviewed flagged excerpt.</p>"""


class MainWindow(QMainWindow):
    model_ready = Signal()

    def __init__(
        self,
        store: Store,
        settings: Settings,
        settings_path: Path | None = None,
        load_model: bool = True,
    ) -> None:
        super().__init__()
        # Qt objects must never be garbage-collected from a scan or capture thread
        self.collector = GuiThreadCollector(self)
        self.store = store
        self.settings = settings
        self.settings_path = settings_path
        self.taxonomy = Taxonomy()
        self.setWindowTitle("modlens")

        self.classifier_service = ClassifierService(self)
        self.classifier_service.ready.connect(self._on_model_ready)
        self.classifier_service.failed.connect(self._on_model_failed)
        self.scan = VoiceScan(self.classifier_service, lambda: self.settings)
        self.queue = ScanQueue(store, self.scan, self)

        moderator = lambda: self.settings.moderator  # noqa: E731
        self.sessions_view = SessionsView(store, self.taxonomy, self.queue, moderator)
        self.text_view = TextView(
            store,
            self.taxonomy,
            lambda: self.classifier_service.classifier,
            moderator,
            classifier_error=lambda: self.classifier_service.error,
        )
        self.tabs = QTabWidget()
        self.live_view = self._make_live_view(moderator)
        self.tabs.addTab(self.live_view, "&Live")
        self.tabs.addTab(self.sessions_view, "&Sessions")
        self.tabs.addTab(self.text_view, "&Text")
        self.tabs.setCurrentWidget(self.sessions_view)
        self.setCentralWidget(self.tabs)

        self.model_status = QLabel("Classifier: not loaded")
        self.model_status.setTextFormat(Qt.TextFormat.PlainText)  # folder names, error messages
        self.statusBar().addPermanentWidget(self.model_status)
        for view in (self.sessions_view, self.text_view, self.live_view):
            view.status.connect(self.show_message)
        self.sessions_view.open_text_session.connect(self.show_text_session)
        self.sessions_view.recover()
        self.text_view.session_created.connect(
            lambda _id: self.sessions_view.refresh_sessions(select=self.sessions_view.session_id)
        )
        self.live_view.session_saved.connect(self.sessions_view.session_added)
        self._build_menus()
        self.fit_to_screen()
        self._load_on_show = load_model

    def fit_to_screen(self, width: int = DEFAULT_SIZE[0], height: int = DEFAULT_SIZE[1]) -> None:
        """Take the default size, or less where the screen is smaller (200% scaling on a laptop
        leaves 960x540), and centre the window on the screen it opens on."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(width, height)
            return
        available = screen.availableGeometry()
        # leave room for the window frame and title bar, which resize() does not count
        width = max(320, min(width, available.width() - 16))
        height = max(240, min(height, available.height() - 48))
        self.resize(width, height)
        frame = self.frameGeometry()
        frame.moveCenter(available.center())
        self.move(frame.topLeft())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._load_on_show:
            self._load_on_show = False
            # Importing ONNX Runtime and numpy on the loading thread holds the GIL for a while;
            # a short delay lets the window paint its first frame without waiting for it.
            QTimer.singleShot(LOAD_DELAY_MS, self.load_model)

    def _make_live_view(self, moderator) -> LiveView:
        return LiveView(self.store, self.taxonomy, self.classifier_service, self, moderator)

    # --- menus ------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open recordings…", "Ctrl+O", self._open_recordings)
        self._action(file_menu, "Open &chat log…", "Ctrl+Shift+O", self._open_chat)
        self._action(file_menu, "Open &batch results…", "Ctrl+B", self.open_batch_results)
        file_menu.addSeparator()
        self._action(file_menu, "Export &report…", "Ctrl+E", self.export_report)
        self._action(file_menu, "Export &training data…", "Ctrl+Shift+E", self.export_training)
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", "Ctrl+,", self.open_settings)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        model_menu = self.menuBar().addMenu("&Model")
        self._action(model_menu, "&Improve the model…", "Ctrl+Shift+I", self.open_improve)
        self._action(model_menu, "Model &versions…", "Ctrl+Shift+M", self.open_model_versions)
        view_menu = self.menuBar().addMenu("&View")
        for number in range(self.tabs.count()):
            name = self.tabs.tabText(number).replace("&", "")
            self._action(
                view_menu,
                name,
                f"Ctrl+{number + 1}",
                # triggered(checked) passes a bool first: it must not land in the tab number
                lambda _checked=False, n=number: self.tabs.setCurrentIndex(n),
            )
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", "F1", self.show_shortcuts)

    def _action(self, menu, text, keys, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # --- models -----------------------------------------------------------------------------

    def load_model(self) -> None:
        from client.widgets.studio_settings import load_window_word_lists

        self.model_status.setText("Classifier: loading…")
        self.classifier_service.word_lists = load_window_word_lists(self)
        self.classifier_service.load(self.settings)

    def open_improve(self):
        """The Improve the model dialog (fine-tune on the decisions, or fit thresholds)."""
        from client.widgets.improve_dialog import open_improve

        return open_improve(self)

    def open_model_versions(self):
        from client.widgets.models_view import open_model_versions

        return open_model_versions(self)

    def _on_model_ready(self, classifier) -> None:
        self.taxonomy = Taxonomy(tuple(classifier.labels))
        for view in (self.sessions_view, self.text_view, self.live_view):
            view.set_taxonomy(self.taxonomy)
        name = Path(classifier.path).name
        self.model_status.setText(f"Classifier: {name} ({len(classifier.labels) - 1} categories)")
        self.queue.warm_up()
        self.model_ready.emit()

    def _on_model_failed(self, message: str) -> None:
        short = message if len(message) <= 60 else message[:59] + "…"
        self.model_status.setText(f"Classifier failed to load: {short}")
        self.model_status.setToolTip(plain_html(f"Classifier failed to load: {message}"))
        self.show_message(f"The classifier failed to load: {message} (see Settings)")

    # --- actions ----------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)

    def show_text_session(self, session_id: int) -> None:
        self.tabs.setCurrentWidget(self.text_view)
        self.text_view.show_session(session_id)

    def _open_recordings(self) -> None:
        self.tabs.setCurrentWidget(self.sessions_view)
        self.sessions_view.choose_files()

    def _open_chat(self) -> None:
        self.tabs.setCurrentWidget(self.text_view)
        self.text_view.choose_file()

    def open_batch_results(self, path: str | None = None):
        """The triage window of a `modlens batch` results folder (chosen when path is None)."""
        from client.widgets.triage_view import open_batch_results

        return open_batch_results(self, path)

    def current_session_id(self) -> int | None:
        view = self.tabs.currentWidget()
        review = getattr(view, "review", None)
        return review.session_id if review is not None else None

    def export_report(self) -> None:
        from client.widgets.report_dialog import ReportDialog

        session_id = self.current_session_id()
        if session_id is None:
            self.show_message("Open a session first: its report is what gets exported.")
            return
        dialog = ReportDialog(
            self.store,
            session_id,
            self,
            classifier=self.classifier_service.classifier,
            whisper_model=self.settings.whisper_model,
        )
        dialog.exported.connect(self.show_message)
        dialog.open()

    def export_training(self, path: str | None = None) -> None:
        from client.widgets.report_dialog import choose_training_export, remember_training_export

        if not path:
            path = choose_training_export(self)
        if not path:
            return

        def done(count: int) -> None:
            remember_training_export(path)
            self.show_message(f"Exported {count} decided excerpts to {path}.")

        def failed(message: str) -> None:
            self._warn("Export failed", f"{path} could not be written: {message}")

        service = StoreService(self.store)
        run_task(lambda: service.export_training(path), done, failed, self)

    def open_settings(self) -> None:
        from client.widgets.settings_dialog import SettingsDialog
        from client.widgets.studio_settings import load_window_word_lists, save_window_word_lists

        dialog = SettingsDialog(
            self.settings, self.taxonomy, parent=self, word_lists=load_window_word_lists(self)
        )
        if dialog.exec():
            lists_changed = save_window_word_lists(self, dialog)
            self.apply_settings(dialog.result_settings(), reload=lists_changed)

    def apply_settings(self, settings: Settings, reload: bool = False) -> None:
        """Keep and use new settings; reload=True reloads the classifier even when its folder
        and thresholds stay the same (the word lists changed)."""
        reload = reload or (settings.model_dir, settings.thresholds) != (
            self.settings.model_dir,
            self.settings.thresholds,
        )
        rewarm = (settings.whisper_model, settings.language, settings.vocabulary) != (
            self.settings.whisper_model,
            self.settings.language,
            self.settings.vocabulary,
        )
        self.settings = settings
        try:
            save_settings(settings, self.settings_path)
        except OSError as exc:
            self._warn("Settings not saved", f"Settings could not be saved: {exc}")
        if reload:
            self.load_model()  # warms Whisper up again once the classifier is ready
        elif rewarm and self.classifier_service.classifier is not None:
            self.queue.warm_up()

    def _warn(self, title: str, text: str) -> None:
        """A warning whose text (paths, error messages) is shown as plain text."""
        QMessageBox.warning(self, title, plain_html(text))

    def show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(SHORTCUTS)
        box.open()

    def closeEvent(self, event) -> None:
        self.live_view.stop_now()
        # a file cut off mid-scan stays 'scanning' in the store and is offered again next time;
        # the scan thread is a daemon, and SQLite rolls back a write it was in the middle of
        self.queue.shutdown(wait_ms=500)
        super().closeEvent(event)
        if event.isAccepted():
            self.collector.stop()
