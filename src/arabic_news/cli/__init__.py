"""The `arabic-news` command line: one module per subcommand, each with `add(subparsers)` that registers its
parser and sets `run`, a function `run(args) -> int`; `main` dispatches and turns the project's errors into one
located line on stderr (no traceback) and a non-zero exit status.

To add a subcommand, write a module with `add(sub)` that calls `p.set_defaults(run=...)`, and list it in
`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..errors import ArabicNewsError, DataWarning
from . import convert, evaluate, export, inspect, merge, predict, serve, train
from .common import EXIT_ERROR, setup_logging

SUBCOMMANDS = [train, evaluate, predict, merge, export, serve, convert, inspect]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arabic-news",
        description="Train, evaluate and apply Arabic news NER and topic models; convert and inspect their data.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in SUBCOMMANDS:
        command.add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    with _short_data_warnings():
        try:
            return args.run(args)
        except ArabicNewsError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_ERROR
        except OSError as err:  # a full disk, no permission, a file where a folder must be: the OS names the path
            print(f"error: {err}. Fix: check that path, its permissions and the free space", file=sys.stderr)
            return EXIT_ERROR


@contextmanager
def _short_data_warnings() -> Iterator[None]:
    """Show the project's data warnings as one `warning: ...` line (they carry their own file:line places)."""
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataWarning):
            print(f"warning: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original
