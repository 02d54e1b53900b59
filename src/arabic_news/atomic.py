"""Safe file I/O: atomic writes, and strict UTF-8 reads that say where a bad byte is.

A crash or Ctrl-C in the middle of writing a data file or a report must never leave a half-written file that
looks complete, so every writer goes through `atomic_write`: it writes a temporary file in the target folder,
fsyncs it and renames it over the target in one step (`os.replace` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import DataError

_BOM = "\ufeff"


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Yield a file object; on a clean exit its content replaces `path`, on an error `path` is left untouched.

    Text modes write newlines as given ("\\n" stays "\\n" on every platform), so data files are byte-identical
    across operating systems. Missing parent folders are created.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write supports modes 'w' and 'wb', not {mode!r}")
    target = Path(path)
    if target.is_dir():  # os.replace would fail only after all the work, with a bare IsADirectoryError
        raise DataError(
            "this is a folder, but a file is to be written here",
            path=target,
            hint="give a file path, e.g. inside that folder",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": ""})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _permissions_for(target))
        os.replace(tmp_name, target)
    except BaseException:
        # BaseException too: a KeyboardInterrupt must not leave the temporary file behind either.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(target.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path) as handle:
        handle.write(text)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Pretty JSON, Arabic kept readable (no \\u escapes), trailing newline."""
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def read_utf8(path: str | os.PathLike) -> str:
    """Read a whole file as UTF-8, exactly (no newline translation), with a leading BOM removed.

    Bytes that are not UTF-8 raise DataError with the line and byte offset, since Arabic corpora are often
    stored in Windows-1256 or ISO-8859-6 and decoding them "leniently" would silently produce garbage.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("no such file", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise DataError("this is a folder, not a file", path=path, hint="give a file inside it") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _not_utf8(path, raw[err.start], err.start, raw.count(b"\n", 0, err.start) + 1) from None
    return text[1:] if text.startswith(_BOM) else text


def iter_utf8_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """The lines of `read_utf8(path)` (without their "\n"), numbered from 1, one at a time: memory holds one line
    whatever the file's size. The same strictness and the same located error (line, byte offset) as `read_utf8`."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise DataError("no such file", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise DataError("this is a folder, not a file", path=path, hint="give a file inside it") from None
    with handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise _not_utf8(path, raw[err.start], offset + err.start, number) from None
            if number == 1 and line.startswith(_BOM):
                line = line[1:]
            offset += len(raw)
            yield number, line[:-1] if line.endswith("\n") else line


def _not_utf8(path: str | os.PathLike, byte: int, offset: int, line: int) -> DataError:
    return DataError(
        f"byte 0x{byte:02x} at byte offset {offset} is not valid UTF-8",
        path=path,
        line=line,
        hint="re-encode the file as UTF-8, e.g. `iconv -f WINDOWS-1256 -t UTF-8 IN > OUT` for older Arabic files",
    )


def _permissions_for(target: Path) -> int:
    """Keep an existing file's permissions; give a new one the usual umask-based mode (mkstemp makes it 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable where the OS allows it (POSIX); harmless to skip elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary file name beside `path`, for writers that open files themselves (matplotlib, safetensors): on a
    clean exit the file replaces `path` with the permissions a new or existing `path` would have; on an error it is
    removed and `path` is left untouched. `suffix` keeps the extension that some writers read the format from."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _permissions_for(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_figure(fig, path: Path) -> None:
    """Write a matplotlib figure atomically (temp file, then rename)."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
