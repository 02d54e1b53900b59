"""Time one NER training step of the embedded encoder under each training option the configs use, side by side.

Answers two questions the configs depend on: does bf16 autocast help on this CPU, and does freezing the word
embeddings (96M of e5-small's 117M parameters) make steps cheaper? Variants run alternately, in one process, on the
same batch; the median of the repeats is reported.

    python -m benchmarks.train_step [--batch 8] [--length 230] [--repeats 5] [--out benchmarks/results/train_step.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification

from arabic_news.modeling import resolve_model_path
from benchmarks.common import machine_info

VARIANTS = [("fp32", False, False), ("fp32", True, False), ("bf16", False, True), ("bf16", True, True)]


def make_step(model_path: str, freeze: bool, bf16: bool):
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(model_path, num_labels=17)
    if freeze:
        model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def step(ids, labels):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=230)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train_step.json"))
    args = parser.parse_args()
    path = resolve_model_path("embedded:e5-small")
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 250_000, (args.batch, args.length), generator=generator)
    labels = torch.randint(0, 17, (args.batch, args.length), generator=generator)
    steps = {v: make_step(path, freeze=v[1], bf16=v[2]) for v in VARIANTS}
    for step in steps.values():  # warm-up: first steps allocate optimizer state
        step(ids, labels)
    times: dict = {v: [] for v in VARIANTS}
    for _ in range(args.repeats):
        for variant, step in steps.items():
            start = time.perf_counter()
            step(ids, labels)
            times[variant].append(time.perf_counter() - start)
    tokens = args.batch * args.length
    base = statistics.median(times[VARIANTS[0]])
    rows = []
    for (dtype, frozen, _), values in times.items():
        median = statistics.median(values)
        rows.append(
            {
                "dtype": dtype,
                "frozen_embeddings": frozen,
                "median_seconds_per_step": round(median, 4),
                "tokens_per_second": round(tokens / median),
                "speedup_vs_fp32_unfrozen": round(base / median, 2),
                "runs": [round(v, 4) for v in values],
            }
        )
        print(
            f"{dtype:5} frozen={str(frozen):5}  {median:.3f} s/step  {tokens / median:7.0f} tokens/s  "
            f"x{base / median:.2f}"
        )
    result = {
        "command": "python -m benchmarks.train_step " + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "batch": args.batch,
        "length": args.length,
        "variants": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
