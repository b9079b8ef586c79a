"""Entry point of the desktop bundle: the same `modlens` command line, the app when run bare."""

from client.cli import main

raise SystemExit(main())
