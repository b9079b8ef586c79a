"""A stand-in for the sounddevice module: an input stream that plays prepared audio into the
callback from its own thread (as PortAudio does), in 100 ms blocks at twice real time."""

from __future__ import annotations

import sys
import threading
import time
import types
from typing import ClassVar

import numpy as np


class FakeInputStream:
    audio = np.zeros(0, dtype=np.float32)
    opened: ClassVar[list[dict]] = []
    callback_threads: ClassVar[set[str]] = set()

    def __init__(self, samplerate, channels, dtype, device, blocksize, callback):
        self.block = blocksize
        self.callback = callback
        self.opened.append({"device": device, "samplerate": samplerate})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play, name="fake-portaudio", daemon=True)

    def _play(self):
        position = 0
        while not self._stop.is_set():
            block = self.audio[position : position + self.block]
            if len(block) < self.block:
                block = np.concatenate([block, np.zeros(self.block - len(block), np.float32)])
            position += self.block
            self.callback_threads.add(threading.current_thread().name)
            self.callback(block.reshape(-1, 1), self.block, None, None)
            time.sleep(self.block / 16000 / 2)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def close(self):
        pass


def install(monkeypatch, audio: np.ndarray, devices: list[dict] | None = None):
    """Make `import sounddevice` give the fake, playing audio; returns FakeInputStream."""
    module = types.ModuleType("sounddevice")
    module.InputStream = FakeInputStream
    listed = (
        devices
        if devices is not None
        else [
            {"name": "Virtual mic", "max_input_channels": 1},
            {"name": "Speakers", "max_input_channels": 0},
        ]
    )
    module.query_devices = lambda: listed
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    monkeypatch.setattr(FakeInputStream, "audio", np.asarray(audio, dtype=np.float32))
    monkeypatch.setattr(FakeInputStream, "opened", [])
    monkeypatch.setattr(FakeInputStream, "callback_threads", set())
    return FakeInputStream
