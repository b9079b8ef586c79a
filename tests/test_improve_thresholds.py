"""The fast path (thresholds fitted to decisions, no torch) and model versions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.thresholds_fit import FitError, fit_thresholds
from models.versions import DEFAULT_NAME, ModelVersions, VersionError
from tests.improve_data import decisions, write_decisions

LABELS = ("non_toxic", "profanity", "insult", "identity_hate", "threat")
ROOT = Path(__file__).resolve().parents[1]


def _probs(p_toxic: list[float], top: int = 2) -> np.ndarray:
    rows = np.zeros((len(p_toxic), len(LABELS)))
    rows[:, 0] = 1 - np.asarray(p_toxic)
    rows[:, top] = np.asarray(p_toxic)
    return rows


def test_thresholds_move_to_where_the_decisions_separate():
    # the model is timid: toxic excerpts get P(toxic) 0.3-0.45, clean ones 0.05-0.2
    rng = np.random.default_rng(0)
    toxic, clean = rng.uniform(0.3, 0.45, 30), rng.uniform(0.05, 0.2, 30)
    probs = _probs([*toxic, *clean])
    labels = ["insult"] * 30 + ["non_toxic"] * 30
    fit = fit_thresholds(probs, labels, LABELS, current=0.5)
    assert fit.before.f1 == 0.0 and fit.after.f1 == 1.0
    assert 0.2 <= fit.threshold <= 0.3
    assert list(fit.category_thresholds) == ["insult"]
    assert 0.2 <= fit.category_thresholds["insult"] <= 0.3
    # categories never top among the decisions keep the global value (not listed)
    assert set(fit.kept_default) == {"profanity", "identity_hate", "threat"}
    assert fit.as_settings()["toxic"] == fit.threshold
    json.dumps(fit.to_json())


def test_a_studio_category_the_model_lacks_counts_as_toxic():
    probs = _probs([0.9] * 15 + [0.1] * 15)
    fit = fit_thresholds(probs, ["cheating"] * 15 + ["non_toxic"] * 15, LABELS)
    assert fit.toxic_rows == 15 and fit.after.f1 == 1.0


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["insult"] * 5 + ["non_toxic"] * 5, "too few"),
        (["insult"] * 30, "Every decision says toxic"),
    ],
)
def test_unusable_decisions_are_refused(labels, message):
    with pytest.raises(FitError, match=message):
        fit_thresholds(_probs([0.5] * len(labels)), labels, LABELS)


def test_fit_thresholds_from_the_command_line_needs_no_torch(tiny_model_dir, tmp_path):
    path = write_decisions(tmp_path / "d.csv", decisions(n=60))
    code = "import sys; sys.modules['torch'] = None\nfrom client.cli import main\nsys.exit(main())"
    args = ["improve", "--fit-thresholds", "--decisions", str(path), "--model", str(tiny_model_dir)]
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    fit = json.loads(done.stdout)
    assert fit["rows"] == 60 and fit["toxic_rows"] == 30
    assert fit["after"]["f1"] >= fit["before"]["f1"]
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nidiot,rmt\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", code, "improve", "--fit-thresholds", "--decisions", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "unknown labels 'rmt'" in done.stderr


# --- versions ---------------------------------------------------------------------------------


def test_versions_are_kept_side_by_side_and_switched(tiny_model_dir, tmp_path):
    versions = ModelVersions(tmp_path / "models")
    first = versions.new_version_path()
    shutil.copytree(tiny_model_dir, first)
    second = versions.new_version_path()
    assert second != first and second.name.startswith("v002-")
    shutil.copytree(tiny_model_dir, second)
    (versions.root / ".improve-1-2").mkdir()  # a run staging: never listed
    listed = versions.versions()
    assert [v.name for v in listed] == [DEFAULT_NAME, first.name, second.name]
    assert listed[0].trainable  # the shipped model carries its weights
    assert not listed[1].trainable and listed[1].labels == LABELS

    assert versions.active_path() is None
    assert versions.activate(first.name) == first
    assert versions.activate(second.name) == second
    assert versions.active_path() == second and versions.previous() == first.name
    assert versions.activate(versions.previous()) == first
    # a folder outside the versions (Settings may name one) can be recorded and switched back to
    assert versions.activate(str(tiny_model_dir), previous=first.name) == tiny_model_dir
    assert versions.name_of(first) == first.name and versions.name_of(tiny_model_dir) is None
    assert versions.activate(DEFAULT_NAME) is None
    with pytest.raises(VersionError, match="no model version"):
        versions.activate("v999")
    # a damaged version is listed with its problem and cannot be switched to
    (second / "tokenizer.json").write_text("{}")
    damaged = versions.versions()[2]
    assert damaged.problem and "cannot be used" in damaged.describe()
    with pytest.raises(VersionError, match="cannot be used"):
        versions.activate(second.name)


def test_staging_left_by_a_dead_run_is_cleaned_and_a_live_one_kept(tmp_path):
    versions = ModelVersions(tmp_path)
    live = versions.staging_path()
    dead = tmp_path / ".improve-999999999-1"
    dead.mkdir()
    assert versions.clean_staging() == [dead]
    assert live.is_dir() and not dead.exists()
