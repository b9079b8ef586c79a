"""Training data the project makes itself, to teach what the public sets do not.

- **Counterfactual identity data**: the same statement about many identity groups, in five
  kinds: positive, neutral, negated hate, counter-speech (quoting hate to reject it) — all
  ``non_toxic`` — and hateful ones (``identity_hate``). Swapping the group while keeping the label
  teaches the model that a group's name is not what makes a line hateful.
- **Game chat as typed**: masked profanity (``you ****** noob``, ``kiss my ***``), short taunts
  and flaming (``our jungler is a bot``, ``uninstall``), each paired with harmless lines that use
  the same words (``the bot lane is open``, ``uninstall the old driver``).
- **Obfuscated copies** of toxic training rows (leet, spacing, stretched letters, homoglyphs,
  zero-width characters), so disguises the normaliser cannot undo still carry their label.

Every sentence here was written for this project. None comes from a published functional test
suite, and the project's own suite (tests/data/functional_suite.csv) uses other sentences and
templates, so its scores are not inflated by these.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from models.taxonomy import NON_TOXIC


@dataclass(frozen=True)
class Group:
    plural: str  # "gay people"
    person: str  # "gay" as in "I am ..." / "my friend is ..."
    noun: str  # "gay guy" as in "a ... on my team"


# Groups for training. The functional suite tests these and others it holds back.
GROUPS: tuple[Group, ...] = (
    Group("women", "a woman", "woman"),
    Group("girls", "a girl", "girl"),
    Group("gay people", "gay", "gay guy"),
    Group("lesbians", "a lesbian", "lesbian"),
    Group("trans people", "trans", "trans woman"),
    Group("black people", "black", "black guy"),
    Group("asians", "asian", "asian guy"),
    Group("muslims", "muslim", "muslim"),
    Group("jews", "jewish", "jewish guy"),
    Group("christians", "christian", "christian"),
    Group("immigrants", "an immigrant", "immigrant"),
    Group("mexicans", "mexican", "mexican"),
    Group("disabled people", "disabled", "disabled player"),
    Group("deaf people", "deaf", "deaf player"),
    Group("old people", "old", "older player"),
)

# (kind, label, template); {plural}, {person}, {noun} are filled from a Group
IDENTITY_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("positive", NON_TOXIC, "proud to be {person} and still carrying this lobby"),
    ("positive", NON_TOXIC, "{plural} are some of the best players in our clan"),
    ("positive", NON_TOXIC, "shoutout to all the {plural} who play this game"),
    ("positive", NON_TOXIC, "as {person} gamer this community feels like home"),
    ("positive", NON_TOXIC, "love that the new hero is {person} character"),
    ("neutral", NON_TOXIC, "my duo partner is {person}"),
    ("neutral", NON_TOXIC, "there are a few {plural} in our guild"),
    ("neutral", NON_TOXIC, "the {noun} on our team is playing support"),
    ("neutral", NON_TOXIC, "the stream tonight is about {plural} in esports"),
    ("neutral", NON_TOXIC, "i am {person} btw, if anyone asked"),
    ("negated", NON_TOXIC, "i don't hate {plural}, i hate losing"),
    ("negated", NON_TOXIC, "{plural} are not the problem, our draft is"),
    ("negated", NON_TOXIC, "nothing wrong with being {person}"),
    ("negated", NON_TOXIC, "no one here thinks {plural} are bad at games"),
    ("counter", NON_TOXIC, 'saying "{plural} are trash" gets you reported, stop it'),
    ("counter", NON_TOXIC, "calling {plural} subhuman is not ok in this chat"),
    ("counter", NON_TOXIC, "whoever said {plural} should leave, that is just hate, grow up"),
    ("counter", NON_TOXIC, "stop telling the {noun} to go away, they did nothing wrong"),
    ("hate", "identity_hate", "{plural} are trash and should never touch a keyboard"),
    ("hate", "identity_hate", "{plural} should not be allowed to play online"),
    ("hate", "identity_hate", "i hate {plural}, they ruin every lobby"),
    ("hate", "identity_hate", "{plural} are subhuman"),
    ("hate", "identity_hate", "get out of our game, no {plural} wanted here"),
    ("hate", "identity_hate", "typical {noun}, too stupid to play"),
    ("hate", "identity_hate", "all {plural} should leave this country"),
)

# Compositional identity data: one hateful claim about a group, said outright (hateful), denied
# (negated) or quoted to reject it (counter-speech). The same words in all three teach that the
# claim's frame, not the group's name or the insult, decides the label.
CLAIMS: tuple[str, ...] = (
    "are parasites",
    "are filthy rats",
    "are a plague on this game",
    "are less than human",
    "are garbage people",
    "ruin everything they touch",
    "are too dumb to breathe",
    "belong in a cage",
    "should be banned from gaming",
    "don't belong in esports",
    "should be wiped off the map",
    "need to be put down",
    "are a cancer on this community",
    "can't be trusted with anything",
    "are stupid by nature",
)
CLAIM_FRAMES: dict[str, tuple[str, ...]] = {
    "hate": (
        "{plural} {claim}",
        "honestly {plural} {claim}",
        "everyone knows {plural} {claim}",
        "i swear {plural} {claim}",
        "facts: {plural} {claim}",
        "{plural} {claim}, no debate",
        "told you, {plural} {claim}",
        "lol {plural} {claim}",
    ),
    "negated": (
        "i don't think {plural} {claim}",
        "it is not true that {plural} {claim}",
        "who says {plural} {claim}? not me",
        "i would never say {plural} {claim}",
        "it's a myth that {plural} {claim}",
        "no, {plural} do not deserve that, stop",
        "nobody in this clan believes {plural} {claim}",
        "calm down, {plural} are fine, nobody thinks they {claim}",
    ),
    "counter": (
        'someone in all chat typed "{plural} {claim}", reported',
        "saying {plural} {claim} is bigotry, knock it off",
        '"{plural} {claim}" is not banter, it is hate',
        "mods, the guy who said {plural} {claim} needs a ban",
        'imagine typing "{plural} {claim}" in 2026, embarrassing',
        "if you believe {plural} {claim}, please leave our clan",
        "we do not tolerate people saying {plural} {claim}",
        "hating {plural} is not a personality, mute yourself",
    ),
}
CLAIM_LABELS = {"hate": "identity_hate", "negated": NON_TOXIC, "counter": NON_TOXIC}
MORE_POSITIVE_NEUTRAL: tuple[str, ...] = (
    "the {plural} in our guild carried the raid tonight",
    "met so many cool {plural} at the lan party",
    "is the tournament open to {plural} too?",
    "our coach is {person} and knows every matchup",
    "the {noun} who joined yesterday is cracked at this game",
    "growing up {person}, games were where i found friends",
    "there is a panel about {plural} and accessibility at the convention",
    "my brother is {person}, he got me into this game",
)


def claim_rows(per_kind: int = 3, seed: int = 13) -> Iterator[tuple[str, str, str]]:
    """(text, label, kind): for every group and claim, per_kind frames of each kind (hateful,
    negated, counter-speech), chosen at random with a fixed seed; and more harmless mentions."""
    rng = random.Random(seed)
    for group in GROUPS:
        for claim in CLAIMS:
            for kind, frames in CLAIM_FRAMES.items():
                for frame in rng.sample(frames, min(per_kind, len(frames))):
                    yield frame.format(plural=group.plural, claim=claim), CLAIM_LABELS[kind], kind
        for template in MORE_POSITIVE_NEUTRAL:
            text = template.format(plural=group.plural, person=group.person, noun=group.noun)
            yield text, NON_TOXIC, "positive"


MASKED_TOXIC: tuple[tuple[str, str], ...] = (
    ("you ****** noob", "insult"),
    ("kiss my ***", "insult"),
    ("shut the **** up", "insult"),
    ("what a ******* idiot", "insult"),
    ("you are a piece of ****", "insult"),
    ("go **** yourself", "insult"),
    ("this ####### team", "insult"),
    ("what the ****", "profanity"),
    ("oh ****, lag again", "profanity"),
    ("holy ****", "profanity"),
    ("@#$% this game", "profanity"),
    ("****ing hell", "profanity"),
    ("$$$$ing matchmaking", "profanity"),
    ("you *** **** loser", "insult"),
)
MASKED_HARMLESS: tuple[str, ...] = (
    "*sigh* one more game",
    "gg *thumbs up*",
    "5 * 3 = 15 gold per tick",
    "rate this map ***** out of five",
    "see #general for the schedule",
    "meet @ 8 for the scrim",
    "price is $5 in the shop",
    "spoiler *** skip if you have not finished the story ***",
)

# flaming and taunts: (template with {who}, label) and harmless lines using the same words
WHO = ("our jungler", "mid", "this support", "you", "the tank", "their carry", "our healer")
FLAMING: tuple[tuple[str, str], ...] = (
    ("{who} is a bot", "insult"),
    ("{who} uninstall please", "insult"),
    ("{who} is actually braindead", "insult"),
    ("report {who}, feeding on purpose", "insult"),
    ("{who} is trash, go back to tutorial", "insult"),
    ("{who} kys", "threat"),
    ("thanks for nothing {who}, useless", "insult"),
    ("{who} go back to kindergarten", "insult"),
    ("{who} stop feeding you absolute noob", "insult"),
)
FLAMING_HARMLESS: tuple[str, ...] = (
    "the bot lane is open, rotate",
    "add a bot to fill the lobby",
    "report the bug to the devs",
    "uninstall the old driver and it works",
    "my internet is trash today, sorry",
    "i was a noob at this hero too once",
    "ez game, well played everyone",
    "feeder role in this mode is the courier",
    "i need to sleep, last game",
    "i fed a lot, my bad guys",
)

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}  # Cyrillic


# Real hateful sentences (ToxiGen's seeds) inside frames that reject them or say them approvingly.
# The hand-written claims above are 15 phrases; these put hundreds of real wordings of hate into
# the same contrast, so the frame, not the hateful words inside it, has to decide the label. The
# approving frames mirror the rejecting ones, so neither quotation marks nor "that" clauses decide
# alone; neutral seeds said approvingly stay harmless.
SEED_FRAMES: dict[str, tuple[str, ...]] = {
    "rejected": (
        'someone in team chat just wrote "{s}". reported',
        'muted the guy who typed "{s}"',
        '"{s}" is a bigoted lie and you know it',
        'can a mod delete "{s}" from general please',
        'people who post "{s}" get banned here, read the rules',
        "i do not agree that {s}",
        "no, it is simply false that {s}",
        "anyone who believes {s} needs to log off and read a book",
    ),
    "endorsed": (
        'someone finally said it: "{s}"',
        'my duo typed "{s}" and honestly he is right',
        '"{s}" is just the truth',
        "i agree that {s}",
        "it is simply true that {s}",
        "anyone who denies that {s} is lying to you",
    ),
}

# questions and commands read only inside quotation marks, not as a "that ..." clause
_NOT_A_CLAUSE = ("do ", "don't ", "dont ", "never ", "stop ", "why ", "how ", "what ", "if ")
_QUOTE_FRAMES = {k: tuple(f for f in v if '"{s}"' in f) for k, v in SEED_FRAMES.items()}


def framed_seed_rows(
    seeds: Iterable[tuple[str, str]], per_hate: int = 2, seed: int = 13
) -> Iterator[tuple[str, str, str]]:
    """(framed text, kind, seed text) for ToxiGen-style seeds given as (text, "hate"|"neutral").

    Each hateful seed is said in per_hate rejecting frames (kind ``rejected``: harmless) and one
    approving frame (``endorsed``: hateful); each neutral seed in one approving frame
    (``neutral_endorsed``: harmless). The seed text travels with its rows so they can share its
    split."""
    rng = random.Random(seed)
    for text, kind in seeds:
        inner = text.strip().rstrip(".!").strip()
        if not inner:
            continue
        inner = inner[0].lower() + inner[1:]
        clause = not inner.endswith("?") and not inner.startswith(_NOT_A_CLAUSE)
        fits = SEED_FRAMES if clause else _QUOTE_FRAMES
        if kind == "hate":
            for frame in rng.sample(fits["rejected"], min(per_hate, len(fits["rejected"]))):
                yield frame.format(s=inner), "rejected", text
            yield rng.choice(fits["endorsed"]).format(s=inner), "endorsed", text
        elif kind == "neutral":
            yield rng.choice(fits["endorsed"]).format(s=inner), "neutral_endorsed", text


# Negating a hateful seed sentence where it says its claim: the first auxiliary verb within the
# first words gains or loses its "not" ("they are all snakes" -> "they are not all snakes",
# "they should not be allowed to vote" -> "they should be allowed to vote"). Hateful seeds carry
# "not" as often as harmless ones then, so the word alone cannot decide the label.
_AUX = ("are", "is", "was", "were", "should", "can", "will", "would", "could", "must", "do", "does")
_NEGATED_AUX = {
    "don't": "do", "dont": "do", "doesn't": "does", "doesnt": "does", "can't": "can",
    "cant": "can", "cannot": "can", "won't": "will", "wont": "will", "isn't": "is",
    "isnt": "is", "aren't": "are", "arent": "are", "shouldn't": "should", "shouldnt": "should",
    "wasn't": "was", "weren't": "were", "wouldn't": "would", "couldn't": "could",
    "mustn't": "must",
}  # fmt: skip
_AUX_WINDOW = 6
_MORE_THAN_ONE_CLAIM = (
    ".",
    ",",
    ";",
    "?",
    " because ",
    " but ",
    " and ",
    " so ",
    " who ",
    " that ",
)


def negate_claim(text: str) -> str | None:
    """text with its first auxiliary verb's negation toggled, or None when the first
    _AUX_WINDOW words have no auxiliary, or the sentence says more than one thing."""
    claim = text.strip().rstrip(".!")
    if any(mark in claim for mark in _MORE_THAN_ONE_CLAIM) or claim.lower().startswith(
        ("if ", "when ", "don't ", "do not ")
    ):
        return None  # a second clause could keep the sentence hateful
    words = claim.split()
    for i, word in enumerate(words[:_AUX_WINDOW]):
        low = word.lower()
        if low in _NEGATED_AUX:
            return " ".join([*words[:i], _NEGATED_AUX[low], *words[i + 1 :]])
        if low in _AUX:
            if i + 1 < len(words) and words[i + 1].lower() in ("no", "never", "nothing"):
                return None
            if i + 1 < len(words) and words[i + 1].lower() == "not":
                return " ".join([*words[: i + 1], *words[i + 2 :]])
            return " ".join([*words[: i + 1], "not", *words[i + 1 :]])
    return None


def negated_seed_rows(seeds: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str, str]]:
    """(negated text, "negated", seed text) for each hateful seed with an auxiliary verb near its
    start; neutral seeds are left out (a negated harmless statement can be hateful)."""
    for text, kind in seeds:
        if kind == "hate":
            negated = negate_claim(text)
            if negated:
                yield negated, "negated", text


def identity_rows() -> Iterator[tuple[str, str, str]]:
    """(text, label, kind) for every identity template and group."""
    for kind, label, template in IDENTITY_TEMPLATES:
        for group in GROUPS:
            yield (
                template.format(plural=group.plural, person=group.person, noun=group.noun),
                (label),
                kind,
            )


def chat_rows() -> Iterator[tuple[str, str, str]]:
    """(text, label, kind) for masked profanity and flaming with their harmless twins."""
    for text, label in MASKED_TOXIC:
        yield text, label, "masked"
    for text in MASKED_HARMLESS:
        yield text, NON_TOXIC, "masked"
    for template, label in FLAMING:
        for who in WHO:
            yield template.format(who=who), label, "flaming"
    for text in FLAMING_HARMLESS:
        yield text, NON_TOXIC, "flaming"


def obfuscate(text: str, rng: random.Random) -> str:
    """One disguise, chosen at random, applied to the longest word of text."""
    words = text.split()
    if not words:
        return text
    i = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[i]
    how = rng.choice(("leet", "spaced", "stretched", "homoglyph", "zero_width", "masked"))
    if how == "leet":
        word = "".join(_LEET.get(c, c) for c in word)
    elif how == "spaced":
        word = " ".join(word)
    elif how == "stretched" and len(word) > 2:
        k = rng.randrange(1, len(word) - 1)
        word = word[:k] + word[k] * rng.randint(3, 5) + word[k + 1 :]
    elif how == "homoglyph":
        word = "".join(_HOMOGLYPHS.get(c, c) for c in word)
    elif how == "zero_width":
        word = "\u200b".join(word)
    elif how == "masked" and len(word) > 2:
        word = word[0] + "*" * (len(word) - 2) + word[-1]
    words[i] = word
    return " ".join(words)


def obfuscated_copies(
    rows: Sequence[tuple[str, str]], count: int, seed: int = 13
) -> list[tuple[str, str]]:
    """count disguised copies of toxic rows (text, label), labels kept."""
    rng = random.Random(seed)
    toxic = [(t, label) for t, label in rows if label != NON_TOXIC and len(t.split()) <= 30]
    if not toxic:
        return []
    return [(obfuscate(t, rng), label) for t, label in rng.choices(toxic, k=count)]


# Identity and claim rows about these groups are validation rows, never trained on: thresholds
# picked on validation then see harmless and hateful mentions of groups the model did not learn
# them for, as a studio's chat will have.
VALIDATION_GROUPS: tuple[str, ...] = ("jews", "deaf people", "mexicans")


def augmented_examples() -> Iterator[tuple[str, str, str]]:
    """(text, label, split) of the generated rows: rows about VALIDATION_GROUPS are
    ``validation``, the rest ``train``."""
    held = [g for g in GROUPS if g.plural in VALIDATION_GROUPS]

    def split_of(text: str) -> str:
        return "validation" if any(_mentions(text, g) for g in held) else "train"

    for text, label, _ in (*identity_rows(), *claim_rows()):
        yield text, label, split_of(text)
    for text, label, _ in chat_rows():
        yield text, label, "train"


def _mentions(text: str, group: Group) -> bool:
    words = f" {text} "
    return any(f" {name} " in words for name in (group.plural, group.person, group.noun))


def augmented_rows(kinds: Sequence[str] = ("identity", "claims", "chat")) -> list[tuple[str, str]]:
    """The generated rows as (text, label), for the `augment` source format."""
    out: list[tuple[str, str]] = []
    if "identity" in kinds:
        out += [(t, label) for t, label, _ in identity_rows()]
    if "claims" in kinds:
        out += [(t, label) for t, label, _ in claim_rows()]
    if "chat" in kinds:
        out += [(t, label) for t, label, _ in chat_rows()]
    return out
