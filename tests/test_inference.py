"""The inference API on tiny checkpoints trained here: offsets into the original text, agreement with
`transformers.pipeline`, windows over long texts, streaming, bad input, broken checkpoint folders, bf16 and int8.

Three tiny checkpoints are trained once per test session (see `tiny_checkpoint`, shared with test_predict_cli):
- `subword`: subword-granularity NER with the default Arabic normalization, windows of 24 tokens;
- `word-plain`: word-granularity NER with normalization switched off, windows of 64 tokens (the pipeline reference);
- `topic`: a topic classifier.
A tiny model trained for a few seconds makes many mistakes; the tests check what must hold for ANY model (offsets,
consistency between paths) and, where an exact entity is asserted, build the model's output through the
checkpoint's own codec so that the check is deterministic.
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch

from arabic_news import NewsTagger, Prediction, TaskModel, load
from arabic_news.checkpoint import METADATA_FILE
from arabic_news.data.document import Document, Span
from arabic_news.data.formats import write_documents
from arabic_news.errors import CheckpointError
from arabic_news.text import CONTROLS, NormalizeOptions
from arabic_news.training.config import config_from_dict

from .conftest import ROOT, sample_documents, unmark

SEED_TEXT = (ROOT / "seeds" / "000_d551d2ad5a0e191b.txt").read_text(encoding="utf-8")

# Proclitics glued to names (و, ب, ل, وب): the spans leave them out, so entities start inside whitespace words.
CLITIC_SENTENCES = [
    "زار الوفد [باريس](LOC) و[أذربيجان](LOC) الأسبوع الماضي.",
    "قال [ماكرون](PERS) إن [فرنسا](LOC) و[أذربيجان](LOC) تتعاونان.",
    "التقى [بيراموف](PERS) ب[ماكرون](PERS) في [باريس](LOC).",
    "أشاد الوزير ب[الناتو](ORG) و[الأمم المتحدة](ORG) وب[أرمينيا](LOC).",
]

_TRAINED: dict[tuple[str, str], Path] = {}  # (kind, encoder) -> checkpoint, so each kind trains once per session


def marked_documents(marked: list[str], prefix: str) -> list[Document]:
    docs = []
    for i, line in enumerate(marked):
        text, spans = unmark(line)
        docs.append(Document(f"{prefix}{i}", text, None, [Span(s, e, label) for s, e, label in spans]))
    return docs


def tiny_checkpoint(kind: str, tiny_encoder: Path, tmp_path_factory) -> Path:
    """Train (once per session) and return a tiny checkpoint of `kind`: 'subword', 'word-plain' or 'topic'."""
    from arabic_news.training import train

    key = (kind, str(tiny_encoder))
    if key in _TRAINED:
        return _TRAINED[key]
    folder = tmp_path_factory.mktemp(f"ckpt-{kind}")
    docs = sample_documents() + (marked_documents(CLITIC_SENTENCES, "c") if kind == "subword" else [])
    write_documents(docs, folder / "train.jsonl")
    preprocessing = {
        "subword": {"granularity": "subword", "max_length": 24, "stride": 6},
        "word-plain": {
            "granularity": "word",
            "max_length": 64,
            "stride": 16,
            "normalize": NormalizeOptions.none().to_dict(),
        },
        "topic": {"max_length": 32, "stride": 8},
    }[kind]
    raw = {
        "task": "topic" if kind == "topic" else "ner",
        "model": {"name_or_path": str(tiny_encoder)},
        "data": {"train": str(folder / "train.jsonl")},
        "preprocessing": preprocessing,
        "training": {
            "output_dir": str(folder / "model"),
            "num_train_epochs": 8 if kind == "topic" else 12,
            "learning_rate": 1e-2,
            "per_device_train_batch_size": 8,
            "seed": 7,
            "logging_strategy": "no",
            "save_strategy": "no",
        },
    }
    _TRAINED[key] = train(config_from_dict(raw))
    return _TRAINED[key]


@pytest.fixture(scope="module")
def subword_ckpt(tiny_encoder, tmp_path_factory) -> Path:
    return tiny_checkpoint("subword", tiny_encoder, tmp_path_factory)


@pytest.fixture(scope="module")
def word_ckpt(tiny_encoder, tmp_path_factory) -> Path:
    return tiny_checkpoint("word-plain", tiny_encoder, tmp_path_factory)


@pytest.fixture(scope="module")
def tagger(subword_ckpt) -> NewsTagger:
    return load(subword_ckpt, dtype="fp32")  # the reference the other paths are compared with


@pytest.fixture(scope="module")
def word_tagger(word_ckpt) -> NewsTagger:
    return load(word_ckpt, dtype="fp32")


def assert_valid_offsets(text: str, prediction: Prediction) -> None:
    """What every prediction must satisfy, whatever the model: exact, in-range, ordered, non-overlapping spans
    that never start or end on whitespace, and that never cut a letter from its diacritics."""
    assert prediction.text == text
    previous_end = 0
    for span in prediction.entities:
        assert 0 <= previous_end <= span.start < span.end <= len(text), span
        assert text[span.start : span.end] == span.text, span
        assert span.text == span.text.strip(), span
        assert span.end == len(text) or not unicodedata.combining(text[span.end]), span
        assert span.text[0] not in CONTROLS and span.text[-1] not in CONTROLS, span
        assert span.score is not None and 0.0 <= span.score <= 1.0, span
        previous_end = span.end
    Document("check", text, entities=list(prediction.entities)).validate()


def single_token_words(tokenizer, text: str) -> str:
    """`text` without the words the tokenizer splits into several subwords (see the pipeline comparison)."""
    return " ".join(w for w in text.split() if len(tokenizer.tokenize(w)) == 1)


def perfect_logits(codec, doc: Document, encoded) -> list[np.ndarray]:
    """Window logits that put all mass on the document's gold tags, as a perfect model of this checkpoint would."""
    token_tags = ["O"] * len(encoded.input_ids)
    for token, tag in zip(encoded.unit_tokens, codec.unit_tags(doc, encoded)):
        token_tags[token] = tag
    out = []
    for window in encoded.windows:
        rows = np.zeros(
            (len(codec.prefix) + window.end - window.start + len(codec.suffix), len(codec.labels)), np.float32
        )
        for i, tag in enumerate(token_tags[window.start : window.end]):
            rows[len(codec.prefix) + i, codec.label2id[tag]] = 20.0
        out.append(rows)
    return out


# ---------------------------------------------------------------------------------------------- offsets


def test_seed_article_gets_valid_offsets_into_the_original_text(tagger):
    prediction = tagger(SEED_TEXT)
    assert_valid_offsets(SEED_TEXT, prediction)
    assert len(tagger.ner.codec.encode(Document("seed", SEED_TEXT)).windows) > 10, "the seed spans many windows"
    assert prediction.entities, "a model trained on names like these finds some in the seed"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("وصل الوفد إلى باكو وأذربيجان تستعد للقمة", "أذربيجان"),
        ("قال الوزير إن وأَذْرَبِيجَان تتعاون", "أَذْرَبِيجَان"),  # diacritics stay with their letters
        ("التقى الرئيس بماكرون في القصر", "ماكرون"),
        ("سافر الوفد إلى أذربـيـجان أمس", "أذربـيـجان"),  # tatweel inside the name
    ],
)
def test_entity_starting_inside_a_word_comes_back_as_the_name_alone(tagger, text, expected):
    """The checkpoint's codec (normalization and granularity from its metadata) decodes a perfect model's output
    for a clitic-glued name to exactly the name in the ORIGINAL text, diacritics and tatweel included."""
    start = text.index(expected)
    doc = Document("x", text, entities=[Span(start, start + len(expected), "LOC")])
    codec = tagger.ner.codec
    encoded = codec.encode(doc)
    spans = codec.decode(encoded, perfect_logits(codec, doc, encoded))
    assert [(s.start, s.end, s.text) for s in spans] == [(start, start + len(expected), expected)]
    assert_valid_offsets(text, tagger(text))  # and the real model's spans on the same text are exact


def test_predictions_on_clitic_texts_keep_exact_offsets(tagger):
    texts = [unmark(line)[0] for line in CLITIC_SENTENCES] + ["ولأذربيجان وللناتو وبباريس فبماكرون"]
    predictions = list(tagger.pipe(texts))
    for text, prediction in zip(texts, predictions):
        assert_valid_offsets(text, prediction)
    starts_inside_a_word = [
        s for t, p in zip(texts, predictions) for s in p.entities if s.start > 0 and t[s.start - 1].isalpha()
    ]
    assert starts_inside_a_word, "the subword model places some entity starts after a glued proclitic"


# ---------------------------------------------------------------------------------------------- pipeline agreement


def test_entities_agree_with_transformers_pipeline_simple_aggregation(word_ckpt, word_tagger):
    """Same checkpoint, same texts: identical entity spans, labels and scores as
    `pipeline("token-classification", aggregation_strategy="simple")`.

    One systematic difference is designed out: a word-granularity model is trained on the FIRST subword of each word
    only (the others get no label), and this project tags whole words from that subword, while "simple" groups the
    argmax of every subword, untrained ones included, so it splits or shortens multi-subword names (`ب` `##اري`
    `##س` may come out as `ب` alone). The texts are therefore made of words that are single tokens; on those both
    read the same logits. Normalization is off in this checkpoint so both see the same characters, and every text
    fits one window so both see the same context. The test after this one compares whole sentences with the
    "first" strategy, which is the word-granularity reading.
    """
    from transformers import pipeline

    reference = pipeline("token-classification", model=str(word_ckpt), aggregation_strategy="simple")
    tokenizer = word_tagger.ner.tokenizer
    texts = [single_token_words(tokenizer, d.text) for d in sample_documents()]
    ours = list(word_tagger.pipe(texts, batch_size=4))
    found = 0
    for text, prediction in zip(texts, ours):
        theirs = reference(text)
        assert [(s.start, s.end, s.label) for s in prediction.entities] == [
            (e["start"], e["end"], e["entity_group"]) for e in theirs
        ], text
        assert [s.score for s in prediction.entities] == pytest.approx([float(e["score"]) for e in theirs], abs=1e-4)
        found += len(theirs)
    assert found >= 3, "the comparison must cover some entities, not only empty lists"


def test_whole_sentences_agree_with_pipeline_first_strategy(word_ckpt, word_tagger):
    """On sentences with multi-subword words, word granularity is exactly the pipeline's "first" aggregation."""
    from transformers import pipeline

    reference = pipeline("token-classification", model=str(word_ckpt), aggregation_strategy="first")
    texts = [d.text for d in sample_documents()]
    found = 0
    for text, prediction in zip(texts, word_tagger.pipe(texts)):
        theirs = reference(text)
        assert [(s.start, s.end, s.label) for s in prediction.entities] == [
            (e["start"], e["end"], e["entity_group"]) for e in theirs
        ], text
        found += len(theirs)
    assert found >= 3


# ---------------------------------------------------------------------------------------------- long texts


def long_single_token_text(tokenizer, n_words: int) -> str:
    sentences = [single_token_words(tokenizer, d.text) for d in sample_documents()]
    words: list[str] = []
    while len(words) < n_words:
        for sentence in sentences:
            words.extend(sentence.split())
    return " ".join(words[:n_words])


def test_long_text_equals_its_pieces_where_windows_are_central(word_tagger):
    """Each token of a long text is decided by the window where it is most central: the entities found in a window's
    own range are the ones its piece of text gets when predicted alone (the piece is tokenized to exactly the
    window's tokens because every word is one token)."""
    text = long_single_token_text(word_tagger.ner.tokenizer, 1200)
    codec = word_tagger.ner.codec
    encoded = codec.encode(Document("long", text))
    assert len(encoded.windows) > 10
    starts = [s for s, _ in encoded.token_offsets]
    ends = [e for _, e in encoded.token_offsets]
    pieces, own, inner = [], [], []
    for w in encoded.windows:
        pieces.append((starts[w.start], ends[w.end - 1]))
        own.append((starts[w.own_start], ends[w.own_end - 1]))
        # entities away from the own range's edges depend on this window's tags only (seqeval looks one tag back)
        inner.append((ends[w.own_start], starts[w.own_end - 1]))
    whole = word_tagger(text).entities
    alone = list(word_tagger.pipe([text[a:b] for a, b in pieces], batch_size=8))
    compared, margins_differ = 0, 0
    for (a, b), (own_lo, own_hi), (lo, hi), piece in zip(pieces, own, inner, alone):
        assert len(codec.encode(Document("p", piece.text)).windows) == 1
        shifted = [(s.start + a, s.end + a, s.label) for s in piece.entities]
        expected = [e for e in shifted if lo <= e[0] and e[1] <= hi]
        got = [(s.start, s.end, s.label) for s in whole if lo <= s.start and s.end <= hi]
        assert got == expected
        compared += len(got)
        in_margins = [e for e in shifted if e[1] <= own_lo or e[0] >= own_hi]
        margins_differ += in_margins != [
            (s.start, s.end, s.label)
            for s in whole
            if a <= s.start and s.end <= b and (s.end <= own_lo or s.start >= own_hi)
        ]
    assert compared >= 10
    # Near its edges a piece sees less context and is tagged differently than in the whole text, so a merge that
    # took those tokens from the wrong window would fail the comparison above.
    assert margins_differ > 0


def test_a_5000_word_text_is_not_truncated(word_tagger):
    tokenizer = word_tagger.ner.tokenizer
    text = long_single_token_text(tokenizer, 5000)
    model = word_tagger.ner
    encoded = model.codec.encode(Document("long", text))
    assert len(encoded.input_ids) >= 5000 > model.codec.max_length
    logits = model._run([model.codec.inference_features(encoded)], 32, False)[0]
    probs = model.codec.token_probabilities(encoded, logits)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4), "every token, up to the last, gets a prediction"
    prediction = word_tagger(text)
    assert_valid_offsets(text, prediction)
    # The end of the text is tagged like the same words predicted on their own as the last window's piece.
    last = encoded.windows[-1]
    tail_start = encoded.token_offsets[last.start][0]
    tail = word_tagger(text[tail_start:])
    tail_entities = [(s.start + tail_start, s.end + tail_start, s.label) for s in tail.entities]
    assert tail_entities, "the last window holds entities"
    assert [(s.start, s.end, s.label) for s in prediction.entities][-1] == tail_entities[-1]
    assert tail_entities[-1][0] > len(text) - 400


# ---------------------------------------------------------------------------------------------- pipe


def test_pipe_streams_in_input_order_and_batch_size_does_not_change_results(tagger):
    sentences = [d.text for d in sample_documents()]
    texts = sentences + [SEED_TEXT[:900], "", "باريس"] + [s[:20] for s in sentences]
    results = {}
    for batch_size in (1, 3, 32):
        predictions = list(tagger.pipe(iter(texts), batch_size=batch_size))
        assert [p.text for p in predictions] == texts
        results[batch_size] = [[(s.start, s.end, s.label, round(s.score, 4)) for s in p.entities] for p in predictions]
    assert results[1] == results[3] == results[32]
    assert any(results[1])


def test_pipe_is_lazy(tagger):
    consumed = []

    def texts():
        for i in range(10):
            consumed.append(i)
            yield f"زار الوفد باريس في اليوم {i}"

    stream = tagger.pipe(texts(), batch_size=2, chunk=3)
    first = next(stream)
    assert first.text.endswith(" 0") and len(consumed) == 3, "only the first chunk was read"
    assert [p.text[-1] for p in stream] == [str(i) for i in range(1, 10)]


def test_pipe_rejects_bytes_with_a_clear_message(tagger):
    with pytest.raises(TypeError, match="decode bytes first"):
        list(tagger.pipe(["نص", "نص".encode()]))


# ---------------------------------------------------------------------------------------------- bad input

MIXED = "قال مدير Google في دبي إن شركة OpenAI ستفتح مكتبا في الرياض عام 2025 بالتعاون مع جامعة MIT."
BAD_INPUTS = {
    "empty": "",
    "whitespace": "  \n\t \u00a0\u3000 ",
    "no-arabic": "The minister met NATO officials in Brussels on 12 March 2024 (COVID-19 rules applied).",
    "mixed-rtl-ltr": MIXED,
    "bidi-and-zero-width": "\u202bقال \u200fماكرون\u200f في \u2067باريس\u2069 إن \u200bالناتو\u200c قوي\u202c",
    "c0-controls": "التقى\x00 ماكرون\x07 في\x1b باريس\r\nمع\x7f الوفد\x0b",
    "only-punctuation": "«» ... !!! ؟؟ ،،",
    "digits": "٢٠٢٤ ۱۲ 12.5 ٣٫٥",
    "presentation-forms": "ﺃﺫﺭﺑﻴﺠﺎﻥ ﻭﺑﺎﺭﻳﺲ",
    "emoji": "ماكرون 🇫🇷 في باريس 😀 اليوم",
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_never_crashes_and_keeps_valid_offsets(tagger, name):
    text = BAD_INPUTS[name]
    assert_valid_offsets(text, tagger(text))


def test_empty_and_whitespace_texts_have_no_entities(topic_ckpt, subword_ckpt):
    both = load(subword_ckpt, topic_ckpt)
    for text in ("", "   \n "):
        prediction = both(text)
        assert prediction.entities == []
        assert prediction.topic is not None and abs(sum(prediction.topic.probabilities.values()) - 1) < 1e-4


def test_bidi_and_zero_width_marks_do_not_change_what_is_found(tagger):
    """Controls are removed before the model sees the text, so the same names are found, with offsets that skip
    the marks (a span never starts or ends on one)."""
    clean = "قال ماكرون في باريس إن الناتو قوي وأذربيجان شريك"
    marked = "".join(
        ch + ("\u200f" if i % 3 == 0 else "") + ("\u200b" if i % 7 == 0 else "") for i, ch in enumerate(clean)
    )
    plain, dirty = tagger(clean), tagger(marked)
    assert_valid_offsets(marked, dirty)
    strip = str.maketrans({c: None for c in CONTROLS})
    assert [(s.text.translate(strip), s.label) for s in dirty.entities] == [(s.text, s.label) for s in plain.entities]
    assert plain.entities


def test_a_200000_character_article(tagger):
    text = "\n".join(d.text for d in sample_documents())
    text = (text + "\n") * (200_000 // len(text) + 1)
    text = text[:200_000]
    prediction = tagger(text)
    assert_valid_offsets(text, prediction)
    assert prediction.entities[-1].start > 190_000, "entities are found up to the end"


# ---------------------------------------------------------------------------------------------- both tasks


def test_ner_and_topic_checkpoints_together(subword_ckpt, topic_ckpt):
    both = load(subword_ckpt, topic_ckpt)
    prediction = both(sample_documents()[4].text)
    assert prediction.entities and prediction.topic is not None
    assert prediction.topic.label == max(prediction.topic.probabilities, key=prediction.topic.probabilities.get)
    assert prediction.topic.score == pytest.approx(prediction.topic.probabilities[prediction.topic.label])
    doc = prediction.to_document("d1")
    assert doc.topic == prediction.topic.label and doc.entities == prediction.entities
    with pytest.raises(CheckpointError, match="two ner checkpoints"):
        load(subword_ckpt, subword_ckpt)


def test_predict_documents_replaces_gold_and_keeps_ids_and_meta(tagger):
    gold = [Document("a", "زار [x] باريس", "sport", [Span(4, 7, "MISC")], {"title": "عنوان"})]
    out = tagger.predict_documents(gold)
    assert out[0].id == "a" and out[0].meta == {"title": "عنوان"} and out[0].topic is None
    assert Span(4, 7, "MISC") not in out[0].entities
    assert gold[0].entities == [Span(4, 7, "MISC")], "the input documents are not changed"


def test_top_level_exports():
    import arabic_news

    assert arabic_news.load is load and arabic_news.NewsTagger is NewsTagger and arabic_news.TaskModel is TaskModel


# ---------------------------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("options", [{"dtype": "bf16"}, {"quantize": "int8"}])
def test_bf16_and_int8_give_the_fp32_entities_on_the_tiny_model(subword_ckpt, tagger, options):
    """Reduced precision moves the logits slightly, so tokens where the tiny model is nearly undecided may flip (a
    full-suite run once saw int8 add one entity on a training sentence). What must hold: every decision with a clear
    fp32 margin survives, and the logits move little. The benchmark measures the F1 change of a real model."""
    fast = load(subword_ckpt, **options)
    layer = fast.ner.backend.model.classifier
    if "dtype" in options:
        assert layer.weight.dtype == torch.bfloat16
    else:
        assert "quantized" in type(layer).__module__
    texts = [d.text for d in sample_documents()] + [SEED_TEXT]
    assert any(p.entities for p in tagger.pipe(texts))
    encoded = [tagger.ner.codec.encode(Document(str(i), t)) for i, t in enumerate(texts)]
    features = [tagger.ner.codec.inference_features(e) for e in encoded]
    full = np.concatenate([np.concatenate(doc) for doc in tagger.ner._run(features, 8, False)])
    low = np.concatenate([np.concatenate(doc) for doc in fast.ner._run(features, 8, False)])
    top2 = np.sort(full, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1.0
    assert clear.sum() > 0.5 * len(full)
    assert (full.argmax(axis=1) == low.argmax(axis=1))[clear].all()
    assert np.abs(full - low).max() < 0.5


def test_unknown_dtype_or_quantization_is_refused(subword_ckpt):
    with pytest.raises(CheckpointError, match="unknown dtype"):
        load(subword_ckpt, dtype="fp8")
    with pytest.raises(CheckpointError, match="unknown quantization"):
        load(subword_ckpt, quantize="int4")


# ---------------------------------------------------------------------------------------------- checkpoints


def broken_copy(source: Path, target: Path, change) -> Path:
    shutil.copytree(source, target)
    change(target)
    return target


def edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def safetensors_of_base_encoder(tiny_encoder):
    return lambda d: shutil.copy(tiny_encoder / "model.safetensors", d / "model.safetensors")


def truncate_weights(d: Path) -> None:
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 3])


BROKEN = {
    "no-metadata": (lambda d: (d / METADATA_FILE).unlink(), "not a finished model"),
    "metadata-not-json": (lambda d: (d / METADATA_FILE).write_text("{oops", encoding="utf-8"), "not valid JSON"),
    "metadata-without-labels": (lambda d: edit_json(d / METADATA_FILE, lambda m: m.pop("labels")), "lacks labels"),
    "labels-of-another-run": (
        lambda d: edit_json(d / METADATA_FILE, lambda m: m.update(labels=m["labels"][:3])),
        "labels .* differ",
    ),
    "no-weights": (lambda d: (d / "model.safetensors").unlink(), "no model.safetensors"),
    "pickle-weights-only": (lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"), "pickle"),
    "truncated-weights": (truncate_weights, "cannot load the model"),
    "no-config": (lambda d: (d / "config.json").unlink(), "cannot load the model"),
    "config-of-another-size": (
        lambda d: edit_json(d / "config.json", lambda c: c.update(hidden_size=64)),
        "cannot load the model",
    ),
    "no-tokenizer": (lambda d: (d / "tokenizer.json").unlink(), "no tokenizer files"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_broken_checkpoint_folder_gets_a_clear_error(subword_ckpt, tmp_path, name):
    change, message = BROKEN[name]
    folder = broken_copy(subword_ckpt, tmp_path / name, change)
    with pytest.raises(CheckpointError, match=message) as info:
        load(folder)
    assert "Fix:" in str(info.value) and str(folder) in str(info.value)


def test_weights_of_another_model_are_refused_not_randomly_completed(subword_ckpt, tiny_encoder, tmp_path):
    folder = broken_copy(subword_ckpt, tmp_path / "base", safetensors_of_base_encoder(tiny_encoder))
    with pytest.raises(CheckpointError, match="lacks .* weights .*classifier"):
        load(folder)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "nope")


def test_weights_load_from_safetensors_only(subword_ckpt, tmp_path, tagger):
    """A pickle beside the safetensors file is never opened: garbage there does not disturb loading."""
    folder = broken_copy(
        subword_ckpt,
        tmp_path / "both",
        lambda d: (d / "pytorch_model.bin").write_bytes(b"not a pickle, and never read"),
    )
    text = sample_documents()[0].text
    assert load(folder, dtype="fp32")(text).entities == tagger(text).entities
