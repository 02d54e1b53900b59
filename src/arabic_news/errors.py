"""Errors that tell the user where the problem is and how to fix it."""

from __future__ import annotations


class ArabicNewsError(Exception):
    """Base class: every error the project raises on purpose carries a place and a fix."""

    def __init__(self, message: str, *, path: object = None, line: int | None = None, hint: str | None = None):
        self.message, self.path, self.line, self.hint = message, path, line, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        fix = f" Fix: {self.hint}" if self.hint else ""
        return f"{where}{self.message}.{fix}" if not self.message.endswith(".") else f"{where}{self.message}{fix}"


class DataError(ArabicNewsError):
    """Bad input data: a file, a record, a span."""


class ConfigError(ArabicNewsError):
    """A config key or value that is wrong."""


class CheckpointError(ArabicNewsError):
    """A checkpoint folder that cannot be used as it is."""


class MissingExtraError(ArabicNewsError):
    """A feature whose optional dependencies are not installed; the message names the extra that brings them."""

    def __init__(self, message: str, *, extra: str):
        self.extra = extra
        super().__init__(message, hint=f'pip install -e ".[{extra}]" (or pip install "arabic-news[{extra}]")')


class DataWarning(UserWarning):
    """Data that can be used but deserves a look (repaired tag sequences, spans widened to whole words)."""
