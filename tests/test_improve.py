"""`modlens improve` on a tiny random model: better or refused, studio categories, bad files,
cancel and kill mid-run, the command line and a missing training extra."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.model_folder import sha256_file
from tests.improve_data import decisions, trainable_model, write_decisions, write_unlabeled

ROOT = Path(__file__).resolve().parents[1]
# the tiny model's word embeddings are random, not pretrained: it learns through them. 40
# epochs, not 15: at 15 its loss was still ~0.5 and "better" turned on float noise (1 of 10
# seeded tiny models failed one of these scenarios, and CI failed the app's twice); at 40 all
# 10 passed all three
FAST = {
    "learning_rate": 3e-3,
    "epochs": 40,
    "distil_weight": 0.3,
    "threads": 1,
    "freeze_embeddings": False,
}


@pytest.fixture(scope="module")
def base_model(tiny_model_dir, tiny_hf_model, tmp_path_factory) -> Path:
    return trainable_model(tmp_path_factory.mktemp("base") / "model", tiny_model_dir, tiny_hf_model)


@pytest.fixture(scope="module")
def improved(base_model, tmp_path_factory):
    """One improve run from the tiny model on 160 decisions and 200 undecided excerpts."""
    from training.improve import ImproveOptions, improve

    folder = tmp_path_factory.mktemp("improved")
    seen = []
    result = improve(
        write_decisions(folder / "decisions.jsonl", decisions(cheating=30, spam=3)),
        folder / "v1",
        model=base_model,
        unlabeled=write_unlabeled(folder / "undecided.txt"),
        categories=["cheating", "spam"],
        options=ImproveOptions(**FAST, min_threshold_fit=20),
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    return result, seen


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_better_model_is_written_with_its_card_and_weights(improved, base_model):
    from models.classifier import Classifier

    result, seen = improved
    summary = result.summary
    assert result.better and result.written is not None
    assert summary["new"]["f1"] > summary["old"]["f1"]
    assert summary["rows"]["holdout"] >= 30 and summary["rows"]["distilled"] > 0
    # the new model's thresholds were judged on decisions set aside from training, not held out
    assert summary["rows"]["threshold_fit"] >= 20
    assert (
        summary["rows"]["train"] + summary["rows"]["threshold_fit"] + summary["rows"]["holdout"]
        == summary["rows"]["decisions_used"]
    )
    assert "fitted" in summary["thresholds"]
    # a valid model folder: checksums and config pass the loader's checks
    classifier = Classifier(result.written)
    assert classifier.labels[-1] == "cheating"
    assert classifier.config.extra["improve"]["new"] == summary["new"]
    assert (result.written / "trainable" / "model.safetensors").is_file()
    card = (result.written / "README.md").read_text(encoding="utf-8")
    assert "cheating (new)" in card and "spam (3)" in card
    assert f"{summary['new']['f1']:.3f}" in card
    # progress went through every stage, training step by step
    stages = [s for s, _, _ in seen]
    assert stages.index("training") < stages.index("judging the new model")
    steps = [(d, t) for s, d, t in seen if s == "training"]
    assert steps[-1][0] == steps[-1][1] == summary["training_steps"]


def test_with_few_decisions_the_new_model_keeps_the_old_thresholds(base_model, tmp_path):
    """Under min_threshold_fit rows to set aside, no refit on a noisy handful: every training
    decision is trained on, the inherited thresholds stay, and only as many undecided excerpts
    as the steps use are distilled (each once)."""
    from models.model_folder import load_config
    from training.improve import ImproveOptions, improve, training_steps

    options = ImproveOptions(**FAST)
    result = improve(
        write_decisions(tmp_path / "d.jsonl", decisions()),
        tmp_path / "v1",
        model=base_model,
        unlabeled=write_unlabeled(tmp_path / "u.txt", n=12_000),
        options=options,
    )
    summary, rows = result.summary, result.summary["rows"]
    assert rows["threshold_fit"] == 0
    assert rows["train"] + rows["holdout"] == rows["decisions_used"]
    assert summary["thresholds"]["fitted"] is False
    steps = training_steps(rows["train"], options)
    assert summary["training_steps"] == steps
    assert rows["distilled"] == steps * options.distil_batch_size < rows["unlabeled"]
    assert result.better
    old, new = load_config(base_model)[1], load_config(result.written)[1]
    assert (new.threshold, new.category_thresholds) == (old.threshold, old.category_thresholds)


def test_length_batches_cover_every_row_once_a_pass_in_batches_of_like_length():
    import numpy as np

    from training.improve import length_batches

    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 64, size=1000).tolist()
    batches = length_batches(lengths, 16, rng, window=8)
    first = [next(batches) for _ in range(63)]  # 1000 rows: 62 batches of 16 and one of 8
    second = [next(batches) for _ in range(63)]
    for one_pass in (first, second):
        assert sorted(i for b in one_pass for i in b) == list(range(1000))
        assert max(len(b) for b in one_pass) == 16
    assert first != second  # a new order each pass
    # padding to each batch's longest row costs far less than to random batches' longest
    padded = sum(len(b) * max(lengths[i] for i in b) for b in first)
    shuffled = rng.permutation(1000).reshape(-1, 8)
    random_padded = sum(len(b) * max(lengths[i] for i in b) for b in shuffled)
    assert padded < 0.8 * random_padded


def test_fine_tuning_leaves_the_word_embeddings_as_they_were(tiny_hf_model):
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.improve import ImproveOptions, _Stage, fine_tune

    model = AutoModelForSequenceClassification.from_pretrained(tiny_hf_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_hf_model)
    words = model.get_input_embeddings().weight.detach().clone()
    head = model.classifier.weight.detach().clone()
    rows = [(r["text"], r["label"]) for r in decisions(n=32)]
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    teacher = np.full((32, len(labels)), 1 / len(labels), dtype=np.float32)
    options = ImproveOptions(learning_rate=1e-2, epochs=2, threads=1)
    fine_tune(model, tokenizer, rows, labels, ["gg"] * 32, teacher, options, _Stage(None))
    assert torch.equal(model.get_input_embeddings().weight, words)
    assert not torch.equal(model.classifier.weight, head)


@pytest.mark.parametrize(
    ("cores", "load", "threads"), [(2, 0.1, 2), (2, 0.8, 1), (2, 8.0, 1), (8, 3.2, 5), (4, 0, 4)]
)
def test_default_threads_leave_busy_cores_alone(cores, load, threads, monkeypatch):
    from training import improve

    monkeypatch.setattr(improve.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(improve.os, "getloadavg", lambda: (load, load, load))
    assert improve.default_threads() == threads


def test_a_studio_category_with_too_few_examples_is_reported_not_learned(improved):
    result, _ = improved
    assert result.summary["too_few"] == {"spam": 3}
    assert "spam" not in result.summary["labels"]
    assert result.summary["categories"]["cheating"]["support"] == 30
    assert result.summary["categories"]["cheating"]["holdout_support"] == 6


def test_a_model_that_is_not_better_is_refused_and_nothing_is_written(improved, tmp_path):
    """Starting from the improved model (perfect on its decisions), a run whose training wrecks
    the weights scores worse: nothing is written, and the numbers say why."""
    from training.improve import ImproveOptions, improve

    good = improved[0].written
    before = _digests(good)
    result = improve(
        write_decisions(tmp_path / "d.csv", decisions(seed=5, cheating=30)),
        tmp_path / "worse",
        model=good,
        categories=["cheating"],
        options=ImproveOptions(learning_rate=0.5, epochs=1, threads=1),
    )
    assert not result.better and result.written is None
    assert result.summary["new"]["f1"] <= result.summary["old"]["f1"]
    assert not (tmp_path / "worse").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]  # no staging left behind
    assert _digests(good) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no decisions"),
        ("text,label\n", "holds no decisions"),
        ("text,label\ngg,non_toxic\nnice,non_toxic\n", "every decision says 'non_toxic'"),
        ("text,label\nidiot,insult\nnoob,insult\n", "every decision says 'insult'"),
        ("text,label\nidiot,insult\nbuy gold,rmt\n", "unknown labels 'rmt' (1)"),
        ("text,label\nidiot,insult\nloser,threat\n", "no decision says non_toxic"),
        ("words\nidiot\n", "needs columns text,label"),
    ],
)
def test_bad_decision_files_get_clear_messages(content, message, base_model, tmp_path):
    from training.improve import ImproveError, improve

    path = tmp_path / "decisions.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImproveError, match=message.replace("(", r"\(").replace(")", r"\)")):
        improve(path, tmp_path / "out", model=base_model)
    assert not (tmp_path / "out").exists()


def test_too_few_decisions_point_to_fitting_thresholds(base_model, tmp_path):
    from training.improve import ImproveError, improve

    path = write_decisions(tmp_path / "d.jsonl", decisions(n=40))
    with pytest.raises(ImproveError, match=r"too few to fine-tune.*fit-thresholds"):
        improve(path, tmp_path / "out", model=base_model)


def test_an_existing_out_folder_is_never_overwritten(base_model, tmp_path):
    from training.improve import ImproveError, improve

    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ImproveError, match="exists already"):
        improve(write_decisions(tmp_path / "d.jsonl", decisions()), out, model=base_model)
    assert (out / "keep.txt").read_text() == "mine"


def test_a_model_without_trainable_weights_is_refused(tiny_model_dir, tmp_path):
    from training.improve import ImproveError, improve

    with pytest.raises(ImproveError, match="carries no trainable weights"):
        improve(write_decisions(tmp_path / "d.jsonl", decisions()), tmp_path / "o", tiny_model_dir)


def test_the_shipped_model_carries_its_trainable_weights():
    from models.model_folder import DEFAULT_MODEL_DIR, load_config
    from models.versions import trainable_dir

    weights = trainable_dir(None)
    assert weights == DEFAULT_MODEL_DIR / "trainable"
    hf = json.loads((weights / "config.json").read_text())
    labels = [hf["id2label"][str(i)] for i in range(len(hf["id2label"]))]
    assert tuple(labels) == load_config(None, verify=False)[1].labels
    assert hf["dtype"] == "float16"


# --- the command line -------------------------------------------------------------------------


def _modlens(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "client.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_cli_json_summary_and_exit_codes(base_model, tmp_path):
    decided = write_decisions(tmp_path / "d.jsonl", decisions())
    args = ["improve", "--decisions", str(decided), "--model", str(base_model), "--json"]
    args += ["--threads", "1", "--epochs", "40", "--learning-rate", "3e-3", "--progress", "none"]
    args += ["--train-embeddings"]
    done = _modlens(*args, "--out", str(tmp_path / "new"))
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    summary = json.loads(out)
    assert summary["better"] and summary["written"] == str(tmp_path / "new")
    assert set(summary["old"]) == {"precision", "recall", "f1"}
    # the same decisions again, from the new model, with nothing to learn: not better, exit 1
    again = _modlens(
        *args[:4],
        str(tmp_path / "new"),
        "--json",
        "--threads",
        "1",
        "--learning-rate",
        "0",
        "--progress",
        "none",
        "--out",
        str(tmp_path / "n2"),
    )
    out, err = again.communicate(timeout=300)
    assert again.returncode == 1, err
    assert json.loads(out)["better"] is False and not (tmp_path / "n2").exists()
    bad = _modlens("improve", "--decisions", str(tmp_path / "missing.csv"), "--out", "x")
    _, err = bad.communicate(timeout=120)
    assert bad.returncode == 2 and "decisions file not found" in err


def test_cli_without_the_training_extra_says_what_to_install(tmp_path):
    """torch made unimportable, as in the bundle: the exact install line, exit 2."""
    code = (
        "import sys, importlib.util as u\n"
        "real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name == 'torch' else real(name, *a)\n"
        "sys.modules['torch'] = None\n"
        "from client.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "improve", "--decisions", "d.csv", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "pip install torch==2.13.0 && pip install 'modlens[train]'" in done.stderr


def _until_training(process: subprocess.Popen, limit: float = 240) -> None:
    deadline = time.time() + limit
    for line in process.stderr:
        if '"stage": "training"' in line:
            return
        assert time.time() < deadline, "no training progress"
    pytest.fail(f"improve ended before training: exit {process.wait()}")


@pytest.mark.parametrize("how", ["cancel", "kill"])
def test_cancel_or_kill_mid_run_leaves_the_model_untouched(how, base_model, tmp_path):
    from models.versions import ModelVersions

    before = _digests(base_model)
    versions = tmp_path / "models"
    versions.mkdir()
    decided = write_decisions(tmp_path / "d.jsonl", decisions())
    process = _modlens(
        "improve", "--decisions", str(decided), "--model", str(base_model), "--threads", "1",
        "--epochs", "5000", "--progress", "json", "--out", str(versions / "v001"),
    )  # fmt: skip
    _until_training(process)
    os.kill(process.pid, signal.SIGTERM if how == "cancel" else signal.SIGKILL)
    process.wait(timeout=60)
    assert not (versions / "v001").exists()
    assert _digests(base_model) == before
    left = [p.name for p in versions.iterdir()]
    if how == "cancel":
        assert left == []  # the run cleaned up after itself
    else:
        # whatever a killed run left is never listed as a version, and is cleared once its
        # process is gone
        assert ModelVersions(versions).versions(include_default=False) == []
        ModelVersions(versions).clean_staging()
        assert list(versions.iterdir()) == []


def test_the_apps_database_can_be_given_as_the_decisions(base_model, tiny_model_dir, tmp_path):
    """--decisions modlens.sqlite3: its decisions, and its undecided excerpts to distil."""
    from client.store import Store
    from models.classifier import Classifier
    from models.excerpts import Excerpt
    from training.improve import ImproveOptions, improve

    rows = decisions()
    texts = [r["text"] for r in rows] + [f"nice one u{i}" for i in range(25)]
    excerpts = [Excerpt(t, 0, len(t)) for t in texts]
    store = Store(tmp_path / "modlens.sqlite3")
    session = store.create_session("text", "chat")
    stored = store.add_excerpts(session.id, excerpts, Classifier(tiny_model_dir).classify(texts))
    for excerpt, row in zip(stored, rows, strict=False):
        if row["label"] == "non_toxic":
            store.decide(excerpt.id, "dismiss")
        elif excerpt.toxic:
            store.decide(excerpt.id, "relabel", "insult")
        else:
            store.decide(excerpt.id, "missed", "insult")
    store.close()
    result = improve(
        tmp_path / "modlens.sqlite3",
        tmp_path / "v1",
        model=base_model,
        options=ImproveOptions(**FAST),
    )
    assert result.summary["rows"]["decisions"] == len(rows)
    assert result.summary["rows"]["unlabeled"] == 25
