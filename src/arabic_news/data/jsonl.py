"""JSON lines: the native records `{"id", "text", "topic", "entities"}`, ANT-style `{"title", "text", "label"}` and
doccano exports (`"label": [[start, end, "TYPE"], ...]`). One reader understands every record shape, so a file of
mixed records still reads; the writers differ (native records, or doccano's span lists and `cats`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..atomic import iter_utf8_lines, read_utf8
from ..errors import DataError
from .codec import Codec
from .document import Document
from .records import (
    check_new_id,
    checked,
    record_document,
    trim_spans,
    warn_trimmed,
    write_lines,
)


class JsonlCodec(Codec):
    """Native records (any record shape is read)."""

    name = "jsonl"
    extensions = (".jsonl", ".ndjson")

    def sniff(self, path: Path) -> bool:
        return not first_record_is_doccano(path)

    def read(
        self, path, *, label_field_hint: str | None = None, issues: list[DataError] | None = None
    ) -> list[Document]:
        return read_jsonl(path, label_field_hint, issues)

    def write(self, docs: list[Document], path, *, scheme: str = "IOB2") -> None:
        write_lines(path, (doc.to_dict() for doc in docs))

    def stream(self, path, *, select: Callable[[int], bool] | None = None) -> Iterator[Document]:
        return stream_jsonl(path, select)


class DoccanoCodec(JsonlCodec):
    """doccano's JSON lines: told apart from native records by the first record."""

    name = "doccano"

    def sniff(self, path: Path) -> bool:
        return first_record_is_doccano(path)

    def write(self, docs: list[Document], path, *, scheme: str = "IOB2") -> None:
        write_lines(path, (doccano_record(doc) for doc in docs))


def read_jsonl(path: str | os.PathLike, label_field: str | None, issues: list[DataError] | None) -> list[Document]:
    stem = Path(path).stem
    docs: list[Document] = []
    first_line_of: dict[str, int] = {}
    trimmed: list[str] = []
    for number, record in json_lines(path):
        doc = record_document(record, path, number, label_field, default_id=f"{stem}:{number}")
        if is_doccano(record):
            doc = trim_spans(doc, trimmed)
        check_new_id(doc.id, first_line_of, path, number, issues)
        docs.append(checked(doc, path, number, issues))
    if not docs:
        raise DataError("the file has no records", path=path, line=1, hint="write one JSON object per line")
    warn_trimmed(path, trimmed)
    return docs


def stream_jsonl(path: str | os.PathLike, select: Callable[[int], bool] | None) -> Iterator[Document]:
    """`read_jsonl` one record at a time (memory: one line, plus the ids seen, to refuse a repeated one), with the
    same checks and the same located errors. Records `select` leaves out are only decoded, not parsed, so a
    shard of a file costs little more than its own records."""
    stem = Path(path).stem
    first_line_of: dict[str, int] = {}
    trimmed: list[str] = []
    position = 0
    for number, line in iter_utf8_lines(path):
        if not line.strip():
            continue
        position += 1
        if select is not None and not select(position - 1):
            continue
        record = parse_record(line, path, number)
        doc = record_document(record, path, number, None, default_id=f"{stem}:{number}")
        if is_doccano(record):
            doc = trim_spans(doc, trimmed)
        check_new_id(doc.id, first_line_of, path, number, None)
        yield checked(doc, path, number, None)
    if not position:
        raise DataError("the file has no records", path=path, line=1, hint="write one JSON object per line")
    warn_trimmed(path, trimmed)


def json_lines(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(read_utf8(path).split("\n"), start=1):
        if line.strip():
            yield number, parse_record(line, path, number)


def parse_record(line: str, path: str | os.PathLike, number: int) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(
            f"invalid JSON at column {err.colno}: {err.msg}",
            path=path,
            line=number,
            hint="each line must hold one complete JSON object",
        ) from None
    if not isinstance(record, dict):
        raise DataError(
            f"expected a JSON object, got {type(record).__name__}",
            path=path,
            line=number,
            hint='write each record as {"id": ..., "text": ...}',
        )
    return record


def first_record_is_doccano(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    return isinstance(record, dict) and is_doccano(record)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        pass  # the reader will raise a located error for these
    return False


def is_doccano(record: dict) -> bool:
    label = record.get("label")
    entities = record.get("entities")
    old_style = isinstance(label, list) and bool(label) and all(isinstance(x, list) for x in label)
    new_style = isinstance(entities, list) and any(isinstance(e, dict) and "start_offset" in e for e in entities)
    return old_style or new_style


def doccano_record(doc: Document) -> dict:
    record: dict[str, Any] = {
        "id": doc.id,
        "text": doc.text,
        "label": [[s.start, s.end, s.label] for s in doc.entities],
    }
    if doc.topic is not None:
        record["cats"] = [doc.topic]
    record.update({k: v for k, v in doc.extra_fields().items() if k not in record})
    return record
