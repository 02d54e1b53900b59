"""The evaluation harness: every figure on crafted gold/predicted Documents with known answers, the exported files
against seqeval itself, and (slow) the `evaluate` command end to end on tiny trained checkpoints."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from arabic_news import cli
from arabic_news.data.document import Document, Span
from arabic_news.data.formats import read_documents, write_documents
from arabic_news.evaluation import (
    apply_label_map,
    evaluate_predictions,
    paired_bootstrap,
    parse_label_map,
    summarize_runs,
    unique_folder_names,
    write_report,
)
from arabic_news.tasks import TASKS
from arabic_news.tasks.stats import macro_f1_samples

from .conftest import ROOT, read_json

NER_LABELS = ["O"] + [f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PERS") for p in "BI"]
TEXT = "زار محمد صلاح القاهرة، ثم وأذربيجان أمس.\nوقالت منظمة الصحة العالمية إن الوضع مستقر."
SHORT = "وصل الوفد إلى بيروت"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def span(text: str, phrase: str, label: str) -> Span:
    start = text.index(phrase)
    return Span(start, start + len(phrase), label)


def ner_doc(doc_id: str, text: str, *entities: tuple[str, str]) -> Document:
    return Document(doc_id, text, None, [span(text, phrase, label) for phrase, label in entities])


GOLD_A = ner_doc(
    "a", TEXT, ("محمد صلاح", "PERS"), ("القاهرة", "LOC"), ("أذربيجان", "LOC"), ("منظمة الصحة العالمية", "ORG")
)
# A name cut short, one right, a clitic glued on (the word is right, the characters are not), a type error.
PRED_A = ner_doc("a", TEXT, ("محمد", "PERS"), ("القاهرة", "LOC"), ("وأذربيجان", "LOC"), ("منظمة الصحة العالمية", "LOC"))


def prf(scores: dict) -> tuple[float, float, float]:
    return scores["precision"], scores["recall"], scores["f1"]


def ner_report(gold, pred, labels=NER_LABELS) -> dict:
    return evaluate_predictions("ner", gold, pred, labels)["ner"]


# ---- NER figures on crafted cases --------------------------------------------------------------------------------
def test_perfect_predictions_score_one_in_every_view():
    ner = ner_report([GOLD_A], [GOLD_A])
    for view in (ner, ner["strict"], ner["span"]["exact"], ner["span"]["clitic_tolerant"]):
        assert prf(view["micro"]) == (1.0, 1.0, 1.0)
        assert prf(view["macro"]) == (1.0, 1.0, 1.0)
        assert all(prf(s) == (1.0, 1.0, 1.0) for s in view["per_type"].values())
    assert ner["micro"]["support"] == 4 and ner["per_type"]["LOC"]["support"] == 2
    assert ner["micro"]["ci95"] == [1.0, 1.0]
    assert ner["errors"]["counts"] == {
        "correct": 4,
        "wrong_type": 0,
        "boundary": 0,
        "boundary_and_type": 0,
        "missed": 0,
        "spurious": 0,
    }
    assert ner["labels_missing_from_checkpoint"] == []


def test_all_missed_scores_zero_and_every_entity_is_missed():
    nothing = replace(GOLD_A, entities=[])
    ner = ner_report([GOLD_A], [nothing])
    assert prf(ner["micro"]) == (0.0, 0.0, 0.0) and ner["micro"]["support"] == 4
    assert prf(ner["strict"]["micro"]) == (0.0, 0.0, 0.0)
    assert ner["errors"]["counts"]["missed"] == 4 and ner["errors"]["counts"]["correct"] == 0
    assert {gold: row["O"] for gold, row in ner["errors"]["confusion"].items()} == {
        "LOC": 2,
        "O": 0,
        "ORG": 1,
        "PERS": 1,
    }


def test_boundary_and_type_errors_give_the_hand_computed_figures():
    ner = ner_report([GOLD_A], [PRED_A])
    # Word level: LOC القاهرة and the word وأذربيجان are right; PERS is cut short (fp+fn), ORG came out as LOC.
    assert prf(ner["micro"]) == (0.5, 0.5, 0.5)
    assert ner["per_type"]["LOC"]["precision"] == pytest.approx(2 / 3) and ner["per_type"]["LOC"]["recall"] == 1.0
    assert ner["per_type"]["LOC"]["f1"] == pytest.approx(0.8)
    assert prf(ner["per_type"]["PERS"]) == (0.0, 0.0, 0.0) and prf(ner["per_type"]["ORG"]) == (0.0, 0.0, 0.0)
    assert ner["macro"]["f1"] == pytest.approx(0.8 / 3)
    assert ner["macro"]["precision"] == pytest.approx(2 / 9) and ner["macro"]["recall"] == pytest.approx(1 / 3)
    # Tags made from spans are always well-formed IOB2, so strict mode agrees with the default mode.
    assert ner["strict"]["micro"] == {k: v for k, v in ner["micro"].items() if k != "ci95"}
    # Characters: only القاهرة is exact; the clitic-tolerant match also forgives و + أذربيجان.
    assert prf(ner["span"]["exact"]["micro"]) == (0.25, 0.25, 0.25)
    assert prf(ner["span"]["clitic_tolerant"]["micro"]) == (0.5, 0.5, 0.5)
    assert ner["errors"]["counts"] == {
        "correct": 1,
        "wrong_type": 1,
        "boundary": 2,
        "boundary_and_type": 0,
        "missed": 0,
        "spurious": 0,
    }
    assert ner["errors"]["confusion"]["ORG"]["LOC"] == 1 and ner["errors"]["confusion"]["PERS"]["PERS"] == 1


def test_spurious_entities_lower_precision_only():
    gold = ner_doc("b", SHORT, ("بيروت", "LOC"))
    pred = ner_doc("b", SHORT, ("بيروت", "LOC"), ("الوفد", "ORG"))
    ner = ner_report([gold], [pred])
    assert ner["micro"]["precision"] == 0.5 and ner["micro"]["recall"] == 1.0
    assert ner["per_type"]["ORG"]["support"] == 0 and ner["per_type"]["ORG"]["precision"] == 0.0
    assert ner["errors"]["counts"]["spurious"] == 1 and ner["errors"]["confusion"]["O"]["ORG"] == 1


def test_label_missing_from_the_checkpoint_is_reported_and_can_only_be_missed():
    gold = ner_doc("b", SHORT, ("بيروت", "LOC"), ("الوفد", "MISC"))
    pred = ner_doc("b", SHORT, ("بيروت", "LOC"))
    labels = [label for label in NER_LABELS if not label.endswith("MISC")] + ["C1-LOC", "C2-LOC"]
    ner = ner_report([gold], [pred], labels)
    assert ner["labels_missing_from_checkpoint"] == ["MISC"]
    assert ner["per_type"]["MISC"]["recall"] == 0.0 and ner["micro"]["recall"] == 0.5


def test_label_map_misc_to_o_drops_the_type_from_gold_predictions_and_the_model():
    mapping = parse_label_map(["MISC=O", "PER=PERS"])
    assert mapping == {"MISC": "O", "PER": "PERS"}
    gold = apply_label_map([ner_doc("b", SHORT, ("بيروت", "LOC"), ("الوفد", "MISC"))], mapping)
    assert [s.label for s in gold[0].entities] == ["LOC"]
    assert TASKS["ner"].map_labels(["O", "B-MISC", "I-MISC", "B-PER", "I-PER"], mapping) == ["O", "B-PERS", "I-PERS"]
    assert TASKS["ner"].map_labels(["O", "C1-PER", "C2-MISC"], mapping) == ["O", "C1-PERS"]  # subword clitic tags
    assert TASKS["topic"].map_labels(["sports", "economy"], {"sports": "sport"}) == ["sport", "economy"]
    ner = ner_report(gold, [ner_doc("b", SHORT, ("بيروت", "LOC"))], TASKS["ner"].map_labels(NER_LABELS, mapping))
    assert prf(ner["micro"]) == (1.0, 1.0, 1.0) and "MISC" not in ner["per_type"]
    assert ner["labels_missing_from_checkpoint"] == []


@pytest.mark.parametrize("bad", ["MISC", "=O", "MISC="])
def test_label_map_syntax_errors_say_what_is_expected(bad):
    with pytest.raises(ValueError, match="OLD=NEW"):
        parse_label_map([bad])


def test_no_entities_anywhere_gives_zeros_not_nan():
    empty = Document("e", SHORT)
    report = evaluate_predictions("ner", [empty], [empty], NER_LABELS)
    json.dumps(report, allow_nan=False)  # raises on NaN: report.json must stay valid JSON
    assert prf(report["ner"]["macro"]) == (0.0, 0.0, 0.0)


# ---- topics ------------------------------------------------------------------------------------------------------
def topic_docs(gold: str, pred: str, sources: str = "") -> tuple[list[Document], list[Document]]:
    """One document per letter: gold topics, predicted topics and (optionally) sources."""
    meta = [{"source": s} for s in sources] if sources else [{} for _ in gold]
    g = [Document(f"n{i}", f"خبر رقم {i}", t, [], m) for i, (t, m) in enumerate(zip(gold, meta))]
    p = [replace(d, topic=t, meta=dict(d.meta)) for d, t in zip(g, pred)]
    return g, p


def test_topic_accuracy_macro_f1_per_class_confusion_and_per_source():
    gold, pred = topic_docs("aaabbc", "aabbcc", sources="xxxyyy")
    topic = evaluate_predictions("topic", gold, pred, ["a", "b", "c"])["topic"]
    assert topic["accuracy"] == pytest.approx(4 / 6) and topic["n"] == 6
    # a: P 1, R 2/3, F .8; b: P .5, R .5, F .5; c: P .5, R 1, F 2/3.
    assert topic["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert prf(topic["per_class"]["a"]) == pytest.approx((1.0, 2 / 3, 0.8))
    assert prf(topic["per_class"]["b"]) == pytest.approx((0.5, 0.5, 0.5))
    assert prf(topic["per_class"]["c"]) == pytest.approx((0.5, 1.0, 2 / 3))
    assert [topic["per_class"][k]["support"] for k in "abc"] == [3, 2, 1]
    assert topic["confusion"] == {"labels": ["a", "b", "c"], "matrix": [[2, 1, 0], [0, 1, 1], [0, 0, 1]]}
    x, y = topic["per_source"]["x"], topic["per_source"]["y"]
    assert (x["n"], x["accuracy"], x["macro_f1"]) == (3, pytest.approx(2 / 3), pytest.approx(0.8))
    assert (y["n"], y["accuracy"], y["macro_f1"]) == (3, pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert topic["labels_missing_from_checkpoint"] == []
    lo, hi = topic["accuracy_ci95"]
    assert lo <= topic["accuracy"] <= hi and lo < hi
    lo, hi = topic["macro_f1_ci95"]
    assert lo <= topic["macro_f1"] <= hi


def test_topic_missing_from_the_checkpoint_is_reported_and_no_source_means_no_per_source():
    gold, pred = topic_docs("aabc", "aabb")
    topic = evaluate_predictions("topic", gold, pred, ["a", "b"])["topic"]
    assert topic["labels_missing_from_checkpoint"] == ["c"]
    assert topic["per_class"]["c"]["recall"] == 0.0 and topic["per_source"] == {}
    assert topic["accuracy"] == 0.75


def test_bootstrap_macro_f1_matches_scikit_learn_on_each_resample():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    g, p = rng.integers(0, 4, 40), rng.integers(-1, 4, 40)  # -1: a topic outside the label list
    idx = rng.integers(0, 40, size=(5, 40))
    ours = macro_f1_samples(g, p, 4, idx)
    for row, value in zip(idx, ours):
        present = sorted(set(g[row]))
        assert value == pytest.approx(f1_score(g[row], p[row], labels=present, average="macro", zero_division=0))


# ---- confidence intervals, paired bootstrap, seeds ---------------------------------------------------------------
def short_docs(n: int, found: int) -> tuple[list[Document], list[Document]]:
    """n one-entity documents; the first `found` predictions are right, the rest miss."""
    gold = [ner_doc(f"s{i}", SHORT, ("بيروت", "LOC")) for i in range(n)]
    pred = [d if i < found else replace(d, entities=[]) for i, d in enumerate(gold)]
    return gold, pred


def test_bootstrap_ci_contains_the_point_estimate_and_is_reproducible():
    gold, pred = short_docs(20, 10)
    first = ner_report(gold, pred)["micro"]
    assert first["f1"] == pytest.approx(2 / 3)  # tp 10, fn 10
    lo, hi = first["ci95"]
    assert lo < first["f1"] < hi and 0.0 <= lo and hi <= 1.0
    assert ner_report(gold, pred)["micro"]["ci95"] == first["ci95"]


def test_paired_bootstrap_p_value_is_small_for_a_clearly_better_system_and_large_for_identical_ones():
    gold, nothing = short_docs(30, 0)
    better = paired_bootstrap(TASKS["ner"], gold, nothing, gold, NER_LABELS)
    assert better["a"] == 0.0 and better["b"] == 1.0 and better["difference"] == 1.0
    assert better["p_value"] < 0.01 and better["difference_ci95"][0] > 0
    _, pred = short_docs(30, 20)
    same = paired_bootstrap(TASKS["ner"], gold, pred, pred, NER_LABELS)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0
    _, slightly = short_docs(30, 21)  # one document of thirty: not a real difference
    assert paired_bootstrap(TASKS["ner"], gold, pred, slightly, NER_LABELS)["p_value"] > 0.05
    assert paired_bootstrap(TASKS["ner"], gold, pred, slightly, NER_LABELS) == paired_bootstrap(
        TASKS["ner"], gold, pred, slightly, NER_LABELS
    )


def test_paired_bootstrap_on_topics_tolerates_a_gold_topic_no_model_knows():
    gold, right = topic_docs("ab" * 15 + "c", "ab" * 15 + "a")
    _, wrong = topic_docs("ab" * 15 + "c", "ba" * 15 + "a")
    result = paired_bootstrap(TASKS["topic"], gold, wrong, right, ["a", "b"])
    assert result["b"] > result["a"] and result["p_value"] < 0.01


def test_seeds_are_summarized_as_mean_and_sample_standard_deviation():
    assert summarize_runs([0.8, 0.9, 1.0]) == {"mean": pytest.approx(0.9), "std": pytest.approx(0.1), "runs": 3}
    assert summarize_runs([0.7]) == {"mean": 0.7, "std": 0.0, "runs": 1}


# ---- exported files against seqeval itself -----------------------------------------------------------------------
def read_word_columns(path: Path) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """predictions.conll read back by `-DOCSTART-` document: tokens, gold tags, predicted tags."""
    tokens, gold, pred = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            tokens.append([]), gold.append([]), pred.append([])
        elif line.strip():
            token, g, p = line.split("\t")
            tokens[-1].append(token), gold[-1].append(g), pred[-1].append(p)
    return tokens, gold, pred


def crafted_set() -> tuple[list[Document], list[Document]]:
    gold = [
        GOLD_A,
        ner_doc("b", SHORT, ("بيروت", "LOC")),
        ner_doc("c", SHORT, ("الوفد", "ORG")),
        ner_doc("d", "قال الأمين العام أنطونيو غوتيريش في جنيف", ("أنطونيو غوتيريش", "PERS"), ("جنيف", "LOC")),
    ]
    pred = [
        PRED_A,
        ner_doc("b", SHORT, ("الوفد", "ORG"), ("بيروت", "MISC")),
        ner_doc("c", SHORT),
        ner_doc("d", "قال الأمين العام أنطونيو غوتيريش في جنيف", ("غوتيريش", "PERS"), ("جنيف", "LOC")),
    ]
    return gold, pred


def write_crafted_report(folder: Path, gold, pred) -> dict:
    report = {
        "checkpoint": "crafted",
        "task": "ner",
        "data": "crafted.jsonl",
        "label_map": {},
        **evaluate_predictions("ner", gold, pred, NER_LABELS),
    }
    write_report(folder, TASKS[report["task"]], report, gold, pred)
    return report


def assert_same_as_seqeval(ner: dict, y_true, y_pred) -> None:
    for section, kwargs in ((ner, {}), (ner["strict"], {"mode": "strict", "scheme": IOB2})):
        theirs = classification_report(y_true, y_pred, output_dict=True, zero_division=0, **kwargs)
        for ours, key in [(section["micro"], "micro avg"), (section["macro"], "macro avg")] + [
            (section["per_type"][t], t) for t in section["per_type"]
        ]:
            assert (ours["precision"], ours["recall"], ours["f1"], ours["support"]) == pytest.approx(
                (theirs[key]["precision"], theirs[key]["recall"], theirs[key]["f1-score"], theirs[key]["support"])
            )
        assert set(section["per_type"]) == set(theirs) - {"micro avg", "macro avg", "weighted avg"}


def test_report_figures_equal_seqeval_on_the_exported_conll(tmp_path):
    gold, pred = crafted_set()
    report = write_crafted_report(tmp_path, gold, pred)
    tokens, y_true, y_pred = read_word_columns(tmp_path / "predictions.conll")
    assert [" ".join(t) for t in tokens][1:] == ["وصل الوفد إلى بيروت"] * 2 + [gold[3].text]
    assert "".join(tokens[0]) == "".join(TEXT.split())  # every character of the text, none lost
    assert_same_as_seqeval(report["ner"], y_true, y_pred)
    assert report["ner"]["micro"]["f1"] != 1.0  # the crafted set has errors of every kind to compare on
    # The file breaks sentences where the text has a line break.
    assert "\n\nوقالت\t" in (tmp_path / "predictions.conll").read_text(encoding="utf-8")


def test_report_files_json_markdown_predictions_and_png(tmp_path):
    gold, pred = crafted_set()
    report = write_crafted_report(tmp_path, gold, pred)
    assert read_json(tmp_path / "report.json") == json.loads(json.dumps(report))
    assert [d.entities for d in read_documents(tmp_path / "predictions.jsonl")] == [d.entities for d in pred]
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## seqeval, default mode (word level)",
        "## seqeval, strict IOB2 mode",
        "## Character spans",
        "## Errors",
        "### boundary: examples",
    ):
        assert heading in markdown
    assert f"**Micro-F1 {100 * report['ner']['micro']['f1']:.1f}**" in markdown
    assert_valid_png(tmp_path / "ner_confusion.png")


def test_topic_report_files(tmp_path):
    gold, pred = topic_docs("aaabbc", "aabbcc", sources="xxxyyy")
    report = {
        "checkpoint": "crafted",
        "task": "topic",
        "data": "crafted.jsonl",
        "label_map": {},
        **evaluate_predictions("topic", gold, pred, ["a", "b", "c"]),
    }
    write_report(tmp_path, TASKS[report["task"]], report, gold, pred)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "**Accuracy 66.7, macro-F1 65.6**" in markdown and "## Per source" in markdown
    assert "| a | 2 | 1 | 0 |" in markdown  # the confusion row of topic a
    assert_valid_png(tmp_path / "topic_confusion.png")
    assert not (tmp_path / "predictions.conll").exists()


def assert_valid_png(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50


def test_report_folders_stay_apart_when_names_repeat(tmp_path):
    (tmp_path / "x").mkdir(), (tmp_path / "y").mkdir()
    for folder in ("x", "y"):
        (tmp_path / folder / "dev.jsonl").write_text("", encoding="utf-8")
    paths = [tmp_path / "x" / "dev.jsonl", tmp_path / "y" / "dev.jsonl", tmp_path / "x" / "dev.jsonl"]
    assert unique_folder_names(paths) == ["x-dev", "y-dev", "x-dev-3"]
    assert unique_folder_names([tmp_path / "x", tmp_path / "model.v2"]) == ["x", "model.v2"]


# ---- end to end: tiny checkpoints through `arabic-news evaluate` --------------------------------------------------
SAMPLE_DEV = ROOT / "data" / "sample" / "dev.jsonl"


def tiny_checkpoint(folder: Path, encoder: Path, train_file: Path, task: str, epochs: int, batch: int) -> Path:
    from arabic_news.training import train
    from arabic_news.training.config import config_from_dict

    return train(
        config_from_dict(
            {
                "task": task,
                "model": {"name_or_path": str(encoder)},
                "data": {"train": str(train_file)},
                "preprocessing": {"max_length": 64, "stride": 16},
                "training": {
                    "output_dir": str(folder),
                    "num_train_epochs": epochs,
                    "learning_rate": 1e-2,
                    "seed": 7,
                    "per_device_train_batch_size": batch,
                    "save_strategy": "no",
                    "logging_strategy": "epoch",
                },
            }
        )
    )


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tiny_encoder, tiny_corpus) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("eval-checkpoints")
    # The NER model trains just long enough to predict entities (right and wrong ones) for the reports to score.
    return {
        "ner": tiny_checkpoint(folder / "ner", tiny_encoder, tiny_corpus["train"], "ner", epochs=8, batch=2),
        "topic": tiny_checkpoint(folder / "topic", tiny_encoder, tiny_corpus["train"], "topic", epochs=3, batch=4),
    }


def dig(report: dict, dotted: str):
    for key in dotted.split("."):
        report = report[key]
    return report


@pytest.mark.slow
def test_evaluate_command_on_the_sample_corpus_and_the_tiny_corpus(tmp_path, checkpoints, tiny_corpus):
    out = tmp_path / "reports"
    assert (
        cli.main(
            [
                "evaluate",
                "--checkpoint",
                str(checkpoints["ner"]),
                "--data",
                str(SAMPLE_DEV),
                "--data",
                str(tiny_corpus["dev"]),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    sample_dir, tiny_dir = out / "sample-dev", out / f"{tiny_corpus['folder'].name}-dev"
    for folder, data in ((sample_dir, SAMPLE_DEV), (tiny_dir, tiny_corpus["dev"])):
        report = read_json(folder / "report.json")
        gold = read_documents(data)
        assert report["task"] == "ner" and report["documents"] == len(gold)
        for key in [
            "ner.micro.f1",
            "ner.strict.micro.f1",
            "ner.span.exact.micro.f1",
            "ner.span.clitic_tolerant.micro.f1",
        ] + [f"ner.per_type.{t}.f1" for t in ("LOC", "ORG", "PERS")]:
            assert 0.0 <= dig(report, key) <= 1.0, key
        assert report["ner"]["micro"]["support"] == sum(len(d.entities) for d in gold)
        assert sum(len(d.entities) for d in read_documents(folder / "predictions.jsonl")) > 0
        assert sum(report["ner"]["errors"]["counts"].values()) >= report["ner"]["micro"]["support"]
        _, y_true, y_pred = read_word_columns(folder / "predictions.conll")
        assert_same_as_seqeval(report["ner"], y_true, y_pred)
        predicted = read_documents(folder / "predictions.jsonl")
        assert [d.text for d in predicted] == [d.text for d in gold]
        assert "# Evaluation of `ner`" in (folder / "report.md").read_text(encoding="utf-8")
        assert_valid_png(folder / "ner_confusion.png")


@pytest.mark.slow
def test_evaluate_command_on_a_topic_checkpoint(tmp_path, checkpoints, tiny_corpus):
    out = tmp_path / "topic-report"
    assert (
        cli.main(["evaluate", "--checkpoint", str(checkpoints["topic"]), "--data", str(SAMPLE_DEV), "--out", str(out)])
        == 0
    )
    report = read_json(out / "report.json")
    assert 0.0 <= report["topic"]["accuracy"] <= 1.0 and 0.0 <= report["topic"]["macro_f1"] <= 1.0
    assert report["topic"]["n"] == 12 and sum(map(sum, report["topic"]["confusion"]["matrix"])) == 12
    lo, hi = report["topic"]["accuracy_ci95"]
    assert lo <= report["topic"]["accuracy"] <= hi
    assert_valid_png(out / "topic_confusion.png")
    untopical = tmp_path / "no-topics.jsonl"
    write_documents([replace(d, topic=None) for d in read_documents(tiny_corpus["dev"])], untopical)
    assert (
        cli.main(
            [
                "evaluate",
                "--checkpoint",
                str(checkpoints["topic"]),
                "--data",
                str(untopical),
                "--out",
                str(tmp_path / "never"),
            ]
        )
        == 1
    )
    assert not (tmp_path / "never" / "report.json").exists()
    mixed = [
        "evaluate",
        "--compare",
        str(checkpoints["ner"]),
        str(checkpoints["topic"]),
        "--data",
        str(SAMPLE_DEV),
        "--out",
        str(tmp_path / "mixed"),
    ]
    assert cli.main(mixed) == 1 and not (tmp_path / "mixed").exists()


@pytest.mark.slow
def test_compare_seeds_label_map_and_a_type_the_checkpoint_lacks(tmp_path, checkpoints, tiny_corpus):
    twin = tmp_path / "ner-twin"
    shutil.copytree(checkpoints["ner"], twin)  # the same weights under another name: identical predictions
    data = tmp_path / "with-date.jsonl"
    docs = read_documents(tiny_corpus["dev"])
    docs[0] = replace(docs[0], entities=[replace(s, label="DATE") if s.label == "LOC" else s for s in docs[0].entities])
    write_documents(docs, data)
    out = tmp_path / "compare"
    assert (
        cli.main(
            [
                "evaluate",
                "--compare",
                str(checkpoints["ner"]),
                str(twin),
                "--data",
                str(data),
                "--seeds",
                "--label-map",
                "MISC=O",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    comparison = read_json(out / "comparison.json")
    first, second = comparison["checkpoints"]
    assert first["score"] == second["score"] and "versus_first" not in first
    assert second["versus_first"]["difference"] == 0.0 and second["versus_first"]["p_value"] == 1.0
    assert comparison["seeds"] == {"mean": pytest.approx(first["score"]), "std": 0.0, "runs": 2}
    assert "(mean ± sd over 2 runs)" in (out / "comparison.md").read_text(encoding="utf-8")
    report = read_json(out / "ner" / "report.json")
    assert report["label_map"] == {"MISC": "O"}
    assert report["ner"]["labels_missing_from_checkpoint"] == ["DATE"]
    assert report["ner"]["per_type"]["DATE"]["recall"] == 0.0 and "MISC" not in report["ner"]["per_type"]
    assert all(s.label != "MISC" for d in read_documents(out / "ner" / "predictions.jsonl") for s in d.entities)
    assert "cannot predict (always missed): DATE" in (out / "ner" / "report.md").read_text(encoding="utf-8")
    assert (out / "ner-twin" / "report.json").is_file()


def test_strict_mode_sees_stored_ill_formed_tags_and_default_mode_forgives_them():
    words = "محمد قال القاهرة"
    spans = [Span(0, 4, "PERS"), Span(9, 16, "LOC")]
    gold = Document("g", words, entities=spans, word_split="whitespace", tags=["I-PERS", "O", "B-LOC"])
    pred = Document("g", words, entities=spans, word_split="whitespace", tags=["B-PERS", "O", "B-LOC"])
    ner = evaluate_predictions("ner", [gold], [pred], ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC"])["ner"]
    assert prf(ner["micro"]) == (1.0, 1.0, 1.0)
    # strict IOB2: the gold I-PERS opens no entity, so the predicted PERS is a false positive
    assert prf(ner["strict"]["micro"]) == pytest.approx((0.5, 1.0, 2 / 3))
    stale = Document("g", words, entities=spans[1:], meta=dict(gold.meta))  # tags no longer match the spans
    ner = evaluate_predictions("ner", [stale], [pred], ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC"])["ner"]
    assert prf(ner["strict"]["micro"]) == pytest.approx((0.5, 1.0, 2 / 3))
