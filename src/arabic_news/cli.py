"""The `arabic-news` command line: one small `add_<name>` function per subcommand registers its parser and sets
`run`, a function `run(args) -> int`; `main` dispatches and turns the project's errors into one located line
on stderr (no traceback) and a non-zero exit status.

To add a subcommand, write `add_x(subparsers)` that calls `p.set_defaults(run=run_x)`, and list it in
`SUBCOMMANDS`.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .commands import add_evaluate, add_predict, add_train, setup_logging
from .errors import ArabicNewsError

EXIT_ERROR = 1


def add_convert(sub) -> None:
    p = sub.add_parser("convert", help="convert annotated data between formats",
                       description="Convert between CoNLL, native JSONL, doccano JSONL, Label Studio JSON (and read "
                                   ".txt files or folders). Formats come from the extensions unless given. Example: "
                                   "arabic-news convert train.conll train.jsonl")
    p.add_argument("input", type=Path, help="file (or folder of .txt files) to read")
    p.add_argument("output", type=Path, help="file to write")
    p.add_argument("--from", dest="from_format", metavar="FMT", help="input format: conll, jsonl, doccano, "
                                                                      "labelstudio, txt")
    p.add_argument("--to", dest="to_format", metavar="FMT", help="output format: conll, jsonl, doccano, labelstudio")
    p.add_argument("--scheme", default="IOB2", type=str.upper, choices=["IOB1", "IOB2", "IOBES", "BIOES", "BILOU"],
                   help="tagging scheme of a CoNLL output (default IOB2)")
    p.add_argument("--label-field", metavar="NAME", help="JSON field that holds the topic (default: topic, else "
                                                        "label)")
    p.set_defaults(run=run_convert)


def run_convert(args) -> int:
    from .formats import detect_format, output_format, read_documents, write_documents

    from_format = detect_format(args.input, args.from_format)
    docs = read_documents(args.input, from_format, label_field_hint=args.label_field)
    to_format = output_format(args.output, args.to_format)
    write_documents(docs, args.output, to_format, scheme=args.scheme)
    entities = sum(len(d.entities) for d in docs)
    topics = sum(1 for d in docs if d.topic is not None)
    print(f"wrote {len(docs):,} documents ({entities:,} entities, {topics:,} with a topic) to {args.output} "
          f"as {to_format}" + (f" ({args.scheme})" if to_format == "conll" else ""))
    if to_format == "conll" and from_format != "conll":
        print("note: CoNLL keeps words and entity tags only; ids, topics and other fields were not written")
    return 0


def add_inspect(sub) -> None:
    p = sub.add_parser("inspect", help="diagnose data files before training",
                       description="Counts, label distributions, repaired tags, invalid spans, duplicates, "
                                   "train/test overlap and (with --tokenizer) documents longer than the model "
                                   "takes. Example: arabic-news inspect train.jsonl dev.jsonl --json report.json")
    p.add_argument("files", nargs="+", type=Path, help="data files (or folders of .txt files)")
    p.add_argument("--tokenizer", metavar="PATH_OR_NAME", help="Hugging Face tokenizer (a local folder) to count "
                                                                "subword tokens with")
    p.add_argument("--max-length", type=int, default=512, help="model length in subword tokens (default 512)")
    p.add_argument("--label-field", metavar="NAME", help="JSON field that holds the topic")
    p.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="also write the report as JSON")
    p.set_defaults(run=run_inspect)


def run_inspect(args) -> int:
    from .atomic import atomic_write_json
    from .inspect_data import format_report, inspect_files

    report = inspect_files(args.files, tokenizer=args.tokenizer, max_length=args.max_length,
                           label_field_hint=args.label_field)
    sys.stdout.write(format_report(report))
    if args.json_out:
        atomic_write_json(args.json_out, report)
        print(f"wrote {args.json_out}")
    return 0 if report["ok"] else EXIT_ERROR


SUBCOMMANDS: list[Callable] = [add_train, add_evaluate, add_predict, add_convert, add_inspect]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arabic-news", description="Train, evaluate and apply Arabic news NER and "
                                                                     "topic models; convert and inspect their data.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
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
    from .conll import DataWarning

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
