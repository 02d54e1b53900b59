"""`arabic-news predict` (and `predict.py`): tag .txt files, folders or JSONL; write Document JSONL or HTML.

JSON-lines output streams (inference/stream.py): the input is read lazily, lines are written in fsync'd chunks,
a rerun after an interruption resumes, and `--shard I/N` tags one part of the input. Other output formats collect
every prediction in memory and write the file at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ConfigError, DataError
from .common import add_engine_options, checkpoint_paths, engine_options, load_tagger

STREAMING_FORMATS = ("jsonl",)  # written line by line as predicted; the others are written whole at the end


def add(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="tag articles with trained checkpoints",
        description="Read .txt files, a folder of them, or JSONL; write Document JSONL or an HTML page.",
    )
    p.add_argument("--checkpoint", required=True, type=Path, help="an NER or topic checkpoint folder")
    p.add_argument("--topic-checkpoint", type=Path, help="a second checkpoint (the topic model)")
    p.add_argument("--input", required=True, type=Path, help=".txt file, folder of .txt, or .jsonl")
    p.add_argument("--output", required=True, type=Path, help="output file (.jsonl or .html)")
    p.add_argument(
        "--format",
        choices=("jsonl", "html", "label-studio", "doccano"),
        help="default: from the output's extension (.html: html, else jsonl); label-studio and doccano write "
        "pre-annotations for those tools to import",
    )
    p.add_argument("--batch-size", type=int, default=32)
    add_engine_options(p)
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="tag only shard I of N, numbered from 0: the documents at 0-based positions p with p %% N == I "
        "(JSONL output; put the N outputs together with `arabic-news merge`)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=64,
        help="JSONL output: documents predicted, written and fsync'd at a time (an interrupted run redoes at most one "
        "chunk when it is rerun)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start the output again, even if it (or its unfinished .partial) came from other checkpoints or input",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: tag in this process (default); ray: tag with Ray Data on a pool of actors, each loading the "
        "models once (JSONL output; pip install -e '.[ray]')",
    )
    p.add_argument(
        "--address",
        help="--engine ray: join the Ray cluster at HOST:PORT (or ray://HOST:PORT, or 'auto'); without it a local "
        "Ray is started",
    )
    p.add_argument("--workers", type=int, default=2, help="--engine ray: actors in the pool (default 2)")
    p.set_defaults(run=run_predict)


def run_predict(args) -> int:
    import torch

    from ..data import read_documents, write_documents
    from ..data.formats import PREANNOTATION_FORMATS, write_preannotations

    if args.output.is_dir():  # said before loading and predicting, not after
        raise DataError(
            "--output is a folder", path=args.output, hint="give a file path such as tagged.jsonl or tagged.html"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    fmt = args.format or ("html" if args.output.suffix.lower() in (".html", ".htm") else "jsonl")
    if fmt in STREAMING_FORMATS:
        return predict_streaming(args)
    if args.shard or args.engine != "local":
        option = "--shard" if args.shard else "--engine ray"
        raise ConfigError(
            f"{option} writes JSON lines, not {fmt}", hint="write .jsonl (then convert it, or merge the shards first)"
        )
    docs = read_documents(args.input)  # before the models load: a bad input file fails at once
    tagger = load_tagger(args)
    predicted = tagger.predict_documents(docs, batch_size=args.batch_size, progress=True)
    if fmt == "html":
        from ..inference.html import write_html

        write_html(predicted, args.output)
    elif fmt in PREANNOTATION_FORMATS:
        write_preannotations(
            predicted, args.output, fmt, model_version="+".join(p.resolve().name for p in checkpoint_paths(args))
        )
    else:
        write_documents(predicted, args.output, fmt)
    n_entities = sum(len(d.entities) for d in predicted)
    print(f"wrote {len(predicted)} documents ({n_entities} entities) to {args.output}", file=sys.stderr)
    return 0


def predict_streaming(args) -> int:
    """JSON lines out, as predicted: resumable, optionally one shard. Everything that can be refused (the shard
    spec, the input, an earlier output of another run) is refused before the models load."""
    from ..data import detect_format
    from ..inference.stream import Shard, StreamRun, run_fingerprint

    shard = Shard.parse(args.shard) if args.shard else None
    if args.chunk_size < 1 or args.batch_size < 1 or args.workers < 1:
        raise ConfigError(
            "--chunk-size, --batch-size and --workers must be at least 1", hint="e.g. --chunk-size 64 --batch-size 32"
        )
    if args.engine == "ray":
        from ..inference.ray_engine import check_address, import_ray

        import_ray()
        if args.address:
            check_address(args.address)
    paths = checkpoint_paths(args)
    input_format = detect_format(args.input)
    options = {"dtype": args.dtype, "quantize": args.quantize}
    if args.decoding != "auto":  # only then: outputs of earlier runs keep their fingerprint and still resume
        options["decoding"] = args.decoding
    fingerprint = run_fingerprint(paths, args.input, input_format, shard, options)
    stream = StreamRun(
        args.input, args.output, fingerprint, input_format=input_format, shard=shard, overwrite=args.overwrite
    ).prepare()
    try:
        if args.engine == "ray":
            from ..inference.ray_engine import predict_with_ray

            summary = predict_with_ray(
                stream,
                paths,
                engine_options(args),
                batch_size=args.batch_size,
                chunk_size=args.chunk_size,
                workers=args.workers,
                address=args.address,
            )
        else:
            tagger = None if stream.complete else load_tagger(args)
            summary = stream.run(tagger, batch_size=args.batch_size, chunk_size=args.chunk_size)
    except KeyboardInterrupt:
        print(
            f"interrupted: {stream.written} documents are saved in {stream.partial}; "
            "rerun the same command to go on from there",
            file=sys.stderr,
        )
        return 130
    print(summary.line(), file=sys.stderr)
    return 0
