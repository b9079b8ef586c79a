"""Model choice on identity mentions worded unlike anything trained on: validation, not a test.

The generated validation rows (training.augment.VALIDATION_GROUPS) use the training templates
with groups held out, and both v5 and the v6 candidate pass all of them: they cannot tell two
models apart on wording they never saw. These sentences use other wordings (not the training
frames, not the functional suite in tests/data) about six groups that neither the generator nor
the suite uses. They decide between candidates; the functional suite stays the test.

    python benchmarks/identity_wording.py v5=models/weights/default v6=runs/v6-model \
        --json runs/identity-wording.json [--data ../shared/datasets]

With --data, real wording too: on the public validation rows (HateXplain's own validation split
and CONDA_valid's hash-validation rows, which no recipe trains on) toxic-vs-not F1, and on those
that mention a group, AUC and the harmless ones passed and toxic ones flagged.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.classifier import Classifier, decide  # noqa: E402
from models.taxonomy import NON_TOXIC  # noqa: E402

# (plural, as in "i'm ...")
GROUPS = (
    ("latinos", "latino"),
    ("arabs", "arab"),
    ("sikhs", "sikh"),
    ("koreans", "korean"),
    ("buddhists", "buddhist"),
    ("nonbinary people", "nonbinary"),
)
HARMLESS = {
    "positive": (
        "big respect to the {p} speedrunners this year",
        "{s} players in the discord are the friendliest",
        "so happy to see {p} represented in the new patch",
        "i'm {s} and this is my favourite game ever",
    ),
    "neutral": (
        "our raid leader happens to be {s}",
        "anyone here {s}? need help with a translation",
        "the documentary about {p} in sports was interesting",
        "half of my old squad were {p}",
    ),
    "negated": (
        "{p} are not worse at this game than anyone else",
        "never said i dislike {p}, read again",
        "i have zero problem with {p}, my problem is your rotation",
        "it's false that {p} can't aim",
    ),
    "counter": (
        "dude calling people {s} as an insult is gross",
        "reported him for the slurs about {p}",
        "why are people in all chat attacking {p} again, stop",
        "blaming {p} for your loss is just racism",
    ),
}
HATEFUL = (
    "{p} should be kicked from every lobby",
    "never let {p} into our clan, they are vermin",
    "{p} are a disease",
    "i'd ban every {s} from this game if i could",
    "{p} are all cheaters and liars",
    "go back where you came from, dirty {s}",
    "{p} don't deserve to live",
    "keep {p} out of ranked, they're animals",
)


def rows() -> list[tuple[str, bool, str]]:
    """(text, hateful, kind) for every group and wording."""
    out = []
    for p, s in GROUPS:
        for kind, texts in HARMLESS.items():
            out += [(t.format(p=p, s=s), False, kind) for t in texts]
        out += [(t.format(p=p, s=s), True, "hate") for t in HATEFUL]
    return out


MENTION = re.compile(
    r"\b(women|woman|girls?|gays?|lesbians?|trans|blacks?|asians?|muslims?|islam|jews?|jewish"
    r"|christians?|immigrants?|mexicans?|deaf|disabled|latinos?|arabs?|africans?|chinese"
    r"|indians?|homosexuals?|queer|refugees?|lgbtq?|hispanics?|feminists?)\b",
    re.IGNORECASE,
)


def public_validation(data: Path) -> list[tuple[str, bool]]:
    """(text, toxic) of the public validation rows: HateXplain's own validation split and
    CONDA_valid's hash-validation rows, which no recipe trains on (2,551 rows)."""
    from benchmarks.repick_thresholds import validation_rows
    from training.data import text_key

    rows = validation_rows(data, ("non_toxic", "profanity", "insult", "identity_hate", "threat"))
    # in text-key order: int8 scores move a little with a batch's neighbours (dynamic
    # quantization), so the order is kept fixed to keep the numbers reproducible
    return [(e.text, e.label != NON_TOXIC) for e in sorted(rows, key=lambda e: text_key(e.text))]


def score_public(classifier: Classifier, cases: list[tuple[str, bool]]) -> dict[str, object]:
    """Toxic-vs-not F1 on all public validation rows; on the rows that mention a group, AUC
    and the share of harmless ones passed and toxic ones flagged."""
    from sklearn.metrics import f1_score, roc_auc_score

    texts = [t for t, _ in cases]
    probs = classifier.probabilities(texts)  # once: the decisions come from the same scores
    limits = [classifier.threshold_for(c) for c in classifier.labels[1:]]
    flagged = decide(probs, classifier.threshold, limits) != 0
    toxic = np.array([t for _, t in cases])
    p_toxic = 1.0 - probs[:, 0]
    mention = np.array([bool(MENTION.search(t)) for t in texts])
    harmless, hurtful = mention & ~toxic, mention & toxic
    return {
        "public_f1": round(float(f1_score(toxic, flagged)), 4),
        "public_mentions": f"{int(harmless.sum())} harmless, {int(hurtful.sum())} toxic",
        "public_mention_auc": round(float(roc_auc_score(toxic[mention], p_toxic[mention])), 4),
        "public_harmless_passed": round(float(np.mean(~flagged[harmless])), 4),
        "public_toxic_flagged": round(float(np.mean(flagged[hurtful])), 4),
    }


def score(classifier: Classifier) -> dict[str, object]:
    cases = rows()
    flagged = np.array([v.toxic for v in classifier.classify([t for t, _, _ in cases])])
    hateful = np.array([h for _, h, _ in cases])
    kinds = np.array([k for _, _, k in cases])
    result: dict[str, object] = {
        "harmless_passed": round(float(np.mean(~flagged[~hateful])), 4),
        "hateful_flagged": round(float(np.mean(flagged[hateful])), 4),
    }
    for kind in HARMLESS:
        result[kind] = f"{int(np.sum(~flagged[kinds == kind]))}/{int(np.sum(kinds == kind))}"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--data", type=Path, help="the datasets folder, for real wording too")
    args = parser.parse_args(argv)
    public = public_validation(args.data) if args.data else None
    out = {}
    for item in args.models:
        name, _, folder = item.partition("=")
        classifier = Classifier(folder or name, threads=2, languages=False)
        out[name] = score(classifier)
        if public:
            out[name].update(score_public(classifier, public))
        print(name, json.dumps(out[name]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
