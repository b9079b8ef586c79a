"""Fine-tuning, evaluation and ONNX export of modlens classifiers. Needs the `train` extra
(torch, transformers); the app never imports this package."""

import models  # noqa: F401 - switches ONNX Runtime telemetry off before any import of it
