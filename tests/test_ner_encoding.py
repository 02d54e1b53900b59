"""Span -> subword labels -> spans, through windows, for both granularities and real tokenizers."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoTokenizer

from arabic_news.data.document import Document, Span
from arabic_news.data.formats import read_documents
from arabic_news.tasks.ner.codec import IGNORE, NerCodec, ner_labels
from arabic_news.text import NormalizeOptions, make_windows, tokenize_words

from .conftest import ROOT, sample_documents

TYPES = ["LOC", "MISC", "ORG", "PERS"]


def gold_logits(codec: NerCodec, doc: Document):
    """Logits that put all mass on the gold tags, window by window, as a perfect model would."""
    encoded = codec.encode(doc)
    token_tags = ["O"] * len(encoded.input_ids)
    for token, tag in zip(encoded.unit_tokens, codec.unit_tags(doc, encoded)):
        token_tags[token] = tag
    logits = []
    for w in encoded.windows:
        rows = np.zeros((len(codec.prefix) + w.end - w.start + len(codec.suffix), len(codec.labels)), np.float32)
        for i, tag in enumerate(token_tags[w.start : w.end]):
            rows[len(codec.prefix) + i, codec.label2id[tag]] = 10.0
        logits.append(rows)
    return encoded, logits


@pytest.fixture(scope="module")
def e5_tokenizer():
    from arabic_news.modeling import load_tokenizer, resolve_model_path

    return load_tokenizer(resolve_model_path("embedded:e5-small"))


def test_windows_cover_every_token_once_and_share_stride():
    for n in (0, 1, 5, 30, 31, 97):
        windows = make_windows(n, body_length=10, stride=3)
        owned = [i for w in windows for i in range(w.own_start, w.own_end)]
        assert owned == list(range(n))
        assert all(w.end - w.start <= 10 for w in windows)
        assert all(b.start == a.end - 3 for a, b in zip(windows, windows[1:]))


@pytest.mark.parametrize("granularity", ["subword", "word"])
def test_perfect_logits_decode_to_gold_spans_across_windows(tiny_encoder, granularity):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    codec = NerCodec(tokenizer, ner_labels(TYPES, granularity), granularity, max_length=16, stride=4)
    for doc in sample_documents():
        encoded, logits = gold_logits(codec, doc)
        assert len(encoded.windows) > 1
        spans = codec.decode(encoded, logits)
        assert [(s.start, s.end, s.label) for s in spans] == [(s.start, s.end, s.label) for s in doc.entities]
        assert all(s.text == doc.text[s.start : s.end] and 0.99 < s.score <= 1 for s in spans)


def test_a_clitic_tag_longer_than_its_unit_never_makes_an_invalid_span(tiny_encoder):
    """An untrained or unlucky model can emit C2-LOC on a one-letter word; decoding must not fail on it."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    codec = NerCodec(tokenizer, ner_labels(TYPES, "subword"), "subword", max_length=32, stride=8)
    doc = Document("d", "و زار بغداد", None, [])
    encoded = codec.encode(doc)
    lengths = [end - start for start, end in encoded.units]
    short = lengths.index(1)  # the lone و
    tags = ["O"] * len(encoded.units)
    tags[short] = "C2-LOC"
    assert codec.spans_from_tags(encoded, tags) == []  # the span would start past its unit: nothing is left
    tags[short + 1] = "I-LOC"  # continued by the next word: the entity starts where the short unit ends
    (span,) = codec.spans_from_tags(encoded, tags)
    assert (span.start, span.label) == (2, "LOC") and doc.text.startswith(span.text, 2)  # from زار, space trimmed


def test_training_labels_mark_word_starts_only_at_word_granularity(tiny_encoder):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    codec = NerCodec(tokenizer, ner_labels(TYPES, "word"), "word", max_length=64, stride=8)
    doc = sample_documents()[0]
    features = codec.training_features(doc)
    labelled = sum(1 for f in features for label in f["labels"] if label != IGNORE)
    assert labelled == len(tokenize_words(doc.text))  # one label per word (the final '.' is a word too)
    assert all(f["labels"][0] == IGNORE and f["labels"][-1] == IGNORE for f in features)


def test_clitic_glued_entity_decodes_to_the_name_alone(e5_tokenizer):
    """XLM-R glues `و` to the next letters (`▁وأ`); the C1 tag still puts the span on `أذربيجان`."""
    text = "وصل الوزير إلى باكو وأذربيجان تستعد، وبالقاهرة قال “الناتو” إن ولبنان"
    names = [("باكو", "LOC"), ("أذربيجان", "LOC"), ("القاهرة", "LOC"), ("الناتو", "ORG"), ("لبنان", "LOC")]
    doc = Document("c", text, entities=[Span(text.index(n), text.index(n) + len(n), t) for n, t in names])
    assert [s.text for s in doc.entities] == ["باكو", "أذربيجان", "القاهرة", "الناتو", "لبنان"]
    codec = NerCodec(e5_tokenizer, ner_labels(TYPES, "subword"), "subword", max_length=12, stride=3)
    encoded, logits = gold_logits(codec, doc)
    assert any(tag.startswith("C") for tag in codec.unit_tags(doc, encoded))
    assert [s.text for s in codec.decode(encoded, logits)] == ["باكو", "أذربيجان", "القاهرة", "الناتو", "لبنان"]


@pytest.mark.parametrize("mark", ["\u200b", "\u200f", "\u064e"])  # zero-width space, RLM, fatha
def test_a_mark_after_a_proclitic_does_not_pull_it_into_the_name(e5_tokenizer, mark):
    """Normalization deletes the mark, so the model sees `وأذربيجان` and tags `أذربيجان`; the span must not snap back
    to the word's start because the original text has one more character between the clitic and the name (it did:
    with the tiny test tokenizer, `ب\u200bاريس` came out whole while `باريس` gave `اريس`)."""
    text = f"وصل الوزير و{mark}أذربيجان تستعد وب{mark}القاهرة"
    names = [("أذربيجان", "LOC"), ("القاهرة", "LOC")]
    doc = Document("m", text, entities=[Span(text.index(n), text.index(n) + len(n), t) for n, t in names])
    codec = NerCodec(e5_tokenizer, ner_labels(TYPES, "subword"), "subword", max_length=16, stride=4)
    encoded, logits = gold_logits(codec, doc)
    assert [s.text for s in codec.decode(encoded, logits)] == ["أذربيجان", "القاهرة"]


def test_seed_and_sample_spans_are_all_expressible_with_the_embedded_tokenizer(e5_tokenizer):
    docs = read_documents(ROOT / "data" / "seed.jsonl")
    docs += [d for path in sorted((ROOT / "data" / "sample").glob("*.jsonl")) for d in read_documents(path)]
    for options in (NormalizeOptions(), NormalizeOptions.none()):
        codec = NerCodec(e5_tokenizer, ner_labels(TYPES, "subword"), "subword", 256, 64, options)
        assert sum(codec.misaligned(d, codec.encode(d)) for d in docs) == 0


def test_normalization_is_undone_in_offsets(e5_tokenizer):
    text = "قالَ الرئيـــس إيمانويل ماكرون في بـاريس"
    doc = Document("n", text, entities=[Span(15, 29, "PERS"), Span(33, 39, "LOC")])
    codec = NerCodec(e5_tokenizer, ner_labels(TYPES, "subword"), "subword", 64, 8)
    encoded, logits = gold_logits(codec, doc)
    assert "ـ" not in encoded.normalized.text
    assert [s.text for s in codec.decode(encoded, logits)] == ["إيمانويل ماكرون", "بـاريس"]
