"""The one data type of the project: a Document with character-offset entity Spans.

Gold data, model predictions and evaluation inputs are all Documents, so every reader, the trainer, the
inference API and the metrics speak the same language. Offsets index the ORIGINAL text, end exclusive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import DataError
from ..text import tokenize_words


@dataclass(frozen=True, order=True)
class Span:
    """An entity: `text[start:end]` carries `label`. `text` and `score` ride along but do not affect equality."""

    start: int
    end: int
    label: str
    text: str = field(default="", compare=False)
    score: float | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        shown = f" {self.text!r}" if self.text else ""
        score = f" score={self.score:.3f}" if self.score is not None else ""
        return f"Span({self.start}, {self.end}, {self.label!r}{shown}{score})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "label": self.label}
        if self.text:
            out["text"] = self.text
        if self.score is not None:
            out["score"] = round(float(self.score), 6)
        return out


@dataclass
class Document:
    """An article (or sentence): its text, optional topic, flat entity spans and any extra fields in `meta`.

    The typed fields after `meta` are written to and read from JSON records under their own names:
    - `word_split`: "whitespace" for texts born from CoNLL tokens (their words are the tokens), else None (the
      project's Arabic word tokenizer);
    - `tags`: word-level tags as a CoNLL file wrote them or a word-level model predicted them, kept so strict
      seqeval scoring sees invalid sequences;
    - `topic_score`, `topic_probabilities`: a topic model's confidence in `topic` and in every class.
    `meta` holds the record's other fields (title, source, ...) untouched.
    """

    id: str
    text: str
    topic: str | None = None
    entities: list[Span] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    word_split: str | None = None
    tags: list[str] | None = None
    topic_score: float | None = None
    topic_probabilities: dict[str, float] | None = None

    def __post_init__(self) -> None:
        # Fill in each span's text so that spans always print with what they cover.
        self.entities = sorted(
            replace(s, text=self.text[s.start : s.end]) if not s.text and 0 <= s.start < s.end <= len(self.text) else s
            for s in self.entities
        )

    def validate(self, path: object = None, line: int | None = None) -> Document:
        """Raise DataError naming the document and the span for anything a flat NER corpus must not contain."""
        where = dict(path=path, line=line)
        if not isinstance(self.text, str):
            raise DataError(
                f"document {self.id!r}: text must be a string, got {type(self.text).__name__}",
                **where,
                hint="store the article text as a JSON string",
            )
        if self.topic is not None and (not isinstance(self.topic, str) or not self.topic.strip()):
            raise DataError(
                f"document {self.id!r}: topic must be a non-empty string or null, got {self.topic!r}",
                **where,
                hint="use one label such as 'sport', or leave the topic out",
            )
        previous: Span | None = None
        for span in self.entities:
            _check_span(self, span, where)
            if previous is not None and span.start < previous.end:
                raise DataError(
                    f"document {self.id!r}: spans {previous!r} and {span!r} overlap; flat NER allows one label per "
                    "character",
                    **where,
                    hint="keep the outer or the inner entity, not both",
                )
            previous = span
        return self

    def entity_texts(self) -> list[tuple[str, str]]:
        return [(s.text, s.label) for s in self.entities]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.topic is not None:
            out["topic"] = self.topic
        out["entities"] = [s.to_dict() for s in self.entities]
        out.update({k: v for k, v in self.extra_fields().items() if k not in out})
        return out

    def extra_fields(self) -> dict[str, Any]:
        """What a JSON record carries beside id, text, topic and entities: the typed fields that are set, then meta."""
        out = {name: getattr(self, name) for name in TYPED_FIELDS if getattr(self, name) is not None}
        out.update({k: v for k, v in self.meta.items() if k not in out})
        return out

    def words(self) -> list[tuple[int, int]]:
        """Word offsets: the CoNLL tokens for CoNLL-born texts (`word_split == "whitespace"`), else the project's
        Arabic word tokenizer. Word-level tags and word-level scores are over these words."""
        if self.word_split == "whitespace":
            return [(m.start(), m.end()) for m in _WHITESPACE_WORD.finditer(self.text)]
        return [(token.start, token.end) for token in tokenize_words(self.text)]

    def unlabeled(self) -> Document:
        """A copy without entities, topic or anything predicted or read as tags: what a model gets to see."""
        return replace(self, entities=[], topic=None, tags=None, topic_score=None, topic_probabilities=None)


TYPED_FIELDS = ("word_split", "tags", "topic_score", "topic_probabilities")
"""Document fields that JSON records carry under their own names (beside id, text, topic and entities)."""
_TAG = re.compile(r"O|[BIESLU]-\S+")


def typed_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The typed Document fields of a JSON record, where the value has the field's shape. A field of another shape
    (say `tags` holding an article's keywords) is the user's own and stays in `meta`."""
    checks = {
        "word_split": lambda v: isinstance(v, str),
        "tags": lambda v: isinstance(v, list) and all(isinstance(t, str) and _TAG.fullmatch(t) for t in v),
        "topic_score": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "topic_probabilities": lambda v: isinstance(v, dict),
    }
    return {name: record[name] for name, fits in checks.items() if name in record and fits(record[name])}


COLUMN_SEPARATORS = " \t\r\f\v"
_WHITESPACE_WORD = re.compile(f"[^{COLUMN_SEPARATORS}\n]+")  # a CoNLL-born text's words: exactly its tokens


def _check_span(doc: Document, span: Span, where: dict) -> None:
    name = f"document {doc.id!r}: span {span!r}"
    if not isinstance(span.label, str) or not span.label.strip():
        raise DataError(f"{name} has an empty label", **where, hint="give every span a type such as PERS, LOC, ORG")
    if not (isinstance(span.start, int) and isinstance(span.end, int)):
        raise DataError(f"{name}: start and end must be integers", **where, hint="use character offsets")
    if span.start >= span.end:
        raise DataError(
            f"{name}: start must be smaller than end",
            **where,
            hint="end is exclusive: a one-letter entity at 5 is start=5, end=6",
        )
    if span.start < 0 or span.end > len(doc.text):
        raise DataError(
            f"{name} is outside the text (length {len(doc.text)})",
            **where,
            hint="offsets count characters (not bytes) of the text as stored",
        )
    covered = doc.text[span.start : span.end]
    if span.text and span.text != covered:
        raise DataError(
            f"{name}: its text {span.text!r} differs from text[{span.start}:{span.end}] = {covered!r}",
            **where,
            hint="recompute the offsets against the stored text (CRLF and BOMs shift them)",
        )
    if covered != covered.strip():
        raise DataError(
            f"{name} starts or ends with whitespace",
            **where,
            hint="trim the span to the first and last non-space character",
        )


def label_set(docs: Iterable[Document]) -> list[str]:
    """Sorted entity labels used in `docs`."""
    return sorted({s.label for d in docs for s in d.entities})


def topic_set(docs: Iterable[Document]) -> list[str]:
    return sorted({d.topic for d in docs if d.topic is not None})
