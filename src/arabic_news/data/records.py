"""JSON records -> Documents, shared by the JSON-lines and Label Studio codecs: located errors, salvaging what
validates for diagnostics, unique ids, and trimming the spaces annotation tools let into a span."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..atomic import atomic_write
from ..errors import DataError, DataWarning
from .document import Document, Span, typed_fields


def checked(doc: Document, path: object, line: int | None, issues: list[DataError] | None) -> Document:
    if issues is None:
        return doc.validate(path, line)
    try:
        return doc.validate(path, line)
    except DataError:
        return salvaged(doc, path, line, issues)


def salvaged(doc: Document, path: object, line: int | None, issues: list[DataError]) -> Document:
    """Keep what validates: the topic if it is valid, then each span that is valid and overlaps no kept one."""
    kept = replace(doc, entities=[])
    try:
        kept.validate(path, line)
    except DataError as err:
        issues.append(err)
        kept.topic = None
    for span in doc.entities:
        trial = replace(kept, entities=[*kept.entities, span])
        try:
            trial.validate(path, line)
        except DataError as err:
            issues.append(err)
            continue
        kept = trial
    return kept


def check_new_id(
    doc_id: str, first_line_of: dict[str, int], path: object, line: int, issues: list[DataError] | None
) -> None:
    if doc_id in first_line_of:
        duplicate = DataError(
            f"id {doc_id!r} was already used on line {first_line_of[doc_id]}",
            path=path,
            line=line,
            hint="give every record a unique id, or leave ids out to get '<file stem>:<line>'",
        )
        if issues is None:
            raise duplicate
        issues.append(duplicate)
    first_line_of.setdefault(doc_id, line)


def record_document(record: dict, path: object, line: int, label_field: str | None, default_id: str) -> Document:
    where = dict(path=path, line=line)
    text = record.get("text")
    if text is None:
        hint = (
            "this looks like a Label Studio task: save the export as .json or read it as labelstudio"
            if isinstance(record.get("data"), dict)
            else f"add the article text; fields found: {sorted(record)}"
        )
        raise DataError("record has no 'text' field", **where, hint=hint)
    if not isinstance(text, str):
        raise DataError(
            f"'text' must be a string, got {type(text).__name__}", **where, hint="store the text as a string"
        )
    typed = typed_fields(record)
    used = {"id", "text", *typed}
    topic = record_topic(record, where, label_field, used)
    entities = record_entities(record, where, used)
    doc_id = record.get("id")
    meta = {key: value for key, value in record.items() if key not in used}
    return Document(
        id=default_id if doc_id is None else str(doc_id), text=text, topic=topic, entities=entities, meta=meta, **typed
    )


def record_topic(record: dict, where: dict, label_field: str | None, used: set[str]) -> str | None:
    """The topic and, through `used`, the field it came from."""
    if label_field:
        if label_field not in record:
            return None
        used.add(label_field)
        return one_topic(record[label_field], label_field, where)
    if "topic" in record:
        used.add("topic")
        return one_topic(record["topic"], "topic", where)
    for field_name in ("label", "cats"):
        value = record.get(field_name)
        is_span_list = isinstance(value, list) and any(isinstance(x, list) for x in value)
        if field_name in record and not is_span_list:
            used.add(field_name)
            return one_topic(value, field_name, where)
    return None


def one_topic(value: Any, field_name: str, where: dict) -> str | None:
    if isinstance(value, list):  # doccano text classification: a list of labels
        if len(value) > 1:
            raise DataError(
                f"'{field_name}' has {len(value)} labels {value}; topic classification here is single-label",
                **where,
                hint="keep one label per article",
            )
        value = value[0] if value else None
    if value is not None and not isinstance(value, str):
        raise DataError(
            f"'{field_name}' must be a string topic, got {value!r}",
            **where,
            hint='write the topic as a string, e.g. "sport"',
        )
    return value


def record_entities(record: dict, where: dict, used: set[str]) -> list[Span]:
    if "entities" in record:
        used.add("entities")
        raw = record["entities"]
        name = "entities"
    elif "label" not in used and isinstance(record.get("label"), list):
        used.add("label")
        raw = record["label"]
        name = "label"
    else:
        return []
    if not isinstance(raw, list):
        raise DataError(
            f"'{name}' must be a list, got {type(raw).__name__}",
            **where,
            hint='write [{"start": 0, "end": 5, "label": "LOC"}, ...]',
        )
    return [entity(item, f"{name}[{i}]", where) for i, item in enumerate(raw)]


def entity(item: Any, name: str, where: dict) -> Span:
    text, score = "", None
    if isinstance(item, dict):
        start = item.get("start", item.get("start_offset"))
        end = item.get("end", item.get("end_offset"))
        label, text, score = item.get("label"), item.get("text", ""), item.get("score")
    elif isinstance(item, list) and len(item) == 3:
        start, end, label = item
    else:
        raise DataError(
            f"{name} = {item!r} is not an entity",
            **where,
            hint='write {"start": 0, "end": 5, "label": "LOC"} or [0, 5, "LOC"]',
        )
    if not (is_int(start) and is_int(end)) or not isinstance(label, str) or not isinstance(text, str):
        raise DataError(
            f"{name} = {item!r} needs integer start and end and a string label",
            **where,
            hint="offsets are character positions in the text, end exclusive",
        )
    if score is not None and not isinstance(score, (int, float)):
        raise DataError(f"{name}: score must be a number, got {score!r}", **where, hint="drop the score or fix it")
    return Span(start, end, label, text=text, score=score)


def trim_spans(doc: Document, trimmed: list[str]) -> Document:
    """Annotation tools let a selection take in the space next to a word; move such span edges onto the word.

    Only spans whose offsets are otherwise valid are touched; anything else is left for `validate` to report.
    """
    spans: list[Span] = []
    changed = False
    for span in doc.entities:
        covered = doc.text[span.start : span.end] if 0 <= span.start < span.end <= len(doc.text) else ""
        start = span.start + len(covered) - len(covered.lstrip())
        end = span.end - (len(covered) - len(covered.rstrip()))
        if covered.strip() and (start, end) != (span.start, span.end) and span.text in ("", covered):
            trimmed.append(f"{doc.id}: {span!r}")
            span = Span(start, end, span.label, score=span.score)
            changed = True
        spans.append(span)
    return replace(doc, entities=spans) if changed else doc


def warn_trimmed(path: object, trimmed: list[str]) -> None:
    if trimmed:
        warnings.warn(
            f"{path}: {len(trimmed)} span(s) began or ended with whitespace and were trimmed to the "
            f"words, e.g. {', '.join(trimmed[:3])}",
            DataWarning,
            stacklevel=3,
        )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def write_lines(path: str | os.PathLike, records: Iterable[dict]) -> None:
    with atomic_write(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
