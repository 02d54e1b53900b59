"""Subcommands that run models: train, predict (evaluate lives in evaluation_cli). Each adds its parser and a `run`."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .errors import DataError


def add_train(sub) -> None:
    p = sub.add_parser("train", help="fine-tune an encoder from one or more YAML configs",
                       description="Train one model per config, in order. Example: "
                                   "arabic-news train configs/sample-ner.yaml --set training.num_train_epochs=2")
    p.add_argument("configs", nargs="+", type=Path, help="YAML config file(s)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (parsed as YAML); repeatable; applies to every config")
    p.add_argument("--overwrite", action="store_true", help="replace a finished model in training.output_dir")
    p.add_argument("--predict", type=Path, metavar="FILE_OR_FOLDER",
                   help="after training, tag these articles with the new models and print the result")
    p.set_defaults(run=run_train)


def run_train(args) -> int:
    from .config import load_config
    from .training import train

    configs = [load_config(path, args.overrides) for path in args.configs]  # check all before training any
    outputs = []
    for config in configs:
        print(f"== training {config.task} model from {config.source} -> {config.output_dir}", flush=True)
        outputs.append(train(config, overwrite=args.overwrite))
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun / accelerate launch, rank 0 alone reports
    for out in outputs:
        print_summary(out)
    if args.predict:
        from .formats import read_documents
        from .inference import load

        tagger = load(*outputs)
        for doc in tagger.predict_documents(read_documents(args.predict), progress=False):
            print_prediction(doc)
    return 0


def print_summary(out: Path) -> None:
    from .inference import read_metadata

    meta = read_metadata(out)
    scores = "; ".join(f"{split}: " + ", ".join(f"{k}={v:.3f}" for k, v in s.items())
                       for split, s in meta.get("scores", {}).items()) or "no dev/test data"
    print(f"{meta['task']} model in {out}  ({scores}; {meta['training']['seconds']:.0f} s)")
    print(f"   files: model.safetensors, {', '.join(sorted(p.name for p in out.iterdir() if p.suffix in ('.json', '.png', '.md', '.yaml')))}")


def print_prediction(doc) -> None:
    print(f"\n== {doc.id}")
    if doc.topic is not None:
        print(f"topic: {doc.topic} ({doc.meta.get('topic_score', 0):.2f})")
    for span in doc.entities:
        score = f" {span.score:.2f}" if span.score is not None else ""
        print(f"  {span.label:5} [{span.start}:{span.end}] {span.text}{score}")


def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="tag articles with trained checkpoints",
                       description="Read .txt files, a folder of them, or JSONL; write Document JSONL or an HTML page.")
    p.add_argument("--checkpoint", required=True, type=Path, help="an NER or topic checkpoint folder")
    p.add_argument("--topic-checkpoint", type=Path, help="a second checkpoint (the topic model)")
    p.add_argument("--input", required=True, type=Path, help=".txt file, folder of .txt, or .jsonl")
    p.add_argument("--output", required=True, type=Path, help="output file (.jsonl or .html)")
    p.add_argument("--format", choices=("jsonl", "html"), help="default: from the output's extension")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--quantize", choices=("int8",), help="dynamic int8 quantization of linear layers (CPU)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(run=run_predict)


def run_predict(args) -> int:
    import torch

    from .formats import read_documents, write_documents
    from .inference import load

    if args.output.is_dir():  # said before loading and predicting, not after
        raise DataError("--output is a folder", path=args.output, hint="give a file path such as tagged.jsonl or "
                                                                        "tagged.html")
    if args.threads:
        torch.set_num_threads(args.threads)
    docs = read_documents(args.input)  # before the models load: a bad input file fails at once
    paths = [args.checkpoint] + ([args.topic_checkpoint] if args.topic_checkpoint else [])
    tagger = load(*paths, device=args.device, dtype=args.dtype, quantize=args.quantize)
    predicted = tagger.predict_documents(docs, batch_size=args.batch_size, progress=True)
    fmt = args.format or ("html" if args.output.suffix.lower() in (".html", ".htm") else "jsonl")
    if fmt == "html":
        from .html_view import write_html

        write_html(predicted, args.output)
    else:
        write_documents(predicted, args.output, "jsonl")
    n_entities = sum(len(d.entities) for d in predicted)
    print(f"wrote {len(predicted)} documents ({n_entities} entities) to {args.output}", file=sys.stderr)
    return 0


def setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("arabic_news").setLevel(logging.INFO)


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score checkpoints on annotated data and write reports",
                       description="Predict gold data through the inference path, compare, and write report.json, "
                                   "report.md, plots and predictions. Example: arabic-news evaluate --checkpoint "
                                   "runs/sample-ner --data data/sample/dev.jsonl --out reports/sample-ner")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", type=Path, help="one checkpoint folder")
    which.add_argument("--compare", nargs="+", type=Path, metavar="DIR",
                       help="several checkpoints side by side (paired bootstrap against the first)")
    p.add_argument("--data", nargs="+", action="extend", required=True, type=Path, help="annotated file(s), any format")
    p.add_argument("--out", type=Path, help="report folder (default: reports/<checkpoint name>)")
    p.add_argument("--label-map", action="append", default=[], metavar="OLD=NEW",
                   help="map gold labels of other guidelines, e.g. MISC=O or PER=PERS; repeatable")
    p.add_argument("--seeds", action="store_true", help="with --compare: the checkpoints are seeds of one config; "
                                                       "also report mean ± sd")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(run=run_evaluate)


def run_evaluate(args) -> int:
    from .evaluation import parse_label_map
    from .evaluation_report import run_evaluation

    checkpoints = args.compare or [args.checkpoint]
    out = args.out or Path("reports") / (checkpoints[0].name if len(checkpoints) == 1 else "comparison")
    if out.exists() and not out.is_dir():
        raise DataError("--out is a file, but reports go into a folder", path=out,
                        hint="give a folder path (it is created), or move the file away")
    try:
        mapping = parse_label_map(args.label_map)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for target in run_evaluation(checkpoints, args.data, out, mapping, args.batch_size, args.seeds):
        print(f"wrote {target / 'report.md'}")
    return 0
