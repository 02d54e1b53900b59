"""Sentence-split corpora read with context: consecutive documents joined into one.

Corpora such as ANERcorp store one sentence per document (CoNLL without `-DOCSTART-` lines), in the order of the
articles they come from. A model that reads each sentence alone cannot use what the previous sentence said about a
name (a person named in full, then by family name; an organization's acronym after its full name). Joining N
consecutive sentences into one document (one sentence a line) lets training and evaluation see each sentence with
its neighbours. Scores stay comparable with sentence-by-sentence runs: the words, entities and tags are the same;
only their grouping into documents changes.
"""

from __future__ import annotations

from ..errors import DataError
from .document import Document, Span
from .records import is_int

SEPARATOR = "\n"  # between the joined documents: one sentence a line, as CoNLL documents with -DOCSTART- are read


def join_documents(docs: list[Document], per_document: int, path: object = None) -> list[Document]:
    """Every `per_document` consecutive documents of `docs` as one (the last group may be shorter); 1 keeps them."""
    if not is_int(per_document) or per_document < 1:
        raise ValueError(f"documents to join must be a whole number >= 1, got {per_document!r}")
    if per_document == 1:
        return list(docs)
    return [_join(docs[i : i + per_document], path) for i in range(0, len(docs), per_document)]


def _join(group: list[Document], path: object) -> Document:
    first = group[0]
    _check_joinable(group, path)
    texts, entities, offset = [], [], 0
    for doc in group:
        entities.extend(Span(s.start + offset, s.end + offset, s.label, s.text, s.score) for s in doc.entities)
        texts.append(doc.text)
        offset += len(doc.text) + len(SEPARATOR)
    tags = [t for doc in group for t in doc.tags] if all(doc.tags is not None for doc in group) else None
    meta = dict(first.meta, joined=[doc.id for doc in group])
    joined = Document(
        id=first.id if len(group) == 1 else f"{first.id}..{group[-1].id}",
        text=SEPARATOR.join(texts),
        topic=first.topic,
        entities=entities,
        meta=meta,
        word_split=first.word_split,
        tags=tags,
    )
    return joined.validate(path)


def _check_joinable(group: list[Document], path: object) -> None:
    """Joining must not change what is scored: one topic, one way of splitting words."""
    for doc in group[1:]:
        if doc.topic != group[0].topic:
            raise DataError(
                f"documents {group[0].id!r} and {doc.id!r} have different topics ({group[0].topic!r}, "
                f"{doc.topic!r}), so they cannot be joined into one document",
                path=path,
                hint="join only sentence-split NER data (data.sentences_per_document); leave it unset for articles",
            )
        if doc.word_split != group[0].word_split:
            raise DataError(
                f"documents {group[0].id!r} and {doc.id!r} split words differently, so they cannot be joined",
                path=path,
                hint="join documents read from one file",
            )
