"""`arabic-news train CONFIG...` (and `train.py`): fine-tune one model per config, optionally tag articles after."""

from __future__ import annotations

import os
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser(
        "train",
        help="fine-tune an encoder from one or more YAML configs",
        description="Train one model per config, in order. Example: "
        "arabic-news train configs/sample-ner.yaml --set training.num_train_epochs=2",
    )
    p.add_argument("configs", nargs="+", type=Path, help="YAML config file(s)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (parsed as YAML); repeatable; applies to every config",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a finished model in training.output_dir")
    p.add_argument(
        "--predict",
        type=Path,
        metavar="FILE_OR_FOLDER",
        help="after training, tag these articles with the new models and print the result",
    )
    p.set_defaults(run=run_train)


def run_train(args) -> int:
    from ..training import load_config, train

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
        from ..data import read_documents
        from ..inference import load

        tagger = load(*outputs)
        print(f"\n== tagging {args.predict}: " + "; ".join(tagger.describe()))
        for doc in tagger.predict_documents(read_documents(args.predict), progress=False):
            print_prediction(doc)
    return 0


def print_summary(out: Path) -> None:
    from ..checkpoint import read_metadata

    meta = read_metadata(out)
    scores = (
        "; ".join(f"{split}: " + ", ".join(f"{k}={v:.3f}" for k, v in s.items()) for split, s in meta.scores.items())
        or "no dev/test data"
    )
    print(f"{meta.task} model in {out}  ({scores}; {meta.training['seconds']:.0f} s)")
    if meta.lexical:
        print(
            f"   fused with TF-IDF + logistic regression ({meta.lexical['features']} features): "
            f"{meta.lexical['fusion']} fusion, encoder weight {meta.lexical['weight']:g} (chosen on dev; "
            "metrics.json has the scores of each part)"
        )
    files = sorted(p.name for p in out.iterdir() if p.suffix in (".json", ".png", ".md", ".yaml"))
    files += ["lexical.safetensors"] if meta.lexical else []
    print(f"   files: model.safetensors, {', '.join(files)}")


def print_prediction(doc) -> None:
    print(f"\n== {doc.id}")
    if doc.topic is not None:
        print(f"topic: {doc.topic} ({doc.topic_score or 0:.2f})")
    for span in doc.entities:
        score = f" {span.score:.2f}" if span.score is not None else ""
        print(f"  {span.label:5} [{span.start}:{span.end}] {span.text}{score}")
