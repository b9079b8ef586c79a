"""Archive scans: `modlens batch` runs many recordings on a Ray cluster and writes a results folder
that the desktop app opens for triage.

``client.batch.results`` (the folder format, the manifest, reading results back) needs neither Ray
nor pyarrow and is what the app imports; ``client.batch.engine`` is the Ray part and is imported
only by the ``batch`` command.
"""
