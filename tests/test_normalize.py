import pytest

from models.normalize import normalize


@pytest.mark.parametrize(
    ("disguised", "plain"),
    [
        ("f*ck", "fuck"),
        ("F*CK", "fuck"),
        ("f**k", "fuck"),
        ("f u c k", "fuck"),
        ("f.u.c.k", "fuck"),
        ("sh1t", "shit"),
        ("b1tch", "bitch"),
        ("stuuupid", "stupid"),
        ("noooob", "noob"),
        ("n00b", "noob"),
        ("n00bs", "noobs"),
        ("idiot!!!!!!", "idiot!"),
        ("id\u200bi\u200dot", "idiot"),
        ("ｆｕｃｋ", "fuck"),
    ],
)
def test_disguised_word_becomes_its_plain_form(disguised, plain):
    assert normalize(disguised) == plain


def test_disguises_inside_a_sentence_are_undone_word_by_word():
    assert normalize("you f*cking id\u200biot, f u c k off n00b!!!") == (
        "you fucking idiot, fuck off noob!"
    )


@pytest.mark.parametrize(
    "ordinary",
    [
        "gg wp",
        "5v5",
        "cool",
        "I am a noob",
        "u r a noob",
        "0-9",
        "we lost 0-9 again",
        "2 vs 1",
        "top 10",
        "a b c",
        "e.g. this",
        "P.S. see you",
        "N.B. read the rules",
        "player1 joined",
        "upgrade to win10",
        "hi!",
    ],
)
def test_ordinary_text_is_not_rewritten(ordinary):
    assert normalize(ordinary) == ordinary


def test_repeated_punctuation_collapses_to_one_mark():
    assert normalize("what?!?! no way...") == "what? no way."


def test_extra_whitespace_collapses_to_single_spaces():
    assert normalize("  gg \n\t wp  ") == "gg wp"


@pytest.mark.parametrize(
    ("masked", "plain"),
    [
        ("you ****** noob", "you fucking noob"),
        ("kiss my ***", "kiss my fuck"),
        ("shut the **** up", "shut the fuck up"),
        ("@#$% this game", "fuck this game"),
        ("get ****ed loser", "get fucked loser"),
        ("****ing hell", "fucking hell"),
        ("you absolute #### head", "you absolute fuck head"),
    ],
)
def test_a_word_hidden_by_a_chat_filter_reads_as_a_swear_word(masked, plain):
    assert normalize(masked) == plain


@pytest.mark.parametrize(
    "harmless",
    [
        "*waves* hi all",
        "#1 on the leaderboard finally",
        "email me @ the usual address",
        "costs $10 in the store",
        "5 * 3 = 15",
        "rate it ***** out of five",
        "***",
    ],
)
def test_symbols_that_do_not_stand_for_a_word_are_not_turned_into_one(harmless):
    assert "fuck" not in normalize(harmless)


def test_a_line_framed_by_mask_symbols_is_decoration():
    assert "fuck" not in normalize("*** server restart in 5 minutes ***")


@pytest.mark.parametrize(
    ("disguised", "plain"),
    [
        ("you are an іdіоt", "you are an idiot"),  # Cyrillic і and о
        ("stupіd nооb", "stupid noob"),
        ("ѕhut up", "shut up"),  # Cyrillic dze
    ],
)
def test_letters_of_another_script_inside_a_latin_word_become_latin(disguised, plain):
    assert normalize(disguised) == plain


def test_a_word_in_another_script_is_left_in_it():
    assert normalize("привет всем") == "привет всем"
    assert normalize("Пиcдyй") == "Пиcдyй"
