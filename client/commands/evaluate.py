"""`modlens evaluate`: evaluate a model folder on labeled data (needs the train extra for train and export)."""

from __future__ import annotations

import argparse

from training import cli


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("evaluate", help="evaluate a model folder on labeled data", description="Evaluate a model folder on labeled data.")
    cli.add_evaluate_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    return cli.run_evaluate(args)
