"""`arabic-news inspect FILE...`: data diagnostics before training."""

from __future__ import annotations

import sys
from pathlib import Path

from ..atomic import atomic_write_json
from ..data.inspect import format_report, inspect_files
from ..modeling import load_tokenizer
from .common import EXIT_ERROR


def add(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="diagnose data files before training",
        description="Counts, label distributions, repaired tags, invalid spans, duplicates, "
        "train/test overlap and (with --tokenizer) documents longer than the model "
        "takes. Example: arabic-news inspect train.jsonl dev.jsonl --json report.json",
    )
    p.add_argument("files", nargs="+", type=Path, help="data files (or folders of .txt files)")
    p.add_argument(
        "--tokenizer",
        metavar="PATH_OR_NAME",
        help="tokenizer to count subword tokens with: "
        "embedded:e5-small, a local folder or a hub id, resolved as model.name_or_path is",
    )
    p.add_argument("--max-length", type=int, default=512, help="model length in subword tokens (default 512)")
    p.add_argument("--label-field", metavar="NAME", help="JSON field that holds the topic")
    p.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="also write the report as JSON")
    p.set_defaults(run=run_inspect)


def run_inspect(args) -> int:
    # The tokenizer is resolved exactly as training resolves model.name_or_path (embedded:e5-small, a folder, a
    # hub id), so the lengths reported are the lengths training will see.
    tokenizer = load_tokenizer(args.tokenizer) if args.tokenizer else None
    report = inspect_files(
        args.files,
        tokenizer=tokenizer,
        tokenizer_name=args.tokenizer,
        max_length=args.max_length,
        label_field_hint=args.label_field,
    )
    sys.stdout.write(format_report(report))
    if args.json_out:
        atomic_write_json(args.json_out, report)
        print(f"wrote {args.json_out}")
    return 0 if report["ok"] else EXIT_ERROR
