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
