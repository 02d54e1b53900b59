"""Read and write Documents in every supported file format, chosen by extension or named explicitly.

Each format is a `Codec` (one module each: conll, jsonl, labelstudio, txt); `CODECS` is the registry. To add a
format, subclass `Codec` (codec.py) in a new module and add an instance to `CODECS`.

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

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors import DataError
from .codec import Codec
from .conll import ConllCodec
from .document import Document
from .jsonl import DoccanoCodec, JsonlCodec
from .labelstudio import LabelStudioCodec, write_labelstudio_predictions
from .txt import TxtCodec

CODECS: dict[str, Codec] = {
    c.name: c for c in (ConllCodec(), JsonlCodec(), DoccanoCodec(), LabelStudioCodec(), TxtCodec())
}
FORMATS = tuple(CODECS)
_ALIASES = {
    "label-studio": "labelstudio",
    "label_studio": "labelstudio",
    "ls": "labelstudio",
    "text": "txt",
    "json-lines": "jsonl",
    "ndjson": "jsonl",
}
_FORMAT_HINT = f"name the format explicitly (one of {', '.join(FORMATS)}) or use a known extension"


def normalize_format(fmt: str) -> str:
    name = _ALIASES.get(fmt.lower(), fmt.lower())
    if name not in CODECS:
        raise DataError(f"unknown format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    return name


def _claiming(suffix: str) -> list[Codec]:
    return [codec for codec in CODECS.values() if suffix.lower() in codec.extensions]


def detect_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format `read_documents` will use for `path`: `fmt` if given, else from the extension (a folder is
    txt) and, where several formats share an extension (native or doccano JSON lines), from the content."""
    if fmt:
        return normalize_format(fmt)
    target = Path(path)
    if not target.exists():
        raise DataError("no such file or folder", path=path, hint="check the path")
    if target.is_dir():
        return next(codec.name for codec in CODECS.values() if codec.reads_folders)
    candidates = _claiming(target.suffix)
    if not candidates:
        raise DataError(f"cannot tell the format from the extension {target.suffix!r}", path=path, hint=_FORMAT_HINT)
    if len(candidates) == 1:
        return candidates[0].name
    return next((codec.name for codec in candidates if codec.sniff(target)), candidates[0].name)


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format `write_documents` will use: `fmt` if given, else from the extension (the first codec that
    claims it; an input-only format is refused)."""
    if fmt:
        return normalize_format(fmt)
    candidates = _claiming(Path(path).suffix)
    if not candidates or not candidates[0].writable:
        raise DataError(
            f"cannot tell the output format from the extension {Path(path).suffix!r}",
            path=path,
            hint="use .jsonl, .json (Label Studio) or .conll, or name the format explicitly",
        )
    return candidates[0].name


def read_documents(
    path: str | os.PathLike,
    fmt: str | None = None,
    *,
    label_field_hint: str | None = None,
    issues: list[DataError] | None = None,
) -> list[Document]:
    """Read every document of `path`, validated.

    With `issues` (a list), problems inside a document (a span out of range, overlapping spans, a bad topic)
    are appended to it and the offending span or topic is left out instead of raising, so that diagnostics can
    look at the rest; syntax errors (bad JSON, a malformed CoNLL line) always raise.
    """
    return CODECS[detect_format(path, fmt)].read(path, label_field_hint=label_field_hint, issues=issues)


def stream_documents(
    path: str | os.PathLike, fmt: str | None = None, *, select: Callable[[int], bool] | None = None
) -> Iterator[Document]:
    """`read_documents`, one document at a time (the same checks, the same located errors; JSON lines and folders
    of .txt are read lazily, other formats whole). `select(position)` picks documents by their 0-based position in
    the input (e.g. every Nth for a shard); the others are skipped without being parsed where the format allows."""
    return CODECS[detect_format(path, fmt)].stream(path, select=select)


def write_documents(
    docs: Iterable[Document], path: str | os.PathLike, fmt: str | None = None, *, scheme: str = "IOB2"
) -> None:
    """Write `docs` atomically; `scheme` is the CoNLL tagging scheme."""
    CODECS[output_format(path, fmt)].write(list(docs), path, scheme=scheme)


PREANNOTATION_FORMATS = ("label-studio", "doccano")


def write_preannotations(docs: Iterable[Document], path: str | os.PathLike, fmt: str, model_version: str) -> None:
    """A model's predictions as pre-annotations an annotation tool imports for people to correct: Label Studio
    tasks with `predictions` (`model_version`, a score per region), or doccano JSON lines (`label` span lists and
    `cats`; doccano keeps no scores). The corrected exports read back with `read_documents`."""
    if normalize_format(fmt) == "labelstudio":
        write_labelstudio_predictions(list(docs), path, model_version)
    else:
        write_documents(docs, path, "doccano")
