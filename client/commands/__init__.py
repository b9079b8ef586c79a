"""One module per `modlens` subcommand, each with `add_parser(subparsers)` and `run(args) -> int`.

Modules keep heavy imports inside `run`, so `modlens --help` and the app start fast.
"""
