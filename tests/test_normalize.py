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
