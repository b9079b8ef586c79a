"""The one-stage toxicity classifier at run time: an int8 ONNX model run by ONNX Runtime.

Text is normalised (disguises undone), tokenised with the model's own tokenizer.json, batched
by length with dynamic padding, and long text is cut into overlapping windows whose most toxic
window decides. Every verdict carries P(toxic) = 1 - P(non_toxic) and every category's probability.

Each excerpt's language is identified (models.language). English is judged by the model; German
and Russian by the language's own n-gram model (German lines the English model flags stay
flagged: players swear in English too); in any other language a line the English model does not
flag is reported as ``method: "not checked"`` rather than passed as clean.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from models.excerpts import Excerpt
from models.language import ENGLISH, LanguageGuess, detect_language, load_language_model
from models.limits import check_threads
from models.model_folder import MODEL_NAME, TOKENIZER_NAME, ModelError, load_config
from models.normalize import normalize

# characters of one excerpt that are classified; the rest of a longer excerpt is not read (its
# verdict says how many characters were left), so a 10 MB line takes a moment, not ten minutes
MAX_EXCERPT_CHARS = 10_000

# a batch's token rows (excerpts x width) are made a multiple of this by widening the batch: the
# int8 kernels multiply activation rows in small tiles and take a leftover row another way, so
# without it a line's scores could move (by up to 0.004 measured) with how many rows were batched
# before it. A full batch of 32 needs no padding; padded tokens are masked out.
ROW_MULTIPLE = 8

# how a verdict was reached
METHOD_MODEL = "model"  # a trained model judged the excerpt in its language
METHOD_WORD_LIST = "word list"  # a studio word list decided (models.wordlists)
METHOD_NOT_CHECKED = "not checked"  # nothing covers the excerpt's language; not flagged
METHODS = (METHOD_MODEL, METHOD_WORD_LIST, METHOD_NOT_CHECKED)
# the category a language model's binary "toxic" is reported as
LANGUAGE_MODEL_LABEL = "insult"
# languages whose own model is joined by the English model (a flag from either counts)
WITH_ENGLISH_MODEL = frozenset({"de"})


@dataclass(frozen=True)
class Verdict:
    label: str
    toxic: bool
    score: float  # P(toxic) = 1 - P(non_toxic)
    scores: dict[str, float]  # probability of every category, non_toxic included
    unread_chars: int = 0  # characters past MAX_EXCERPT_CHARS that were not classified
    language: str | None = None  # ISO 639-1 code of the excerpt's language, if known
    method: str = METHOD_MODEL  # one of METHODS

    @property
    def checked(self) -> bool:
        return self.method != METHOD_NOT_CHECKED

    def to_json(self, text: str | None = None) -> dict:
        out = {
            "label": self.label,
            "toxic": self.toxic,
            "score": round(self.score, 4),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "language": self.language,
            "method": self.method,
        }
        if self.unread_chars:
            out["unread_chars"] = self.unread_chars
        return {"text": text, **out} if text is not None else out


def decide(probs: np.ndarray, threshold: float, category_thresholds: Sequence[float]) -> np.ndarray:
    """Predicted class per row: the top toxic category when P(toxic) reaches its threshold, else 0.

    category_thresholds holds one threshold per toxic category (in label order after non_toxic).
    """
    probs = np.atleast_2d(probs)
    top = 1 + np.argmax(probs[:, 1:], axis=1)
    limits = np.asarray(category_thresholds, dtype=np.float64)
    limits = np.where(np.isnan(limits), threshold, limits)
    toxic = (1.0 - probs[:, 0]) >= limits[top - 1]
    return np.where(toxic, top, 0)


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class Classifier:
    """Labels excerpts as non_toxic or one of the model's toxic categories."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        threads: int | None = None,
        batch_size: int = 32,
        thresholds: dict[str, float] | None = None,
        verify: bool = True,
        languages: bool = True,
    ) -> None:
        """languages=False judges every excerpt with the model as English (no language ID)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        threads = check_threads(threads)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
        self.path, self.config = load_config(model_dir, verify=verify)
        self.labels = self.config.labels
        self.languages = languages
        self.batch_size = batch_size
        self.threshold = self.config.threshold
        self.category_thresholds = dict(self.config.category_thresholds)
        if thresholds:
            self.set_thresholds(thresholds)
        try:
            self._tokenizer = Tokenizer.from_file(str(self.path / TOKENIZER_NAME))
        except Exception as exc:
            raise ModelError(f"{self.path / TOKENIZER_NAME} cannot be read: {exc}") from exc
        self._tokenizer.no_padding()
        # windows overlap by `stride` tokens, at most half a window
        stride = min(self.config.stride, max(0, (self.config.max_length - 2) // 2))
        self._tokenizer.enable_truncation(self.config.max_length, stride=stride)
        options = ort.SessionOptions()
        # batches run side by side, one core each: the int8 kernels gain more from whole
        # batches in parallel than from splitting one small batch across cores
        self._workers = threads or default_threads()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(self.path / MODEL_NAME), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"{self.path / MODEL_NAME} cannot be loaded: {exc}") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        width = self._session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(self.labels):
            raise ModelError(
                f"{self.path}: the model has {width} outputs but config.json "
                f"lists {len(self.labels)} labels"
            )

    def set_thresholds(self, thresholds: dict[str, float]) -> None:
        """Override decision thresholds: key "toxic" for the default, or a category name."""
        for key, value in thresholds.items():
            if not 0.0 <= float(value) <= 1.0:  # False for NaN too
                raise ValueError(f"threshold for {key} must be between 0 and 1, got {value}")
            if key == "toxic":
                self.threshold = float(value)
            elif key in self.labels[1:]:
                self.category_thresholds[key] = float(value)
            else:
                raise KeyError(f"unknown category {key!r}; known: {', '.join(self.labels[1:])}")

    def threshold_for(self, category: str) -> float:
        return self.category_thresholds.get(category, self.threshold)

    def probabilities(self, texts: Sequence[str], windows: bool = True) -> np.ndarray:
        """Class probabilities, one row per text; the most toxic window of a long text wins.

        Only the first MAX_EXCERPT_CHARS characters of a text are read; with windows=False only
        its first window (max_length tokens), as a model truncating its input reads it.
        """
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        out[:, 0] = 1.0
        batch_rows: list[tuple[int, list[int], list[int]]] = []
        prepared = [(i, normalize(t[:MAX_EXCERPT_CHARS])) for i, t in enumerate(texts)]
        prepared = [(i, t) for i, t in prepared if t]
        encodings = self._tokenizer.encode_batch([t for _, t in prepared]) if prepared else []
        for (index, _), encoding in zip(prepared, encodings, strict=True):
            for window in (encoding, *encoding.overflowing) if windows else (encoding,):
                batch_rows.append((index, window.ids, window.type_ids))
        batch_rows.sort(key=lambda w: len(w[1]))
        best = np.full(len(texts), -1.0, dtype=np.float32)
        batches = [
            batch_rows[start : start + self.batch_size]
            for start in range(0, len(batch_rows), self.batch_size)
        ]
        if self._workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(min(self._workers, len(batches))) as pool:
                results = list(pool.map(self._run, batches))
        else:
            results = [self._run(batch) for batch in batches]
        for batch, probs in zip(batches, results, strict=True):
            for (index, _, _), row in zip(batch, probs, strict=True):
                p_toxic = 1.0 - row[0]
                if p_toxic > best[index]:
                    best[index] = p_toxic
                    out[index] = row
        return out

    def _run(self, batch: list[tuple[int, list[int], list[int]]]) -> np.ndarray:
        width = max(len(ids) for _, ids, _ in batch)
        step = ROW_MULTIPLE // math.gcd(len(batch), ROW_MULTIPLE)
        width = -(-width // step) * step
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, (_, window_ids, window_types) in enumerate(batch):
            ids[row, : len(window_ids)] = window_ids
            mask[row, : len(window_ids)] = 1
            types[row, : len(window_types)] = window_types
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = types
        logits = self._session.run(None, feeds)[0].astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def verdict(
        self, probs: np.ndarray, unread_chars: int = 0, language: str | None = None
    ) -> Verdict:
        limits = [self.threshold_for(c) for c in self.labels[1:]]
        predicted = int(decide(probs, self.threshold, limits)[0])
        return Verdict(
            label=self.labels[predicted],
            toxic=predicted != 0,
            score=float(1.0 - probs[0]),
            scores={label: float(p) for label, p in zip(self.labels, probs, strict=True)},
            unread_chars=unread_chars,
            language=language,
        )

    def _language_verdict(self, p_toxic: float, threshold: float, base: Verdict) -> Verdict:
        """A verdict from a language's own binary model."""
        label = LANGUAGE_MODEL_LABEL if LANGUAGE_MODEL_LABEL in self.labels else self.labels[1]
        scores = dict.fromkeys(self.labels, 0.0)
        scores[self.labels[0]] = 1.0 - p_toxic
        scores[label] = p_toxic
        toxic = p_toxic >= threshold
        return replace(
            base, label=label if toxic else self.labels[0], toxic=toxic, score=p_toxic,
            scores=scores,
        )  # fmt: skip

    def classify(self, excerpts: Iterable[str | Excerpt]) -> list[Verdict]:
        """One verdict per excerpt, in input order, with its language and method. Empty text
        is non_toxic.

        An excerpt longer than MAX_EXCERPT_CHARS is judged on its start; its verdict's
        unread_chars says how much was left out.
        """
        texts = [e.text if isinstance(e, Excerpt) else str(e) for e in excerpts]
        read = [t[:MAX_EXCERPT_CHARS] for t in texts]
        guesses = (
            [detect_language(t) for t in read]
            if self.languages
            else [LanguageGuess(ENGLISH, "latin", False)] * len(texts)
        )
        verdicts = [
            self.verdict(row, max(0, len(text) - MAX_EXCERPT_CHARS), guess.language)
            for text, row, guess in zip(texts, self.probabilities(texts), guesses, strict=True)
        ]  # fmt: skip
        by_language: dict[str, list[int]] = {}
        for i, guess in enumerate(guesses):
            if guess.language not in (None, ENGLISH):
                by_language.setdefault(guess.language, []).append(i)
        for language, indices in by_language.items():
            model = load_language_model(language)
            if model is None:
                for i in indices:
                    if not verdicts[i].toxic:
                        verdicts[i] = replace(verdicts[i], method=METHOD_NOT_CHECKED)
                continue
            scores = model.scores([read[i] for i in indices])
            for i, p_toxic in zip(indices, scores, strict=True):
                english = verdicts[i]
                if language in WITH_ENGLISH_MODEL and english.toxic:
                    continue  # the English model's flag stands
                verdicts[i] = self._language_verdict(float(p_toxic), model.threshold, english)
        return verdicts

    def classify_one(self, text: str) -> Verdict:
        return self.classify([text])[0]
