import json
import time

import pytest

from models.excerpts import (
    Excerpt,
    ExcerptError,
    detect_format,
    excerpts_from_file,
    excerpts_from_text,
    split_sentences,
)

CHAT_LOG = (
    "[12:34] Bob: hey you idiot\n"
    "[12:34:56] <alice> gg wp\n"
    "12:36 Carl the Great: lol: ok\n"
    "\n"
    "[12:37] Server restarting\n"
    "random line\n"
)


def assert_offsets_match(source: str, excerpts: list[Excerpt]) -> None:
    for excerpt in excerpts:
        assert source[excerpt.start : excerpt.end] == excerpt.text


# --- plain text ---------------------------------------------------------------------------


def test_empty_or_blank_input_gives_no_excerpts():
    assert excerpts_from_text("") == []
    assert excerpts_from_text("  \n\t\n") == []
    for fmt in ("plain", "chat", "csv", "json", "jsonl"):
        assert excerpts_from_text("", fmt) == []


def test_plain_text_gives_one_excerpt_per_non_empty_line():
    source = "  first line \n\n\nsecond line\r\nthird"
    excerpts = excerpts_from_text(source, "plain")
    assert [e.text for e in excerpts] == ["first line", "second line", "third"]
    assert [e.message for e in excerpts] == [0, 1, 2]
    assert all(e.speaker is None and e.time is None for e in excerpts)
    assert_offsets_match(source, excerpts)


def test_prose_with_colons_is_not_mistaken_for_chat():
    source = (
        "Note: the report is below.\n"
        "Reason: he kept insulting the team.\n"
        "The match started at 12:30 and ended badly.\n"
    )
    assert detect_format(source) == "plain"
    excerpts = excerpts_from_text(source)
    assert excerpts[0].text == "Note: the report is below."
    assert all(e.speaker is None for e in excerpts)


# --- chat logs ----------------------------------------------------------------------------


def test_chat_log_is_detected_automatically():
    assert detect_format(CHAT_LOG) == "chat"


def test_chat_line_offsets_point_at_the_message_body():
    excerpts = excerpts_from_text(CHAT_LOG)
    assert [e.text for e in excerpts] == [
        "hey you idiot",
        "gg wp",
        "lol: ok",
        "Server restarting",
        "random line",
    ]
    assert_offsets_match(CHAT_LOG, excerpts)


def test_chat_speakers_and_timestamps_are_parsed():
    excerpts = excerpts_from_text(CHAT_LOG)
    assert [e.speaker for e in excerpts] == ["Bob", "alice", "Carl the Great", None, None]
    assert [e.time for e in excerpts] == [
        12 * 3600 + 34 * 60,
        12 * 3600 + 34 * 60 + 56,
        12 * 3600 + 36 * 60,
        12 * 3600 + 37 * 60,
        None,
    ]
    assert all(e.end_time is None for e in excerpts)


def test_chat_messages_are_numbered_in_order_skipping_blank_lines():
    assert [e.message for e in excerpts_from_text(CHAT_LOG)] == [0, 1, 2, 3, 4]


def test_named_chat_without_timestamps_is_read_when_asked_for():
    source = "bob: you suck\nalice: no u\n"
    excerpts = excerpts_from_text(source, "chat")
    assert [(e.speaker, e.text) for e in excerpts] == [("bob", "you suck"), ("alice", "no u")]
    assert_offsets_match(source, excerpts)


def test_irc_style_angle_bracket_names_are_chat():
    source = "<bob> hi all\n<alice> hello bob\n"
    excerpts = excerpts_from_text(source)
    assert [e.speaker for e in excerpts] == ["bob", "alice"]
    assert [e.time for e in excerpts] == [None, None]
    assert_offsets_match(source, excerpts)


# --- long messages ------------------------------------------------------------------------


def test_short_message_stays_whole_even_with_several_sentences():
    text = "You are bad. Uninstall. Now!"
    assert split_sentences(text) == [(0, len(text))]


def test_long_message_splits_at_sentence_ends():
    sentences = [f"Sentence number {i} is here and it is fairly long." for i in range(10)]
    text = "  " + " ".join(sentences) + "\n"
    spans = split_sentences(text, max_chars=100)
    assert [text[a:b] for a, b in spans] == sentences


def test_sentence_longer_than_the_limit_splits_at_whitespace():
    text = " ".join(["word"] * 200)
    spans = split_sentences(text, max_chars=50)
    assert all(b - a <= 50 for a, b in spans)
    assert all(text[a:b].strip() == text[a:b] and text[a:b] for a, b in spans)
    assert " ".join(text[a:b] for a, b in spans) == text


def test_text_without_whitespace_is_cut_at_the_limit():
    spans = split_sentences("x" * 250, max_chars=100)
    assert spans == [(0, 100), (100, 200), (200, 250)]


def test_whitespace_only_text_has_no_sentences():
    assert split_sentences(" \n\t ") == []


def test_long_chat_message_becomes_several_excerpts_of_the_same_message():
    body = " ".join(f"You are the worst player number {i}." for i in range(20))
    source = f"[01:02:03] troll: {body}\n[01:02:04] mod: stop\n"
    excerpts = excerpts_from_text(source, max_chars=80)
    troll = [e for e in excerpts if e.speaker == "troll"]
    assert len(troll) == 20
    assert {e.message for e in troll} == {0}
    assert {e.time for e in troll} == {3723}
    assert excerpts[-1].message == 1
    assert_offsets_match(source, excerpts)


# --- CSV ----------------------------------------------------------------------------------


def test_csv_reads_message_speaker_and_time_columns():
    source = (
        "ChatTime,PlayerID,Message\n"
        "00:01:30,bob,you are trash\n"
        "95.5,alice,gg\n"
        "not a time,carl,lol\n"
    )
    assert detect_format(source) == "csv"
    excerpts = excerpts_from_text(source)
    assert [(e.speaker, e.time, e.text) for e in excerpts] == [
        ("bob", 90.0, "you are trash"),
        ("alice", 95.5, "gg"),
        ("carl", None, "lol"),
    ]
    assert [e.message for e in excerpts] == [0, 1, 2]
    assert_offsets_match(source, excerpts)


def test_csv_offsets_skip_a_name_equal_to_the_message():
    source = "user,text\nnoob,noob\n"
    (excerpt,) = excerpts_from_text(source)
    assert (excerpt.start, excerpt.end) == (15, 19)


def test_csv_with_semicolons_and_quoted_fields_is_read():
    source = 'author;comment\nbob;"he said ""ez"" lol"\nalice;"two\nlines"\n'
    excerpts = excerpts_from_text(source)
    assert [e.text for e in excerpts] == ['he said "ez" lol', "two\nlines"]
    # an escaped field is not verbatim in the source, so its row is highlighted instead
    assert source[excerpts[0].start : excerpts[0].end] == 'bob;"he said ""ez"" lol"'
    assert source[excerpts[1].start : excerpts[1].end] == "two\nlines"


def test_csv_without_a_known_message_column_uses_the_longest_text_column():
    source = "id,who,what\n1,bob,you are really bad at this\n2,al,please stop feeding\n"
    assert detect_format(source) == "plain"  # no known message column: not guessed as CSV
    excerpts = excerpts_from_text(source, "csv")
    assert [e.text for e in excerpts] == ["you are really bad at this", "please stop feeding"]


# --- JSON and JSON Lines ------------------------------------------------------------------


def test_json_list_of_objects_is_read_with_speaker_and_time():
    records = [
        {"user": "bob", "text": "you suck", "timestamp": 12},
        {"Author": "alice", "Content": "no u", "time": "00:10"},
    ]
    source = json.dumps(records, indent=2)
    assert detect_format(source) == "json"
    excerpts = excerpts_from_text(source)
    assert [(e.speaker, e.time, e.text) for e in excerpts] == [
        ("bob", 12.0, "you suck"),
        ("alice", 600.0, "no u"),
    ]
    assert_offsets_match(source, excerpts)


def test_json_object_with_a_messages_list_and_plain_strings():
    source = '{"meta": {"chat": 1}, "messages": ["first", {"msg": "second"}, 3, "third"]}'
    excerpts = excerpts_from_text(source)
    assert [e.text for e in excerpts] == ["first", "second", "third"]
    assert [e.message for e in excerpts] == [0, 1, 3]
    assert_offsets_match(source, excerpts)


def test_json_offsets_cover_the_escaped_form_of_the_message():
    source = json.dumps([{"text": 'he said "ez"\nthen left', "name": "bob"}])
    (excerpt,) = excerpts_from_text(source, "json")
    assert excerpt.text == 'he said "ez"\nthen left'
    assert source[excerpt.start : excerpt.end] == r"he said \"ez\"\nthen left"


def test_json_with_non_ascii_written_raw_or_escaped_is_located():
    for ensure_ascii in (False, True):
        source = json.dumps(["héllo wörld"], ensure_ascii=ensure_ascii)
        (excerpt,) = excerpts_from_text(source)
        assert excerpt.text == "héllo wörld"
        assert json.loads(f'"{source[excerpt.start : excerpt.end]}"') == "héllo wörld"


def test_jsonl_gives_one_excerpt_per_line():
    source = '{"player": "bob", "message": "kys"}\n\n"just a string"\n{"message": "gg", "ts": 3}\n'
    assert detect_format(source) == "jsonl"
    excerpts = excerpts_from_text(source)
    assert [(e.speaker, e.time, e.text, e.message) for e in excerpts] == [
        ("bob", None, "kys", 0),
        (None, None, "just a string", 1),
        (None, 3.0, "gg", 2),
    ]
    assert_offsets_match(source, excerpts)


def test_invalid_json_asked_for_explicitly_raises_a_clear_error():
    with pytest.raises(ExcerptError, match="not valid JSON"):
        excerpts_from_text("[1, 2", "json")
    with pytest.raises(ExcerptError, match="Line 2"):
        excerpts_from_text('{"text": "a"}\nnope\n', "jsonl")


def test_unknown_format_is_refused():
    with pytest.raises(ExcerptError, match="Unknown format"):
        excerpts_from_text("hi", "xml")


# --- files --------------------------------------------------------------------------------


def test_file_format_comes_from_its_extension(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("name,chat\nbob,hello there\n", encoding="utf-8")
    (excerpt,) = excerpts_from_file(path)
    assert (excerpt.speaker, excerpt.text) == ("bob", "hello there")


def test_txt_file_holding_a_chat_log_is_read_as_chat(tmp_path):
    path = tmp_path / "match.txt"
    path.write_text(CHAT_LOG, encoding="utf-8")
    assert excerpts_from_file(path)[0].speaker == "Bob"


def test_utf8_file_with_bom_decodes_without_the_bom(tmp_path):
    path = tmp_path / "chat.csv"
    path.write_bytes("\ufeffmessage,user\ncafé,bob\n".encode())
    (excerpt,) = excerpts_from_file(path)
    assert (excerpt.text, excerpt.speaker) == ("café", "bob")


def test_cp1252_file_decodes_instead_of_failing(tmp_path):
    path = tmp_path / "old.log"
    path.write_bytes("[10:00] José: “quit” – café\n".encode("cp1252"))
    (excerpt,) = excerpts_from_file(path)
    assert excerpt.speaker == "José"
    assert excerpt.text == "“quit” – café"


def test_utf16_file_with_bom_decodes(tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes("[10:00] Zoë: ça va\n".encode("utf-16"))
    (excerpt,) = excerpts_from_file(path)
    assert (excerpt.speaker, excerpt.text) == ("Zoë", "ça va")


def test_binary_file_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(ExcerptError, match="not a text file"):
        excerpts_from_file(path)


def test_missing_file_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ExcerptError, match="does not exist"):
        excerpts_from_file(tmp_path / "nope.txt")


def test_folder_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ExcerptError, match="folder"):
        excerpts_from_file(tmp_path)


def test_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000, encoding="utf-8")
    with pytest.raises(ExcerptError, match="MB"):
        excerpts_from_file(path, max_bytes=1000)


def test_excerpt_error_is_a_value_error():
    assert issubclass(ExcerptError, ValueError)


# --- speed --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "chat", "csv", "jsonl"])
def test_a_one_megabyte_paste_splits_in_well_under_a_second(fmt):
    body = "you are such a noob, uninstall the game and never come back here again"
    lines = {
        "plain": [f"{body} {i}" for i in range(20_000)],
        "chat": [f"[12:{i % 60:02d}] player{i % 9}: {body} {i}" for i in range(20_000)],
        "csv": ["name,message"] + [f"p{i},{body} {i}" for i in range(20_000)],
        "jsonl": [json.dumps({"user": f"p{i}", "text": f"{body} {i}"}) for i in range(20_000)],
    }[fmt]
    source = "\n".join(lines)
    assert len(source) >= 1_000_000
    started = time.perf_counter()
    excerpts = excerpts_from_text(source)
    elapsed = time.perf_counter() - started
    assert len(excerpts) == 20_000
    assert elapsed < 1.0


def test_a_one_megabyte_line_without_breaks_splits_quickly():
    source = "word " * 200_000
    started = time.perf_counter()
    excerpts = excerpts_from_text(source)
    assert time.perf_counter() - started < 1.0
    assert all(len(e.text) <= 280 for e in excerpts)
    assert_offsets_match(source, excerpts)


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("csv", "time,name,message\ninf,ana,you idiot\nnan,bo,gg\n-inf,cy,hi\n1e400,dee,ok\n"),
        (
            "json",
            '[{"time": 1e400, "name": "ana", "message": "you idiot"},'
            ' {"time": NaN, "name": "bo", "message": "gg"},'
            ' {"time": -Infinity, "name": "cy", "message": "hi"},'
            ' {"time": ' + "9" * 400 + ', "name": "dee", "message": "ok"}]',
        ),
        (
            "jsonl",
            '{"ts": "inf", "user": "ana", "text": "you idiot"}\n'
            '{"ts": "nan", "user": "bo", "text": "gg"}\n'
            '{"ts": Infinity, "user": "cy", "text": "hi"}\n'
            '{"ts": "1e400", "user": "dee", "text": "ok"}\n',
        ),
    ],
)
def test_a_time_that_is_not_a_finite_number_is_no_time(fmt, text):
    excerpts = excerpts_from_text(text, fmt)
    assert [e.text for e in excerpts] == ["you idiot", "gg", "hi", "ok"]
    assert [e.time for e in excerpts] == [None, None, None, None]
    # finite times next to them are kept
    assert excerpts_from_text("time,name,message\n12.5,ana,hi\n", "csv")[0].time == 12.5
