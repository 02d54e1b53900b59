"""Label Studio JSON exports: a list of tasks whose first not-cancelled annotation holds `labels` regions (entities)
and `choices` (the topic). `labelstudio_prediction_task` writes a model's output as a task's `predictions`
(pre-annotations, with `model_version` and a score per region), which Label Studio imports for people to correct;
the corrected export reads back here (its `annotations`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text, read_utf8
from ..errors import DataError
from .codec import Codec
from .document import Document, Span, typed_fields
from .records import check_new_id, checked, entity, one_topic, trim_spans, warn_trimmed


class LabelStudioCodec(Codec):
    name = "labelstudio"
    extensions = (".json",)

    def read(
        self, path, *, label_field_hint: str | None = None, issues: list[DataError] | None = None
    ) -> list[Document]:
        return read_labelstudio(path, issues)

    def write(self, docs: list[Document], path, *, scheme: str = "IOB2") -> None:
        tasks = [labelstudio_task(doc) for doc in docs]
        atomic_write_text(path, json.dumps(tasks, ensure_ascii=False, indent=2) + "\n")


def read_labelstudio(path: str | os.PathLike, issues: list[DataError] | None) -> list[Document]:
    stem = Path(path).stem
    docs: list[Document] = []
    first_line_of: dict[str, int] = {}
    trimmed: list[str] = []
    for index, (line, task) in enumerate(_json_array_items(path), start=1):
        where = dict(path=path, line=line)
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise DataError(
                f"task {index} has no data.text string",
                **where,
                hint="export with Label Studio's JSON format from a project whose text field is 'text'",
            )
        entities, topic = _labelstudio_labels(_first_annotation(task), data["text"], where)
        doc_id = data.get("id", task.get("id"))
        typed = typed_fields(data)
        meta = {k: v for k, v in data.items() if k not in ("text", "id", *typed)}
        doc = Document(
            id=f"{stem}:{index}" if doc_id is None else str(doc_id),
            text=data["text"],
            topic=topic,
            entities=entities,
            meta=meta,
            **typed,
        )
        check_new_id(doc.id, first_line_of, path, line, issues)
        docs.append(checked(trim_spans(doc, trimmed), path, line, issues))
    if not docs:
        raise DataError("the export has no tasks", path=path, line=1, hint="export a project that has tasks")
    warn_trimmed(path, trimmed)
    return docs


def _json_array_items(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """Items of a top-level JSON list with the line each starts on (a single object counts as a list of one)."""
    text = read_utf8(path)
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if position == len(text):
        raise DataError("the file is empty", path=path, line=1, hint="export the project as JSON")
    single = text[position] == "{"
    if not single:
        if text[position] != "[":
            raise DataError(
                "expected a JSON list of tasks",
                path=path,
                line=_line_at(text, position),
                hint="export the project with Label Studio's JSON format",
            )
        position = _skip_space(text, position + 1)
    while position < len(text) and text[position] != "]":
        item, end = _decode_at(decoder, text, position, path)
        yield _line_at(text, position), item
        position = _skip_space(text, end)
        if single:
            if position < len(text):
                raise DataError(
                    "more than one JSON value: this looks like JSON lines",
                    path=path,
                    line=_line_at(text, position),
                    hint="name the file .jsonl or read it as jsonl",
                )
            return
        if position < len(text) and text[position] == ",":
            position = _skip_space(text, position + 1)
        elif position < len(text) and text[position] != "]":
            raise DataError(
                "expected ',' or ']' between tasks",
                path=path,
                line=_line_at(text, position),
                hint="check the JSON syntax near this line",
            )
    if position >= len(text):
        raise DataError(
            "the JSON list is not closed with ']'",
            path=path,
            line=_line_at(text, len(text)),
            hint="the file may be truncated; export it again",
        )
    after = _skip_space(text, position + 1)
    if after < len(text):
        raise DataError(
            "unexpected text after the closing ']'",
            path=path,
            line=_line_at(text, after),
            hint="a Label Studio export holds exactly one JSON list",
        )


def _decode_at(decoder: json.JSONDecoder, text: str, position: int, path: object) -> tuple[Any, int]:
    try:
        return decoder.raw_decode(text, position)
    except json.JSONDecodeError as err:
        raise DataError(
            f"invalid JSON at column {err.colno}: {err.msg}",
            path=path,
            line=err.lineno,
            hint="check the JSON syntax near this line",
        ) from None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _first_annotation(task: dict) -> dict | None:
    """The first annotation that was not cancelled (Label Studio keeps skipped ones with was_cancelled)."""
    for annotation in task.get("annotations") or []:
        if isinstance(annotation, dict) and not annotation.get("was_cancelled"):
            return annotation
    return None


def _labelstudio_labels(annotation: dict | None, text: str, where: dict) -> tuple[list[Span], str | None]:
    spans: list[Span] = []
    topic = None
    for item in (annotation or {}).get("result") or []:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, dict):
            continue
        if item.get("type") == "labels":
            spans.append(_labelstudio_span(value, text, where))
        elif item.get("type") == "choices":
            topic = one_topic(value.get("choices"), "choices", where)
    return spans, topic


def _labelstudio_span(value: dict, text: str, where: dict) -> Span:
    labels = value.get("labels")
    if not isinstance(labels, list) or len(labels) != 1:
        raise DataError(
            f"a region has labels {labels!r}; flat NER needs exactly one",
            **where,
            hint="give each region one label in Label Studio",
        )
    span = entity(
        {"start": value.get("start"), "end": value.get("end"), "label": labels[0], "text": value.get("text") or ""},
        "region",
        where,
    )
    if span.text and text[span.start : span.end] != span.text:
        # Older Label Studio versions counted UTF-16 code units (emoji count twice); convert when that fits.
        start, end = _utf16_to_index(text, span.start), _utf16_to_index(text, span.end)
        if text[start:end] == span.text:
            return Span(start, end, span.label, text=span.text)
    return span


def _utf16_to_index(text: str, units: int) -> int:
    count = 0
    for index, char in enumerate(text):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def labelstudio_task(doc: Document) -> dict:
    data = {"id": doc.id, "text": doc.text, **{k: v for k, v in doc.extra_fields().items() if k not in ("id", "text")}}
    return {"data": data, "annotations": [{"result": _labelstudio_result(doc)}]}


def labelstudio_prediction_task(doc: Document, model_version: str) -> dict:
    """A task whose `predictions` hold the model's entities and topic, each region with its `score`; the
    prediction's own score is the mean of its regions' scores. The data keeps the record's own fields, not the
    model's topic score and probabilities (they are in the prediction)."""
    result = _labelstudio_result(doc)
    for region, span in zip(result, doc.entities):
        if span.score is not None:
            region["score"] = round(float(span.score), 6)
    if doc.topic is not None and doc.topic_score is not None:
        result[-1]["score"] = round(float(doc.topic_score), 6)
    scores = [region["score"] for region in result if "score" in region]
    prediction: dict[str, Any] = {"model_version": model_version, "result": result}
    if scores:
        prediction["score"] = round(sum(scores) / len(scores), 6)
    data = {"id": doc.id, "text": doc.text, **{k: v for k, v in doc.meta.items() if k not in ("id", "text")}}
    return {"data": data, "predictions": [prediction]}


def write_labelstudio_predictions(docs: list[Document], path: str | os.PathLike, model_version: str) -> None:
    tasks = [labelstudio_prediction_task(doc, model_version) for doc in docs]
    atomic_write_text(path, json.dumps(tasks, ensure_ascii=False, indent=2) + "\n")


def _labelstudio_result(doc: Document) -> list[dict]:
    result: list[dict] = [
        {
            "id": f"{doc.id}-e{n}",
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {"start": s.start, "end": s.end, "text": doc.text[s.start : s.end], "labels": [s.label]},
        }
        for n, s in enumerate(doc.entities, start=1)
    ]
    if doc.topic is not None:
        result.append(
            {
                "id": f"{doc.id}-topic",
                "from_name": "topic",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [doc.topic]},
            }
        )
    return result
