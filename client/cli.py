"""The `modlens` command line. With no arguments it starts the desktop app."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# modules in client.commands, in help order; a module with NAMES serves several subcommands
COMMANDS = ("classify", "scan", "listen", "batch", "training", "improve")


class Parser(argparse.ArgumentParser):
    """argparse whose messages (which quote the user's arguments) reach the terminal cleaned."""

    def _print_message(self, message: str, file=None) -> None:
        from client.terminal import clean

        if message:
            message = "\n".join(clean(line) for line in message.split("\n"))
        super()._print_message(message, file)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="modlens",
        description="Offline voice and text moderation: transcribe, classify, review. "
        "Run with no arguments to open the desktop app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"client.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"client.commands.{name}":
                raise
            continue
        for command in (
            [module.add_parser(sub, n) for n in module.NAMES]
            if hasattr(module, "NAMES")
            else [module.add_parser(sub)]
        ):
            command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        try:
            from client.app import main as app_main
        except ModuleNotFoundError:
            build_parser().print_help()
            return 0
        return app_main()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
