"""Sentence-split corpora read with context (`data.sentences_per_document`, `evaluate.py --sentences-per-document`):
joining keeps every word, entity and tag; training, evaluation and the config all see the same joined documents."""

from __future__ import annotations

import pytest

from arabic_news import cli
from arabic_news.data import Document, Span, join_documents
from arabic_news.data.conll import read_conll
from arabic_news.errors import ConfigError, DataError
from arabic_news.training import load_splits
from arabic_news.training.config import config_from_dict

from .conftest import read_json

# Five one-sentence documents, with entities at the first and last word of sentences (where joining puts a boundary).
SENTENCES = [
    [("بيروت", "B-LOC"), ("تستضيف", "O"), ("المؤتمر", "O")],
    [("قال", "O"), ("جيهون", "B-PERS"), ("بيراموف", "I-PERS")],
    [("وأعلن", "O"), ("حلف", "B-ORG"), ("شمال", "I-ORG"), ("الأطلسي", "I-ORG"), ("ذلك", "O")],
    [("أذربيجان", "B-LOC"), ("و", "O"), ("أرمينيا", "B-LOC")],
    [("انتهى", "O"), ("اللقاء", "O")],
]


def conll_file(path, sentences=SENTENCES):
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n", encoding="utf-8")
    return path


def entity_texts(docs):
    return [(s.text, s.label) for d in docs for s in d.entities]


def test_joining_keeps_every_word_entity_and_tag(tmp_path):
    sentences = read_conll(conll_file(tmp_path / "s.conll"))
    joined = join_documents(sentences, 2)
    assert [len(d.meta["joined"]) for d in joined] == [2, 2, 1]  # the last group is shorter
    assert [line for d in joined for line in d.text.split("\n")] == [d.text for d in sentences]
    assert entity_texts(joined) == entity_texts(sentences)
    assert [t for d in joined for t in d.tags] == [t for s in SENTENCES for _, t in s]
    assert sum(len(d.words()) for d in joined) == sum(len(s) for s in SENTENCES)
    assert joined[0].id == f"{sentences[0].id}..{sentences[1].id}" and joined[0].meta["joined"][1] == sentences[1].id
    # Offsets are into the joined text: the person of sentence 2 sits on the second line.
    person = next(s for s in joined[0].entities if s.label == "PERS")
    assert joined[0].text[person.start : person.end] == "جيهون بيراموف"
    assert person.start > joined[0].text.index("\n")


def test_one_per_document_changes_nothing_and_bad_counts_are_refused(tmp_path):
    sentences = read_conll(conll_file(tmp_path / "s.conll"))
    assert join_documents(sentences, 1) == sentences
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="whole number"):
            join_documents(sentences, bad)


def test_documents_with_different_topics_are_not_joined():
    docs = [Document("a", "نص", topic="sport"), Document("b", "نص آخر", topic="economy")]
    with pytest.raises(DataError, match="'a' and 'b' have different topics"):
        join_documents(docs, 2, path="x.jsonl")
    same = join_documents([Document("a", "نص", "sport", [Span(0, 2, "LOC")]), Document("b", "نص", "sport")], 2)
    assert same[0].topic == "sport" and same[0].text == "نص\nنص"


def test_config_joins_train_dev_and_test_after_the_dev_cut(tmp_path):
    train = conll_file(tmp_path / "train.conll", SENTENCES * 2)  # 10 sentences: dev = the last 2
    test = conll_file(tmp_path / "test.conll")

    def splits(joined):
        data = {"train": str(train), "test": str(test), "dev_fraction": 0.2, "sentences_per_document": joined}
        return load_splits(config_from_dict({"task": "ner", "data": data, "training": {"output_dir": "x"}}))

    plain, joined = splits(None), splits(3)
    assert [len(docs) for docs in plain] == [8, 2, 5] and [len(docs) for docs in joined] == [3, 1, 2]
    for before, after in zip(plain, joined):  # the same sentences, in the same order, in every split
        assert [line for d in after for line in d.text.split("\n")] == [d.text for d in before]
        assert entity_texts(after) == entity_texts(before)
    with pytest.raises(ConfigError, match="sentences_per_document must be a whole number"):
        splits(0)


@pytest.mark.slow
def test_evaluate_command_joins_the_data_and_scores_the_same_entities(tmp_path, ner_ckpt):
    data = conll_file(tmp_path / "test.conll")
    reports = {}
    for n in (None, 2):
        out = tmp_path / f"report-{n}"
        extra = ["--sentences-per-document", str(n)] if n else []
        assert (
            cli.main(["evaluate", "--checkpoint", str(ner_ckpt), "--data", str(data), "--out", str(out), *extra]) == 0
        )
        reports[n] = read_json(out / "report.json")
    assert reports[None]["documents"] == 5 and reports[None]["sentences_per_document"] == 1
    assert reports[2]["documents"] == 3 and reports[2]["sentences_per_document"] == 2
    gold_entities = sum(1 for s in SENTENCES for _, t in s if t.startswith("B-"))
    assert reports[None]["ner"]["micro"]["support"] == reports[2]["ner"]["micro"]["support"] == gold_entities


def test_evaluate_command_refuses_a_count_below_one(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", "--checkpoint", "x", "--data", "y", "--sentences-per-document", "0"])
    assert exit_info.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_joining_articles_with_different_topics_stops_training_before_it_writes(tmp_path, capsys, tiny_encoder):
    from arabic_news.data import write_documents

    from .conftest import write_config

    train = tmp_path / "train.jsonl"
    write_documents([Document("a", "فاز الفريق", "sport"), Document("b", "ارتفع السهم", "economy")], train)
    config = write_config(
        tmp_path / "config.yaml",
        task="topic",
        model={"name_or_path": str(tiny_encoder)},
        data={"train": str(train), "sentences_per_document": 2},
        training={"output_dir": str(tmp_path / "run")},
    )
    assert cli.main(["train", str(config)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    error = next(line for line in err.splitlines() if line.startswith("error: "))
    assert str(train) in error and "'a' and 'b' have different topics" in error and "Fix: join only" in error
    assert not (tmp_path / "run").exists()
