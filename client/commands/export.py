"""`modlens export`: export a trained run to an int8 ONNX model folder (needs the train extra for train and export)."""

from __future__ import annotations

import argparse

from training import cli


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("export", help="export a trained run to an int8 ONNX model folder", description="Export a trained run to an int8 ONNX model folder.")
    cli.add_export_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    return cli.run_export(args)
