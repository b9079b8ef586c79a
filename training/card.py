"""The model card (README.md in a model folder): what the model is, learned from, and scores."""

from __future__ import annotations

from typing import Any

from training.evaluate import format_report

# What each adapter's data is and under which terms; every shipped model lists its sources.
SOURCE_INFO = {
    "conda": ("CONDA (Weld et al., 2021): Dota 2 in-game chat", "no licence stated (research)"),
    "olid": ("OLID / OffensEval 2019 (Zampieri et al.): tweets", "no licence file; cite authors"),
    "tweeteval": ("TweetEval (Barbieri et al., 2020)", "per original task"),
    "davidson": ("Davidson et al. 2017: hate/offensive tweets", "MIT"),
    "hatexplain": (
        "HateXplain (Mathew et al., 2021) via MBIB: Twitter and Gab",
        "MIT (data); MBIB repo GPL-3.0",
    ),
    "jigsaw": (
        "Jigsaw Toxic Comment Classification 2018 (subset): Wikipedia talk pages",
        "CC0, comment text CC BY-SA 3.0",
    ),
    "implicit_hate": ("Implicit Hate Corpus (ElSherief et al., 2021): tweets", "MIT"),
    "ethos": ("ETHOS (Mollas et al.): YouTube and Reddit comments", "GPL-3.0"),
    "hateval": ("HatEval 2019 (Basile et al.): tweets", "CC BY-NC 4.0 (non-commercial)"),
    "labeled": ("studio-labeled data / moderator decisions", "the studio's own"),
    "toxigen_seeds": (
        "ToxiGen seed sentences (Hartvigsen et al., 2022): neutral and hateful mentions of groups",
        "MIT + CDLA-Permissive-2.0",
    ),
    "toxigen_framed": (
        "ToxiGen's seed sentences inside modlens's own frames (training/augment.py): hateful "
        "seeds quoted or denied to reject them (harmless) and said approvingly (hateful)",
        "MIT + CDLA-Permissive-2.0; the frames are the project's own",
    ),
    "toxigen_negated": (
        "ToxiGen's single-claim hateful seed sentences with their claim negated "
        "(training/augment.py: the first auxiliary verb gains or loses its 'not'), harmless",
        "MIT + CDLA-Permissive-2.0",
    ),
    "augment": (
        "modlens's own generated rows (training/augment.py): counterfactual identity "
        "statements, hateful claims said, denied and quoted to reject them, masked profanity, "
        "flaming and harmless twins (rows about three held-out groups are validation only)",
        "the project's own",
    ),
    "germeval": ("GermEval 2018 (Wiegand et al.): German tweets", "CC BY 4.0"),
    "russian": (
        "Russian toxic comments (Gorbunova, 2022): 2ch, Pikabu, VK",
        "no licence stated (research)",
    ),
}


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def render_card(
    name: str,
    config: dict[str, Any],
    metrics: dict[str, Any],
    parity: dict[str, Any],
    variant: str = "one_stage",
) -> str:
    result = metrics[variant]
    data = metrics["data"]
    lines = [
        f"# modlens classifier: {name}",
        "",
        "A one-stage toxicity classifier for game chat and voice transcripts: one model labels "
        "each excerpt as `non_toxic` or one of the categories below. Exported to ONNX and "
        "quantized to int8 (weights; activations per row, so an excerpt's score never depends "
        "on what it is batched with); runs with ONNX Runtime, no PyTorch needed.",
        "",
        "## How it was made",
        "",
        f"- Base encoder: `{config.get('base_model')}`",
        f"- Categories: {', '.join(metrics['categories'])}",
        f"- Fine-tuning: {config.get('epochs')} epochs, batch {config.get('batch_size')}, "
        f"learning rate {config.get('learning_rate')}, max length {config.get('max_length')}, "
        f"class-weighted cross-entropy (weight ~ frequency^-{config.get('class_weight_power')}), "
        f"seed {config.get('seed')}"
        + (
            f" (training order and dropout: seed {config['shuffle_seed']})"
            if config.get("shuffle_seed") is not None
            else ""
        ),
        *[
            f"- `{s['name']}` training rows are seen {s['repeat']} times per epoch"
            for s in config.get("sources", [])
            if s.get("repeat", 1) > 1
        ],
        *(
            [
                f"- Distilled from a teacher, `{config['teacher']}`, fine-tuned first on the same "
                f"rows (learning rate {config.get('teacher_learning_rate')}): loss = "
                f"{1 - config.get('distill_weight', 0.5):g} x the labels' cross-entropy + "
                f"{config.get('distill_weight', 0.5):g} x KL from the teacher at temperature "
                f"{config.get('distill_temperature', 2.0):g} (training/distill.py)"
                + (
                    f"; the teacher's own test toxic F1 {t['test']['binary']['f1']:.3f}"
                    if (t := metrics.get("teacher"))
                    else ""
                )
            ]
            if config.get("teacher")
            else []
        ),
        *(
            [
                "- Identity-term balancing: the public sets' harmless rows that mention a group "
                "are repeated (at most "
                f"{config['identity_balance']:g} times) until no group word is toxic more often "
                "than all rows are (training/identity.py)"
            ]
            if (config.get("identity_balance") or 0) > 1
            else []
        ),
        *(
            [
                "- Group swapping: each harmless row of a public set that names a group was "
                f"copied {_times(config.get('identity_swap') or 0)} with the group swapped for "
                "another"
                + (
                    f", and each hateful one {_times(config['identity_swap_hateful'])}"
                    if (config.get("identity_swap_hateful") or 0) > 0
                    else ""
                )
                + " (counterfactual data augmentation, training/identity.py)"
            ]
            if (config.get("identity_swap") or 0) > 0
            or (config.get("identity_swap_hateful") or 0) > 0
            else []
        ),
        "- Text is normalised before tokenising (zero-width characters, masked letters like "
        "`f*ck`, leetspeak, spaced and stretched letters, repeated punctuation).",
        "- Splits: deduplicated on normalised text, each text in one split only (train first, "
        "then validation); sources' own test splits kept as test.",
        *([f"- {result['note']}"] if result.get("note") else []),
        f"- Decision thresholds picked on validation: toxic {result['threshold']:.2f}; "
        + ", ".join(f"{k} {v:.2f}" for k, v in result["category_thresholds"].items()),
        "",
        "## Training data",
        "",
        "| source | what | licence | train rows |",
        "|---|---|---|---|",
    ]
    formats = {s["name"]: s["format"] for s in config.get("sources", [])}
    train_sources = data["train"]["sources"]
    for source in sorted(set(formats) | set(train_sources)):
        what, licence = SOURCE_INFO.get(formats.get(source, source), (source, "unknown"))
        lines.append(f"| {source} | {what} | {licence} | {train_sources.get(source, 0)} |")
    lines += [
        "",
        "Rows per split and category (support):",
        "",
        "| split | " + " | ".join(metrics["categories"]) + " |",
        "|---" * (len(metrics["categories"]) + 1) + "|",
    ]
    for split in ("train", "validation", "test"):
        counts = data[split]["labels"]
        lines.append(
            f"| {split} | "
            + " | ".join(str(counts.get(c, 0)) for c in metrics["categories"])
            + " |"
        )
    lines += [
        "",
        "No public set has a sexual-harassment label, so the default model has no such "
        "category; threats are rare in every set, and the threat scores rest on few "
        "examples.",
        "",
        "## Metrics (PyTorch fp32, held-out test split)",
        "",
        format_report("all test sources", result["test"]),
    ]
    for source, m in result["test_by_source"].items():
        b = m["binary"]
        auc = "n/a" if b["auc"] is None else f"{b['auc']:.3f}"
        lines.append(
            f"- {source}: {m['rows']} rows, toxic-vs-not P {b['precision']:.3f} "
            f"R {b['recall']:.3f} F1 {b['f1']:.3f} AUC {auc}"
        )
    if parity:
        lines += [
            "",
            "## int8 ONNX vs fp32 PyTorch (same test texts)",
            "",
            f"- rows: {parity['rows']}",
            f"- label agreement: {parity['label_agreement']:.4f}; toxic-vs-not agreement "
            f"{parity['toxic_agreement']:.4f}",
            f"- toxic-vs-not F1: fp32 {parity['f1_toxic_fp32']:.4f}, int8 "
            f"{parity['f1_toxic_int8']:.4f} (difference {parity['f1_difference']:+.4f})",
            f"- largest probability difference: {parity['max_abs_prob_diff']:.4f}",
        ]
    lines += [
        "",
        "## Limits",
        "",
        "- Trained on English text; Dota 2 chat is the only gaming data. Other games' slang "
        "and voice transcripts (Whisper errors) are out of its training distribution.",
        "- Other languages: each excerpt's language is identified (py3langid, with rules for "
        "short chat); German and Russian lines go to character n-gram models of their own "
        "(models/lexicon, trained on GermEval 2018 and Gorbunova's Russian comments by "
        "training/multilingual.py); a line in any other language that this model does not flag "
        "is reported as `not checked`, never as clean.",
        "- Davidson's labels carry a known dialect bias; HateXplain text was lowercased "
        "with punctuation removed.",
        "- Retrain on your studio's own data with `modlens train` (see the project README).",
        "",
    ]
    return "\n".join(lines)
