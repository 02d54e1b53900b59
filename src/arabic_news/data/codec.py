"""The `Codec` base class: one file format, its name, the extensions it claims, how to read and write it.

A format is a subclass in its own module (conll, jsonl, labelstudio, txt), registered in `formats.CODECS`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

from ..errors import DataError
from .document import Document


class Codec:
    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]  # lower case, with the dot
    reads_folders: ClassVar[bool] = False  # a folder path is read by this codec
    writable: ClassVar[bool] = True  # False for input-only formats

    def sniff(self, path: Path) -> bool:
        """Whether the file's content is this format, when several codecs claim its extension."""
        return True

    def read(
        self, path, *, label_field_hint: str | None = None, issues: list[DataError] | None = None
    ) -> list[Document]:
        """Every document of `path`, validated; with `issues`, problems inside a document are appended there and
        the offending span or topic is left out instead of raising (syntax errors always raise)."""
        raise NotImplementedError

    def write(self, docs: list[Document], path, *, scheme: str = "IOB2") -> None:
        """Write `docs` atomically (`scheme`: the tagging scheme of word-tag formats)."""
        raise NotImplementedError

    def stream(self, path, *, select: Callable[[int], bool] | None = None) -> Iterator[Document]:
        """The documents of `path` one at a time, validated as `read` validates them. `select(position)` (the
        0-based position of a document in the file) says which documents to read at all; the others are skipped
        unparsed where the format allows. Line formats (jsonl, a folder of txt) read lazily, so memory holds one
        document; the others read the whole file first (this default)."""
        for position, doc in enumerate(self.read(path)):
            if select is None or select(position):
                yield doc
