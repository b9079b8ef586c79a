import os

import numpy as np
import pytest

from models.audio import AudioError, distinct_channels, probe, read_audio, read_chunks
from tests.voice_fixtures import (
    CLEAN,
    RATE,
    encode,
    layout,
    needs_espeak,
    noise,
    silence,
    speech,
    write_wav,
)

pytestmark = needs_espeak


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    return write_wav(folder / "clean.wav", layout((0.5, speech(CLEAN))))


@pytest.mark.parametrize(
    ("suffix", "codec", "video"),
    [
        (".flac", "flac", False),
        (".mp3", "mp3", False),
        (".ogg", "libopus", False),
        (".m4a", "aac", False),
        (".mkv", "libopus", True),
        (".mp4", "aac", True),
    ],
)
def test_common_formats_and_video_sound_decode_to_the_same_16k_mono_audio(
    spoken_wav, tmp_path, suffix, codec, video
):
    reference = read_audio(spoken_wav)
    encoded = encode(spoken_wav, tmp_path / f"clean{suffix}", codec, video=video)
    audio = read_audio(encoded)
    assert audio.dtype == np.float32
    # encoders add up to a few hundred ms of priming; the speech itself must be there
    assert abs(len(audio) - len(reference)) < 0.2 * RATE
    envelope = np.convolve(np.abs(audio), np.ones(800) / 800, mode="same")
    reference_envelope = np.convolve(np.abs(reference), np.ones(800) / 800, mode="same")
    lag = int(np.argmax(envelope > 0.02)) - int(np.argmax(reference_envelope > 0.02))
    assert abs(lag) < 0.1 * RATE
    assert probe(encoded).duration == pytest.approx(len(reference) / RATE, abs=0.2)


def test_a_long_recording_is_read_in_chunks_cut_at_quiet_moments(tmp_path):
    # 6 minutes of 4 s noise bursts with 1 s gaps; chunks of ~60 s must end inside a gap
    burst = np.concatenate([noise(4.0, level=0.2), silence(1.0)])
    audio = np.tile(burst, 72)
    path = write_wav(tmp_path / "long.wav", audio)
    total = 0
    chunks = list(read_chunks(path, chunk_seconds=60))
    assert 5 <= len(chunks) <= 7
    for chunk in chunks:
        assert chunk.start == pytest.approx(total / RATE)
        assert len(chunk.samples) <= 63 * RATE  # never the whole file at once
        total += len(chunk.samples)
        if chunk is not chunks[-1]:
            assert np.abs(chunk.samples[-160:]).max() < 0.01, "a chunk was cut inside sound"
    assert total == pytest.approx(len(audio), abs=RATE // 100)


def test_each_channel_of_a_two_player_file_is_read_apart(tmp_path):
    left = layout((0.5, speech(CLEAN)), length=6)
    right = layout((3.0, noise(1.0, level=0.3)), length=6)
    path = write_wav(tmp_path / "players.wav", left, right)
    assert probe(path).channels == 2
    assert distinct_channels(path) == 2
    got_left, got_right = read_audio(path, channel=0), read_audio(path, channel=1)
    assert np.abs(got_left[: 3 * RATE]).max() > 0.1
    assert np.abs(got_right[: 2 * RATE]).max() < 0.01
    assert np.abs(got_right[3 * RATE : 4 * RATE]).max() > 0.1


def test_a_stereo_file_with_the_same_mix_twice_counts_as_one_track(tmp_path):
    mix = layout((0.5, speech(CLEAN)))
    assert distinct_channels(write_wav(tmp_path / "mix.wav", mix, mix)) == 1


def test_asking_for_a_missing_channel_is_a_clear_error(spoken_wav):
    with pytest.raises(AudioError, match="no channel 3"):
        read_audio(spoken_wav, channel=2)


def test_empty_file_is_reported_as_empty(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        probe(tmp_path / "empty.wav")


def test_text_file_is_reported_as_not_audio(tmp_path):
    (tmp_path / "notes.mp3").write_text("these are not sounds\n" * 50)
    with pytest.raises(AudioError, match="not an audio or video file"):
        list(read_chunks(tmp_path / "notes.mp3"))


def test_missing_file_and_folder_are_reported(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        probe(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="is a folder"):
        probe(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_reported(spoken_wav, tmp_path):
    locked = tmp_path / "locked.wav"
    locked.write_bytes(spoken_wav.read_bytes())
    locked.chmod(0)
    with pytest.raises(AudioError, match="permission"):
        probe(locked)


def test_video_without_sound_is_reported(spoken_wav, tmp_path):
    import av

    path = tmp_path / "silent-film.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioError, match="no audio track"):
        probe(path)


def test_a_truncated_recording_still_gives_the_audio_before_the_damage(spoken_wav, tmp_path):
    flac = encode(spoken_wav, tmp_path / "whole.flac", "flac")
    data = flac.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    audio = read_audio(cut)
    assert 0.3 * len(read_audio(flac)) < len(audio) < 0.8 * len(read_audio(flac))


def test_a_corrupt_recording_is_reported(tmp_path):
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + np.random.default_rng(1).bytes(50_000))
    with pytest.raises(AudioError):
        read_audio(corrupt)
