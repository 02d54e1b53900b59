"""Checks the hand annotation of the seed article and of the project's own sample corpus.

The seed (`seeds/000_d551d2ad5a0e191b.txt`) is annotated once in `data/seed.jsonl`. These tests pin that
annotation down: the stored text is the seed file exactly, the entities are a literal list in reading order (so a
shifted offset or a dropped mention fails), and every span is a whole word with its clitics (و ب ل لـ ...) and
quotation marks outside. The 60-article sample (`data/sample/train.jsonl` + `dev.jsonl`, written by this project)
must validate, hold 10 articles per topic and share no article between train and dev; without those files the
sample tests skip.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from arabic_news.data.document import Document, Span

REPO = Path(__file__).resolve().parents[1]
SEED_FILE = REPO / "seeds" / "000_d551d2ad5a0e191b.txt"
SEED_JSONL = REPO / "data" / "seed.jsonl"
SAMPLE_DIR = REPO / "data" / "sample"
TOPICS = ("culture", "economy", "internationalNews", "middleEast", "sport", "technology")

# Every entity mention of the seed, in reading order. Clitics stay outside (`وأذربيجان` -> `أذربيجان`,
# `لحلف شمال الأطلسي` -> `حلف شمال الأطلسي`), quoted names are annotated without their quotes, misspellings
# are annotated as written (`أذريجان`, `بريفان`), and the nominal `الحلف` is not an entity.
EXPECTED_SEED_ENTITIES = [
    ("الخارجية الأذربيجانية", "ORG"),
    ("الناتو", "ORG"),
    ("جيهون بيراموف", "PERS"),
    ("حلف شمال الأطلسي", "ORG"),
    ("الناتو", "ORG"),
    ("ينس ستولتنبرج", "PERS"),
    ("أذربيجان", "LOC"),
    ("أذريجان", "LOC"),
    ("تريند", "ORG"),
    ("أذربيجان", "LOC"),
    ("وزارة الخارجية الأذربيجانية", "ORG"),
    ("بيراموف", "PERS"),
    ("الناتو", "ORG"),
    ("أرمينيا", "LOC"),
    ("أذربيجان", "LOC"),
    ("الشراكة من أجل السلام", "MISC"),
    ("تريند", "ORG"),
    ("الناتو", "ORG"),
    ("أذربيجان", "LOC"),
    ("بريفان", "LOC"),
    ("وزارة الخارجية الأذربيجانية", "ORG"),
    ("تريند", "ORG"),
    ("أذربيجان", "LOC"),
    ("أرمينيا", "LOC"),
    ("حلف شمال الأطلسي", "ORG"),
    ("الناتو", "ORG"),
    ("أذربيجان", "LOC"),
    ("أرمينيا", "LOC"),
]

# What may be glued in front of a name inside the same word: nothing, or proclitics (with an optional tatweel).
CLITIC_PREFIXES = {"", "و", "ف", "ب", "ل", "ك", "وب", "ول", "فل", "فب", "وك", "لـ", "ولـ", "بـ", "وبـ"}
QUOTES = "«»“”„‟\"'‘’‹›"
# A detached proclitic written as its own word (`و أذربيجان`, `لـ “الناتو”`) must not open a span, nor a dangling
# `و` / `لـ` close one. Other single letters can be real parts of names (the agency abbreviation `أ ف ب`).
CLITIC_AND_SPACE_AT_START = re.compile(r"^(?:[وفبلك]|لـ)\s")
SPACE_AND_CLITIC_AT_END = re.compile(r"\s(?:و|لـ)$")


def is_word_char(ch: str) -> bool:
    """Letters, tatweel and harakat belong to a word; spaces, digits, punctuation and quotes do not."""
    return ch.isalpha() or unicodedata.category(ch) == "Mn"


def span_problem(text: str, start: int, end: int) -> str | None:
    """Why `text[start:end]` is not a whole-word entity with clitics and quotes outside, or None if it is."""
    covered = text[start:end]
    if covered[0] in QUOTES or covered[-1] in QUOTES:
        return f"{covered!r} starts or ends with a quotation mark"
    if CLITIC_AND_SPACE_AT_START.search(covered) or SPACE_AND_CLITIC_AT_END.search(covered):
        return f"{covered!r} starts or ends with a clitic and a space"
    word_start = start
    while word_start > 0 and is_word_char(text[word_start - 1]):
        word_start -= 1
    if text[word_start:start] not in CLITIC_PREFIXES:
        return f"{covered!r} starts inside the word {text[word_start:end]!r}"
    if end < len(text) and is_word_char(text[end]):
        return f"{covered!r} ends inside a word (next character {text[end]!r})"
    return None


def read_jsonl(path: Path) -> list[Document]:
    """Each line a Document, validated with the file and line it came from."""
    docs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        spans = [Span(e["start"], e["end"], e["label"]) for e in record["entities"]]
        docs.append(Document(record["id"], record["text"], record.get("topic"), spans).validate(path, number))
    return docs


def raw_spans(path: Path) -> list[list[tuple[int, int, str]]]:
    """Entities exactly as stored (Document sorts them, so the stored order is checked on the raw records)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [[(e["start"], e["end"], e["label"]) for e in json.loads(line)["entities"]] for line in lines]


@pytest.fixture(scope="module")
def seed() -> Document:
    docs = read_jsonl(SEED_JSONL)
    assert len(docs) == 1, f"{SEED_JSONL} must hold exactly one article, found {len(docs)}"
    return docs[0]


def test_seed_record_holds_the_seed_file_text_exactly(seed: Document) -> None:
    # Decode the bytes directly: no newline translation, no stripping, so offsets match the file as given.
    assert seed.text == SEED_FILE.read_bytes().decode("utf-8")
    assert seed.id == SEED_FILE.stem
    assert seed.topic == "internationalNews"


def test_seed_entities_are_the_expected_mentions_in_order(seed: Document) -> None:
    assert seed.entity_texts() == EXPECTED_SEED_ENTITIES
    stored = raw_spans(SEED_JSONL)[0]
    assert stored == sorted(stored), "entities must be stored in text order"


def test_seed_spans_are_whole_words_with_clitics_and_quotes_outside(seed: Document) -> None:
    problems = [span_problem(seed.text, s.start, s.end) for s in seed.entities]
    assert [p for p in problems if p] == []


def test_seed_every_mention_of_an_annotated_name_is_annotated(seed: Document) -> None:
    covered = {i for s in seed.entities for i in range(s.start, s.end)}
    for name in {s.text for s in seed.entities}:
        for match in re.finditer(re.escape(name), seed.text):
            whole_word = span_problem(seed.text, match.start(), match.end()) is None
            if whole_word:
                assert match.start() in covered, f"unannotated mention of {name!r} at {match.start()}"


def test_seed_nominal_alliance_mentions_stay_unannotated(seed: Document) -> None:
    covered = {i for s in seed.entities for i in range(s.start, s.end)}
    quoted = [m.start() + 1 for m in re.finditer("“الحلف”", seed.text)]
    assert len(quoted) == 2
    assert not any(i in covered for i in quoted)


@pytest.mark.parametrize(
    "start, end, why",
    [
        (0, 9, "quotation mark"),  # «الخارجية ... includes the opening guillemet
        (178, 193, "starts inside"),  # لف شمال الأطلسي: begins in the middle of حلف
        (120, 132, "starts inside"),  # يهون بيراموف: begins in the middle of a name
        (276, 283, "ends inside"),  # أذربيجا: one letter short
        (1080, 1087, "quotation mark"),  # الناتو” with its closing quote
    ],
)
def test_span_problem_flags_bad_seed_spans(start: int, end: int, why: str) -> None:
    text = SEED_FILE.read_bytes().decode("utf-8")
    problem = span_problem(text, start, end)
    assert problem is not None and why in problem


def test_span_problem_flags_clitic_and_space_and_cut_words() -> None:
    text = "زار و أذربيجان وأرمينيا"
    assert "clitic and a space" in span_problem(text, 4, 14)
    assert "clitic and a space" in span_problem(text, 6, 16)
    assert "ends inside a word" in span_problem(text, 16, 20)
    assert span_problem(text, 16, 23) is None


# --- the sample corpus -------------------------------------------------------------------------------------


def sample_parts() -> list[Path]:
    return sorted(SAMPLE_DIR.glob("*.jsonl")) if SAMPLE_DIR.is_dir() else []


@pytest.mark.parametrize("path", sample_parts(), ids=lambda p: p.name)
def test_every_sample_file_validates_with_whole_word_spans(path: Path) -> None:
    docs = read_jsonl(path)
    assert docs, f"{path.name} is empty"
    for doc, stored in zip(docs, raw_spans(path)):
        assert doc.topic in TOPICS, f"{doc.id}: unknown topic {doc.topic!r}"
        assert stored == sorted(stored), f"{doc.id}: entities are not stored in text order"
        problems = [span_problem(doc.text, s.start, s.end) for s in doc.entities]
        assert [p for p in problems if p] == [], doc.id


@pytest.fixture(scope="module")
def train_and_dev() -> tuple[list[Document], list[Document]]:
    train, dev = SAMPLE_DIR / "train.jsonl", SAMPLE_DIR / "dev.jsonl"
    if not (train.is_file() and dev.is_file()):
        pytest.skip("data/sample/train.jsonl and dev.jsonl are not assembled yet")
    return read_jsonl(train), read_jsonl(dev)


def test_sample_split_is_fixed_by_article_number(train_and_dev) -> None:
    """40 articles per topic: numbers 09-10 are dev, 01-08 and 11-40 are train, for every topic."""
    train, dev = train_and_dev
    assert Counter(d.topic for d in train + dev) == {topic: 40 for topic in TOPICS}
    ids = [d.id for d in train + dev]
    assert len(set(ids)) == len(ids) == 240
    number = lambda d: int(d.id.rsplit("-", 1)[1])  # noqa: E731 - a one-line key
    assert all(d.id == f"sample-{d.topic}-{number(d):02d}" for d in train + dev)
    assert {number(d) for d in dev} == {9, 10} and all(number(d) not in (9, 10) for d in train)


def test_sample_train_and_dev_share_no_text(train_and_dev) -> None:
    train, dev = train_and_dev
    assert not {d.text for d in train} & {d.text for d in dev}
    headline = lambda d: d.text.split("\n", 1)[0].strip()  # noqa: E731 - a one-line key
    assert not {headline(d) for d in train} & {headline(d) for d in dev}
