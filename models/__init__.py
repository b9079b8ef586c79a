"""Everything that runs a model: taxonomy, text normalisation, excerpt splitting, the ONNX
classifier and the Whisper transcriber. Never imports torch or transformers.

Importing this package switches off ONNX Runtime's telemetry before anything can load
onnxruntime (the classifier, or faster-whisper and its voice activity detector): without it
onnxruntime writes a device id and an event queue under ~/.cache/Microsoft and looks up
Microsoft's collector host every few seconds. ``disable_telemetry_events()`` does not stop
either; the environment variable read when the library loads does.
"""

import os as _os

OFFLINE_ENV = {"ORT_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1"}
_os.environ.update(OFFLINE_ENV)
