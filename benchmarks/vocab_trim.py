"""The full embedded encoder against its trimmed vocabulary (`embedded:e5-small-ar`), side by side: size on disk,
load time, memory and the cost of a training step with the word embeddings trained.

Each round runs every variant in a fresh process (so load time and peak RSS are its own), alternating variants;
medians over the rounds are reported. The batch is real text (the sample corpus), the same pieces for both models.

    python -m benchmarks.vocab_trim [--rounds 3] [--steps 4] [--batch 8] [--length 230]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import REPO_ROOT, machine_info, median_step_seconds

VARIANTS = ("embedded:e5-small", "embedded:e5-small-ar")


def run_variant(name: str, steps: int, batch: int, length: int) -> dict:
    """In this (fresh) process: load, save a token-classification checkpoint, train `steps` steps unfrozen."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from arabic_news.hardware import has_native_bf16
    from arabic_news.modeling import resolve_model_path

    path = resolve_model_path(name)
    started = time.perf_counter()
    model = AutoModelForTokenClassification.from_pretrained(path, num_labels=17)
    load_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        checkpoint_mb = sum(f.stat().st_size for f in Path(folder).iterdir()) / 1e6
    ids, labels = _batch(AutoTokenizer.from_pretrained(path), batch, length)
    bf16 = has_native_bf16(torch.device("cpu"))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model.eval()(input_ids=ids)  # what tagging costs: weights (read lazily from the file) + one batch
    rss_inference = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model.train()
    seconds = median_step_seconds(model, dict(input_ids=ids, labels=labels), steps, bf16)
    return {
        "vocab_size": model.config.vocab_size,
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "checkpoint_mb": round(checkpoint_mb, 1),
        "load_seconds": round(load_seconds, 3),
        "peak_rss_inference_mb": round(rss_inference),
        "peak_rss_training_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "seconds_per_step": round(seconds, 3),
        "bf16": bf16,
    }


def _batch(tokenizer, batch: int, length: int):
    import torch

    texts = [json.loads(line)["text"] for line in (REPO_ROOT / "data/sample/train.jsonl").open(encoding="utf-8")]
    ids = tokenizer(" ".join(texts[:40]), add_special_tokens=False)["input_ids"][: batch * length]
    ids = torch.tensor(ids).reshape(batch, length)
    return ids, torch.randint(0, 17, ids.shape, generator=torch.Generator().manual_seed(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=230)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/vocab_trim.json"))
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal: run one variant, print its JSON
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.steps, args.batch, args.length)))
        return
    from arabic_news.modeling import resolve_model_path

    for variant in VARIANTS:  # build both cache folders first, so that no timed process pays for a build
        resolve_model_path(variant)
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for round_ in range(args.rounds):
        for variant in VARIANTS:
            command = [sys.executable, "-m", "benchmarks.vocab_trim", "--variant", variant]
            command += ["--steps", str(args.steps), "--batch", str(args.batch), "--length", str(args.length)]
            out = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
            runs[variant].append(json.loads(out.strip().splitlines()[-1]))
            print(f"round {round_ + 1} {variant}: {runs[variant][-1]}", flush=True)
    rows = {variant: _medians(values) for variant, values in runs.items()}
    full, trimmed = (rows[v] for v in VARIANTS)
    ratios = {
        key: round(full[key] / trimmed[key], 2)
        for key in (
            "checkpoint_mb",
            "load_seconds",
            "peak_rss_inference_mb",
            "peak_rss_training_mb",
            "seconds_per_step",
        )
    }
    for variant, row in rows.items():
        print(f"{variant:22} {row}")
    print(f"full / trimmed: {ratios}")
    result = {
        "command": "python -m benchmarks.vocab_trim "
        + " ".join(f"--{k} {v}" for k, v in vars(args).items() if k != "variant"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "batch": args.batch,
        "length": args.length,
        "what": "token-classification model, word embeddings trained (AdamW), bf16 autocast where native",
        "variants": rows,
        "full_over_trimmed": ratios,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def _medians(values: list[dict]) -> dict:
    return {key: statistics.median(v[key] for v in values) if key != "bf16" else values[0][key] for key in values[0]}


if __name__ == "__main__":
    main()
