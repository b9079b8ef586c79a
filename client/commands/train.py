"""`modlens train`: fine-tune a classifier from a config (needs the train extra for train and export)."""

from __future__ import annotations

import argparse

from training import cli


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("train", help="fine-tune a classifier from a config", description="Fine-tune a classifier from a config.")
    cli.add_train_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    return cli.run_train(args)
