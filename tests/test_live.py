import errno
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave

import numpy as np
import pytest

from models.audio import read_audio
from models.live import LiveSession, UtteranceCutter, WavWriter
from tests.voice_fixtures import (
    CLEAN,
    RATE,
    RUDE,
    layout,
    needs_espeak,
    noise,
    speech,
    tiny_transcriber,
    write_wav,
)


@needs_espeak
def test_utterances_are_cut_at_pauses_not_inside_words():
    rude, clean = speech(RUDE), speech(CLEAN)
    audio = layout((1.0, rude), (6.0, clean), length=10)
    audio[int(8.5 * RATE) : int(8.5 * RATE) + 80] = 0.5  # a 5 ms click is not an utterance
    cutter = UtteranceCutter(min_silence=0.5)
    cut = []
    for i in range(0, len(audio), 1600):  # 100 ms blocks, as a sound card delivers them
        cut += cutter.push(audio[i : i + 1600])
    assert len(cut) == 2
    assert cut[0].start == pytest.approx(1.0, abs=0.3)
    assert cut[0].end == pytest.approx(1.0 + len(rude) / RATE, abs=0.3)
    assert cut[1].start == pytest.approx(6.0, abs=0.3)
    assert cut[1].end == pytest.approx(6.0 + len(clean) / RATE, abs=0.3)
    assert cutter.flush() is None


@needs_espeak
def test_a_long_monologue_is_cut_at_the_maximum_length_between_words():
    talk = np.concatenate([speech(RUDE)] * 4)
    cutter = UtteranceCutter(max_utterance=5.0)
    cut = cutter.push(talk)
    rest = cutter.flush()
    assert len(cut) >= 2 and rest is not None
    assert all(c.end - c.start <= 5.1 for c in cut)
    # pieces follow each other without a gap or an overlap, and end where the talk ends
    pieces = [*cut, rest]
    assert all(abs(a.end - b.start) < 0.01 for a, b in itertools.pairwise(pieces))
    assert rest.end <= len(talk) / RATE + 0.1
    # each cut opens a quiet 32 ms between words, not the inside of one
    level = np.abs(talk).mean()
    for piece in cut:
        at = int(piece.end * RATE)
        assert np.abs(talk[at : at + 512]).mean() < 0.25 * level


def test_the_session_recording_is_playable_before_it_is_closed(tmp_path):
    writer = WavWriter(tmp_path / "rec.wav")
    writer.write(noise(0.5, level=0.1))
    writer.write(noise(0.25, level=0.1, seed=1))
    # as if the process died now: the file on disk is already a complete WAV
    with wave.open(str(tmp_path / "rec.wav")) as handle:
        assert handle.getnframes() == int(0.75 * RATE)
        assert (handle.getframerate(), handle.getnchannels()) == (RATE, 1)
    assert len(read_audio(tmp_path / "rec.wav")) == int(0.75 * RATE)
    writer.close()


@pytest.fixture
def virtual_mic(tmp_path):
    """A private PulseAudio daemon with a null sink whose monitor is the default microphone."""
    if not (shutil.which("pulseaudio") and shutil.which("pactl") and shutil.which("paplay")):
        pytest.skip("pulseaudio is not installed: bash packaging/system-deps.sh")
    runtime = tempfile.mkdtemp(prefix="modlens-pulse-")
    os.chmod(runtime, 0o700)
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    os.environ["XDG_RUNTIME_DIR"] = runtime
    os.environ.pop("PULSE_SERVER", None)
    daemon = subprocess.Popen(
        [
            "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
            "--use-pid-file=no", "-L", "module-native-protocol-unix auth-anonymous=1",
            "-L", f"module-null-sink sink_name=vspk rate={RATE} channels=1",
            "-L", "module-remap-source master=vspk.monitor source_name=vmic",
            "-L", "module-always-sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "pulse.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    keeper = None
    try:
        for _ in range(50):
            if subprocess.run(["pactl", "info"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail(
                "the PulseAudio daemon did not start: " + (tmp_path / "pulse.log").read_text()
            )
        subprocess.run(["pactl", "set-default-sink", "vspk"], check=True)
        subprocess.run(["pactl", "set-default-source", "vmic"], check=True)
        # without a reader on the monitor the null sink sleeps and drops the first second or two
        keeper = subprocess.Popen(
            ["parec", "--latency-msec=20", "-d", "vspk.monitor", "--raw"],
            stdout=subprocess.DEVNULL,
        )
        _reinitialise_portaudio()

        def play(path):
            subprocess.run(["paplay", "--device=vspk", str(path)], check=True)

        yield play
    finally:
        for process in (keeper, daemon):
            if process is not None:
                process.terminate()
                process.wait(5)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(runtime, ignore_errors=True)
        _reinitialise_portaudio()  # later tests must not see the daemon's devices


def _reinitialise_portaudio() -> None:
    """PortAudio lists devices once, when sounddevice is imported; make it list them again."""
    module = sys.modules.get("sounddevice")
    if module is not None and hasattr(module, "_initialize"):
        module._terminate()
        module._initialize()


@needs_espeak
def test_live_capture_through_a_virtual_microphone(virtual_mic, tmp_path, tiny_model_dir):
    from models.classifier import Classifier

    words = write_wav(tmp_path / "said.wav", layout((0.2, speech(RUDE)), (4.2, speech(CLEAN))))
    heard, threads, levels = [], set(), []

    def on_utterance(utterance):
        threads.add(threading.current_thread().name)
        heard.append(utterance)

    session = LiveSession(
        tiny_transcriber(),
        Classifier(tiny_model_dir),
        tmp_path / "live.wav",
        device="default",
        on_utterance=on_utterance,
        on_level=levels.append,
    )
    began = time.monotonic()
    session.start()
    assert time.monotonic() - began < 2.0, "start() must not wait for the models"
    time.sleep(1.0)
    virtual_mic(words)
    deadline = time.monotonic() + 60
    while len(heard) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    # mid-session the recording is already playable, as it would be after a crash
    assert len(read_audio(tmp_path / "live.wav")) > 5 * RATE
    result = session.stop()

    assert threads == {"live-whisper"}, "verdicts come from the worker, not the caller"
    texts = [" ".join(f.text.lower() for f in u.findings) for u in result.utterances]
    assert len(texts) == 2, texts
    assert "idiot" in texts[0] and "round" in texts[1]
    # times point into the recording: the speech is there, silence before it
    recorded = read_audio(result.recording)
    first = result.utterances[0]
    assert np.abs(recorded[int(first.start * RATE) : int(first.end * RATE)]).max() > 0.05
    before = recorded[: max(0, int((first.start - 0.25) * RATE))]
    assert before.size == 0 or np.abs(before).max() < 0.02
    gap = result.utterances[1].start - first.start
    assert gap == pytest.approx(4.0, abs=0.4)
    assert all(0 < u.latency < 30 and u.processing <= u.latency + 0.01 for u in result.utterances)
    lines = result.excerpts_file.read_text().splitlines()
    assert [json.loads(line)["text"] for line in lines] == [f.text for f in result.findings]
    assert result.seconds == pytest.approx(len(recorded) / RATE, abs=0.01)
    assert not session.errors
    assert max(levels) > 0.1 and min(levels) < 0.02  # the meter saw speech and quiet


@needs_espeak
def test_listen_prints_verdicts_as_they_come_and_saves_the_session(
    virtual_mic, tmp_path, tiny_model_dir, capsys
):
    from client.cli import main

    words = write_wav(tmp_path / "said.wav", layout((0.2, speech(RUDE))))
    recording = tmp_path / "night.wav"
    codes = []
    args = ["listen", "--seconds", "9", "--device", "default", "--save", str(recording)]
    args += ["--whisper", "tiny.en", "--model", str(tiny_model_dir), "--threshold", "0"]
    args += ["--report", str(tmp_path / "night.srt"), "--color", "never"]
    runner = threading.Thread(target=lambda: codes.append(main(args)))
    runner.start()
    time.sleep(3.0)  # the models load first
    virtual_mic(words)
    runner.join(60)
    out, err = capsys.readouterr()
    assert codes == [0], err
    assert "idiot" in out.lower() and "mic" in out
    assert "1 of 1 excerpts flagged in 1 utterances" in err
    # PulseAudio delivers the first block a second or two after the stream opens
    assert 6 * RATE < read_audio(recording).size <= 9.5 * RATE
    assert "[FLAGGED" in (tmp_path / "night.srt").read_text()
    assert json.loads(recording.with_suffix(".jsonl").read_text())["flagged"] is True


def test_listen_names_a_microphone_that_does_not_exist(
    tiny_model_dir, capsys, monkeypatch, tmp_path
):
    from client.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(
        ["listen", "--device", "4242", "--whisper", "tiny.en", "--model", str(tiny_model_dir)]
    )
    assert code == 2
    assert "cannot open the microphone 4242" in capsys.readouterr().err
    assert not list(tmp_path.iterdir()), "no empty session files are left behind"


class FullDisk:
    """A file on a disk with room for `room` bytes: past that, writes fail with ENOSPC."""

    def __init__(self, handle, room: int) -> None:
        self._handle = handle
        self._room = room

    def write(self, data: bytes) -> int:
        if self._handle.tell() + len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)


@needs_espeak
def test_a_full_disk_stops_capture_cleanly_and_keeps_what_was_written(
    tmp_path, tiny_model_dir, monkeypatch
):
    from models import live
    from models.classifier import Classifier

    room = 44 + 2 * 5 * RATE  # five seconds of 16-bit audio after the header

    class SmallDiskWriter(live.WavWriter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._file = FullDisk(self._file, room)

    monkeypatch.setattr(live, "WavWriter", SmallDiskWriter)
    told, heard = [], []
    session = LiveSession(
        tiny_transcriber(),
        Classifier(tiny_model_dir),
        tmp_path / "live.wav",
        on_error=told.append,
        on_utterance=heard.append,
    )
    session.start(capture=False)
    audio = layout((0.2, speech(RUDE)), length=9.0)  # the disk fills in the quiet after it
    for i in range(0, len(audio), 1600):
        session.feed(audio[i : i + 1600])
    deadline = time.monotonic() + 10
    while not session.halted.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.halted.is_set(), "capture must notice the full disk"
    for _ in range(50):  # the microphone goes on delivering; nothing may pile up
        session.feed(np.zeros(1600, dtype=np.float32))
    assert session._audio.qsize() == 0
    result = session.stop(timeout=60)  # and stop() does not raise

    assert len(told) == 1 and "disk is full" in told[0] and "kept" in told[0], told
    assert session.errors == told
    assert result.seconds == pytest.approx(5.0, abs=0.1)
    kept = read_audio(tmp_path / "live.wav")
    assert len(kept) == int(result.seconds * RATE)  # a valid WAV with every frame written
    with wave.open(str(tmp_path / "live.wav")) as handle:
        assert handle.getnframes() == len(kept)
    # the speech heard before the disk filled was still transcribed and classified
    assert heard and "idiot" in " ".join(f.text.lower() for f in result.findings)


def test_a_recording_that_exists_is_never_overwritten(tmp_path, tiny_model_dir):
    from models.classifier import Classifier
    from models.live import LiveError

    earlier = tmp_path / "evidence.wav"
    earlier.write_bytes(b"RIFF an earlier session")
    session = LiveSession(tiny_transcriber(), Classifier(tiny_model_dir), earlier)
    with pytest.raises(LiveError, match="already exists; it is not overwritten"):
        session.start(capture=False)
    assert earlier.read_bytes() == b"RIFF an earlier session"
    assert not earlier.with_suffix(".jsonl").exists()


def test_listen_refuses_to_save_over_an_existing_recording(
    tiny_model_dir, tmp_path, capsys, monkeypatch
):
    from client.cli import main
    from tests.fake_microphone import install

    install(monkeypatch, np.zeros(RATE, dtype=np.float32))
    earlier = tmp_path / "night.wav"
    write_wav(earlier, layout((0.2, noise(0.5, level=0.1)), length=1.0))
    before = earlier.read_bytes()
    code = main(
        [
            *("listen", "--save", str(earlier), "--seconds", "0.5", "--device", "Virtual mic"),
            *("--whisper", "tiny.en", "--model", str(tiny_model_dir)),
        ]
    )
    assert code == 2
    assert "night.wav already exists; it is not overwritten" in capsys.readouterr().err
    assert earlier.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.wav"]


def test_listen_stops_by_itself_on_a_full_disk_and_says_so(
    tiny_model_dir, tmp_path, capsys, monkeypatch
):
    from client.cli import main
    from models import live
    from tests.fake_microphone import install

    install(monkeypatch, np.zeros(RATE, dtype=np.float32))
    room = 44 + 2 * RATE // 2  # half a second

    class SmallDiskWriter(live.WavWriter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._file = FullDisk(self._file, room)

    monkeypatch.setattr(live, "WavWriter", SmallDiskWriter)
    recording = tmp_path / "night.wav"
    began = time.monotonic()
    code = main(
        [
            *("listen", "--save", str(recording), "--seconds", "60", "--device", "Virtual mic"),
            *("--whisper", "tiny.en", "--model", str(tiny_model_dir)),
        ]
    )
    assert time.monotonic() - began < 30, "it stops when the disk is full, not at --seconds"
    assert code == 1
    err = capsys.readouterr().err
    assert "The disk is full: capture stopped" in err
    assert len(read_audio(recording)) == RATE // 2


def test_a_microphone_that_opens_but_does_not_start_leaves_no_files(
    tmp_path, tiny_model_dir, monkeypatch
):
    from models.classifier import Classifier
    from models.live import LiveError
    from tests.fake_microphone import FakeInputStream, install

    install(monkeypatch, np.zeros(RATE, dtype=np.float32))

    def unplugged(self):
        raise OSError("Device unavailable [PaErrorCode -9985]")

    monkeypatch.setattr(FakeInputStream, "start", unplugged)
    session = LiveSession(tiny_transcriber(), Classifier(tiny_model_dir), tmp_path / "live.wav")
    with pytest.raises(LiveError, match="cannot start the system's default microphone"):
        session.start()
    assert list(tmp_path.iterdir()) == []
