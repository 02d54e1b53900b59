"""`arabic-news merge OUT SHARD_OUTPUT...`: put the outputs of `predict --shard I/N` back together in input order."""

from __future__ import annotations

import sys
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser(
        "merge",
        help="merge the outputs of predict --shard I/N into one file, in input order",
        description="Interleave the N outputs of `predict --shard 0/N ... N-1/N` back into the input's order. Each "
        "must be finished (its .progress.json says so) and all must come from the same checkpoints and input; "
        "the order in which they are given does not matter.",
    )
    p.add_argument("output", type=Path, help="the merged .jsonl file")
    p.add_argument("shards", type=Path, nargs="+", help="the shard outputs (any order)")
    p.add_argument("--overwrite", action="store_true", help="replace an output that another merge wrote")
    p.set_defaults(run=run_merge)


def run_merge(args) -> int:
    from ..inference.stream import merge_shards

    documents, entities = merge_shards(args.output, list(args.shards), overwrite=args.overwrite)
    print(
        f"merged {len(args.shards)} shards: {documents} documents ({entities} entities) to {args.output}",
        file=sys.stderr,
    )
    return 0
