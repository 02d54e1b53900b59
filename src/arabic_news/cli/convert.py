"""`arabic-news convert IN OUT`: between CoNLL, native JSONL, doccano and Label Studio (and from .txt)."""

from __future__ import annotations

from pathlib import Path

from ..data import detect_format, output_format, read_documents, write_documents


def add(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert annotated data between formats",
        description="Convert between CoNLL, native JSONL, doccano JSONL, Label Studio JSON (and read "
        ".txt files or folders). Formats come from the extensions unless given. Example: "
        "arabic-news convert train.conll train.jsonl",
    )
    p.add_argument("input", type=Path, help="file (or folder of .txt files) to read")
    p.add_argument("output", type=Path, help="file to write")
    p.add_argument(
        "--from", dest="from_format", metavar="FMT", help="input format: conll, jsonl, doccano, labelstudio, txt"
    )
    p.add_argument("--to", dest="to_format", metavar="FMT", help="output format: conll, jsonl, doccano, labelstudio")
    p.add_argument(
        "--scheme",
        default="IOB2",
        type=str.upper,
        choices=["IOB1", "IOB2", "IOBES", "BIOES", "BILOU"],
        help="tagging scheme of a CoNLL output (default IOB2)",
    )
    p.add_argument("--label-field", metavar="NAME", help="JSON field that holds the topic (default: topic, else label)")
    p.set_defaults(run=run_convert)


def run_convert(args) -> int:
    from_format = detect_format(args.input, args.from_format)
    docs = read_documents(args.input, from_format, label_field_hint=args.label_field)
    to_format = output_format(args.output, args.to_format)
    write_documents(docs, args.output, to_format, scheme=args.scheme)
    entities = sum(len(d.entities) for d in docs)
    topics = sum(1 for d in docs if d.topic is not None)
    print(
        f"wrote {len(docs):,} documents ({entities:,} entities, {topics:,} with a topic) to {args.output} "
        f"as {to_format}" + (f" ({args.scheme})" if to_format == "conll" else "")
    )
    if to_format == "conll" and from_format != "conll":
        print("note: CoNLL keeps words and entity tags only; ids, topics and other fields were not written")
    return 0
