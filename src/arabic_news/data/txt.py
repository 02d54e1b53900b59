"""Raw text: a .txt file, or a folder of them, one article per file; no labels. The id is the file stem."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ..atomic import read_utf8
from ..errors import DataError
from .codec import Codec
from .document import Document


class TxtCodec(Codec):
    name = "txt"
    extensions = (".txt",)
    reads_folders = True
    writable = False

    def read(
        self, path, *, label_field_hint: str | None = None, issues: list[DataError] | None = None
    ) -> list[Document]:
        return read_txt(path)

    def stream(self, path, *, select: Callable[[int], bool] | None = None) -> Iterator[Document]:
        """One file at a time, in the order `read` gives (sorted names); memory holds the list of names."""
        for position, file in enumerate(txt_files(path)):
            if select is None or select(position):
                yield Document(id=file.stem, text=read_utf8(file))

    def write(self, docs: list[Document], path, *, scheme: str = "IOB2") -> None:
        raise DataError(
            "txt is an input format only", path=path, hint="write .jsonl to keep texts together with their labels"
        )


def read_txt(path: str | os.PathLike) -> list[Document]:
    return [Document(id=file.stem, text=read_utf8(file)) for file in txt_files(path)]


def txt_files(path: str | os.PathLike) -> list[Path]:
    """The file itself, or a folder's .txt files sorted by name (one article each)."""
    target = Path(path)
    files = (
        [target]
        if target.is_file()
        else sorted(p for p in target.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
    )
    if not files:
        raise DataError("the folder has no .txt files", path=path, hint="put one article per .txt file in it")
    return files
