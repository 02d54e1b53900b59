"""`arabic-news predict` (and `predict.py`): tag .txt files, folders or JSONL; write Document JSONL or HTML."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DataError


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
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--quantize", choices=("int8",), help="dynamic int8 quantization of linear layers (CPU)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(run=run_predict)


def run_predict(args) -> int:
    import torch

    from ..data import read_documents, write_documents
    from ..data.formats import PREANNOTATION_FORMATS, write_preannotations
    from ..inference import load

    if args.output.is_dir():  # said before loading and predicting, not after
        raise DataError(
            "--output is a folder", path=args.output, hint="give a file path such as tagged.jsonl or tagged.html"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    docs = read_documents(args.input)  # before the models load: a bad input file fails at once
    paths = [args.checkpoint] + ([args.topic_checkpoint] if args.topic_checkpoint else [])
    tagger = load(*paths, device=args.device, dtype=args.dtype, quantize=args.quantize)
    predicted = tagger.predict_documents(docs, batch_size=args.batch_size, progress=True)
    fmt = args.format or ("html" if args.output.suffix.lower() in (".html", ".htm") else "jsonl")
    if fmt == "html":
        from ..inference.html import write_html

        write_html(predicted, args.output)
    elif fmt in PREANNOTATION_FORMATS:
        write_preannotations(predicted, args.output, fmt, model_version="+".join(p.resolve().name for p in paths))
    else:
        write_documents(predicted, args.output, "jsonl")
    n_entities = sum(len(d.entities) for d in predicted)
    print(f"wrote {len(predicted)} documents ({n_entities} entities) to {args.output}", file=sys.stderr)
    return 0
