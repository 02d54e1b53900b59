"""CoNLL reading and writing, tagging schemes, and agreement with seqeval's default reading."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from arabic_news.data.conll import ConllStats, read_conll, write_conll
from arabic_news.data.document import Document, Span
from arabic_news.data.schemes import (
    encode_spans,
    scheme_violations,
    spans_to_tags,
    tags_to_spans,
)
from arabic_news.errors import DataError, DataWarning

ANERCORP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "anercorp"

IOB2_FILE = "بيروت\tB-LOC\nتستضيف\tO\nالمؤتمر\tO\n\nقال\tO\nجيهون\tB-PERS\nبيراموف\tI-PERS\n.\tO\n\n"


def write(tmp_path: Path, content: str | bytes, name: str = "data.conll") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def words_of(tokens: list[str]) -> list[tuple[int, int]]:
    """Offsets of tokens joined by single spaces, as read_conll lays them out."""
    out, pos = [], 0
    for token in tokens:
        out.append((pos, pos + len(token)))
        pos += len(token) + 1
    return out


def seqeval_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    return sorted((t, s, e) for t, s, e in get_entities(list(tags)))


# ----------------------------------------------------------------------------------------------- reading


def test_reads_sentences_as_documents_with_word_spans(tmp_path):
    docs = read_conll(write(tmp_path, IOB2_FILE))
    assert [d.id for d in docs] == ["data:1", "data:2"]
    assert docs[0].text == "بيروت تستضيف المؤتمر"
    assert docs[1].entity_texts() == [("جيهون بيراموف", "PERS")]
    assert docs[1].meta == {"line": 5}
    assert (docs[1].word_split, docs[1].tags) == ("whitespace", ["O", "B-PERS", "I-PERS", "O"])
    assert docs[0].topic is None


def test_docstart_groups_sentences_and_newline_separates_them(tmp_path):
    content = "أ\tO\n\n-DOCSTART- -X- O\n\nب\tB-LOC\n\nج\tB-ORG\nد\tI-ORG\n\n-DOCSTART-\tO\nه\tO\n"
    docs = read_conll(write(tmp_path, content))
    assert [d.text for d in docs] == ["أ", "ب\nج د", "ه"]
    assert [d.id for d in docs] == ["data:1", "data:2", "data:3"]
    assert docs[1].entity_texts() == [("ب", "LOC"), ("ج د", "ORG")]
    assert docs[1].meta == {"line": 3, "sentences": 2}
    assert (docs[1].word_split, docs[1].tags) == ("whitespace", ["B-LOC", "B-ORG", "I-ORG"])


def test_spaces_separate_columns_and_last_column_is_the_tag(tmp_path):
    docs = read_conll(write(tmp_path, "EU  NNP B-NP   B-ORG\nrejects VBZ B-VP O\n"))
    assert docs[0].text == "EU rejects"
    assert docs[0].entity_texts() == [("EU", "ORG")]


def test_bom_and_crlf_are_accepted(tmp_path):
    docs = read_conll(write(tmp_path, ("\ufeff" + IOB2_FILE).replace("\n", "\r\n")))
    assert docs[0].text == "بيروت تستضيف المؤتمر"
    assert docs[0].entity_texts() == [("بيروت", "LOC")]


def test_token_may_contain_a_no_break_space(tmp_path):
    docs = read_conll(write(tmp_path, "10\u00a0000\tO\nدولار\tO\n"))
    assert [docs[0].text[s:e] for s, e in docs[0].words()] == ["10\u00a0000", "دولار"]


def test_iob1_is_detected_and_read(tmp_path):
    stats = ConllStats()
    path = write(tmp_path, "a\tI-PER\nb\tI-PER\nc\tB-PER\nd\tO\ne\tI-LOC\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # valid IOB1 must not be reported as repaired
        docs = read_conll(path, stats=stats)
    assert stats.schemes[str(path)] == "IOB1"
    assert docs[0].entity_texts() == [("a b", "PER"), ("c", "PER"), ("e", "LOC")]
    assert stats.repairs == 0


@pytest.mark.parametrize(
    "tags",
    [
        ["B-LOC", "I-LOC", "E-LOC", "O", "S-PER", "S-PER"],  # IOBES
        ["B-LOC", "I-LOC", "L-LOC", "O", "U-PER", "U-PER"],  # BILOU reads the same
    ],
)
def test_iobes_and_bilou_are_read(tmp_path, tags):
    stats = ConllStats()
    path = write(tmp_path, "".join(f"w{i}\t{tag}\n" for i, tag in enumerate(tags)))
    docs = read_conll(path, stats=stats)
    assert docs[0].entity_texts() == [("w0 w1 w2", "LOC"), ("w4", "PER"), ("w5", "PER")]
    assert stats.schemes[str(path)] == "IOBES" and stats.repairs == 0


def test_invalid_sequences_follow_seqeval_and_are_reported_once_with_places(tmp_path):
    content = "a\tO\nb\tI-LOC\nc\tB-PER\nd\tI-ORG\n\ne\tI-MISC\n"
    stats = ConllStats()
    with pytest.warns(DataWarning) as caught:
        docs = read_conll(write(tmp_path, content, "bad.conll"), stats=stats)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "3 tag(s)" in message and "bad.conll:2" in message and "bad.conll:4" in message and "bad.conll:6" in message
    assert stats.repairs == 3 and len(stats.repair_places) == 3
    words = words_of(["a", "b", "c", "d"])
    expected = [Span(words[s][0], words[e][1], t) for t, s, e in get_entities(["O", "I-LOC", "B-PER", "I-ORG"])]
    assert docs[0].entities == sorted(expected)
    assert docs[1].entity_texts() == [("e", "MISC")]


def test_forcing_a_scheme_changes_what_counts_as_a_repair(tmp_path):
    path = write(tmp_path, "a\tB-LOC\nb\tO\n")
    stats = ConllStats()
    with pytest.warns(DataWarning):
        docs = read_conll(path, scheme="IOBES", stats=stats)  # IOBES wants S-LOC for a one-word entity
    assert stats.repairs == 1
    assert docs[0].entity_texts() == [("a", "LOC")]


def test_stats_accumulate_over_files(tmp_path):
    stats = ConllStats()
    read_conll(write(tmp_path, IOB2_FILE, "a.conll"), stats=stats)
    read_conll(write(tmp_path, IOB2_FILE, "b.conll"), stats=stats)
    assert (stats.sentences, stats.tokens, stats.entities, stats.documents) == (4, 14, 4, 4)


# ----------------------------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "content, line, words",
    [
        (b"a\tO\nlonely\n", 2, "one column"),
        (b"a\tO\n\nb\tB-\n", 3, "no entity type"),
        (b"a\tX-LOC\n", 1, "unknown prefix"),
        (b"a\tO\nb\tb-LOC\n", 2, "lower-case"),
        (b"a\tLOC-B\n", 1, "prefix last"),
        (b"a\tO\nb\tLOC\n", 2, "not a tag"),
        ("a\tO\nمدينة\tO\n".encode("cp1256"), 2, "not valid UTF-8"),
        (b"", 1, "empty"),
        (b"\n\n  \n", 1, "empty"),
        (b"-DOCSTART- O\n\n", 1, "no tokens"),
    ],
)
def test_malformed_files_raise_located_errors(tmp_path, content, line, words):
    path = write(tmp_path, content, "broken.conll")
    with pytest.raises(DataError) as caught:
        read_conll(path)
    message = str(caught.value)
    assert f"broken.conll:{line}:" in message
    assert words in message
    assert "Fix:" in message


def test_non_utf8_error_names_the_byte_offset(tmp_path):
    path = write(tmp_path, b"a\tO\n\xe3\tO\n")
    with pytest.raises(DataError, match="byte offset 4.*iconv"):
        read_conll(path)


# ----------------------------------------------------------------------------------------------- schemes


TAG_STRATEGY = st.lists(st.sampled_from(["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(TAG_STRATEGY)
def test_tags_to_spans_reads_any_sequence_like_seqeval(tags):
    words = words_of([f"w{i}" for i in range(len(tags))])
    expected = sorted(Span(words[s][0], words[e][1], t) for t, s, e in get_entities(list(tags)))
    assert tags_to_spans(words, tags) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3), st.sampled_from(["A", "B"])), max_size=6),
    st.sampled_from(["IOB1", "IOB2", "IOBES", "BILOU"]),
)
def test_spans_survive_encoding_in_every_scheme(layout, scheme):
    # layout: (gap in words before the entity, its length, its type) -> non-overlapping word-aligned spans
    tokens, word_spans = [], []
    for gap, length, label in layout:
        tokens += ["o"] * gap
        first = len(tokens)
        tokens += ["e"] * length
        word_spans.append((first, len(tokens) - 1, label))
    words = words_of(tokens)
    spans = [Span(words[a][0], words[b][1], label) for a, b, label in word_spans]
    tags = spans_to_tags(words, spans, scheme)
    assert scheme_violations(tags, scheme if scheme != "BILOU" else "IOBES") == []
    assert tags_to_spans(words, tags) == spans


def test_iob1_writes_b_only_between_adjacent_entities_of_one_type():
    words = words_of(["a", "b", "c", "d"])
    spans = [Span(0, 1, "PER"), Span(2, 3, "PER"), Span(4, 5, "LOC"), Span(6, 7, "PER")]
    assert spans_to_tags(words, spans, "IOB1") == ["I-PER", "B-PER", "I-LOC", "I-PER"]
    assert spans_to_tags(words, spans, "IOB2") == ["B-PER", "B-PER", "B-LOC", "B-PER"]


def test_span_inside_a_word_widens_and_overlaps_are_dropped():
    words = [(0, 9), (10, 15)]
    inside, second = Span(1, 9, "LOC"), Span(2, 5, "ORG")
    tags, widened, dropped = encode_spans(words, [inside, second])
    assert tags == ["B-LOC", "O"]
    assert widened == [inside] and dropped == [second]


def test_unknown_scheme_and_bad_tags_raise():
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        spans_to_tags([(0, 1)], [], "IOX")
    with pytest.raises(ValueError, match="not a tag"):
        tags_to_spans([(0, 1)], ["LOC"])


# ----------------------------------------------------------------------------------------------- writing


def test_valid_iob2_file_round_trips_byte_for_byte(tmp_path):
    source = write(tmp_path, IOB2_FILE)
    target = tmp_path / "out.conll"
    write_conll(read_conll(source), target)
    assert target.read_text(encoding="utf-8") == IOB2_FILE


def test_grouped_documents_write_docstart_and_read_back(tmp_path):
    content = "-DOCSTART-\tO\n\nب\tB-LOC\n\nج\tB-ORG\nد\tI-ORG\n\n-DOCSTART-\tO\n\nه\tO\n\n"
    source = write(tmp_path, content)
    target = tmp_path / "out.conll"
    write_conll(read_conll(source), target, scheme="IOBES")
    assert target.read_text(encoding="utf-8") == content.replace("B-LOC", "S-LOC").replace("I-ORG", "E-ORG")
    again = read_conll(target)
    assert [(d.text, d.entities) for d in again] == [(d.text, d.entities) for d in read_conll(source)]


def test_writing_arabic_articles_uses_word_tokens_and_warns_about_widened_spans(tmp_path):
    pytest.importorskip("arabic_news.text")
    text = "زار الوزير وأذربيجان.\nثم عاد إلى بيروت"
    doc = Document(
        "a1",
        text,
        "politics",
        [Span(text.index("أذربيجان"), text.index("."), "LOC"), Span(text.index("بيروت"), len(text), "LOC")],
    )
    target = tmp_path / "out.conll"
    with pytest.warns(DataWarning, match="1 span.*widened"):
        write_conll([doc], target)
    lines = target.read_text(encoding="utf-8").split("\n")
    assert "وأذربيجان\tB-LOC" in lines and ".\tO" in lines and "بيروت\tB-LOC" in lines
    assert lines[0] == "-DOCSTART-\tO"  # the newline made two sentences, so the document is grouped


def test_writing_nothing_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no words"):
        write_conll([Document("e", "   ", word_split="whitespace")], tmp_path / "x.conll")
    assert not (tmp_path / "x.conll").exists()


# ----------------------------------------------------------------------------------------------- ANERcorp


@pytest.mark.skipif(not (ANERCORP / "train.conll").exists(), reason="../shared/data/anercorp is not present")
def test_anercorp_train_counts_and_round_trip_match_seqeval(tmp_path):
    """Counts and entities only: the round trip's speed is benchmarks/conll_speed.py's to measure (a wall-clock bound
    here failed under load: 3.4 s alone took 8.1 s beside two busy processes, against a 10 s bound)."""
    path = ANERCORP / "train.conll"
    stats = ConllStats()
    with pytest.warns(DataWarning, match="39 tag"):
        docs = read_conll(path, stats=stats)
    assert (stats.sentences, stats.tokens, stats.entities) == (3973, 125_102, 9000)
    target = tmp_path / "train.conll"
    write_conll(docs, target)
    again = read_conll(target)
    sentences = _raw_sentences(path)
    assert len(again) == len(sentences)
    for doc, sentence in zip(again, sentences):
        words = doc.words()
        assert [doc.text[s:e] for s, e in words] == [token for token, _ in sentence]
        expected = [Span(words[s][0], words[e][1], t) for t, s, e in get_entities([tag for _, tag in sentence])]
        assert doc.entities == sorted(expected)


def _raw_sentences(path: Path) -> list[list[tuple[str, str]]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            token, tag = line.split("\t")
            current.append((token, tag))
        elif current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences
