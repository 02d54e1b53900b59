"""The one data type of the project: a Document with character-offset entity Spans.

Gold data, model predictions and evaluation inputs are all Documents, so every reader, the trainer, the
inference API and the metrics speak the same language. Offsets index the ORIGINAL text, end exclusive.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from .errors import DataError


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
    """An article (or sentence): its text, optional topic, flat entity spans and any extra fields in `meta`."""

    id: str
    text: str
    topic: str | None = None
    entities: list[Span] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Fill in each span's text so that spans always print with what they cover.
        self.entities = sorted(
            replace(s, text=self.text[s.start:s.end]) if not s.text and 0 <= s.start < s.end <= len(self.text) else s
            for s in self.entities
        )

    def validate(self, path: object = None, line: int | None = None) -> "Document":
        """Raise DataError naming the document and the span for anything a flat NER corpus must not contain."""
        where = dict(path=path, line=line)
        if not isinstance(self.text, str):
            raise DataError(f"document {self.id!r}: text must be a string, got {type(self.text).__name__}",
                            **where, hint="store the article text as a JSON string")
        if self.topic is not None and (not isinstance(self.topic, str) or not self.topic.strip()):
            raise DataError(f"document {self.id!r}: topic must be a non-empty string or null, got {self.topic!r}",
                            **where, hint="use one label such as 'sport', or leave the topic out")
        previous: Span | None = None
        for span in self.entities:
            _check_span(self, span, where)
            if previous is not None and span.start < previous.end:
                raise DataError(
                    f"document {self.id!r}: spans {previous!r} and {span!r} overlap; flat NER allows one label per "
                    "character", **where, hint="keep the outer or the inner entity, not both")
            previous = span
        return self

    def entity_texts(self) -> list[tuple[str, str]]:
        return [(s.text, s.label) for s in self.entities]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.topic is not None:
            out["topic"] = self.topic
        out["entities"] = [s.to_dict() for s in self.entities]
        out.update({k: v for k, v in self.meta.items() if k not in out})
        return out


def _check_span(doc: Document, span: Span, where: dict) -> None:
    name = f"document {doc.id!r}: span {span!r}"
    if not isinstance(span.label, str) or not span.label.strip():
        raise DataError(f"{name} has an empty label", **where, hint="give every span a type such as PERS, LOC, ORG")
    if not (isinstance(span.start, int) and isinstance(span.end, int)):
        raise DataError(f"{name}: start and end must be integers", **where, hint="use character offsets")
    if span.start >= span.end:
        raise DataError(f"{name}: start must be smaller than end", **where,
                        hint="end is exclusive: a one-letter entity at 5 is start=5, end=6")
    if span.start < 0 or span.end > len(doc.text):
        raise DataError(f"{name} is outside the text (length {len(doc.text)})", **where,
                        hint="offsets count characters (not bytes) of the text as stored")
    covered = doc.text[span.start:span.end]
    if span.text and span.text != covered:
        raise DataError(f"{name}: its text {span.text!r} differs from text[{span.start}:{span.end}] = {covered!r}",
                        **where, hint="recompute the offsets against the stored text (CRLF and BOMs shift them)")
    if covered != covered.strip():
        raise DataError(f"{name} starts or ends with whitespace", **where,
                        hint="trim the span to the first and last non-space character")


def label_set(docs: Iterable[Document]) -> list[str]:
    """Sorted entity labels used in `docs`."""
    return sorted({s.label for d in docs for s in d.entities})


def topic_set(docs: Iterable[Document]) -> list[str]:
    return sorted({d.topic for d in docs if d.topic is not None})
