"""Undo the common ways players disguise words before the classifier sees them.

Handles zero-width and look-alike characters (Cyrillic or Greek letters inside a Latin word,
from the ``confusables`` package's table), masked letters (f*ck), whole words masked by a chat
filter (``you ****** noob``, ``kiss my ***``: a run of ``*``, ``#``, ``@``, ``$`` or ``%`` standing
for a word becomes a swear word, since that is what filters hide), leetspeak (sh1t), spaced
letters (f u c k), stretched letters (stuuupid) and repeated punctuation (!!!!). The result is
only used for classification; excerpts keep the original text and offsets.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "€": "e",
    }
)
_MASK_CHARS = "*#%_."
_TOKEN = re.compile(r"\S+")
_SPACED = re.compile(
    r"(?<!\S)(?:[^\W\d_*]|[@$0-9*])(?:[ .\-_]{1,2}(?:[^\W\d_*]|[@$0-9*])){2,}(?!\S)"
)
_RUN3 = re.compile(r"(\w)\1{2,}")
_PUNCT_RUN = re.compile(r"([!?.,:;~\-_=*#])\1+")
_MIXED_BANG = re.compile(r"[!?]{2,}")
_EDGE_PUNCT = re.compile(r"^([^\w*@$]*)(.*?)([^\w*]*)$")
_ABBREVIATION = re.compile(r"[a-z](?:\.[a-z])+")  # p.s, n.b: dots here are not masks


# a whole word hidden by a chat filter: 3+ mask symbols, maybe with an ending (****ing)
_MASKED_WORD = re.compile(
    r"(?<![\w*#@$%])([*#@$%]{3,})(ing|in|ed|er|ers|s)?(?![\w*#@$%])", re.IGNORECASE
)
_MASKED_REPLACEMENT = "fuck"
# a run that is decoration or a rating, not a word: "*** restart ***", "***** out of five"
_NOT_A_WORD_AFTER = re.compile(r"\s*(?:out\b|stars?\b|/)", re.IGNORECASE)
_NON_LATIN_LETTER = re.compile(r"[^\W\d_a-zA-Z]")


def _masked_words(text: str) -> str:
    """Runs of mask symbols that stand for a word become a swear word."""
    stripped = text.strip()
    framed = bool(re.match(r"[*#@$%]{3,}", stripped)) and bool(re.search(r"[*#@$%]{3,}$", stripped))
    if framed or not any(c.isalpha() for c in text):
        return text

    def swap(match: re.Match[str]) -> str:
        if _NOT_A_WORD_AFTER.match(text, match.end()):
            return match.group(0)
        ending = (match.group(2) or "").lower() or ("ing" if len(match.group(1)) >= 6 else "")
        return _MASKED_REPLACEMENT + ending

    return _MASKED_WORD.sub(swap, text)


def _latin_look_alikes(token: str) -> str:
    """Letters of another script inside a Latin word become their Latin look-alikes
    ("іdіоt" with Cyrillic і and о -> "idiot")."""
    if token.isascii() or not _NON_LATIN_LETTER.search(token):
        return token
    from models.language import look_alike, script_counts

    letters = [c for c in token if c.isalpha()]
    has_latin = any(c.isascii() for c in letters)
    counts = script_counts(token)
    if not has_latin or counts.get("latin", 0) < max(counts.get("cyrillic", 0), 1):
        return token  # a word of another script (a Russian word stays Russian)
    return "".join(
        (look_alike(c, "latin") or c) if c.isalpha() and not c.isascii() else c for c in token
    )


@lru_cache(maxsize=1)
def lexicon() -> frozenset[str]:
    text = resources.files("models").joinpath("lexicon/obfuscation_targets.txt").read_text("utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def _masked_patterns() -> dict[int, list[tuple[re.Pattern[str], str]]]:
    """Lexicon words by length, each with a regex that accepts any masked form of it."""
    by_length: dict[int, list[tuple[re.Pattern[str], str]]] = {}
    for word in sorted(lexicon()):
        by_length.setdefault(len(word), []).append((re.compile(word), word))
    return by_length


def _unmask(core: str) -> str | None:
    """'f*ck' -> 'fuck': mask characters stand for one letter each, first and last letter kept."""
    if not any(c in _MASK_CHARS for c in core) or not core[0].isalpha():
        return None
    if _ABBREVIATION.fullmatch(core):
        return None
    pattern = re.compile("".join("[a-z]" if c in _MASK_CHARS else re.escape(c) for c in core))
    candidates = [w for _, w in _masked_patterns().get(len(core), []) if pattern.fullmatch(w)]
    if len(candidates) >= 1:
        return min(candidates, key=len)
    # "f**k" with a two-character mask for one letter, "f***ing"
    loose = re.compile(
        "".join(
            "[a-z]+" if c in _MASK_CHARS else re.escape(c) for c in re.sub(r"[*#%_.]+", "*", core)
        )
    )
    candidates = [w for w in lexicon() if loose.fullmatch(w)]
    return min(candidates, key=len) if len(candidates) == 1 else None


def _destretch(word: str) -> str:
    """'stuuupid' -> 'stupid', 'noooob' -> 'noob', 'sooooo' -> 'soo'."""
    if not _RUN3.search(word):
        return word
    lex = lexicon()
    runs = [m.span() for m in re.finditer(r"(\w)\1+", word)]
    # try every run at length 1 or 2 (few runs in practice; cap the search)
    if len(runs) <= 4:
        for mask in range(1 << len(runs)):
            out, last = [], 0
            for i, (a, b) in enumerate(runs):
                out.append(word[last:a])
                out.append(word[a] * (1 if mask >> i & 1 else 2))
                last = b
            out.append(word[last:])
            candidate = "".join(out)
            if candidate in lex:
                return candidate
    return _RUN3.sub(r"\1\1", word)


def _fix_token(token: str) -> str:
    lead, core, trail = _EDGE_PUNCT.match(token).groups()  # type: ignore[union-attr]
    if not core:
        return token
    lower = core.lower()
    lex = lexicon()
    if lower in lex:
        return token
    unmasked = _unmask(lower)
    if unmasked:
        return lead + unmasked + trail
    has_letter = any(c.isalpha() for c in lower)
    leet = lower.translate(_LEET) if has_letter else lower
    if leet != lower:
        fixed = _destretch(leet)
        if fixed in lex:
            return lead + fixed + trail
        stem = lower.rstrip("0123456789")
        if stem.translate(_LEET) == stem:
            return token  # a number after a name (player1, win10) is not leetspeak
        letters = sum(c.isalpha() for c in lower)
        # rewrite mixed tokens only when letters dominate (n00b, h4te), never scores like 5v5
        if letters >= 2 and letters > len(lower) - letters and len(lower) >= 4:
            return lead + fixed + trail
        return token
    destretched = _destretch(lower)
    if destretched != lower:
        return lead + destretched + trail
    return token


def _join_spaced(match: re.Match[str]) -> str:
    letters = re.sub(r"[ .\-_]", "", match.group(0)).lower()
    candidate = _destretch(letters.translate(_LEET))
    if candidate in lexicon():
        return candidate
    unmasked = _unmask(letters)
    return unmasked or match.group(0)


def normalize(text: str) -> str:
    """Return text with disguises undone, for the classifier's eyes only."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    if not text.isascii():
        text = _TOKEN.sub(lambda m: _latin_look_alikes(m.group(0)), text)
    text = _masked_words(text)
    text = _SPACED.sub(_join_spaced, text)
    text = _MIXED_BANG.sub(lambda m: m.group(0)[0], text)
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _TOKEN.sub(lambda m: _fix_token(m.group(0)), text)
    return " ".join(text.split())
