"""What `model.cache_frozen_layers` saves per training step, measured on the main job's shape.

With `model.freeze_layers: 6` a training step still runs the embeddings and the bottom six layers forward on every
batch of every epoch, although their weights never change. `model.cache_frozen_layers` computes their output once
per training window and lets each step run only the top layers (src/arabic_news/training/frozen.py). This script
times the pieces side by side in one process, on the same batches (batch 4, windows of 128 tokens, embedded
e5-small-ar):

- `full`: a step without the cache: forward through all 12 layers (the bottom 6 frozen, in train mode), backward
  through the top 6, AdamW step;
- `top only`: the same step fed the bottom six layers' stored output: forward and backward through the top 6;
- `cache build`: the one-time cost of storing that output: embeddings + bottom 6 layers forward, no gradients.

Variants alternate (full, top only, cache build, full, ...) so that load from other processes hits them alike; the
figures are medians over repeats. The projected training time for E epochs is E x full against
cache build + E x top only (per batch). Both step variants use a plain cross-entropy head; the CRF the main job
adds costs the same in both, so the real saving is a little smaller than printed. Whole trainings with and without
the option, with their dev scores (the cache drops the bottom layers' dropout), are in benchmarks.main_job runs
(docs/benchmarks.md 5f).

    python -m benchmarks.frozen_cache [--batch 4] [--length 128] [--freeze 6] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from transformers import AutoModelForTokenClassification

from arabic_news.modeling import load_tokenizer, resolve_model_path
from arabic_news.training.frozen import FrozenLayerCache, freeze_bottom
from benchmarks import common

NUM_LABELS = 9  # BIO over PERS, LOC, ORG, MISC
EPOCHS = (3, 4, 8)


def build(model_path: str, freeze: int):
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        model_path, num_labels=NUM_LABELS, attention_probs_dropout_prob=0.0
    )
    freeze_bottom(model, freeze, "frozen_cache")
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-4)
    return model, optimizer


def steps(model, optimizer, cache: FrozenLayerCache, tokenizer):
    """The three timed pieces, each through the project's own FrozenLayerCache (what training runs)."""

    def full(ids, labels, rows):
        model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    def top_only(ids, labels, rows):
        inputs = cache.cached_inputs({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, rows)
        with cache.skipping():
            model(**inputs, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    def cache_build(ids, labels, rows):
        model.eval()  # as FrozenLayerCache.build stores: no dropout
        cache.store_windows(rows, tokenizer)
        model.train()

    return {"full": full, "top only": top_only, "cache build": cache_build}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--freeze", type=int, default=6, help="bottom encoder layers frozen (the main job: 6)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/frozen_cache.json"))
    args = parser.parse_args(argv)
    path = resolve_model_path("embedded:e5-small-ar")
    model, optimizer = build(path, args.freeze)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, model.config.vocab_size, (args.batch, args.length), generator=generator)
    labels = torch.randint(0, NUM_LABELS, (args.batch, args.length), generator=generator)
    rows = ids.tolist()
    cache = FrozenLayerCache(model, args.freeze, {})
    variants = steps(model, optimizer, cache, load_tokenizer(path))
    variants["cache build"](ids, labels, rows)  # the store the `top only` steps read
    for step in variants.values():  # warm-up: the first step allocates the optimizer state
        step(ids, labels, rows)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, step in variants.items():
            started = time.perf_counter()
            step(ids, labels, rows)
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    tokens = args.batch * args.length
    projected = {
        epochs: {
            "full_s_per_batch": round(epochs * medians["full"], 4),
            "cached_s_per_batch": round(medians["cache build"] + epochs * medians["top only"], 4),
            "speedup": round(epochs * medians["full"] / (medians["cache build"] + epochs * medians["top only"]), 3),
        }
        for epochs in EPOCHS
    }
    section = {
        "batch": args.batch,
        "length": args.length,
        "freeze_layers": args.freeze,
        "threads": torch.get_num_threads(),
        "variants": {
            name: {
                "median_seconds": round(medians[name], 4),
                "tokens_per_second": round(tokens / medians[name]),
                "runs": [round(v, 4) for v in values],
            }
            for name, values in times.items()
        },
        "projected_epochs": projected,
    }
    headline = {"speedup_4_epochs": projected[4]["speedup"]}
    common.write_results(args.out, "frozen_cache", {"timing": section}, headline)
    common.print_table(
        "one training batch (median seconds)",
        ["variant", "s", "tokens/s", "vs full"],
        [[n, f"{m:.3f}", round(tokens / m), f"x{medians['full'] / m:.2f}"] for n, m in medians.items()],
    )
    common.print_table(
        "projected training time per batch of the epoch",
        ["epochs", "full s", "cache + top s", "speedup"],
        [[e, p["full_s_per_batch"], p["cached_s_per_batch"], f"x{p['speedup']:.2f}"] for e, p in projected.items()],
    )
    return 0


if __name__ == "__main__":
    common.run_main(main)
