"""Read and write Documents in every supported file format, chosen by extension or named explicitly.

| format        | files                         | holds                                                       |
|---------------|-------------------------------|-------------------------------------------------------------|
| `conll`       | .conll .bio .iob .iob2 .tsv   | words and entity tags (see conll.py)                        |
| `jsonl`       | .jsonl .ndjson                | the native records `{"id", "text", "topic", "entities"}`    |
| `doccano`     | .jsonl (told apart by content)| doccano exports: `"label": [[start, end, "TYPE"], ...]`     |
| `labelstudio` | .json                         | a Label Studio JSON export (a list of tasks)                |
| `txt`         | .txt, or a folder of .txt     | raw text, no labels; id = file stem                         |

One JSONL reader understands all record shapes, so a file of mixed records still reads:
- text: `text` (required); id: `id`, else `<file stem>:<line>`.
- topic: the field named by `label_field_hint`; else `topic`; else `label` when it is a string (ANT-style
  `{"id", "source", "title", "text", "label"}`); else doccano's `label` or `cats` as a one-item list of strings.
- entities: `entities` as dicts (`start`/`end`/`label`, or doccano's newer `start_offset`/`end_offset`) or
  triples; else doccano's `label` as a list of `[start, end, "TYPE"]`. An entity's `text`, when given, must
  equal the text at its offsets. Spans from annotation tools (doccano, Label Studio) that take in a space at
  an edge are trimmed to the word, with a DataWarning; native records must already be exact.
- every other field is kept in `meta` and written back by the JSON writers (the title stays in meta: the
  text stays the body).
Duplicate ids are an error: evaluation pairs gold and predicted documents by id, so a repeated id would
silently compare the wrong articles.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator

from .atomic import atomic_write, atomic_write_text, read_utf8
from .conll import DataWarning, read_conll, write_conll
from .document import Document, Span
from .errors import DataError

FORMATS = ("conll", "jsonl", "doccano", "labelstudio", "txt")
_EXTENSIONS = {".conll": "conll", ".bio": "conll", ".iob": "conll", ".iob2": "conll", ".tsv": "conll",
               ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "labelstudio", ".txt": "txt"}
_ALIASES = {"label-studio": "labelstudio", "label_studio": "labelstudio", "ls": "labelstudio", "text": "txt",
            "json-lines": "jsonl", "ndjson": "jsonl"}
_FORMAT_HINT = f"name the format explicitly (one of {', '.join(FORMATS)}) or use a known extension"


# ----------------------------------------------------------------------------------------------- dispatch


def normalize_format(fmt: str) -> str:
    name = _ALIASES.get(fmt.lower(), fmt.lower())
    if name not in FORMATS:
        raise DataError(f"unknown format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    return name


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format `read_documents` will use for `path`: `fmt` if given, else from the extension (a folder is
    txt) and, for JSON lines, from the first record (doccano or native)."""
    if fmt:
        return normalize_format(fmt)
    target = Path(path)
    if not target.exists():
        raise DataError("no such file or folder", path=path, hint="check the path")
    if target.is_dir():
        return "txt"
    name = _EXTENSIONS.get(target.suffix.lower())
    if name is None:
        raise DataError(f"cannot tell the format from the extension {target.suffix!r}", path=path, hint=_FORMAT_HINT)
    if name == "jsonl" and _first_record_is_doccano(target):
        return "doccano"
    return name


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format `write_documents` will use: `fmt` if given, else from the extension."""
    if fmt:
        return normalize_format(fmt)
    name = _EXTENSIONS.get(Path(path).suffix.lower())
    if name is None or name == "txt":
        raise DataError(f"cannot tell the output format from the extension {Path(path).suffix!r}", path=path,
                        hint="use .jsonl, .json (Label Studio) or .conll, or name the format explicitly")
    return name


def read_documents(path: str | os.PathLike, fmt: str | None = None, *, label_field_hint: str | None = None,
                   issues: list[DataError] | None = None) -> list[Document]:
    """Read every document of `path`, validated.

    With `issues` (a list), problems inside a document (a span out of range, overlapping spans, a bad topic)
    are appended to it and the offending span or topic is left out instead of raising, so that diagnostics can
    look at the rest; syntax errors (bad JSON, a malformed CoNLL line) always raise.
    """
    name = detect_format(path, fmt)
    if name == "conll":
        return read_conll(path)
    if name == "txt":
        return _read_txt(path)
    if name == "labelstudio":
        return _read_labelstudio(path, issues)
    return _read_jsonl(path, label_field_hint, issues)


def write_documents(docs: Iterable[Document], path: str | os.PathLike, fmt: str | None = None, *,
                    scheme: str = "IOB2") -> None:
    """Write `docs` atomically; `scheme` is the CoNLL tagging scheme."""
    name = output_format(path, fmt)
    docs = list(docs)
    if name == "conll":
        write_conll(docs, path, scheme=scheme)
    elif name == "jsonl":
        _write_lines(path, (doc.to_dict() for doc in docs))
    elif name == "doccano":
        _write_lines(path, (_doccano_record(doc) for doc in docs))
    elif name == "labelstudio":
        tasks = [_labelstudio_task(doc) for doc in docs]
        atomic_write_text(path, json.dumps(tasks, ensure_ascii=False, indent=2) + "\n")
    else:
        raise DataError("txt is an input format only", path=path,
                        hint="write .jsonl to keep texts together with their labels")


def _checked(doc: Document, path: object, line: int | None, issues: list[DataError] | None) -> Document:
    if issues is None:
        return doc.validate(path, line)
    try:
        return doc.validate(path, line)
    except DataError:
        return _salvaged(doc, path, line, issues)


def _salvaged(doc: Document, path: object, line: int | None, issues: list[DataError]) -> Document:
    """Keep what validates: the topic if it is valid, then each span that is valid and overlaps no kept one."""
    kept = Document(doc.id, doc.text, doc.topic, [], doc.meta)
    try:
        kept.validate(path, line)
    except DataError as err:
        issues.append(err)
        kept.topic = None
    for span in doc.entities:
        trial = Document(doc.id, doc.text, kept.topic, [*kept.entities, span], doc.meta)
        try:
            trial.validate(path, line)
        except DataError as err:
            issues.append(err)
            continue
        kept = trial
    return kept


# ----------------------------------------------------------------------------------------------- txt


def _read_txt(path: str | os.PathLike) -> list[Document]:
    target = Path(path)
    files = [target] if target.is_file() else sorted(p for p in target.iterdir()
                                                     if p.is_file() and p.suffix.lower() == ".txt")
    if not files:
        raise DataError("the folder has no .txt files", path=path, hint="put one article per .txt file in it")
    return [Document(id=file.stem, text=read_utf8(file)) for file in files]


# ----------------------------------------------------------------------------------------------- JSON lines


def _read_jsonl(path: str | os.PathLike, label_field: str | None,
                issues: list[DataError] | None) -> list[Document]:
    stem = Path(path).stem
    docs: list[Document] = []
    first_line_of: dict[str, int] = {}
    trimmed: list[str] = []
    for number, record in _json_lines(path):
        doc = _record_document(record, path, number, label_field, default_id=f"{stem}:{number}")
        if _is_doccano(record):
            doc = _trim_spans(doc, trimmed)
        _check_new_id(doc.id, first_line_of, path, number, issues)
        docs.append(_checked(doc, path, number, issues))
    if not docs:
        raise DataError("the file has no records", path=path, line=1, hint="write one JSON object per line")
    _warn_trimmed(path, trimmed)
    return docs


def _check_new_id(doc_id: str, first_line_of: dict[str, int], path: object, line: int,
                  issues: list[DataError] | None) -> None:
    if doc_id in first_line_of:
        duplicate = DataError(f"id {doc_id!r} was already used on line {first_line_of[doc_id]}", path=path,
                              line=line, hint="give every record a unique id, or leave ids out to get "
                                              "'<file stem>:<line>'")
        if issues is None:
            raise duplicate
        issues.append(duplicate)
    first_line_of.setdefault(doc_id, line)


def _json_lines(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(read_utf8(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"invalid JSON at column {err.colno}: {err.msg}", path=path, line=number,
                            hint="each line must hold one complete JSON object") from None
        if not isinstance(record, dict):
            raise DataError(f"expected a JSON object, got {type(record).__name__}", path=path, line=number,
                            hint='write each record as {"id": ..., "text": ...}')
        yield number, record


def _first_record_is_doccano(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    return isinstance(record, dict) and _is_doccano(record)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        pass  # the reader will raise a located error for these
    return False


def _is_doccano(record: dict) -> bool:
    label = record.get("label")
    entities = record.get("entities")
    old_style = isinstance(label, list) and bool(label) and all(isinstance(x, list) for x in label)
    new_style = isinstance(entities, list) and any(isinstance(e, dict) and "start_offset" in e for e in entities)
    return old_style or new_style


def _record_document(record: dict, path: object, line: int, label_field: str | None, default_id: str) -> Document:
    where = dict(path=path, line=line)
    text = record.get("text")
    if text is None:
        hint = ("this looks like a Label Studio task: save the export as .json or read it as labelstudio"
                if isinstance(record.get("data"), dict) else f"add the article text; fields found: {sorted(record)}")
        raise DataError("record has no 'text' field", **where, hint=hint)
    if not isinstance(text, str):
        raise DataError(f"'text' must be a string, got {type(text).__name__}", **where, hint="store the text as a string")
    used = {"id", "text"}
    topic = _record_topic(record, where, label_field, used)
    entities = _record_entities(record, where, used)
    doc_id = record.get("id")
    meta = {key: value for key, value in record.items() if key not in used}
    return Document(id=default_id if doc_id is None else str(doc_id), text=text, topic=topic, entities=entities,
                    meta=meta)


def _record_topic(record: dict, where: dict, label_field: str | None, used: set[str]) -> str | None:
    """The topic and, through `used`, the field it came from."""
    if label_field:
        if label_field not in record:
            return None
        used.add(label_field)
        return _one_topic(record[label_field], label_field, where)
    if "topic" in record:
        used.add("topic")
        return _one_topic(record["topic"], "topic", where)
    for field_name in ("label", "cats"):
        value = record.get(field_name)
        is_span_list = isinstance(value, list) and any(isinstance(x, list) for x in value)
        if field_name in record and not is_span_list:
            used.add(field_name)
            return _one_topic(value, field_name, where)
    return None


def _one_topic(value: Any, field_name: str, where: dict) -> str | None:
    if isinstance(value, list):  # doccano text classification: a list of labels
        if len(value) > 1:
            raise DataError(f"'{field_name}' has {len(value)} labels {value}; topic classification here is "
                            "single-label", **where, hint="keep one label per article")
        value = value[0] if value else None
    if value is not None and not isinstance(value, str):
        raise DataError(f"'{field_name}' must be a string topic, got {value!r}", **where,
                        hint='write the topic as a string, e.g. "sport"')
    return value


def _record_entities(record: dict, where: dict, used: set[str]) -> list[Span]:
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
        raise DataError(f"'{name}' must be a list, got {type(raw).__name__}", **where,
                        hint='write [{"start": 0, "end": 5, "label": "LOC"}, ...]')
    return [_entity(item, f"{name}[{i}]", where) for i, item in enumerate(raw)]


def _entity(item: Any, name: str, where: dict) -> Span:
    text, score = "", None
    if isinstance(item, dict):
        start = item.get("start", item.get("start_offset"))
        end = item.get("end", item.get("end_offset"))
        label, text, score = item.get("label"), item.get("text", ""), item.get("score")
    elif isinstance(item, list) and len(item) == 3:
        start, end, label = item
    else:
        raise DataError(f"{name} = {item!r} is not an entity", **where,
                        hint='write {"start": 0, "end": 5, "label": "LOC"} or [0, 5, "LOC"]')
    if not (_is_int(start) and _is_int(end)) or not isinstance(label, str) or not isinstance(text, str):
        raise DataError(f"{name} = {item!r} needs integer start and end and a string label", **where,
                        hint="offsets are character positions in the text, end exclusive")
    if score is not None and not isinstance(score, (int, float)):
        raise DataError(f"{name}: score must be a number, got {score!r}", **where, hint="drop the score or fix it")
    return Span(start, end, label, text=text, score=score)


def _trim_spans(doc: Document, trimmed: list[str]) -> Document:
    """Annotation tools let a selection take in the space next to a word; move such span edges onto the word.

    Only spans whose offsets are otherwise valid are touched; anything else is left for `validate` to report.
    """
    spans: list[Span] = []
    changed = False
    for span in doc.entities:
        covered = doc.text[span.start:span.end] if 0 <= span.start < span.end <= len(doc.text) else ""
        start = span.start + len(covered) - len(covered.lstrip())
        end = span.end - (len(covered) - len(covered.rstrip()))
        if covered.strip() and (start, end) != (span.start, span.end) and span.text in ("", covered):
            trimmed.append(f"{doc.id}: {span!r}")
            span = Span(start, end, span.label, score=span.score)
            changed = True
        spans.append(span)
    return Document(doc.id, doc.text, doc.topic, spans, doc.meta) if changed else doc


def _warn_trimmed(path: object, trimmed: list[str]) -> None:
    if trimmed:
        warnings.warn(f"{path}: {len(trimmed)} span(s) began or ended with whitespace and were trimmed to the "
                      f"words, e.g. {', '.join(trimmed[:3])}", DataWarning, stacklevel=3)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _write_lines(path: str | os.PathLike, records: Iterable[dict]) -> None:
    with atomic_write(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _doccano_record(doc: Document) -> dict:
    record: dict[str, Any] = {"id": doc.id, "text": doc.text,
                              "label": [[s.start, s.end, s.label] for s in doc.entities]}
    if doc.topic is not None:
        record["cats"] = [doc.topic]
    record.update({k: v for k, v in doc.meta.items() if k not in record})
    return record


# ----------------------------------------------------------------------------------------------- Label Studio


def _read_labelstudio(path: str | os.PathLike, issues: list[DataError] | None) -> list[Document]:
    stem = Path(path).stem
    docs: list[Document] = []
    first_line_of: dict[str, int] = {}
    trimmed: list[str] = []
    for index, (line, task) in enumerate(_json_array_items(path), start=1):
        where = dict(path=path, line=line)
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise DataError(f"task {index} has no data.text string", **where,
                            hint="export with Label Studio's JSON format from a project whose text field is 'text'")
        entities, topic = _labelstudio_labels(_first_annotation(task), data["text"], where)
        doc_id = data.get("id", task.get("id"))
        meta = {k: v for k, v in data.items() if k not in ("text", "id")}
        doc = Document(id=f"{stem}:{index}" if doc_id is None else str(doc_id), text=data["text"], topic=topic,
                       entities=entities, meta=meta)
        _check_new_id(doc.id, first_line_of, path, line, issues)
        docs.append(_checked(_trim_spans(doc, trimmed), path, line, issues))
    if not docs:
        raise DataError("the export has no tasks", path=path, line=1, hint="export a project that has tasks")
    _warn_trimmed(path, trimmed)
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
            raise DataError("expected a JSON list of tasks", path=path, line=_line_at(text, position),
                            hint="export the project with Label Studio's JSON format")
        position = _skip_space(text, position + 1)
    while position < len(text) and text[position] != "]":
        item, end = _decode_at(decoder, text, position, path)
        yield _line_at(text, position), item
        position = _skip_space(text, end)
        if single:
            if position < len(text):
                raise DataError("more than one JSON value: this looks like JSON lines", path=path,
                                line=_line_at(text, position), hint="name the file .jsonl or read it as jsonl")
            return
        if position < len(text) and text[position] == ",":
            position = _skip_space(text, position + 1)
        elif position < len(text) and text[position] != "]":
            raise DataError("expected ',' or ']' between tasks", path=path, line=_line_at(text, position),
                            hint="check the JSON syntax near this line")
    if position >= len(text):
        raise DataError("the JSON list is not closed with ']'", path=path, line=_line_at(text, len(text)),
                        hint="the file may be truncated; export it again")
    after = _skip_space(text, position + 1)
    if after < len(text):
        raise DataError("unexpected text after the closing ']'", path=path, line=_line_at(text, after),
                        hint="a Label Studio export holds exactly one JSON list")


def _decode_at(decoder: json.JSONDecoder, text: str, position: int, path: object) -> tuple[Any, int]:
    try:
        return decoder.raw_decode(text, position)
    except json.JSONDecodeError as err:
        raise DataError(f"invalid JSON at column {err.colno}: {err.msg}", path=path, line=err.lineno,
                        hint="check the JSON syntax near this line") from None


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
            topic = _one_topic(value.get("choices"), "choices", where)
    return spans, topic


def _labelstudio_span(value: dict, text: str, where: dict) -> Span:
    labels = value.get("labels")
    if not isinstance(labels, list) or len(labels) != 1:
        raise DataError(f"a region has labels {labels!r}; flat NER needs exactly one", **where,
                        hint="give each region one label in Label Studio")
    span = _entity({"start": value.get("start"), "end": value.get("end"), "label": labels[0],
                    "text": value.get("text") or ""}, "region", where)
    if span.text and text[span.start:span.end] != span.text:
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


def _labelstudio_task(doc: Document) -> dict:
    result: list[dict] = [
        {"id": f"{doc.id}-e{n}", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": s.start, "end": s.end, "text": doc.text[s.start:s.end], "labels": [s.label]}}
        for n, s in enumerate(doc.entities, start=1)
    ]
    if doc.topic is not None:
        result.append({"id": f"{doc.id}-topic", "from_name": "topic", "to_name": "text", "type": "choices",
                       "value": {"choices": [doc.topic]}})
    data = {"id": doc.id, "text": doc.text, **{k: v for k, v in doc.meta.items() if k not in ("id", "text")}}
    return {"data": data, "annotations": [{"result": result}]}
