"""Weight averages of fine-tuned runs (a "model soup", Wortsman et al. 2022).

Runs fine-tuned from the same encoder with the same rows and splits, differing only in chance
(config ``shuffle_seed``) or a little in data, can be averaged weight by weight. The average is
written as a run folder that ``modlens export`` takes: the first run's files, the averaged
one-stage weights, thresholds picked again on the same validation split, the test split measured
again, and ``average.json`` naming the ingredients.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

# settings that decide which rows are validation and test rows: runs must agree on them, or
# one run's training rows could be the average's validation rows
SPLIT_SETTINGS = ("base_model", "categories", "seed", "test_fraction", "validation_fraction")
WEIGHTS = "model.safetensors"


class AverageError(ValueError):
    """The runs cannot be averaged (missing files, other splits, other shapes)."""


def _run_config(run: Path) -> dict[str, Any]:
    for name in ("config.yaml", "metrics.json", f"one_stage/{WEIGHTS}"):
        if not (run / name).is_file():
            raise AverageError(f"{run} is not a finished one-stage run: {name} is missing")
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise AverageError(f"{run}/config.yaml is not a run's config")
    return config


def check_runs(runs: Sequence[Path]) -> list[dict[str, Any]]:
    """The runs' configs, once they are known to share splits; AverageError if they do not."""
    if len(runs) < 2:
        raise AverageError("an average needs at least two runs")
    if len({r.resolve() for r in runs}) < len(runs):
        raise AverageError("a run is listed twice; weight it by training it again instead")
    configs = [_run_config(r) for r in runs]
    first = configs[0]
    for run, config in zip(runs[1:], configs[1:], strict=True):
        differ = [k for k in SPLIT_SETTINGS if config.get(k) != first.get(k)]
        if differ:
            raise AverageError(
                f"{run} differs from {runs[0]} in {', '.join(differ)}: "
                "runs averaged must share the encoder, labels and splits"
            )
    return configs


def average_weights(
    files: Sequence[Path], coefficients: Sequence[float] | None = None
) -> dict[str, Any]:
    """The weighted sum of the weight files (safetensors) in float32; uniform by default."""
    from safetensors.torch import load_file

    coefficients = list(coefficients or [1.0 / len(files)] * len(files))
    if len(coefficients) != len(files):
        raise AverageError("one coefficient per weight file")
    total: dict[str, Any] = {}
    for file, a in zip(files, coefficients, strict=True):
        weights = load_file(str(file))
        if total and (
            weights.keys() != total.keys()
            or any(weights[k].shape != total[k].shape for k in weights)
        ):
            raise AverageError(f"{file} has other layers than {files[0]}")
        for key, tensor in weights.items():
            value = a * tensor.float()
            total[key] = total[key] + value if key in total else value
    return {k: v.contiguous() for k, v in total.items()}


def write_run(template: Path, out: Path, weights: dict[str, Any]) -> None:
    """A copy of the run folder template (replacing out) with these one-stage weights."""
    from safetensors.torch import save_file

    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(
        template, out, ignore=shutil.ignore_patterns("checkpoints", "test_probs.npy", "*.pid")
    )
    save_file(weights, str(out / "one_stage" / WEIGHTS), metadata={"format": "pt"})


def add_ingredient_sources(out: Path, other_run: Path) -> list[str]:
    """List the sources another averaged run trained on, and their training rows, in the run
    folder out's config.yaml and data.json, so the model card names everything the averaged
    weights learned from; returns the names added. Splits and label counts stay out's own."""
    import yaml

    config = yaml.safe_load((out / "config.yaml").read_text("utf-8"))
    other = yaml.safe_load((other_run / "config.yaml").read_text("utf-8"))
    data = json.loads((out / "data.json").read_text("utf-8"))
    other_rows = json.loads((other_run / "data.json").read_text("utf-8"))["train"]["sources"]
    known = {s["name"] for s in config.get("sources", [])}
    added = [s for s in other.get("sources", []) if s["name"] not in known]
    config["sources"] = [*config.get("sources", []), *added]
    for source in added:
        data["train"]["sources"][source["name"]] = other_rows.get(source["name"], 0)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    (out / "data.json").write_text(json.dumps(data, indent=2), "utf-8")
    metrics_file = out / "metrics.json"
    if metrics_file.is_file():  # the card reads the data summary kept in the metrics
        metrics = json.loads(metrics_file.read_text("utf-8"))
        if "data" in metrics:
            metrics["data"]["train"]["sources"] = data["train"]["sources"]
            metrics_file.write_text(json.dumps(metrics, indent=2), "utf-8")
    return [s["name"] for s in added]


def average_runs(
    runs: Sequence[str | Path], out: str | Path, data_root: str | Path | None = None
) -> dict[str, Any]:
    """Write the average of runs to the run folder out (replaced whole) and return its metrics.

    data_root: the folder the runs' source paths are relative to (default: the current folder,
    where `modlens train` was run)."""
    from training.config import load_config
    from training.train import reevaluate

    runs = [Path(r) for r in runs]
    out = Path(out)
    if out.resolve() in {r.resolve() for r in runs}:
        raise AverageError(f"{out} is one of the runs; write the average to a new folder")
    check_runs(runs)
    config = load_config(runs[0] / "config.yaml", data_root if data_root is not None else ".")
    write_run(runs[0], out, average_weights([r / "one_stage" / WEIGHTS for r in runs]))
    names = [r.name for r in runs]
    (out / "average.json").write_text(json.dumps({"runs": [str(r) for r in runs]}, indent=2))
    note = (
        f"Weights: the uniform average of {len(runs)} runs ({', '.join(names)}), "
        "thresholds picked again on validation"
    )
    metrics = reevaluate(out, config, note)
    for run in runs[1:]:  # runs may differ a little in data: the card names all of it
        add_ingredient_sources(out, run)
    return metrics
