"""What the subcommands share: the exit status for a handled error, logging set up once, and the options that choose
how a model runs (predict and serve)."""

from __future__ import annotations

import argparse
import logging
import sys

EXIT_ERROR = 1


def positive_int(value: str) -> int:
    """An argparse type: a whole number >= 1 (argparse then reports a bad value with the option's name)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("arabic_news").setLevel(logging.INFO)


def add_engine_options(p) -> None:
    """--device, --dtype, --quantize, --threads, --decoding: the options `load()` takes, for every command that tags
    text."""
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="PyTorch checkpoints: auto = bf16 where the hardware computes it natively, else fp32 (an ONNX export "
        "keeps the precision it was exported in)",
    )
    p.add_argument("--quantize", choices=("int8",), help="torch dynamic int8 quantization of linear layers (CPU)")
    p.add_argument("--threads", type=int, help="CPU threads (default: the engine's choice)")
    add_decoding_option(p)


def add_decoding_option(p) -> None:
    p.add_argument(
        "--decoding",
        choices=("auto", "argmax", "constrained"),
        default="auto",
        help="NER: auto = the checkpoint's CRF when it has one (model.crf), else each token's most probable tag; "
        "argmax = each token's most probable tag; constrained = the best tag sequence with no I-X after O or "
        "after another type (Viterbi; with the CRF's scores when there is one)",
    )


def checkpoint_paths(args) -> list:
    """The NER and/or topic checkpoint of `--checkpoint` and `--topic-checkpoint`, in the order `load()` takes."""
    return [args.checkpoint] + ([args.topic_checkpoint] if args.topic_checkpoint else [])


def engine_options(args) -> dict:
    """The keyword arguments of `load()` that `add_engine_options` put on the command line."""
    return {
        "device": args.device,
        "dtype": args.dtype,
        "quantize": args.quantize,
        "threads": args.threads,
        "decoding": args.decoding,
    }


def load_tagger(args):
    """`load()` with the command line's checkpoints and engine options; says on stderr what runs where."""
    from ..inference import load

    tagger = load(*checkpoint_paths(args), **engine_options(args))
    for line in tagger.describe():
        print(line, file=sys.stderr)
    return tagger
