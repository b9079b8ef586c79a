"""The moderator's settings, kept between runs as JSON in the user's config folder.

$MODLENS_CONFIG_DIR overrides the folder (tests, portable installs). A missing or damaged file
gives the defaults, and the damage is reported once so the app can say so in the window.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

CONFIG_DIR_ENV = "MODLENS_CONFIG_DIR"
SETTINGS_NAME = "settings.json"
WHISPER_MODELS = ("tiny.en", "base")
DEFAULT_VOCABULARY = "noob, idiot, uninstall, gg, ez, trash, camping, griefing, smurf, toxic"


@dataclass(frozen=True)
class Settings:
    model_dir: str = ""  # empty: the shipped classifier in models/weights/default
    whisper_model: str = "tiny.en"
    language: str = "en"
    vocabulary: str = DEFAULT_VOCABULARY
    thresholds: dict[str, float] = field(default_factory=dict)  # "toxic" or a category -> 0..1
    input_device: str = ""  # empty: the system's default microphone
    moderator: str = ""
    # the studio's own categories beyond the model's, comma-separated ("cheating, spam"): a
    # moderator can relabel or flag an excerpt with them, and they are exported for training
    categories: str = ""

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)

    def validated(self) -> Settings:
        """A copy with out-of-range values put back to their defaults."""
        thresholds = {
            str(k): float(v)
            for k, v in self.thresholds.items()
            if isinstance(v, int | float) and 0.0 <= float(v) <= 1.0
        }
        whisper = self.whisper_model if self.whisper_model in WHISPER_MODELS else "tiny.en"
        return replace(self, thresholds=thresholds, whisper_model=whisper)


def config_dir() -> Path:
    folder = os.environ.get(CONFIG_DIR_ENV)
    if folder:
        return Path(folder)
    from platformdirs import user_config_dir

    return Path(user_config_dir("modlens", appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_NAME


def load_settings(path: str | os.PathLike[str] | None = None) -> tuple[Settings, str | None]:
    """The saved settings and, when the file was unreadable, a message saying defaults are used."""
    path = Path(path) if path is not None else settings_path()
    if not path.exists():
        return Settings(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in fields(Settings)}
        values = {k: v for k, v in data.items() if k in known}
        for name in known - {"thresholds"}:
            if name in values and not isinstance(values[name], str):
                values[name] = str(values[name])
        if not isinstance(values.get("thresholds", {}), dict):
            values["thresholds"] = {}
        return Settings(**values).validated(), None
    except (OSError, ValueError, TypeError) as exc:
        return Settings(), f"Settings file {path} could not be read ({exc}); using defaults."


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> None:
    """Write the settings atomically (a temporary file renamed over the old one)."""
    path = Path(path) if path is not None else settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def vocabulary_words(settings: Settings) -> list[str]:
    return [w.strip() for w in settings.vocabulary.replace("\n", ",").split(",") if w.strip()]


def studio_categories(settings: Settings) -> list[str]:
    """The studio's categories as labels: lower case, spaces as underscores, no repeats."""
    labels = [
        "_".join(word.strip().lower().split())
        for word in settings.categories.replace("\n", ",").split(",")
    ]
    return list(dict.fromkeys(label for label in labels if label))


def decision_labels(model_labels: Sequence[str], settings: Settings) -> tuple[str, ...]:
    """Every label a decision may name: the model's taxonomy, then the studio's categories."""
    return tuple(dict.fromkeys([*model_labels, *studio_categories(settings)]))
