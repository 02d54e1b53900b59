"""Attention dropout against none (`model.attention_dropout: 0.0`) in a CPU training step, side by side.

With dropout on the attention weights, PyTorch's scaled-dot-product attention cannot use its fused kernel and keeps
every layer's (batch x heads x length x length) weights for backward. Each variant runs in a fresh process (so its
peak RSS is its own), the variants alternate over the rounds, medians are reported.

    python -m benchmarks.attention_dropout [--rounds 3] [--steps 3] [--batch 16] [--lengths 64 256]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import REPO_ROOT, machine_info, median_step_seconds

DROPOUTS = (0.1, 0.0)  # e5-small's own, and none
ENCODER = "embedded:e5-small-ar"


def run_variant(dropout: float, length: int, batch: int, steps: int) -> dict:
    """In this (fresh) process: train `steps` steps of a token classifier on random ids, padding in half the rows."""
    import torch
    from transformers import AutoModelForTokenClassification

    from arabic_news.hardware import has_native_bf16
    from arabic_news.modeling import resolve_model_path

    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        resolve_model_path(ENCODER), num_labels=9, attention_probs_dropout_prob=dropout
    )
    model.get_input_embeddings().weight.requires_grad_(False)  # as the configs train it: the optimizer is not measured
    model.train()
    ids = torch.randint(5, model.config.vocab_size, (batch, length))
    mask = torch.ones_like(ids)
    mask[batch // 2 :, length * 3 // 4 :] = 0  # a padded batch, as length-grouped batches are
    labels = torch.randint(0, 9, ids.shape)
    bf16 = has_native_bf16(torch.device("cpu"))
    seconds = median_step_seconds(model, dict(input_ids=ids, attention_mask=mask, labels=labels), steps, bf16)
    return {
        "seconds_per_step": round(seconds, 3),
        "tokens_per_second": round(batch * length / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "bf16": bf16,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/attention_dropout.json"))
    parser.add_argument("--variant", nargs=2, type=float, help=argparse.SUPPRESS)  # internal: DROPOUT LENGTH
    args = parser.parse_args()
    if args.variant:
        dropout, length = args.variant
        print(json.dumps(run_variant(dropout, int(length), args.batch, args.steps)))
        return
    from arabic_news.modeling import resolve_model_path

    resolve_model_path(ENCODER)  # build the cache folder first, outside the timed processes
    runs: dict[str, list[dict]] = {f"{d} x {n}": [] for n in args.lengths for d in DROPOUTS}
    for _ in range(args.rounds):
        for length in args.lengths:
            for dropout in DROPOUTS:
                command = [sys.executable, "-m", "benchmarks.attention_dropout", "--variant", str(dropout), str(length)]
                command += ["--batch", str(args.batch), "--steps", str(args.steps)]
                out = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
                runs[f"{dropout} x {length}"].append(json.loads(out.strip().splitlines()[-1]))
                print(f"dropout {dropout}, length {length}: {runs[f'{dropout} x {length}'][-1]}", flush=True)
    rows = []
    for length in args.lengths:
        with_dropout, without = (
            {k: statistics.median(r[k] for r in runs[f"{d} x {length}"]) for k in ("seconds_per_step", "peak_rss_mb")}
            for d in DROPOUTS
        )
        rows.append(
            {
                "length": length,
                "dropout_0.1": with_dropout,
                "dropout_0": without,
                "speedup": round(with_dropout["seconds_per_step"] / without["seconds_per_step"], 2),
                "peak_rss_ratio": round(with_dropout["peak_rss_mb"] / without["peak_rss_mb"], 2),
            }
        )
        print(f"length {length}: {rows[-1]}")
    result = {
        "command": "python -m benchmarks.attention_dropout "
        + " ".join(
            f"--{k} {v if not isinstance(v, list) else ' '.join(map(str, v))}"
            for k, v in vars(args).items()
            if k != "variant"
        ),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "encoder": ENCODER,
        "batch": args.batch,
        "what": "one training step of a token classifier, embeddings frozen, bf16 autocast where native",
        "lengths": rows,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
