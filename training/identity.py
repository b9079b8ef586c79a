"""Identity-term balancing of the training rows (Dixon et al. 2018, "Measuring and Mitigating
Unintended Bias in Text Classification").

Public toxic-language sets mention groups far more often in toxic lines than in harmless ones
(in the default mix 61% of the rows that say "gay" are toxic, against 40% of all rows), so a
model learns the group word itself as a toxicity signal and flags players for saying who they
are. Balancing repeats the *real* harmless rows that mention a group until, for every group
word, the share of toxic rows is no higher than the share over all rows: more weight on real,
varied wordings of harmless mentions, where generated templates only add more of the same frames.

Only the generator's training groups are balanced (training.augment.GROUPS less
VALIDATION_GROUPS), so mentions of the held-out groups stay a measure of how the model transfers
to groups it was not balanced on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence

from models.taxonomy import NON_TOXIC
from training.augment import GROUPS, VALIDATION_GROUPS
from training.data import Example

# "old" is dropped too: in chat it is mostly "old patch", "old map"
_GENERIC = {"a", "an", "guy", "people", "player", "character", "old", "older"}


def _group_terms(validation: bool = False) -> tuple[str, ...]:
    """The words that name the generator's training groups (or, with validation, its held-out
    validation groups)."""
    words = set()
    for group in GROUPS:
        if (group.plural in VALIDATION_GROUPS) != validation:
            continue
        for name in (group.plural, group.person, group.noun):
            words.update(w for w in name.split() if w not in _GENERIC)
    return tuple(sorted(words))


IDENTITY_TERMS: tuple[str, ...] = _group_terms()


def balance_identity(
    rows: Sequence[Example],
    cap: float,
    terms: Sequence[str] = IDENTITY_TERMS,
    seed: int = 13,
    generated: Collection[str] = (),
) -> list[Example]:
    """Return ``rows`` with harmless rows that mention an identity term repeated.

    For a term whose rows are toxic more often than all rows are, its harmless rows get weight
    ``toxic * (1 - base) / (base * harmless)`` (the weight that brings the term's toxic share
    down to the overall share ``base``), at most ``cap``; a row that mentions several terms
    takes the largest weight. Weights become whole repeats by seeded random rounding. Rows are
    counted as given, so a source's own repeats count too. Rows from the ``generated`` sources
    are neither counted nor repeated; they follow the public rows and their copies. ``cap <= 1``
    returns the rows unchanged.
    """
    if cap <= 1 or not rows:
        return list(rows)
    kept = [e for e in rows if e.source in generated]
    return _balanced([e for e in rows if e.source not in generated], cap, terms, seed) + kept


def _balanced(out: list[Example], cap: float, terms: Sequence[str], seed: int) -> list[Example]:
    if not out:
        return out
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\b", re.IGNORECASE)
    found = [{m.lower() for m in pattern.findall(e.text)} for e in out]
    base = sum(e.label != NON_TOXIC for e in out) / len(out)
    if base in (0.0, 1.0):
        return out
    toxic = dict.fromkeys(terms, 0)
    harmless = dict.fromkeys(terms, 0)
    for e, words in zip(out, found, strict=True):
        for w in words:
            (harmless if e.label == NON_TOXIC else toxic)[w] += 1
    weight = {
        t: min(cap, toxic[t] * (1 - base) / (base * harmless[t])) for t in terms if harmless[t]
    }
    rng = random.Random(seed)
    extra = []
    for e, words in zip(out, found, strict=True):
        if e.label != NON_TOXIC or not words:
            continue
        w = max(weight.get(t, 1.0) for t in words)
        if w <= 1:
            continue
        copies = int(w) - 1 + (rng.random() < w - int(w))
        extra.extend([e] * copies)
    return out + extra


# Counterfactual data augmentation (Park et al. 2018, "Reducing Gender Bias in Abusive Language
# Detection"; Dixon et al. 2018): a real harmless row that names a group is copied with the group
# swapped for another, so a group's name stops telling the model a line is toxic in real wording,
# not only in the generator's templates. Two forms are swapped, each for its own kind: a plural
# noun ("muslims", "women") and an adjective before a word for people ("gay people", "black
# guys"). The groups the validation rows are about (training.augment.VALIDATION_GROUPS and the
# other-wording sentences of benchmarks/identity_wording.py) are never written in, so validation
# still measures groups the swap did not teach.
# source formats whose rows the project writes itself; they are never swapped
GENERATED_FORMATS = ("augment", "toxigen_framed", "toxigen_negated")
SWAP_PLURALS: tuple[str, ...] = (
    "women", "girls", "gays", "lesbians", "muslims", "christians", "catholics", "hindus",
    "atheists", "immigrants", "migrants", "refugees", "asians", "africans", "indians", "chinese",
    "jews", "mexicans", "latinos", "hispanics", "arabs", "blacks", "whites", "homosexuals",
    "feminists",
)  # fmt: skip
SWAP_ADJECTIVES: tuple[str, ...] = (
    "gay", "lesbian", "bisexual", "trans", "queer", "black", "white", "asian", "muslim",
    "christian", "hindu", "disabled", "autistic", "deaf", "blind", "jewish", "mexican", "african",
    "indian", "chinese", "immigrant", "latino", "arab",
)  # fmt: skip
# never written in: the generator's validation groups, the other-wording groups of
# benchmarks/identity_wording.py, and words that read as slurs or slang out of their context
SWAP_NOT_WRITTEN = frozenset(
    {*_group_terms(validation=True), "latinos", "latino", "arabs", "arab"}
    | {"blacks", "whites", "homosexuals", "chinese"}
)
_SWAP_INTO = {
    "plural": [p for p in SWAP_PLURALS if p not in SWAP_NOT_WRITTEN],
    "adjective": [a for a in SWAP_ADJECTIVES if a not in SWAP_NOT_WRITTEN],
}
_PEOPLE = r"(people|folks|guys|men|women|players|gamers|kids|friends)"
_SWAP_PATTERN = re.compile(
    r"\b(?:(?P<plural>" + "|".join(SWAP_PLURALS) + r")"
    r"|(?P<adjective>" + "|".join(SWAP_ADJECTIVES) + r")\s+" + _PEOPLE + r")\b",
    re.IGNORECASE,
)


def swap_group(text: str, rng: random.Random) -> str | None:
    """text with every group it names (in the two forms above) swapped for another group of the
    same form, chosen at random (one choice per group word); None when it names none."""
    chosen: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        word = (match["plural"] or match["adjective"]).lower()
        pool = _SWAP_INTO["plural" if match["plural"] else "adjective"]
        if word not in chosen:
            chosen[word] = rng.choice([w for w in pool if w != word])
        if match["plural"]:
            return chosen[word]
        return f"{chosen[word]} {match.group(3)}"

    swapped, count = _SWAP_PATTERN.subn(replace, text)
    return swapped if count else None


HATEFUL = ("identity_hate", "threat")


def swap_identity(
    rows: Sequence[Example],
    copies: int,
    seed: int = 13,
    generated: Collection[str] = (),
    hateful_copies: int = 0,
) -> list[Example]:
    """``rows`` plus, for each distinct harmless row of a public source that names a group,
    ``copies`` copies with the group swapped (swap_group), and ``hateful_copies`` of each such
    hateful row (identity hate, threat), so the words that attack a group, not its name, mark
    the line. Rows from ``generated`` sources are left as they are: the generator swaps its own
    groups already."""
    if copies < 1 and hateful_copies < 1:
        return list(rows)
    rng = random.Random(seed)
    seen: set[str] = set()
    extra = []
    for e in rows:
        n = copies if e.label == NON_TOXIC else hateful_copies if e.label in HATEFUL else 0
        if n < 1 or e.source in generated or e.text in seen:
            continue
        seen.add(e.text)
        for _ in range(n):
            swapped = swap_group(e.text, rng)
            if swapped is None:
                break
            extra.append(Example(swapped, e.label, e.source, e.split, e.split_key))
    return [*rows, *extra]
