"""Entry point of the desktop bundle: the same `modlens` command line, the app when run bare."""

import os

# before anything can load onnxruntime (models/__init__.py does the same for every other entry)
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

from client.cli import main

raise SystemExit(main())
