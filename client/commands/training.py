"""`modlens train`, `average`, `export` and `evaluate`: thin wrappers over training.cli
(the train extra)."""

from __future__ import annotations

import argparse

from training import cli

HELP = {
    "train": "fine-tune a classifier from a config",
    "average": "average the weights of runs that share their splits (a model soup)",
    "export": "export a trained run to an int8 ONNX model folder",
    "evaluate": "evaluate a model folder on labeled data",
}
NAMES = tuple(HELP)


def add_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=HELP[name], description=HELP[name].capitalize() + ".")
    getattr(cli, f"add_{name}_arguments")(parser)
    parser.set_defaults(training_command=name)
    return parser


def run(args: argparse.Namespace) -> int:
    return getattr(cli, f"run_{args.training_command}")(args)
