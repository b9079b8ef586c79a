import itertools

import pytest

from models.model_folder import ModelError
from models.transcriber import DEFAULT_VOCABULARY, hotwords
from models.whisper_models import BASE_BYTES, assemble_base, resolve_whisper
from tests.voice_fixtures import (
    CLEAN,
    RATE,
    layout,
    needs_espeak,
    speech,
    tiny_transcriber,
    write_wav,
)


@needs_espeak
def test_word_timestamps_line_up_with_the_audio(tmp_path):
    spoken = speech(CLEAN)
    start = 2.0
    end = start + len(spoken) / RATE
    path = write_wav(tmp_path / "clean.wav", layout((start, spoken), length=end + 1.5))
    segments = list(tiny_transcriber().transcribe_file(path))
    words = [w for s in segments for w in s.words]
    text = " ".join(w.text.strip().lower() for w in words)
    assert "nice work" in text and "round" in text
    assert words[0].start == pytest.approx(start, abs=0.5)
    assert words[-1].end == pytest.approx(end, abs=0.5)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert all(start - 0.5 <= w.start <= w.end <= end + 0.5 for w in words)


@needs_espeak
def test_times_count_from_the_start_of_the_file_across_chunks(tmp_path):
    spoken = speech(CLEAN)
    audio = layout((1.0, spoken), (40.0, spoken), length=45)
    path = write_wav(tmp_path / "two-chunks.wav", audio)
    from models.audio import read_chunks

    chunks = list(read_chunks(path, chunk_seconds=20))
    assert len(chunks) >= 2
    segments = list(tiny_transcriber().transcribe_chunks(chunks))
    assert [round(s.start) for s in segments if "round" in s.text.lower()] in ([1, 40], [1, 39])


def test_studio_words_extend_the_gaming_vocabulary_once():
    hint = hotwords(["Sniper Alley", "noob", " "])
    assert hint.startswith(", ".join(DEFAULT_VOCABULARY))
    assert hint.endswith("Sniper Alley")
    assert hint.lower().count("noob") == 1


def test_english_only_model_refuses_another_language():
    from models.transcriber import Transcriber

    with pytest.raises(ValueError, match="English only"):
        Transcriber("tiny.en", language="de")


def test_unknown_whisper_model_names_the_choices(tmp_path):
    with pytest.raises(ModelError, match=r"base, tiny\.en"):
        resolve_whisper("large-v9")
    with pytest.raises(ModelError, match=r"missing model\.bin"):
        resolve_whisper(tmp_path)


def test_base_model_is_joined_once_and_a_damaged_copy_is_rebuilt(tmp_path):
    folder = assemble_base(tmp_path / "whisper-base")
    model = folder / "model.bin"
    assert model.stat().st_size == BASE_BYTES
    assert (folder / "tokenizer.json").is_file()
    stamp = model.stat().st_mtime_ns
    assert assemble_base(tmp_path / "whisper-base") == folder
    assert model.stat().st_mtime_ns == stamp, "a whole copy must not be joined again"
    with open(model, "r+b") as handle:
        handle.truncate(BASE_BYTES // 2)
    assemble_base(tmp_path / "whisper-base")
    assert (folder / "model.bin").stat().st_size == BASE_BYTES
    # same size but different bytes: caught by the checksum when asked to verify
    with open(folder / "model.bin", "r+b") as handle:
        handle.seek(1000)
        original = handle.read(16)
        handle.seek(1000)
        handle.write(bytes(b ^ 0xFF for b in original))
    assemble_base(tmp_path / "whisper-base", verify_checksum=True)
    with open(folder / "model.bin", "rb") as handle:
        handle.seek(1000)
        assert handle.read(16) == original
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left"
