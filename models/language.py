"""Which language an excerpt is in, and what can check it.

Language identification uses py3langid (a maintained fork of langid.py, BSD; its model ships in
the wheel, nothing downloads), with rules for game chat, where most lines are a few words:

- The script decides first. Letters are counted per script; a letter that has a look-alike in
  the other script (Cyrillic ``о`` for Latin ``o``, Latin ``c`` inside a Russian word) counts for
  neither (the ``confusables`` package's table), so ``іdіоt`` is Latin and ``Пиcдyй`` Cyrillic.
- Cyrillic text is Russian unless py3langid, choosing among Cyrillic languages, is sure of
  another one on a line long enough to tell.
- Latin text is English unless it is long enough to tell (at least three words and twelve
  letters) and py3langid, choosing among common Latin-script languages, gives another language
  a clear lead. ``gg wp``, ``kys noob`` and ``ez`` stay English.
- Any other script (Chinese, Arabic, Korean, ...) is named by py3langid.

English is checked by the classifier's model; German and Russian by a character n-gram model each
(:class:`NgramModel`, trained by training/multilingual.py, shipped in models/lexicon/); anything
else is ``not checked``.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from models.errors import ModlensError

ENGLISH = "en"
NGRAM_RANGE = (2, 4)
CYRILLIC_LANGUAGES = ("ru", "uk", "bg", "be", "sr", "mk", "kk")
LATIN_LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "sv", "da", "no", "fi", "cs", "sk",
    "ro", "hu", "hr", "id", "vi", "tl", "lt", "lv", "et", "sl",
)  # fmt: skip
MIN_WORDS = 3  # a Latin-script line shorter than this stays English
MIN_LETTERS = 12
LEAD = 0.75  # py3langid probability another Latin language needs to win over English

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
_WHITESPACE = re.compile(r"\s\s+")


class LanguageError(ModlensError):
    """A language model file that cannot be read."""


@dataclass(frozen=True)
class LanguageGuess:
    language: str | None  # ISO 639-1 code; None when the text has no letters
    script: str  # "latin", "cyrillic", "other" or "none"
    confident: bool  # False when a short line fell back to its script's default


def _script_of(char: str) -> str:
    try:
        name = unicodedata.name(char)
    except ValueError:
        return "other"
    if name.startswith("LATIN"):
        return "latin"
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    return "other"


@lru_cache(maxsize=4096)
def look_alike(char: str, script: str) -> str | None:
    """A lowercase letter of `script` that looks like char (confusables' table), or None."""
    import confusables

    lower = char.lower()
    if len(lower) != 1:  # "İ".lower() is two characters
        lower = char
    if _script_of(lower) == script:
        return lower
    candidates = sorted(
        c
        for c in confusables.confusable_characters(lower) or ()
        if len(c) == 1 and c.isalpha() and c.islower() and _script_of(c) == script
    )
    if script == "latin":
        ascii_only = [c for c in candidates if c.isascii()]
        candidates = ascii_only or candidates
    return candidates[0] if candidates else None


_BASIC = {
    "latin": frozenset("abcdefghijklmnopqrstuvwxyz"),
    "cyrillic": frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў"),
}


def _ambiguous(char: str, script: str) -> bool:
    """True when char has a look-alike among the other script's ordinary letters."""
    other = "cyrillic" if script == "latin" else "latin"
    twin = look_alike(char, other)
    return twin is not None and twin in _BASIC[other]


def script_counts(text: str) -> Counter[str]:
    """Letters per script; a letter that looks like an ordinary letter of the other script
    (Latin ``o`` and Cyrillic ``о``) is not counted."""
    counts: Counter[str] = Counter()
    for char in text:
        if not char.isalpha():
            continue
        script = _script_of(char)
        if script in _BASIC and _ambiguous(char, script):
            continue
        counts[script] += 1
    return counts


def _dominant_script(text: str) -> str:
    counts = script_counts(text)
    if not counts:
        # only look-alike letters ("ok", "рос"): fall back to counting them all
        counts = Counter(_script_of(c) for c in text if c.isalpha())
    if not counts:
        return "none"
    return counts.most_common(1)[0][0]


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...] | None):
    """A py3langid identifier restricted to languages (one per set: set_languages mutates)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages:
        identifier.set_languages(list(languages))
    return identifier


def _ranked(text: str, languages: tuple[str, ...] | None) -> list[tuple[str, float]]:
    return _identifier(languages).rank(text)


@lru_cache(maxsize=65536)
def detect_language(text: str) -> LanguageGuess:
    """The language of one excerpt (see the module's rules)."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    script = _dominant_script(text)
    if script == "none":
        return LanguageGuess(None, "none", False)
    letters = sum(c.isalpha() for c in text)
    words = len([w for w in text.split() if any(c.isalpha() for c in w)])
    long_enough = words >= MIN_WORDS and letters >= MIN_LETTERS
    if script == "cyrillic":
        if not long_enough:
            return LanguageGuess("ru", script, False)
        (top, p), *_ = _ranked(text.lower(), CYRILLIC_LANGUAGES)
        return LanguageGuess(top if p >= LEAD else "ru", script, top == "ru" or p >= LEAD)
    if script == "latin":
        if not long_enough:
            return LanguageGuess(ENGLISH, script, False)
        (top, p), *_ = _ranked(text.lower(), LATIN_LANGUAGES)
        if top != ENGLISH and p >= LEAD:
            return LanguageGuess(top, script, True)
        return LanguageGuess(ENGLISH, script, top == ENGLISH)
    (top, p), *_ = _ranked(text, None)
    return LanguageGuess(top, script, p >= LEAD)


def detect_languages(texts: Iterable[str]) -> list[LanguageGuess]:
    return [detect_language(t) for t in texts]


# --- the German and Russian n-gram models ---------------------------------------------------


def prepare(text: str, language: str) -> str:
    """Text as an n-gram model reads it: NFKC, no zero-width characters, lowercase, one space
    between words; in Russian, Latin look-alikes and digits inside Cyrillic words become the
    Cyrillic letters they stand for (``Пиcдyй`` with Latin c and y, ``д,билы 9ть``)."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).lower()
    if language == "ru":
        words = []
        for word in text.split():
            if any(_script_of(c) == "cyrillic" for c in word):
                word = "".join(
                    _DIGITS_RU.get(c) or (look_alike(c, "cyrillic") or c) if c.isascii() else c
                    for c in word
                )
            words.append(word)
        text = " ".join(words)
    return " ".join(text.split())


_DIGITS_RU = {"0": "о", "3": "з", "4": "ч", "6": "б", "9": "я", "@": "а"}


def char_ngrams(text: str, ngram_range: tuple[int, int] = NGRAM_RANGE) -> list[str]:
    """Character n-grams inside words padded with a space (scikit-learn's char_wb analyzer)."""
    low, high = ngram_range
    grams: list[str] = []
    for word in _WHITESPACE.sub(" ", text).split():
        word = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(word[offset : offset + n])
            while offset + n < len(word):
                offset += 1
                grams.append(word[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


@dataclass(frozen=True)
class NgramModel:
    """Logistic regression over TF-IDF character n-grams (sublinear tf, l2-normalised)."""

    language: str
    ngrams: dict[str, tuple[float, float]]  # n-gram -> (idf, weight)
    intercept: float
    threshold: float

    @classmethod
    def load(cls, data: bytes, where: str = "") -> NgramModel:
        try:
            payload = json.loads(gzip.decompress(data))
            return cls(
                language=payload["language"],
                ngrams={g: (float(v[0]), float(v[1])) for g, v in payload["ngrams"].items()},
                intercept=float(payload["intercept"]),
                threshold=float(payload["threshold"]),
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise LanguageError(f"{where or 'n-gram model'} cannot be read: {exc}") from exc

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """P(toxic) per text."""
        out = np.zeros(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            counts = Counter(char_ngrams(prepare(text, self.language)))
            values = [
                ((1.0 + math.log(n)) * self.ngrams[g][0], self.ngrams[g][1])
                for g, n in counts.items()
                if g in self.ngrams
            ]
            norm = math.sqrt(sum(x * x for x, _ in values)) or 1.0
            logit = self.intercept + sum(x * w for x, w in values) / norm
            out[i] = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores(texts) >= self.threshold


@lru_cache(maxsize=8)
def load_language_model(language: str) -> NgramModel | None:
    """The shipped n-gram model for a language, or None when none ships."""
    resource = resources.files("models").joinpath(f"lexicon/{language}.ngrams.json.gz")
    if not resource.is_file():
        return None
    return NgramModel.load(resource.read_bytes(), f"models/lexicon/{language}.ngrams.json.gz")


def covered_languages() -> tuple[str, ...]:
    """Languages something checks: English (the classifier) and every shipped n-gram model."""
    folder = resources.files("models").joinpath("lexicon")
    extra = sorted(
        p.name.split(".", 1)[0] for p in folder.iterdir() if p.name.endswith(".ngrams.json.gz")
    )
    return (ENGLISH, *extra)
