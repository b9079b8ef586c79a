"""Identity-term balancing: harmless mentions of a group weigh as much as the toxic ones."""

from __future__ import annotations

from collections import Counter

from training.config import load_config
from training.data import Example
from training.identity import IDENTITY_TERMS, balance_identity


def _rows(spec: list[tuple[str, str, int]]) -> list[Example]:
    return [Example(text, label, "public") for text, label, n in spec for _ in range(n)]


def _toxic_share(rows: list[Example], word: str) -> float:
    hits = [e for e in rows if word in e.text.split()]
    return sum(e.label != "non_toxic" for e in hits) / len(hits)


ROWS = _rows(
    [
        ("gay people ruin everything", "identity_hate", 30),
        ("proud to be gay", "non_toxic", 10),
        ("you are trash", "insult", 10),
        ("nice shot", "non_toxic", 150),
    ]
)


def test_harmless_mentions_repeated_to_the_overall_toxic_share() -> None:
    base = sum(e.label != "non_toxic" for e in ROWS) / len(ROWS)  # 40 of 200
    out = balance_identity(ROWS, cap=10)
    assert _toxic_share(ROWS, "gay") == 0.75
    # weight 30 * 0.8 / (0.2 * 10) = 12, capped at 10: 100 harmless mentions against 30 toxic
    assert Counter(e.text for e in out)["proud to be gay"] == 100
    assert _toxic_share(out, "gay") < 0.25
    assert abs(_toxic_share(balance_identity(ROWS, cap=12), "gay") - base) < 1e-9


def test_only_harmless_identity_rows_are_added() -> None:
    out = balance_identity(ROWS, cap=3)
    added = Counter(e.text for e in out) - Counter(e.text for e in ROWS)
    assert set(added) == {"proud to be gay"}
    assert added["proud to be gay"] == 20  # weight capped at 3: two more copies of each


def test_cap_of_one_or_less_changes_nothing() -> None:
    assert balance_identity(ROWS, cap=1) == ROWS
    assert balance_identity(ROWS, cap=0) == ROWS


def test_fractional_weights_round_by_seed_and_repeat() -> None:
    rows = _rows(
        [
            ("women can't aim", "identity_hate", 9),
            ("women in my clan are cracked", "non_toxic", 6),
            ("gg", "non_toxic", 45),
        ]
    )
    # base 9/60, weight 9 * 0.85 / (0.15 * 6) = 8.5: about 51 copies in all
    first = balance_identity(rows, cap=20, seed=1)
    assert first == balance_identity(rows, cap=20, seed=1)
    copies = Counter(e.text for e in first)["women in my clan are cracked"]
    assert 6 * 8 <= copies <= 6 * 9


def test_held_out_groups_and_words_inside_other_words_are_not_balanced() -> None:
    assert "jews" not in IDENTITY_TERMS and "old" not in IDENTITY_TERMS
    rows = _rows(
        [
            ("jews are evil", "identity_hate", 20),
            ("jews in our guild", "non_toxic", 5),
            ("blackout on the map, gayle carried", "non_toxic", 5),
            ("black people are dumb", "identity_hate", 20),
            ("gg", "non_toxic", 100),
        ]
    )
    added = Counter(e.text for e in balance_identity(rows, cap=5)) - Counter(e.text for e in rows)
    assert not added  # no harmless row mentions a balanced group word


def test_config_reads_identity_balance(tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "identity_balance: 4\nsources:\n  - {name: a, format: labeled, path: a.csv}\n",
        encoding="utf-8",
    )
    assert load_config(config).identity_balance == 4


def test_generated_rows_are_neither_counted_nor_repeated() -> None:
    made = [Example("proud to be gay", "non_toxic", "augment")] * 40
    out = balance_identity([*ROWS, *made], cap=10, generated={"augment"})
    # the generated harmless mentions do not lower the public rows' weight (still 10 copies)
    public = [e for e in out if e.source == "public"]
    assert Counter(e.text for e in public)["proud to be gay"] == 100
    assert out[-40:] == made and sum(e.source == "augment" for e in out) == 40


def test_a_group_swap_keeps_the_words_form_and_never_writes_a_validation_group() -> None:
    import random

    from training.identity import SWAP_ADJECTIVES, SWAP_NOT_WRITTEN, SWAP_PLURALS, swap_group

    rng = random.Random(0)
    plurals = set(SWAP_PLURALS) - SWAP_NOT_WRITTEN
    adjectives = set(SWAP_ADJECTIVES) - SWAP_NOT_WRITTEN
    for _ in range(200):
        text = swap_group("jews and gay guys played with muslims and jews", rng)
        assert text is not None
        words = text.split()
        # the plural nouns become plural nouns (the same one both times), the adjective an
        # adjective before the same word for people
        assert words[0] == words[-1] and words[0] in plurals and words[0] != "jews"
        assert words[2] in adjectives and words[2] != "gay" and words[3] == "guys"
        assert words[6] in plurals and words[6] != "muslims"
        assert not set(words) & SWAP_NOT_WRITTEN
    assert swap_group("blackout on the gayle map, gg", rng) is None
    assert swap_group("the black screen again", rng) is None  # an adjective alone is not a group


def test_group_swapped_copies_are_made_of_harmless_public_rows_only() -> None:
    from training.identity import swap_identity

    rows = [
        Example("muslims in my clan are great", "non_toxic", "public"),
        Example("muslims in my clan are great", "non_toxic", "public"),  # a repeat
        Example("muslims ruin everything", "identity_hate", "public"),
        Example("nice shot", "non_toxic", "public"),
        Example("women are some of the best players", "non_toxic", "augment"),
    ]
    out = swap_identity(rows, 3, seed=1, generated={"augment"})
    assert out[: len(rows)] == rows
    extra = out[len(rows) :]
    assert len(extra) == 3
    assert all(e.label == "non_toxic" and e.source == "public" for e in extra)
    assert all(e.text.endswith(" in my clan are great") and "muslims" not in e.text for e in extra)
    assert swap_identity(rows, 0) == rows
    # hateful rows only when asked, and insults never
    rows.append(Example("muslims are trash at this game", "insult", "public"))
    both = swap_identity(rows, 3, seed=1, generated={"augment"}, hateful_copies=1)[len(rows) :]
    assert [e.label for e in both] == ["non_toxic"] * 3 + ["identity_hate"]
    assert both[-1].text.endswith(" ruin everything") and "muslims" not in both[-1].text
