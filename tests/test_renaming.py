"""Mention replacement (`data.rename_entities`): training articles with some named things renamed."""

from __future__ import annotations

import json

import pytest

from arabic_news.data import Document, Span, read_documents, rename_entities
from arabic_news.errors import ConfigError
from arabic_news.training import load_splits
from arabic_news.training.config import config_from_dict


def doc(doc_id: str, markup: list[tuple[str, str | None]], topic: str = "internationalNews") -> Document:
    """A document from (piece, label) pairs: a label makes the piece an entity, None leaves it plain text."""
    text, spans = "", []
    for piece, label in markup:
        if label:
            spans.append(Span(len(text), len(text) + len(piece), label))
        text += piece
    return Document(doc_id, text, topic, spans)


CORPUS = [
    doc(
        "a",
        [
            ("قالت الأمينة العامة لـ“المنظمة” ", None),
            ("كارين ليندبرج", "PERS"),
            (" في ", None),
            ("لوكسمبورج", "LOC"),
            (" إن ", None),
            ("الناتو", "ORG"),
            (" مستعد. وأضافت ", None),
            ("ليندبرج", "PERS"),
            (" أن ", None),
            ("لوكسمبورج", "LOC"),
            (" تستضيف اللقاء.", None),
        ],
    ),
    doc(
        "b",
        [
            ("زار ", None),
            ("توماش جرينبرج", "PERS"),
            (" مدينة ", None),
            ("وارسو", "LOC"),
            (" ثم ", None),
            ("القاهرة", "LOC"),
            (" والتقى ممثلي ", None),
            ("الأمم المتحدة", "ORG"),
            (" و", None),
            ("جرينبرج", "PERS"),
            (" يبتسم.", None),
        ],
    ),
    doc("c", [("وصل ", None), ("مراد يلماز", "PERS"), (" إلى ", None), ("الرباط", "LOC"), (".", None)]),
]


def plain_parts(document: Document) -> list[str]:
    """The text between the spans: what renaming must never touch."""
    parts, position = [], 0
    for span in document.entities:
        parts.append(document.text[position : span.start])
        position = span.end
    return parts + [document.text[position:]]


def names_by_label(docs: list[Document]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for d in docs:
        for s in d.entities:
            found.setdefault(s.label, set()).add(s.text)
    return found


def test_every_named_thing_is_renamed_with_a_name_of_its_type_and_the_rest_of_the_text_is_kept():
    renamed = rename_entities(CORPUS, 1.0, seed=1)
    pools = names_by_label(CORPUS)
    family_names = {name.split()[-1] for name in pools["PERS"] if " " in name}
    for before, after in zip(CORPUS, renamed):
        after.validate()
        assert (after.id, after.topic) == (before.id, before.topic)
        assert plain_parts(after) == plain_parts(before)
        assert [s.label for s in after.entities] == [s.label for s in before.entities]
        for old, new in zip(before.entities, after.entities):
            assert new.text == after.text[new.start : new.end]
            assert new.text in pools[new.label] | family_names
            assert new.text.startswith("ال") == old.text.startswith("ال")  # a clitic before it stays well spelled
    # where the type has another name of the same kind, probability 1 renames it
    assert renamed[1].entities[0].text != "توماش جرينبرج"
    assert renamed[2].entities[1].text != "الرباط"


def test_a_renamed_thing_keeps_one_name_through_the_article_and_a_family_name_follows_the_full_name():
    for seed in range(10):
        first = rename_entities(CORPUS, 1.0, seed=seed)[0]
        person, place, _, family, place_again = (s.text for s in first.entities)
        assert place == place_again != "لوكسمبورج"
        assert person != "كارين ليندبرج" and family == person.split()[-1]


def test_probability_zero_changes_nothing_and_a_seed_gives_one_result():
    assert [d.text for d in rename_entities(CORPUS, 0.0, seed=3)] == [d.text for d in CORPUS]
    assert [d.entities for d in rename_entities(CORPUS, 0.0, seed=3)] == [d.entities for d in CORPUS]
    once, again = rename_entities(CORPUS, 0.5, seed=7), rename_entities(CORPUS, 0.5, seed=7)
    assert [d.text for d in once] == [d.text for d in again]
    texts = {tuple(d.text for d in rename_entities(CORPUS, 0.5, seed=s)) for s in range(20)}
    assert len(texts) > 1, "different seeds rename differently"
    with pytest.raises(ValueError, match="between 0 and 1"):
        rename_entities(CORPUS, 1.5, seed=0)


def test_about_the_given_share_of_named_things_is_renamed_on_the_sample_corpus():
    docs = read_documents("data/sample/train.jsonl")
    renamed = rename_entities(docs, 0.3, seed=42)
    kept = total = 0
    for before, after in zip(docs, renamed):
        after.validate()
        assert plain_parts(after) == plain_parts(before)
        kept += sum(a.text == b.text for a, b in zip(before.entities, after.entities))
        total += len(before.entities)
    assert 0.55 < kept / total < 0.85  # 30% renamed, fewer mentions than things: short forms and rare types


def write_jsonl(path, docs: list[Document]) -> str:
    path.write_text("".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return str(path)


def test_the_config_renames_training_articles_only(tmp_path):
    train, dev = write_jsonl(tmp_path / "train.jsonl", CORPUS), write_jsonl(tmp_path / "dev.jsonl", CORPUS[:1])

    def splits(rate, seed=42):
        data = {"train": train, "dev": dev, "rename_entities": rate}
        return load_splits(
            config_from_dict({"task": "ner", "data": data, "training": {"output_dir": "x", "seed": seed}})
        )

    plain_train, plain_dev, _ = splits(0.0)
    renamed_train, renamed_dev, _ = splits(1.0)
    assert [d.text for d in plain_train] == [d.text for d in CORPUS]
    assert [d.text for d in renamed_train] == [d.text for d in rename_entities(CORPUS, 1.0, seed=42)]
    assert [d.text for d in renamed_dev] == [d.text for d in plain_dev] == [CORPUS[0].text]
    assert [d.text for d in splits(1.0, seed=5)[0]] == [d.text for d in rename_entities(CORPUS, 1.0, seed=5)]


@pytest.mark.parametrize(
    "task, rate, expected",
    [
        ("ner", 1.5, "data.rename_entities must be a probability between 0 and 1"),
        ("ner", -0.1, "data.rename_entities must be a probability between 0 and 1"),
        ("topic", 0.3, "data.rename_entities renames entity spans, which task 'topic' does not learn from"),
    ],
)
def test_bad_renaming_settings_are_refused(task, rate, expected):
    raw = {"task": task, "data": {"train": "t.jsonl", "rename_entities": rate}, "training": {"output_dir": "x"}}
    with pytest.raises(ConfigError, match=expected):
        config_from_dict(raw, source="c.yaml")
