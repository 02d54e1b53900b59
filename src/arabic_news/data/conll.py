"""CoNLL files (one `token ... tag` line per word) and the tagging schemes IOB1, IOB2 and IOBES.

Reading turns each sentence (or each `-DOCSTART-` group of sentences) into a Document whose text is its tokens
joined by single spaces, sentences joined by newlines, with character-offset Spans; writing goes the other
way. Entities are decoded exactly as seqeval's default mode reads tags (an `I-X` after `O` or after another
type starts a new entity), so the entities the trainer learns are the ones the metrics will score.

Decisions worth knowing:
- The last column is the tag; middle columns (POS, chunk tags) are not kept.
- Columns are separated by ASCII spaces or tabs, so a token may contain other characters, e.g. a no-break space.
- BILOU tags (`L-`, `U-`) are read as IOBES (`E-`, `S-`).
- A tag that is not `O` or `PREFIX-TYPE` with an upper-case prefix among B, I, E, S, L, U is an error: `B-`
  (no type), `X-LOC` (unknown prefix), `b-LOC` (lower case), `LOC-B` (suffix style) or a bare `LOC` most
  likely mean a wrong column or another scheme, and guessing would silently change the entities.
- Tag sequences the scheme forbids are kept (read the seqeval way), counted in ConllStats and reported once
  per file as a DataWarning with the first few file:line places.
- Ids and topics do not exist in CoNLL: read documents get ids `<file stem>:<n>` (1-based), written ones lose
  their id, topic and meta.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from ..atomic import atomic_write, read_utf8
from ..errors import DataError, DataWarning
from .codec import Codec
from .document import COLUMN_SEPARATORS, Document, Span
from .schemes import (
    BILOU_PREFIXES,
    VALID_TAG,
    detect_scheme,
    encode_spans,
    scheme_name,
    scheme_violations,
    tags_to_spans,
)

DOCSTART = "-DOCSTART-"
_COLUMN_SPLIT = re.compile(f"[{COLUMN_SEPARATORS}]+")
_DOCSTART_LINE = re.compile(f"(?m)^[{COLUMN_SEPARATORS}]*{DOCSTART}(?:[{COLUMN_SEPARATORS}]|$)")
_MAX_PLACES = 100  # repair places kept in ConllStats (the count stays exact)
_PLACES_IN_WARNING = 5


class ConllCodec(Codec):
    name = "conll"
    extensions = (".conll", ".bio", ".iob", ".iob2", ".tsv")

    def read(
        self, path, *, label_field_hint: str | None = None, issues: list[DataError] | None = None
    ) -> list[Document]:
        return read_conll(path)

    def write(self, docs: list[Document], path, *, scheme: str = "IOB2") -> None:
        write_conll(docs, path, scheme=scheme)


@dataclass
class ConllStats:
    """Counts filled in by `read_conll`; pass the same object for several files to get totals."""

    sentences: int = 0
    tokens: int = 0
    entities: int = 0
    documents: int = 0
    repairs: int = 0
    repair_places: list[str] = field(default_factory=list)  # "file:line", at most _MAX_PLACES
    schemes: dict[str, str] = field(default_factory=dict)  # file -> scheme used to judge its tags

    def to_dict(self) -> dict:
        return {
            "sentences": self.sentences,
            "tokens": self.tokens,
            "entities": self.entities,
            "documents": self.documents,
            "repairs": self.repairs,
            "repair_places": list(self.repair_places),
            "schemes": dict(self.schemes),
        }


@dataclass
class _Sentence:
    tokens: list[str]
    tags: list[str]
    lines: list[int]


@dataclass
class _Group:
    """The sentences of one document; `line` is where it starts (its -DOCSTART- line or first token)."""

    line: int
    sentences: list[_Sentence] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- reading


def read_conll(path: str | PathLike, scheme: str = "auto", stats: ConllStats | None = None) -> list[Document]:
    """Read a CoNLL file into Documents; `scheme` ("auto", "IOB1", "IOB2", "IOBES") only decides what counts
    as a repair: entities are always read the way seqeval's default mode reads them."""
    chosen = scheme_name(scheme, allow_auto=True)
    groups, grouped = _parse(path)
    all_tags = [s.tags for g in groups for s in g.sentences]
    used = detect_scheme(all_tags) if chosen == "auto" else ("IOBES" if chosen == "BILOU" else chosen)
    stem = Path(path).stem
    docs: list[Document] = []
    repairs: list[str] = []
    for group in groups:
        doc = _group_document(group, f"{stem}:{len(docs) + 1}", grouped, path, used, repairs)
        docs.append(doc)
    if stats is not None:
        _add_stats(stats, path, groups, docs, repairs, used)
    if repairs:
        _warn_repairs(path, repairs, used)
    return docs


def _parse(path: str | PathLike) -> tuple[list[_Group], bool]:
    """Split the file into document groups of sentences, checking every line."""
    text = read_utf8(path)
    if not text.strip():
        raise DataError(
            "the file is empty",
            path=path,
            line=1,
            hint="a CoNLL file has one `token<TAB>tag` line per word and blank lines between sentences",
        )
    groups: list[_Group] = []
    current: _Sentence | None = None
    grouped = _DOCSTART_LINE.search(text) is not None
    known_tags: set[str] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip(COLUMN_SEPARATORS)
        columns = _COLUMN_SPLIT.split(stripped) if stripped else []
        if not columns or columns[0] == DOCSTART:
            current = None
            if columns:
                groups.append(_Group(line=number))
            continue
        if len(columns) < 2:
            raise DataError(
                f"line {raw.strip()!r} has one column; expected a token and a tag",
                path=path,
                line=number,
                hint="separate the token and its tag with a tab, e.g. `بيروت<TAB>B-LOC`",
            )
        tag = columns[-1]
        if tag not in known_tags:
            _check_tag(tag, path, number)
            known_tags.add(tag)
        if current is None:
            if not groups or not grouped:
                groups.append(_Group(line=number))
            current = _Sentence([], [], [])
            groups[-1].sentences.append(current)
        current.tokens.append(columns[0])
        current.tags.append(_bilou_as_iobes(tag))
        current.lines.append(number)
    groups = [g for g in groups if g.sentences]
    if not groups:
        raise DataError(
            "the file has no tokens, only blank or -DOCSTART- lines",
            path=path,
            line=1,
            hint="check that this is the right file",
        )
    return groups, grouped


def _check_tag(tag: str, path: object, line: int) -> None:
    if VALID_TAG.fullmatch(tag):
        return
    if re.fullmatch(r"[A-Za-z]-", tag):
        problem, hint = f"tag {tag!r} has no entity type", f"write the type after the dash, e.g. {tag}LOC"
    elif tag == "o" or re.fullmatch(r"[bieslu]-\S+", tag):
        problem, hint = f"tag {tag!r} has a lower-case prefix", f"use upper-case prefixes: {tag[0].upper() + tag[1:]}"
    elif re.fullmatch(r"\S+-[BIESLU]", tag):
        problem, hint = f"tag {tag!r} puts the prefix last", "write prefix first, e.g. B-LOC instead of LOC-B"
    elif re.fullmatch(r"[^-\s]+-\S+", tag):
        problem = f"tag {tag!r} has an unknown prefix {tag.split('-', 1)[0]!r}"
        hint = "prefixes are B-, I-, E-, S- (IOB1/IOB2/IOBES) or L-, U- (BILOU)"
    else:
        problem = f"last column {tag!r} is not a tag"
        hint = (
            "the tag must be the last column and be O or PREFIX-TYPE such as B-PERS; plain IO tags "
            "(a bare type) are not supported: prefix them with I-"
        )
    raise DataError(problem, path=path, line=line, hint=hint)


def _bilou_as_iobes(tag: str) -> str:
    prefix = BILOU_PREFIXES.get(tag[0])
    return prefix + tag[1:] if prefix else tag


def _group_document(
    group: _Group, doc_id: str, grouped: bool, path: object, scheme: str, repairs: list[str]
) -> Document:
    """Join a group's tokens into one text and decode its tags into spans, sentence by sentence."""
    pieces: list[str] = []
    spans: list[Span] = []
    offset = 0
    for index, sentence in enumerate(group.sentences):
        if index:
            pieces.append("\n")
            offset += 1
        words = []
        for position, token in enumerate(sentence.tokens):
            if position:
                pieces.append(" ")
                offset += 1
            words.append((offset, offset + len(token)))
            pieces.append(token)
            offset += len(token)
        spans.extend(tags_to_spans(words, sentence.tags))
        repairs.extend(f"{path}:{sentence.lines[i]}" for i in scheme_violations(sentence.tags, scheme))
    first_line = group.line if grouped else group.sentences[0].lines[0]
    meta: dict = {"line": first_line}
    if grouped:
        meta["sentences"] = len(group.sentences)
    # IOB2 tags are kept as written, so seqeval's strict mode can see invalid sequences (I- without B-).
    tags = [tag for sentence in group.sentences for tag in sentence.tags] if scheme == "IOB2" else None
    doc = Document(id=doc_id, text="".join(pieces), entities=spans, meta=meta, word_split="whitespace", tags=tags)
    return doc.validate(path, first_line)


def _add_stats(
    stats: ConllStats, path: object, groups: list[_Group], docs: list[Document], repairs: list[str], scheme: str
) -> None:
    stats.sentences += sum(len(g.sentences) for g in groups)
    stats.tokens += sum(len(s.tokens) for g in groups for s in g.sentences)
    stats.entities += sum(len(d.entities) for d in docs)
    stats.documents += len(docs)
    stats.repairs += len(repairs)
    stats.repair_places.extend(repairs[: max(0, _MAX_PLACES - len(stats.repair_places))])
    stats.schemes[str(path)] = scheme


def _warn_repairs(path: object, places: list[str], scheme: str) -> None:
    shown = ", ".join(places[:_PLACES_IN_WARNING]) + (", ..." if len(places) > _PLACES_IN_WARNING else "")
    warnings.warn(
        f"{path}: {len(places)} tag(s) break the {scheme} scheme (e.g. I-X after O or after another type); they "
        f"were read the way seqeval's default mode reads them (such a tag starts an entity). First: {shown}",
        DataWarning,
        stacklevel=3,
    )


# ----------------------------------------------------------------------------------------------- writing


def write_conll(docs: Iterable[Document], path: str | PathLike, scheme: str = "IOB2") -> None:
    """Write `token<TAB>tag` lines, atomically. Sentences break where the text has a newline between words;
    `-DOCSTART-` lines separate documents when any document has more than one sentence."""
    scheme = scheme_name(scheme, allow_auto=False)
    widened: list[str] = []
    dropped: list[str] = []
    rendered = [_render_document(doc, scheme, path, widened, dropped) for doc in docs]
    if not any(rendered):
        raise DataError(
            "nothing to write: the documents contain no words",
            path=path,
            hint="check that the input documents have text",
        )
    grouped = any(len(sentences) > 1 for sentences in rendered)
    with atomic_write(path) as handle:
        for sentences in rendered:
            if grouped:
                handle.write(f"{DOCSTART}\tO\n\n")
            for sentence in sentences:
                handle.write("".join(f"{token}\t{tag}\n" for token, tag in sentence) + "\n")
    if widened:
        warnings.warn(
            f"{path}: {len(widened)} span(s) do not start and end on word boundaries and were widened "
            f"to whole words, e.g. {', '.join(widened[:3])}",
            DataWarning,
            stacklevel=2,
        )
    if dropped:
        warnings.warn(
            f"{path}: {len(dropped)} span(s) share a word with another span or cover no word and were "
            f"left out, e.g. {', '.join(dropped[:3])}",
            DataWarning,
            stacklevel=2,
        )


def _render_document(
    doc: Document, scheme: str, path: object, widened: list[str], dropped: list[str]
) -> list[list[tuple[str, str]]]:
    """The document's sentences as (token, tag) pairs; changed spans are noted as "doc id: span"."""
    words = doc.words()
    tags, doc_widened, doc_dropped = encode_spans(words, doc.entities, scheme)
    widened.extend(f"{doc.id}: {span!r}" for span in doc_widened)
    dropped.extend(f"{doc.id}: {span!r}" for span in doc_dropped)
    sentences: list[list[tuple[str, str]]] = []
    previous_end = None
    for (start, end), tag in zip(words, tags):
        token = doc.text[start:end]
        if _COLUMN_SPLIT.search(token) or "\n" in token:
            raise DataError(
                f"document {doc.id!r}: word {token!r} contains a space or tab, which CoNLL cannot hold",
                path=path,
                hint="split the word or replace the character",
            )
        if previous_end is None or "\n" in doc.text[previous_end:start]:
            sentences.append([])
        sentences[-1].append((token, tag))
        previous_end = end
    return sentences
