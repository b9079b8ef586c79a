"""A studio's own block and allow lists, applied around the classifier (text, scan and live).

- A **block** entry flags any excerpt that contains it, with the entry's category, whatever the
  model says: a studio's slur of the week, a scam site's name.
- An **allow** entry stops a hero, map or clan name from being flagged: it is masked out and the
  rest of the excerpt is judged again; when the rest is not toxic the excerpt passes. An allow
  entry may name a category (it then only lifts that category's flags) or none (any category).

Entries are matched as whole words or phrases, ignoring case, in the excerpt as written and in
its normalised form (disguises undone), and apply to one language or, with no language, to all.
A verdict that a list decided is a :class:`ListedVerdict`: ``method`` is ``"word list"`` and
``entry`` names the list and the entry, in its JSON too.

The lists are kept as JSON beside the app's settings and imported or exported as CSV
(``list,category,language,entry``) or the same JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path

from models.classifier import Verdict
from models.errors import ModlensError
from models.excerpts import Excerpt
from models.normalize import normalize
from models.taxonomy import NON_TOXIC

LIST_KINDS = ("block", "allow")
WORD_LISTS_NAME = "wordlists.json"
FORMAT = "modlens-word-lists/1"
CSV_COLUMNS = ("list", "category", "language", "entry")
MASK = "name"  # what an allowed name is replaced with before the excerpt is judged again
METHOD = "word list"


class WordListError(ModlensError, ValueError):
    """A word list file or entry that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class WordEntry:
    kind: str  # "block" or "allow"
    entry: str  # a word or phrase
    category: str = ""  # block: the category it flags; allow: the category it lifts ("" = any)
    language: str = ""  # "" = every language

    def describe(self) -> str:
        return f"{self.kind}: {self.entry}"


@dataclass(frozen=True)
class ListedVerdict(Verdict):
    """A verdict a word list decided (or changed); says which entry."""

    method: str = METHOD
    entry: str = ""  # "block: <entry>" or "allow: <entry>"

    def to_json(self, text: str | None = None) -> dict:
        return {**super().to_json(text), "method": self.method, "entry": self.entry}


def listed(verdict: Verdict, entry: WordEntry, **changes) -> ListedVerdict:
    """verdict, as a word list entry decided or changed it."""
    values = {f.name: getattr(verdict, f.name) for f in fields(Verdict) if f.name != "method"}
    values.update(changes)
    return ListedVerdict(**values, method=METHOD, entry=entry.describe())


def _pattern(entry: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in entry.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def check_entry(entry: WordEntry, categories: Sequence[str] | None = None) -> WordEntry:
    """A cleaned copy of entry; WordListError when it cannot be used."""
    text = " ".join(str(entry.entry).split())
    kind = str(entry.kind).strip().lower()
    category = "_".join(str(entry.category).strip().lower().split())
    language = str(entry.language).strip().lower()
    if kind not in LIST_KINDS:
        raise WordListError(f"list must be block or allow, not {entry.kind!r} ({text!r})")
    if not text or not any(c.isalnum() for c in text):
        raise WordListError(f"an empty entry in the {kind} list")
    if len(text) > 200:
        raise WordListError(f"the {kind} entry {text[:40]!r}… is longer than 200 characters")
    if kind == "block" and (not category or category == NON_TOXIC):
        raise WordListError(f"the block entry {text!r} needs a toxic category")
    if category and categories is not None and category not in categories:
        raise WordListError(
            f"the {kind} entry {text!r} names the category {category!r}, which is not one of "
            f"{', '.join(c for c in categories if c != NON_TOXIC)}"
        )
    return WordEntry(kind, text, category, language)


@dataclass(frozen=True)
class WordLists:
    entries: tuple[WordEntry, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def for_language(self, language: str | None) -> WordLists:
        """The entries that apply to text in this language (all of them when it is unknown)."""
        language = (language or "").strip().lower()
        if not language:
            return self
        return WordLists(tuple(e for e in self.entries if e.language in ("", language)))

    def of_kind(self, kind: str) -> tuple[WordEntry, ...]:
        return tuple(e for e in self.entries if e.kind == kind)

    @cached_property
    def _compiled(self) -> list[tuple[WordEntry, list[re.Pattern[str]]]]:
        out = []
        for e in self.entries:
            forms = dict.fromkeys([e.entry, normalize(e.entry)])
            out.append((e, [_pattern(f) for f in forms if f.strip()]))
        return out

    def _matches(self, text: str, kind: str) -> list[WordEntry]:
        forms = (text, normalize(text))
        return [
            e
            for e, patterns in self._compiled
            if e.kind == kind and any(p.search(f) for p in patterns for f in forms)
        ]

    def blocked(self, text: str) -> WordEntry | None:
        """The first block entry the text contains, or None."""
        found = self._matches(text, "block")
        return found[0] if found else None

    def allowed(self, text: str, category: str) -> list[WordEntry]:
        """Allow entries in the text that lift a flag of this category."""
        return [e for e in self._matches(text, "allow") if e.category in ("", category)]

    def mask(self, text: str, entries: Iterable[WordEntry]) -> str:
        """The text with these entries replaced by a neutral word (in its normalised form when
        an entry only appears there)."""
        patterns = [p for e, ps in self._compiled if e in set(entries) for p in ps]
        masked = text
        for p in patterns:
            masked = p.sub(MASK, masked)
        if masked == text:
            masked = normalize(text)
            for p in patterns:
                masked = p.sub(MASK, masked)
        return masked

    def to_json(self) -> dict:
        return {"format": FORMAT, "entries": [asdict(e) for e in self.entries]}


def parse_entries(
    rows: Iterable[dict], categories: Sequence[str] | None = None, where: str = ""
) -> WordLists:
    entries: list[WordEntry] = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise WordListError(f"{where}entry {number} is not an object with list and entry")
        try:
            entry = WordEntry(
                kind=str(row.get("list", row.get("kind", ""))),
                entry=str(row.get("entry", "")),
                category=str(row.get("category") or ""),
                language=str(row.get("language") or ""),
            )
            entries.append(check_entry(entry, categories))
        except WordListError as exc:
            raise WordListError(f"{where}entry {number}: {exc}") from None
    return WordLists(tuple(dict.fromkeys(entries)))


def read_word_lists(
    path: str | os.PathLike[str], categories: Sequence[str] | None = None
) -> WordLists:
    """Word lists from a CSV (list,category,language,entry) or JSON file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise WordListError(f"word list file not found: {path}") from None
    except (OSError, UnicodeError) as exc:
        raise WordListError(f"{path} cannot be read: {exc}") from exc
    where = f"{path.name}: "
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise WordListError(f"{path} is not JSON: {exc}") from exc
        rows = data.get("entries") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise WordListError(f"{path} holds no list of entries")
        rows = [
            {**r, "list": r.get("list", r.get("kind"))} if isinstance(r, dict) else r for r in rows
        ]
        return parse_entries(rows, categories, where)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"list", "entry"} <= set(reader.fieldnames):
        raise WordListError(f"{path} needs the columns {','.join(CSV_COLUMNS)}")
    return parse_entries(list(reader), categories, where)


def write_word_lists(lists: WordLists, path: str | os.PathLike[str]) -> None:
    """Write the lists as CSV, or JSON for a .json path, atomically."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(lists.to_json(), indent=2, ensure_ascii=False) + "\n"
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for e in lists.entries:
            # a cell a spreadsheet would run as a formula is never written as one
            cells = [e.kind, e.category, e.language, e.entry]
            writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells])
        text = out.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WordListError(f"{path} cannot be written: {exc.strerror or exc}") from exc


def load_word_lists(path: str | os.PathLike[str] | None) -> tuple[WordLists, str | None]:
    """The app's saved lists and, when the file is damaged, a message (the lists are empty)."""
    if path is None or not Path(path).exists():
        return WordLists(), None
    try:
        return read_word_lists(path), None
    except WordListError as exc:
        return WordLists(), f"The word lists could not be read ({exc}); none are applied."


class ListedClassifier:
    """A Classifier with the studio's word lists applied to every verdict.

    Everything but classify and classify_one is the wrapped classifier's own (labels,
    thresholds, probabilities, path), so it stands in wherever a Classifier is used.
    """

    def __init__(self, classifier, lists: WordLists) -> None:
        self.classifier = classifier
        self.word_lists = lists
        self._by_language: dict[str | None, WordLists] = {}

    def lists_for(self, verdict: Verdict) -> WordLists:
        """The entries for the excerpt's language, when the classifier identified it."""
        language = getattr(verdict, "language", None)
        if language not in self._by_language:
            self._by_language[language] = self.word_lists.for_language(language)
        return self._by_language[language]

    def __getattr__(self, name: str):
        if name in ("classifier", "word_lists", "_by_language"):  # not set yet (a copy)
            raise AttributeError(name)
        return getattr(self.classifier, name)

    def classify(self, excerpts: Iterable[str | Excerpt]) -> list[Verdict]:
        excerpts = list(excerpts)
        texts = [e.text if isinstance(e, Excerpt) else str(e) for e in excerpts]
        verdicts = list(self.classifier.classify(texts))
        again: list[tuple[int, list[WordEntry]]] = []
        for i, (text, verdict) in enumerate(zip(texts, verdicts, strict=True)):
            lists = self.lists_for(verdict)
            block = lists.blocked(text)
            if block is not None:
                verdicts[i] = listed(verdict, block, label=block.category, toxic=True, score=1.0)
            elif verdict.toxic:
                allowed = lists.allowed(text, verdict.label)
                if allowed:
                    again.append((i, allowed))
        if again:
            masked = [self.word_lists.mask(texts[i], allowed) for i, allowed in again]
            for (i, allowed), verdict in zip(again, self.classifier.classify(masked), strict=True):
                if not verdict.toxic or verdict.label != verdicts[i].label:
                    verdicts[i] = listed(
                        verdicts[i],
                        allowed[0],
                        label=verdict.label,
                        toxic=verdict.toxic,
                        score=verdict.score,
                        scores=verdict.scores,
                    )
        return verdicts

    def classify_one(self, text: str) -> Verdict:
        return self.classify([text])[0]


def with_word_lists(classifier, lists: WordLists | None, language: str | None = None):
    """classifier itself when there are no lists (for this language), else a ListedClassifier."""
    if isinstance(classifier, ListedClassifier):
        classifier = classifier.classifier
    lists = (lists or WordLists()).for_language(language)
    return ListedClassifier(classifier, lists) if lists else classifier
