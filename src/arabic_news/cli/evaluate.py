"""`arabic-news evaluate` (and `evaluate.py`): score checkpoints on annotated data and write reports."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DataError
from .common import add_decoding_option, positive_int


def add(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score checkpoints on annotated data and write reports",
        description="Predict gold data through the inference path, compare, and write report.json, "
        "report.md, plots and predictions. Example: arabic-news evaluate --checkpoint "
        "runs/sample-ner --data data/sample/dev.jsonl --out reports/sample-ner",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", type=Path, help="one checkpoint folder")
    which.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="several checkpoints side by side (paired bootstrap against the first)",
    )
    p.add_argument("--data", nargs="+", action="extend", required=True, type=Path, help="annotated file(s), any format")
    p.add_argument("--out", type=Path, help="report folder (default: reports/<checkpoint name>)")
    p.add_argument(
        "--label-map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="map labels of other guidelines, in gold and predictions alike, e.g. MISC=O or PER=PERS; repeatable",
    )
    p.add_argument(
        "--seeds",
        action="store_true",
        help="with --compare: the checkpoints are seeds of one config; also report mean ± sd",
    )
    p.add_argument(
        "--sentences-per-document",
        type=positive_int,
        metavar="N",
        help="read N consecutive documents as one (sentence-split corpora; as the config's data.sentences_per_document)",
    )
    p.add_argument("--batch-size", type=int, default=32)
    add_decoding_option(p)
    p.set_defaults(run=run_evaluate)


def run_evaluate(args) -> int:
    from ..evaluation import parse_label_map, run_evaluation

    checkpoints = args.compare or [args.checkpoint]
    out = args.out or Path("reports") / (checkpoints[0].name if len(checkpoints) == 1 else "comparison")
    if out.exists() and not out.is_dir():
        raise DataError(
            "--out is a file, but reports go into a folder",
            path=out,
            hint="give a folder path (it is created), or move the file away",
        )
    try:
        mapping = parse_label_map(args.label_map)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    written = run_evaluation(
        checkpoints,
        args.data,
        out,
        mapping,
        args.batch_size,
        args.seeds,
        args.decoding,
        sentences_per_document=args.sentences_per_document,
    )
    for target in written:
        print(f"wrote {target / 'report.md'}")
    return 0
