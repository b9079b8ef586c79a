import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from training.config import load_config
from training.data import DataError, Example, Source, build_splits, load_source

CATEGORIES = ("non_toxic", "profanity", "insult", "identity_hate", "threat")

CLEAN = [
    "gg wp",
    "nice game",
    "thanks for the heal",
    "well played",
    "push mid",
    "buy wards",
    "group up",
    "lets go roshan",
    "good luck have fun",
    "back to base",
]
TOXIC = {
    "insult": ["you are an idiot", "shut up loser", "uninstall noob", "what a moron"],
    "profanity": ["fuck this game", "shit happens", "damn it", "holy shit"],
    "threat": ["i will kill you", "i will find you"],
    "identity_hate": ["go back to your country"],
}


def _labeled_rows(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        if i % 2:
            label = rng.choice(list(TOXIC))
            text = f"{rng.choice(TOXIC[label])} {i}"
        else:
            label, text = "non_toxic", f"{rng.choice(CLEAN)} {i}"
        rows.append({"text": text, "label": label})
    return rows


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_conda_explicit_toxicity_splits_into_profanity_and_insult(tmp_path: Path) -> None:
    rows = [
        {"utterance": "fuck", "intentClass": "E", "slotClasses": "T ", "slotTokens": "fuck (T), "},
        {
            "utterance": "noob dk",
            "intentClass": "E",
            "slotClasses": "T C ",
            "slotTokens": "noob (T), dk (C), ",
        },
        {
            "utterance": "idiot",
            "intentClass": "E",
            "slotClasses": "T ",
            "slotTokens": "idiot (T), ",
        },
        {"utterance": "ez mid", "intentClass": "I", "slotClasses": "S C ", "slotTokens": ""},
        {"utterance": "report lina", "intentClass": "A", "slotClasses": "", "slotTokens": ""},
        {"utterance": "gg [SEPA] wp", "intentClass": "O", "slotClasses": "", "slotTokens": ""},
    ]
    path = _write_csv(tmp_path / "conda.csv", rows)
    examples = load_source(Source("conda", "conda", path, {}, split="test"), CATEGORIES)
    assert [(e.text, e.label) for e in examples] == [
        ("fuck", "profanity"),
        ("noob dk", "insult"),
        ("idiot", "insult"),
        ("ez mid", "insult"),
        ("report lina", "non_toxic"),
        ("gg   wp", "non_toxic"),
    ]
    assert {e.split for e in examples} == {"test"}


def test_a_label_without_a_mapping_is_named_in_the_error(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "mine.csv", [{"text": "hello", "label": "spam"}])
    with pytest.raises(DataError, match="'spam'"):
        load_source(Source("mine", "labeled", path, {}), CATEGORIES)
    examples = load_source(Source("mine", "labeled", path, {"spam": None}), CATEGORIES)
    assert examples == []


def test_moderator_decisions_in_jsonl_are_read_as_they_are_exported(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text(
        '{"text": "you suck", "label": "insult"}\n\n{"text": "gg", "label": "non_toxic"}\n',
        encoding="utf-8",
    )
    examples = load_source(Source("decisions", "labeled", path, {}), CATEGORIES)
    assert [(e.text, e.label) for e in examples] == [("you suck", "insult"), ("gg", "non_toxic")]


def test_no_text_lands_in_two_splits(tmp_path: Path) -> None:
    examples = [
        Example("You are an IDIOT", "insult", "a", "train"),
        Example("you are an idiot", "insult", "b", "test"),
        Example("y o u are an id1ot", "insult", "b", "validation"),
        Example("gg", "non_toxic", "a", "validation"),
        Example("gg", "non_toxic", "a", "test"),
    ]
    examples += [Example(f"line {i}", "non_toxic", "c") for i in range(200)]
    splits = build_splits(examples, seed=1)
    keys = {s: {e.text.lower() for e in rows} for s, rows in splits.items()}
    assert "you are an idiot" in keys["train"]
    assert "you are an idiot" not in keys["test"]
    assert "gg" in keys["validation"] and "gg" not in keys["test"]
    assert not keys["train"] & keys["test"] and not keys["validation"] & keys["test"]
    assert len(splits["test"]) > 5 and len(splits["validation"]) > 5


def test_duplicates_with_conflicting_labels_collapse_to_the_majority() -> None:
    examples = [
        Example("noob", "insult", "a", "train"),
        Example("noob", "insult", "a", "train"),
        Example("noob", "non_toxic", "a", "train"),
    ]
    assert [e.label for e in build_splits(examples)["train"]] == ["insult"]


def test_a_config_with_an_unknown_setting_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("epochz: 3\nsources: [{name: x, format: labeled, path: x.csv}]\n")
    with pytest.raises(ValueError, match="epochz"):
        load_config(path)


def test_a_toml_config_works_too(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'epochs = 1\n[[sources]]\nname = "mine"\nformat = "labeled"\npath = "mine.csv"\n'
    )
    config = load_config(path)
    assert config.epochs == 1 and config.sources[0].path == tmp_path / "mine.csv"


@pytest.mark.slow
def test_training_evaluation_and_export_run_end_to_end_on_tiny_data(
    tmp_path: Path,
    tiny_hf_model: Path,
) -> None:
    from client.cli import main
    from models.classifier import Classifier

    _write_csv(tmp_path / "train.csv", _labeled_rows(240))
    (tmp_path / "config.yaml").write_text(
        f"name: tiny\nbase_model: {tiny_hf_model}\nepochs: 1\nbatch_size: 16\nmax_length: 32\n"
        "stages: both\nthreads: 1\nidentity_balance: 3\nshuffle_seed: 5\n"
        "sources:\n  - {name: mine, format: labeled, path: train.csv}\n"
    )
    run = tmp_path / "run"
    assert main(["train", "--config", str(tmp_path / "config.yaml"), "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    for variant in ("one_stage", "two_stage"):
        test = metrics[variant]["test"]
        assert set(test["binary"]) >= {"precision", "recall", "f1", "auc"}
        assert set(test["categories"]) == set(CATEGORIES)
        assert sum(map(sum, test["confusion"]["matrix"])) == test["rows"]
    assert "One stage vs two stages" in (run / "report.md").read_text()
    assert (run / "one_stage" / "train_log.json").is_file()
    assert "identity balance:" in (run / "train.log").read_text()

    out = tmp_path / "model"
    assert main(["export", "--run", str(run), "--out", str(out), "--max-length", "32"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["parity"]["rows"] == test["rows"]
    assert abs(config["parity"]["f1_difference"]) <= 0.05
    assert config["threshold"] == metrics["one_stage"]["threshold"]
    card = (out / "README.md").read_text()
    assert "int8 ONNX vs fp32 PyTorch" in card and "mine" in card
    assert "repeated (at most 3 times)" in card
    assert "seed 13 (training order and dropout: seed 5)" in card
    verdicts = Classifier(out).classify(["you are an idiot 3", "gg wp 2"])
    assert len(verdicts) == 2

    # a weight average of the run and its base: thresholds and test metrics measured again
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from weight_average import main as average

    soup = tmp_path / "soup"
    argv = ["0.5", "--base", str(tiny_hf_model), "--run", str(run), "--out", str(soup)]
    assert average([*argv, "--config", str(tmp_path / "config.yaml"), "--data", str(tmp_path)]) == 0
    remeasured = json.loads((soup / "metrics.json").read_text())["one_stage"]
    assert remeasured["note"].startswith("Weights: 0.50 x this fine-tune + 0.50 x")
    assert remeasured["test"]["rows"] == test["rows"]
    before, after = (np.load(r / "one_stage" / "test_probs.npy") for r in (run, soup))
    assert before.shape == after.shape and not np.allclose(before, after)  # other weights
    assert (
        main(["export", "--run", str(soup), "--out", str(tmp_path / "m2"), "--max-length", "32"])
        == 0
    )
    assert remeasured["note"] in (tmp_path / "m2" / "README.md").read_text()

    # `modlens average`: the uniform average of runs that share their splits
    avg = tmp_path / "avg"
    assert main(["average", str(run), str(soup), "--out", str(avg)]) == 0
    averaged = json.loads((avg / "metrics.json").read_text())["one_stage"]
    assert averaged["note"].startswith("Weights: the uniform average of 2 runs (run, soup)")
    assert json.loads((avg / "average.json").read_text())["runs"] == [str(run), str(soup)]
    assert averaged["test"]["rows"] == test["rows"]
    averaged_probs = np.load(avg / "one_stage" / "test_probs.npy")
    assert not np.allclose(averaged_probs, after)  # 0.75 x run + 0.25 x base, not the soup


def test_evaluate_reports_metrics_for_a_model_on_labeled_data(
    tmp_path: Path,
    tiny_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from client.cli import main

    data = _write_csv(tmp_path / "eval.csv", _labeled_rows(40))
    assert main(["evaluate", str(data), "--model", str(tiny_model_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["rows"] == 40
    assert metrics["binary"]["support_toxic"] == 20


# --- issue 8: new sources, generated data, leave-one-domain-out, functional suite ------------


def test_toxigen_seed_sentences_are_labeled_by_their_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "demonstrations" / "religion"
    folder.mkdir(parents=True)
    (folder / "hate_group_sentences.txt").write_text("- they are all vile\n\nnobody wants them\n")
    (folder / "neutral_group_sentences.txt").write_text("- they celebrate a holiday in spring\n")
    (folder / "README.txt").write_text("not data\n")
    source = Source("toxigen_seeds", "toxigen_seeds", tmp_path / "demonstrations", {})
    rows = {e.text: e.label for e in load_source(source, CATEGORIES)}
    assert rows == {
        "they are all vile": "identity_hate",
        "nobody wants them": "identity_hate",
        "they celebrate a holiday in spring": "non_toxic",
    }


def test_hateful_seeds_are_rejected_and_endorsed_in_frames_that_keep_the_seed_words() -> None:
    from training.augment import framed_seed_rows

    seeds = [
        ("They are all vile.", "hate"),
        ("why do they even exist?", "hate"),
        ("they celebrate a holiday in spring", "neutral"),
    ]
    rows = list(framed_seed_rows(seeds, per_hate=2))
    kinds = [(kind, seed) for _, kind, seed in rows]
    assert kinds == [
        ("rejected", "They are all vile."),
        ("rejected", "They are all vile."),
        ("endorsed", "They are all vile."),
        ("rejected", "why do they even exist?"),
        ("rejected", "why do they even exist?"),
        ("endorsed", "why do they even exist?"),
        ("neutral_endorsed", "they celebrate a holiday in spring"),
    ]
    for text, _, seed in rows:
        inner = seed.rstrip(".!")
        assert inner[0].lower() + inner[1:] in text
    # a question is only ever quoted, never read as a "that ..." clause
    question = [t for t, _, seed in rows if seed.endswith("?")]
    assert all('"why do they even exist?"' in t for t in question)
    # the two rejecting frames of one seed differ
    assert rows[0][0] != rows[1][0]


def test_framed_seed_rows_share_their_seeds_split_and_labels_follow_the_frame(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demonstrations" / "group"
    folder.mkdir(parents=True)
    hate = [f"group {i} people are vermin number {i}" for i in range(60)]
    (folder / "hate_group_sentences.txt").write_text("\n".join(f"- {t}" for t in hate) + "\n")
    (folder / "neutral_group_sentences.txt").write_text("- group people like spring\n")
    seeds = load_source(Source("toxigen_seeds", "toxigen_seeds", folder.parent, {}), CATEGORIES)
    framed = load_source(Source("toxigen_framed", "toxigen_framed", folder.parent, {}), CATEGORIES)
    assert len(framed) == 60 * 3 + 1
    by_label = Counter(e.label for e in framed)
    assert by_label == {"non_toxic": 121, "identity_hate": 60}
    splits = build_splits(seeds + framed, seed=13, test_fraction=0.3, validation_fraction=0.3)
    split_of = {e.text: name for name, rows in splits.items() for e in rows}
    assert {split_of[t] for t in hate} == {"train", "validation", "test"}
    for e in framed:
        assert split_of[e.text] == split_of[e.split_key]
    # a config can keep only the rejecting frames
    only_rejected = load_source(
        Source(
            "toxigen_framed",
            "toxigen_framed",
            folder.parent,
            {"endorsed": None, "neutral_endorsed": None},
        ),
        CATEGORIES,
    )
    assert len(only_rejected) == 120 and {e.label for e in only_rejected} == {"non_toxic"}


def test_a_hateful_claim_is_negated_at_its_first_auxiliary_both_ways() -> None:
    from training.augment import negate_claim, negated_seed_rows

    assert negate_claim("they are all snakes") == "they are not all snakes"
    assert negate_claim("they should not be allowed to vote.") == "they should be allowed to vote"
    assert negate_claim("Bisexuality isn't real") == "Bisexuality is real"
    assert negate_claim("they can't be trusted") == "they can be trusted"
    # nothing near the start to negate, or more than one claim: no row
    assert negate_claim("what a bunch of losers those people really always were") is None
    assert negate_claim("they are dirty, and they should leave") is None
    assert negate_claim("they are vile because of their religion") is None
    assert negate_claim("there is no way they are people") is None
    assert negate_claim("if you are one of them you should leave") is None
    rows = list(negated_seed_rows([("they are vermin", "hate"), ("they are kind", "neutral")]))
    assert rows == [("they are not vermin", "negated", "they are vermin")]


def test_negated_seed_rows_are_harmless_and_keep_their_seeds_split(tmp_path: Path) -> None:
    folder = tmp_path / "demonstrations" / "group"
    folder.mkdir(parents=True)
    (folder / "hate_group_sentences.txt").write_text("- they are vermin\n- look at them\n")
    rows = load_source(Source("toxigen_negated", "toxigen_negated", folder.parent, {}), CATEGORIES)
    assert [(e.text, e.label, e.split_key) for e in rows] == [
        ("they are not vermin", "non_toxic", "they are vermin")
    ]


def test_germeval_and_the_russian_set_keep_their_own_splits(tmp_path: Path) -> None:
    germeval = tmp_path / "germeval"
    germeval.mkdir()
    (germeval / "germeval2018.training.txt").write_text(
        "Du bist ein Idiot\tOFFENSE\tINSULT\nSchönes Wetter heute\tOTHER\tOTHER\n"
    )
    (germeval / "germeval2018.test.txt").write_text("Alle diese Leute raus\tOFFENSE\tABUSE\n")
    rows = load_source(Source("germeval", "germeval", germeval, {}), CATEGORIES)
    assert [(e.label, e.split) for e in rows] == [
        ("insult", "train"),
        ("non_toxic", "train"),
        ("identity_hate", "test"),
    ]
    russian = tmp_path / "russian"
    russian.mkdir()
    (russian / "combined_train.tsv").write_text('id\tdoc\ttarget\n1\t"иди\nнахуй"\t1\n')
    (russian / "combined_val.tsv").write_text("id\tdoc\ttarget\n2\tпривет\t0\n")
    (russian / "russian_distorted_toxicity.tsv").write_text(
        "comment_id\tsource\tcomments\tdistortion\ttoxicity\tcorrected\n3\tvk\tд,бил\t1\t1\t\n"
    )
    rows = load_source(Source("russian", "russian", russian, {}), CATEGORIES)
    assert [(e.text, e.label, e.split) for e in rows] == [
        ("иди\nнахуй", "insult", "train"),
        ("привет", "non_toxic", "validation"),
        ("д,бил", "insult", "test"),
    ]


def test_counterfactual_identity_data_pairs_every_group_with_every_template() -> None:
    from training.augment import GROUPS, IDENTITY_TEMPLATES, identity_rows

    rows = list(identity_rows())
    assert len(rows) == len(GROUPS) * len(IDENTITY_TEMPLATES)
    kinds = {kind for _, _, kind in rows}
    assert kinds == {"positive", "neutral", "negated", "counter", "hate"}
    # the group swap never changes a label: per template, every group's row has the same one
    for kind, label, template in IDENTITY_TEMPLATES:
        labels = {
            lab
            for text, lab, k in rows
            if k == kind and any(template.format(**vars(g)) == text for g in GROUPS)
        }
        assert labels == {label}
    harmless = [t for t, label, _ in rows if label == "non_toxic"]
    hateful = [t for t, label, _ in rows if label == "identity_hate"]
    assert len(harmless) > len(hateful) > 0
    for group in GROUPS:
        assert any(group.plural in t for t in harmless)
        assert any(group.plural in t or group.noun in t for t in hateful)


def test_every_hateful_claim_is_also_denied_and_quoted_against_as_harmless() -> None:
    from training.augment import CLAIMS, GROUPS, claim_rows

    rows = list(claim_rows(per_kind=3, seed=5))
    assert rows == list(claim_rows(per_kind=3, seed=5))  # the same rows every run
    for claim in CLAIMS:
        kinds = {(kind, label) for text, label, kind in rows if claim in text}
        assert ("hate", "identity_hate") in kinds
        assert ("negated", "non_toxic") in kinds
        assert ("counter", "non_toxic") in kinds
    for group in GROUPS:
        mine = [(label, kind) for text, label, kind in rows if group.plural in text]
        assert sum(label == "identity_hate" for label, _ in mine) == 3 * len(CLAIMS)
        assert sum(kind in ("negated", "counter") for _, kind in mine) == 6 * len(CLAIMS)


def test_generated_chat_rows_pair_masked_and_flaming_lines_with_harmless_twins() -> None:
    from training.augment import augmented_rows, chat_rows

    rows = list(chat_rows())
    masked = [(t, label) for t, label, kind in rows if kind == "masked"]
    assert any("***" in t and label != "non_toxic" for t, label in masked)
    assert any("*" in t and label == "non_toxic" for t, label in masked)
    flaming = [(t, label) for t, label, kind in rows if kind == "flaming"]
    assert any("bot" in t and label == "insult" for t, label in flaming)
    assert any("bot" in t and label == "non_toxic" for t, label in flaming)
    everything = augmented_rows()
    assert {label for _, label in everything} <= set(CATEGORIES)
    source = Source("augment", "augment", Path("."), {}, split="train")
    assert len(load_source(source, CATEGORIES)) == len(everything)


def test_obfuscated_copies_keep_labels_and_disguise_the_text() -> None:
    import random

    from training.augment import obfuscate, obfuscated_copies

    rows = [("you are an idiot", "insult"), ("gg wp", "non_toxic")]
    copies = obfuscated_copies(rows, 40, seed=1)
    assert len(copies) == 40
    assert {label for _, label in copies} == {"insult"}
    assert any(text != "you are an idiot" for text, _ in copies)
    rng = random.Random(3)
    assert len({obfuscate("you are an idiot", rng) for _ in range(40)}) > 3


def test_the_lodo_table_puts_recipes_side_by_side() -> None:
    from training.lodo import LodoResult, format_table

    def result(domain: str, recipe: str, f1: float) -> LodoResult:
        return LodoResult(domain, recipe, 100, 50, 10, 0.5, 0.5, 0.5, f1, 0.8, 1.0)

    table = format_table(
        [result("conda", "old", 0.5), result("conda", "new", 0.6), result("olid", "old", 0.7)]
    )
    lines = table.splitlines()
    assert "old F1" in lines[0] and "new F1" in lines[0]
    assert lines[2].startswith("| conda | 50 (10) | 0.500 | 0.800 | 0.600 | 0.800 |")
    assert lines[3].startswith("| olid | 50 (10) | 0.700 | 0.800 |  |  |")


def test_a_held_out_domain_is_scored_on_its_own_rows_in_the_runs_test_split(
    tmp_path: Path,
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_lodo_full import format_table, run_test_rows

    rows = [
        {"text": "you are trash", "label": "insult", "source": "davidson"},
        {"text": "nice game", "label": "non_toxic", "source": "conda_test"},
        {"text": "have a nice day", "label": "non_toxic", "source": "davidson"},
    ]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    held = run_test_rows(tmp_path, "davidson")
    assert [(e.text, e.label, e.split) for e in held] == [
        ("you are trash", "insult", "test"),
        ("have a nice day", "non_toxic", "test"),
    ]
    with pytest.raises(ValueError, match="no hatexplain rows"):
        run_test_rows(tmp_path, "hatexplain")

    scores = {"precision": 0.9, "recall": 0.8, "f1": 0.85, "auc": 0.7, "rows": 2, "toxic": 1}
    table = format_table({"davidson-new": {"held_out_scores": scores}}).splitlines()
    assert table[0].startswith("| held out | scored on | new P / R / F1 | new AUC")
    assert table[2] == (
        "| davidson | davidson rows in the run's test split (2, 1 toxic) | "
        "0.900 / 0.800 / 0.850 | 0.700 |"
    )


def test_each_lodo_recipe_takes_the_domain_out_of_its_own_config() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_lodo_full import recipe_config

    names = {
        recipe: [s["name"] for s in recipe_config("conda", recipe)["sources"]]
        for recipe in ("old", "new", "v9a")
    }
    for recipe, sources in names.items():
        assert "conda" not in sources and "conda_valid" not in sources, recipe
        assert "olid" in sources and "conda_test" in sources, recipe
    assert "augment" not in names["old"] and "augment" in names["new"]
    assert "toxigen_negated" not in names["new"]
    assert names["v9a"] == [*names["new"], "toxigen_framed", "toxigen_negated"]
    olid = recipe_config("olid", "v9a")
    assert olid["name"] == "lodo-olid-v9a"
    assert next(s for s in olid["sources"] if s["name"] == "olid")["split"] == "test"


def test_a_held_out_config_leaves_the_domain_out_of_training_and_nothing_else(
    tmp_path: Path,
) -> None:
    import yaml

    from training.lodo import held_out_config

    default = Path(__file__).resolve().parents[1] / "training" / "configs" / "default.yaml"
    base = yaml.safe_load(default.read_text(encoding="utf-8"))
    by_name = {s["name"]: s for s in base["sources"]}

    conda = held_out_config(base, "conda", "new")
    names = [s["name"] for s in conda["sources"]]
    assert "conda" not in names and "conda_valid" not in names
    assert {s["name"]: s for s in conda["sources"]}["conda_test"]["split"] == "test"
    assert "augment" in names and "toxigen_seeds" in names
    assert {k: v for k, v in conda.items() if k not in ("sources", "name")} == {
        k: v for k, v in base.items() if k not in ("sources", "name")
    }

    olid = held_out_config(base, "olid", "old")
    moved = {s["name"]: s for s in olid["sources"]}
    assert moved["olid"]["split"] == "test" and "split" not in by_name["olid"]
    assert "augment" not in moved and "toxigen_seeds" not in moved
    assert moved["conda"] == by_name["conda"]
    assert held_out_config(base, "olid", "balanced")["identity_balance"] == 4.0
    for domain in ("davidson", "hatexplain"):
        held = {s["name"]: s for s in held_out_config(base, domain, "new")["sources"]}
        assert held[domain] == {**by_name[domain], "split": "test"}
        assert all(held[n] == by_name[n] for n in by_name if n != domain)
    with pytest.raises(ValueError, match="unknown domain"):
        held_out_config(base, "tweets", "new")

    # the derived config is one `modlens train` reads
    path = tmp_path / "lodo.yaml"
    path.write_text(yaml.safe_dump(conda), encoding="utf-8")
    loaded = load_config(path, tmp_path)
    assert [s.name for s in loaded.sources] == names
    assert loaded.seed == base["seed"] and loaded.epochs == base["epochs"]


def test_the_functional_suite_is_the_projects_own_and_scored_per_functionality() -> None:
    from training.augment import IDENTITY_TEMPLATES, augmented_rows
    from training.functional import HARMLESS_IDENTITY, HATEFUL, load_suite, score_suite

    cases = load_suite()
    functionalities = {c.functionality for c in cases}
    assert set(HARMLESS_IDENTITY) | set(HATEFUL) <= functionalities
    assert len({c.group for c in cases if c.group}) >= 8
    # no suite sentence is in the generated training data
    generated = {text for text, _ in augmented_rows()}
    assert not generated & {c.text for c in cases}
    assert len(IDENTITY_TEMPLATES) > 0
    perfect = score_suite(cases, [c.expected == "toxic" for c in cases], [0.5] * len(cases))
    assert perfect.harmless_identity_passed == 1.0 and perfect.hateful_flagged == 1.0
    assert not perfect.failures
    blind = score_suite(cases, [False] * len(cases), [0.0] * len(cases))
    assert blind.harmless_identity_passed == 1.0 and blind.hateful_flagged == 0.0
    assert blind.to_json()["per_functionality"]["hate_direct"]["rate"] == 0.0


def test_a_checkpoint_is_resumed_only_by_the_run_that_wrote_it(tmp_path: Path) -> None:
    from training.config import TrainConfig
    from training.train import _resumable

    folder = tmp_path / "checkpoints"
    config = TrainConfig()
    assert not _resumable(folder, ["gg", "noob"], [0, 2], config)  # nothing written yet
    (folder / "checkpoint-500").mkdir()
    assert _resumable(folder, ["gg", "noob"], [0, 2], config)  # the same run, stopped
    # another run in the same folder (other labels, other settings) starts afresh
    assert not _resumable(folder, ["gg", "noob"], [0, 1], config)
    assert not (folder / "checkpoint-500").exists()
    (folder / "checkpoint-500").mkdir()
    assert not _resumable(folder, ["gg", "noob"], [0, 1], TrainConfig(epochs=3))
    assert not (folder / "checkpoint-500").exists()


def test_generated_rows_about_the_validation_groups_are_never_trained_on() -> None:
    from training.augment import GROUPS, VALIDATION_GROUPS, augmented_examples

    rows = list(augmented_examples())
    held = [g for g in GROUPS if g.plural in VALIDATION_GROUPS]
    assert len(held) == len(VALIDATION_GROUPS) >= 2
    validation = [(t, label) for t, label, split in rows if split == "validation"]
    train = [t for t, _, split in rows if split == "train"]
    # harmless and hateful mentions of the held-out groups, to pick thresholds on
    assert {label for _, label in validation} == {"non_toxic", "identity_hate"}
    for group in held:
        assert any(group.plural in t for t, _ in validation)
        assert not any(f" {group.plural} " in f" {t} " for t in train)
    source = Source("augment", "augment", Path("."), {})
    splits = {e.split for e in load_source(source, CATEGORIES)}
    assert splits == {"train", "validation"}


def _fake_run(folder: Path, seed: int, tensors: dict | None = None) -> Path:
    import torch
    from safetensors.torch import save_file

    (folder / "one_stage").mkdir(parents=True)
    (folder / "config.yaml").write_text(f"base_model: tiny\nseed: {seed}\nshuffle_seed: {seed}\n")
    (folder / "metrics.json").write_text("{}")
    weights = tensors or {"w": torch.zeros(2, 2)}
    save_file(weights, str(folder / "one_stage" / "model.safetensors"))
    return folder


def test_only_runs_that_share_their_splits_are_averaged(tmp_path: Path) -> None:
    from training.average import AverageError, check_runs

    a = _fake_run(tmp_path / "a", 13)
    with pytest.raises(AverageError, match="at least two"):
        check_runs([a])
    with pytest.raises(AverageError, match="listed twice"):
        check_runs([a, a])
    # another split seed: one run's training rows could be the other's validation rows
    with pytest.raises(AverageError, match=r"differs from .* in seed"):
        check_runs([a, _fake_run(tmp_path / "b", 14)])
    with pytest.raises(AverageError, match="not a finished one-stage run"):
        check_runs([a, tmp_path])
    # the split seed shared, the training order not: fine
    c = _fake_run(tmp_path / "c", 13)
    (c / "config.yaml").write_text("base_model: tiny\nseed: 13\nshuffle_seed: 21\n")
    assert len(check_runs([a, c])) == 2


def test_weights_are_averaged_layer_by_layer(tmp_path: Path) -> None:
    import torch

    from training.average import AverageError, average_weights

    files = []
    for i, value in enumerate((1.0, 2.0, 6.0)):
        run = _fake_run(tmp_path / str(i), 13, {"w": torch.full((2, 2), value)})
        files.append(run / "one_stage" / "model.safetensors")
    assert torch.allclose(average_weights(files)["w"], torch.full((2, 2), 3.0))
    assert torch.allclose(average_weights(files[:2], [0.25, 0.75])["w"], torch.full((2, 2), 1.75))
    odd = _fake_run(tmp_path / "odd", 13, {"w": torch.zeros(3, 2)})
    with pytest.raises(AverageError, match="other layers"):
        average_weights([files[0], odd / "one_stage" / "model.safetensors"])


def test_an_average_names_the_sources_of_both_runs_in_its_card(tmp_path: Path) -> None:
    import yaml

    from training.average import add_ingredient_sources

    out, other = tmp_path / "out", tmp_path / "other"
    for folder, names, rows in ((out, ["conda"], 10), (other, ["conda", "toxigen_framed"], 7)):
        folder.mkdir()
        sources = [{"name": n, "format": n, "path": n} for n in names]
        (folder / "config.yaml").write_text(yaml.safe_dump({"sources": sources}))
        counts = {n: rows for n in names}
        (folder / "data.json").write_text(json.dumps({"train": {"sources": counts}}))
    (out / "metrics.json").write_text(json.dumps({"data": {"train": {"sources": {"conda": 10}}}}))
    assert add_ingredient_sources(out, other) == ["toxigen_framed"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["train"]["sources"] == {"conda": 10, "toxigen_framed": 7}
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert [s["name"] for s in config["sources"]] == ["conda", "toxigen_framed"]
    counts = json.loads((out / "data.json").read_text())["train"]["sources"]
    assert counts == {"conda": 10, "toxigen_framed": 7}


def test_the_identity_patch_trains_only_on_generated_training_rows(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from patch_identity import patch_rows

    _write_csv(tmp_path / "public.csv", _labeled_rows(200))
    (tmp_path / "config.yaml").write_text(
        "name: tiny\nbase_model: all-minilm-l6-v2\n"
        "sources:\n  - {name: mine, format: labeled, path: public.csv}\n"
        "  - {name: augment, format: augment, path: ., repeat: 3}\n"
    )
    decisions, undecided = patch_rows(tmp_path / "config.yaml", tmp_path)
    from training.config import load_config
    from training.train import config_splits

    splits = config_splits(load_config(tmp_path / "config.yaml", tmp_path))
    train = {e.text for e in splits["train"]}
    held = {e.text for name in ("validation", "test") for e in splits[name]}
    generated = {e.text for e in splits["train"] if e.source == "augment"}
    texts = [row["text"] for row in decisions]
    # one row per generated training text (repeats collapse), none from validation or test
    assert sorted(texts) == sorted(generated) and len(texts) == len(set(texts))
    assert not set(texts) & held
    assert {row["label"] for row in decisions} >= {"non_toxic", "identity_hate"}
    # the undecided excerpts are the public training texts only
    public = {e.text for e in splits["train"] if e.source == "mine"}
    assert set(undecided) == public and not set(undecided) & held
    assert set(undecided) <= train


def test_a_config_extends_another_and_adds_sources(tmp_path: Path) -> None:
    from training.config import load_config, read_config

    (tmp_path / "base.yaml").write_text(
        "name: base\nepochs: 2\nlearning_rate: 6.0e-5\n"
        "sources:\n  - {name: mine, format: labeled, path: a.csv}\n"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nepochs: 3\n"
        "add_sources:\n  - {name: more, format: labeled, path: b.csv, repeat: 2}\n"
    )
    (tmp_path / "grandchild.yaml").write_text("extends: child.yaml\nname: gc\nseed: 7\n")
    config = load_config(tmp_path / "grandchild.yaml", tmp_path)
    assert (config.epochs, config.learning_rate, config.seed) == (3, 6.0e-5, 7)
    assert [(s.name, s.repeat) for s in config.sources] == [("mine", 1), ("more", 2)]
    assert config.raw["name"] == "gc"
    # a name is not inherited: without its own, a config is named after its file
    assert read_config(tmp_path / "child.yaml")["name"] == "child"
    assert "extends" not in read_config(tmp_path / "child.yaml")
    (tmp_path / "twice.yaml").write_text(
        "extends: child.yaml\nadd_sources:\n  - {name: more, format: labeled, path: c.csv}\n"
    )
    with pytest.raises(ValueError, match="add_sources names 'more'"):
        read_config(tmp_path / "twice.yaml")
    (tmp_path / "loop_a.yaml").write_text("extends: loop_b.yaml\n")
    (tmp_path / "loop_b.yaml").write_text("extends: loop_a.yaml\n")
    with pytest.raises(ValueError, match="loop"):
        read_config(tmp_path / "loop_a.yaml")
    (tmp_path / "orphan.yaml").write_text("extends: missing.yaml\n")
    with pytest.raises(ValueError, match="config not found"):
        read_config(tmp_path / "orphan.yaml")


def test_the_candidate_configs_are_the_default_recipe_plus_their_changes() -> None:
    from training.config import read_config

    configs = Path(__file__).resolve().parents[1] / "training" / "configs"
    default = read_config(configs / "default.yaml")
    v9a = read_config(configs / "default-v9a.yaml")
    v10b = read_config(configs / "default-v10b.yaml")
    names = [s["name"] for s in default["sources"]]
    assert [s["name"] for s in v9a["sources"]] == [*names, "toxigen_framed", "toxigen_negated"]
    assert {k: v for k, v in v9a.items() if k not in ("name", "sources")} == {
        k: v for k, v in default.items() if k not in ("name", "sources")
    }
    assert v10b["sources"] == v9a["sources"] and v10b["name"] == "default-v10b"
    assert (v10b["teacher"], v10b["distill_weight"]) == ("all-mpnet-base-v2", 0.8)
