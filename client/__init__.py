"""The modlens desktop app and command line. Imports models/, never torch or transformers."""

import models  # noqa: F401 - switches ONNX Runtime telemetry off before any import of it
