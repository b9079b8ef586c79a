"""Everything that runs a model: taxonomy, text normalisation, excerpt splitting, the ONNX
classifier and the Whisper transcriber. Never imports torch or transformers."""
