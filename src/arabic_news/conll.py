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

import bisect
import re
import warnings
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Iterable, Sequence

from .atomic import atomic_write, read_utf8
from .document import Document, Span
from .errors import DataError

SCHEMES = ("IOB1", "IOB2", "IOBES")
_ALIASES = {"IOB": "IOB2", "BIO": "IOB2", "BIOES": "IOBES", "IOBES": "IOBES", "BILOU": "BILOU",
            "IOB1": "IOB1", "IOB2": "IOB2"}
DOCSTART = "-DOCSTART-"
COLUMN_SEPARATORS = " \t\r\f\v"
_COLUMN_SPLIT = re.compile(f"[{COLUMN_SEPARATORS}]+")
# Words of a CoNLL-born text: runs of anything but the column separators and newlines, i.e. exactly its tokens.
_WHITESPACE_WORD = re.compile(f"[^{COLUMN_SEPARATORS}\n]+")
_VALID_TAG = re.compile(r"O|[BIESLU]-\S+")
_DOCSTART_LINE = re.compile(f"(?m)^[{COLUMN_SEPARATORS}]*{DOCSTART}(?:[{COLUMN_SEPARATORS}]|$)")
_BILOU_PREFIXES = {"L": "E", "U": "S"}  # BILOU's last and unit tags are IOBES's end and single tags
_MAX_PLACES = 100  # repair places kept in ConllStats (the count stays exact)
_PLACES_IN_WARNING = 5


class DataWarning(UserWarning):
    """Data that can be used but deserves a look (repaired tag sequences, spans widened to whole words)."""


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
        return {"sentences": self.sentences, "tokens": self.tokens, "entities": self.entities,
                "documents": self.documents, "repairs": self.repairs, "repair_places": list(self.repair_places),
                "schemes": dict(self.schemes)}


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
    chosen = _scheme_name(scheme, allow_auto=True)
    groups, grouped = _parse(path)
    all_tags = [s.tags for g in groups for s in g.sentences]
    used = _detect_scheme(all_tags) if chosen == "auto" else ("IOBES" if chosen == "BILOU" else chosen)
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
        raise DataError("the file is empty", path=path, line=1,
                        hint="a CoNLL file has one `token<TAB>tag` line per word and blank lines between sentences")
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
            raise DataError(f"line {raw.strip()!r} has one column; expected a token and a tag", path=path,
                            line=number, hint="separate the token and its tag with a tab, e.g. `بيروت<TAB>B-LOC`")
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
        raise DataError("the file has no tokens, only blank or -DOCSTART- lines", path=path, line=1,
                        hint="check that this is the right file")
    return groups, grouped


def _check_tag(tag: str, path: object, line: int) -> None:
    if _VALID_TAG.fullmatch(tag):
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
        hint = ("the tag must be the last column and be O or PREFIX-TYPE such as B-PERS; plain IO tags "
                "(a bare type) are not supported: prefix them with I-")
    raise DataError(problem, path=path, line=line, hint=hint)


def _bilou_as_iobes(tag: str) -> str:
    prefix = _BILOU_PREFIXES.get(tag[0])
    return prefix + tag[1:] if prefix else tag


def _group_document(group: _Group, doc_id: str, grouped: bool, path: object, scheme: str,
                    repairs: list[str]) -> Document:
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
    meta = {"word_split": "whitespace", "line": first_line}
    if scheme == "IOB2":  # kept as written, so seqeval's strict mode can see invalid sequences (I- without B-)
        meta["tags"] = [tag for sentence in group.sentences for tag in sentence.tags]
    if grouped:
        meta["sentences"] = len(group.sentences)
    doc = Document(id=doc_id, text="".join(pieces), entities=spans, meta=meta)
    return doc.validate(path, first_line)


def _add_stats(stats: ConllStats, path: object, groups: list[_Group], docs: list[Document],
               repairs: list[str], scheme: str) -> None:
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
        DataWarning, stacklevel=3)


# ----------------------------------------------------------------------------------------------- schemes


def _scheme_name(scheme: str, allow_auto: bool) -> str:
    key = scheme.upper()
    if allow_auto and key == "AUTO":
        return "auto"
    if key not in _ALIASES:
        choices = ", ".join((["auto"] if allow_auto else []) + list(SCHEMES) + ["BIOES", "BILOU"])
        raise ValueError(f"unknown tagging scheme {scheme!r}; choose one of {choices}")
    return _ALIASES[key]


def _split_tag(tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, _, entity_type = tag.partition("-")
    return _BILOU_PREFIXES.get(prefix, prefix), entity_type


def _detect_scheme(sentences: Iterable[Sequence[str]]) -> str:
    """IOBES if E-/S- tags occur; IOB1 if entities start with I- and B- only separates same-type neighbours;
    IOB2 otherwise (including files without entities)."""
    b_opens = i_opens = 0
    for tags in sentences:
        prev_prefix, prev_type = "O", ""
        for tag in tags:
            prefix, entity_type = _split_tag(tag)
            if prefix in "ES":
                return "IOBES"
            continues = prev_prefix != "O" and prev_type == entity_type
            b_opens += prefix == "B" and not continues
            i_opens += prefix == "I" and not continues
            prev_prefix, prev_type = prefix, entity_type
    return "IOB1" if i_opens and not b_opens else "IOB2"


def scheme_violations(tags: Sequence[str], scheme: str) -> list[int]:
    """Indices of tags that `scheme` forbids (the reading stays seqeval's; this only finds what to report)."""
    scheme = _scheme_name(scheme, allow_auto=False)
    scheme = "IOBES" if scheme == "BILOU" else scheme
    parts = [_split_tag(t) for t in tags]
    bad: list[int] = []
    for i, (prefix, entity_type) in enumerate(parts):
        prev_prefix, prev_type = parts[i - 1] if i else ("O", "")
        next_prefix, next_type = parts[i + 1] if i + 1 < len(parts) else ("O", "")
        inside = prev_type == entity_type and prev_prefix in ("B", "I")
        if scheme == "IOB2":
            wrong = prefix in "ES" or (prefix == "I" and not inside)
        elif scheme == "IOB1":
            wrong = prefix in "ES" or (prefix == "B" and not inside)
        else:
            unclosed = prefix in ("B", "I") and not (next_type == entity_type and next_prefix in ("I", "E"))
            wrong = (prefix in ("I", "E") and not inside) or unclosed
        if wrong:
            bad.append(i)
    return bad


def tags_to_spans(words: Sequence[tuple[int, int]], tags: Sequence[str], scheme: str = "auto") -> list[Span]:
    """Entities of one sentence as character spans, read as seqeval's default mode reads tags.

    That reading is the same for IOB1, IOB2 and IOBES (and BILOU, whose L-/U- count as E-/S-), so `scheme` is
    only checked; scheme violations are found by `scheme_violations`.
    """
    _scheme_name(scheme, allow_auto=True)
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} words but {len(tags)} tags")
    for tag in set(tags):
        if not _VALID_TAG.fullmatch(tag):
            raise ValueError(f"{tag!r} is not a tag: expected O or PREFIX-TYPE with prefix B, I, E, S, L or U")
    return [Span(words[first][0], words[last][1], entity_type) for entity_type, first, last in _chunks(tags)]


def _chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word) per entity, with seqeval's default-mode start and end rules."""
    chunks: list[tuple[str, int, int]] = []
    prev_prefix, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, entity_type = _split_tag(tag)
        if prev_prefix != "O" and _chunk_ends(prev_prefix, prefix, prev_type, entity_type):
            chunks.append((prev_type, begin, i - 1))
        if prefix != "O" and _chunk_starts(prev_prefix, prefix, prev_type, entity_type):
            begin = i
        prev_prefix, prev_type = prefix, entity_type
    return chunks


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str, entity_type: str) -> bool:
    return (prev_prefix in ("E", "S") or (prev_prefix in ("B", "I") and prefix in ("B", "S", "O"))
            or prev_type != entity_type)


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str, entity_type: str) -> bool:
    return (prefix in ("B", "S") or (prefix in ("E", "I") and prev_prefix in ("E", "S", "O"))
            or prev_type != entity_type)


def spans_to_tags(words: Sequence[tuple[int, int]], spans: Iterable[Span], scheme: str = "IOB2") -> list[str]:
    """One tag per word. A span that covers part of a word tags the whole word; a span whose words are
    already taken by an earlier span is left out (use `encode_spans` to learn which spans were changed)."""
    tags, _, _ = encode_spans(words, spans, scheme)
    return tags


def encode_spans(words: Sequence[tuple[int, int]], spans: Iterable[Span],
                 scheme: str = "IOB2") -> tuple[list[str], list[Span], list[Span]]:
    """Tags, the spans widened to whole words, and the spans dropped (no word, or words already tagged)."""
    scheme = _scheme_name(scheme, allow_auto=False)
    starts = [w[0] for w in words]
    owner: list[int | None] = [None] * len(words)  # which chunk covers each word
    chunks: list[tuple[str, int, int]] = []
    widened: list[Span] = []
    dropped: list[Span] = []
    for span in sorted(spans):
        first = max(bisect.bisect_right(starts, span.start) - 1, 0)
        covered = [i for i in range(first, bisect.bisect_left(starts, span.end))
                   if words[i][0] < span.end and words[i][1] > span.start]
        if not covered or any(owner[i] is not None for i in covered):
            dropped.append(span)
            continue
        if words[covered[0]][0] != span.start or words[covered[-1]][1] != span.end:
            widened.append(span)
        for i in covered:
            owner[i] = len(chunks)
        chunks.append((span.label, covered[0], covered[-1]))
    return _chunk_tags(len(words), chunks, scheme), widened, dropped


def _chunk_tags(n_words: int, chunks: list[tuple[str, int, int]], scheme: str) -> list[str]:
    tags = ["O"] * n_words
    previous_end: dict[int, str] = {}  # last word of a chunk -> its type, for IOB1's B- rule
    for label, first, last in chunks:
        for i in range(first, last + 1):
            tags[i] = f"I-{label}"
        if scheme == "IOB2" or (scheme == "IOB1" and previous_end.get(first - 1) == label):
            tags[first] = f"B-{label}"
        elif scheme in ("IOBES", "BILOU"):
            single, end = ("S", "E") if scheme == "IOBES" else ("U", "L")
            if first == last:
                tags[first] = f"{single}-{label}"
            else:
                tags[first], tags[last] = f"B-{label}", f"{end}-{label}"
        previous_end[last] = label
    return tags


# ----------------------------------------------------------------------------------------------- words


def document_words(doc: Document) -> list[tuple[int, int]]:
    """Word offsets: the CoNLL tokens for CoNLL-born texts (meta word_split == "whitespace"), else the
    project's Arabic word tokenizer (imported here so that reading CoNLL needs nothing else)."""
    if doc.meta.get("word_split") == "whitespace":
        return [(m.start(), m.end()) for m in _WHITESPACE_WORD.finditer(doc.text)]
    from .arabic import tokenize_words

    return [(token.start, token.end) for token in tokenize_words(doc.text)]


# ----------------------------------------------------------------------------------------------- writing


def write_conll(docs: Iterable[Document], path: str | PathLike, scheme: str = "IOB2") -> None:
    """Write `token<TAB>tag` lines, atomically. Sentences break where the text has a newline between words;
    `-DOCSTART-` lines separate documents when any document has more than one sentence."""
    scheme = _scheme_name(scheme, allow_auto=False)
    widened: list[str] = []
    dropped: list[str] = []
    rendered = [_render_document(doc, scheme, path, widened, dropped) for doc in docs]
    if not any(rendered):
        raise DataError("nothing to write: the documents contain no words", path=path,
                        hint="check that the input documents have text")
    grouped = any(len(sentences) > 1 for sentences in rendered)
    with atomic_write(path) as handle:
        for sentences in rendered:
            if grouped:
                handle.write(f"{DOCSTART}\tO\n\n")
            for sentence in sentences:
                handle.write("".join(f"{token}\t{tag}\n" for token, tag in sentence) + "\n")
    if widened:
        warnings.warn(f"{path}: {len(widened)} span(s) do not start and end on word boundaries and were widened "
                      f"to whole words, e.g. {', '.join(widened[:3])}", DataWarning, stacklevel=2)
    if dropped:
        warnings.warn(f"{path}: {len(dropped)} span(s) share a word with another span or cover no word and were "
                      f"left out, e.g. {', '.join(dropped[:3])}", DataWarning, stacklevel=2)


def _render_document(doc: Document, scheme: str, path: object, widened: list[str],
                     dropped: list[str]) -> list[list[tuple[str, str]]]:
    """The document's sentences as (token, tag) pairs; changed spans are noted as "doc id: span"."""
    words = document_words(doc)
    tags, doc_widened, doc_dropped = encode_spans(words, doc.entities, scheme)
    widened.extend(f"{doc.id}: {span!r}" for span in doc_widened)
    dropped.extend(f"{doc.id}: {span!r}" for span in doc_dropped)
    sentences: list[list[tuple[str, str]]] = []
    previous_end = None
    for (start, end), tag in zip(words, tags):
        token = doc.text[start:end]
        if _COLUMN_SPLIT.search(token) or "\n" in token:
            raise DataError(f"document {doc.id!r}: word {token!r} contains a space or tab, which CoNLL cannot "
                            "hold", path=path, hint="split the word or replace the character")
        if previous_end is None or "\n" in doc.text[previous_end:start]:
            sentences.append([])
        sentences[-1].append((token, tag))
        previous_end = end
    return sentences
