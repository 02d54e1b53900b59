"""Where a training run's memory goes: the process's RSS after every optimizer step, evaluation and save, and its
peak, for one epoch of a config (by default ANERcorp's), one variant per fresh process.

Variants: `default`; `trim` (glibc's malloc_trim after every step: how much of the resident memory is freed blocks
the allocator keeps); `mmap` (a fixed 1 MB mmap threshold, so large blocks go back to the OS when freed). Options of
the config itself (e.g. `--set training.per_device_train_batch_size=8`) make further variants, and so does another
allocator preloaded at start-up (`LD_PRELOAD=libjemalloc.so.2`, recorded as `preloaded`).

    python -m benchmarks.train_memory [--variant default] [--epochs 1] [--set KEY=VALUE ...] [--name NAME]
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from pathlib import Path

from arabic_news.hardware import peak_rss_mb
from benchmarks import common

VARIANTS = ("default", "trim", "mmap")
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tracing_callbacks(variant: str, trace: list[dict]) -> list:
    from transformers import TrainerCallback

    libc = ctypes.CDLL("libc.so.6")

    class Trim(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            libc.malloc_trim(0)

    class Trace(TrainerCallback):
        def _record(self, event, state):
            trace.append(
                {"event": event, "step": state.global_step, "rss_mb": round(rss_mb()), "peak_mb": round(peak_rss_mb())}
            )

        def on_step_end(self, args, state, control, **kwargs):
            self._record("step", state)

        def on_evaluate(self, args, state, control, **kwargs):
            self._record("evaluate", state)

        def on_save(self, args, state, control, **kwargs):
            self._record("save", state)

    if variant == "mmap":
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
    return [Trim(), Trace()] if variant == "trim" else [Trace()]


def parse_args(argv=None):
    parser = common.benchmark_parser(
        __doc__.splitlines()[0], "train_memory.json", "anercorp.yaml", "the config to train"
    )
    parser.add_argument("--variant", choices=VARIANTS, default="default")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--name", help="the variant's name in the results file (default: --variant and --set)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where the throwaway model is written")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.setup_logging()
    from arabic_news.training import load_config, train

    anercorp = args.data_dir / "anercorp"
    if not (anercorp / "train.conll").is_file():
        raise common.BenchmarkError(f"no {anercorp / 'train.conll'}; see data/README.md")
    name = args.name or " ".join([args.variant, *args.overrides])
    out = args.runs_dir / f"train-memory-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    overrides = [
        f"data.train={anercorp / 'train.conll'}",
        f"data.test={anercorp / 'test.conll'}",
        f"training.num_train_epochs={args.epochs}",
        f"training.output_dir={out}",
        *args.overrides,
    ]
    trace: list[dict] = [{"event": "start", "step": 0, "rss_mb": round(rss_mb()), "peak_mb": round(peak_rss_mb())}]
    train(load_config(args.config, overrides), overwrite=True, callbacks=tracing_callbacks(args.variant, trace))
    steps = [t for t in trace if t["event"] == "step"]
    figures = {
        "variant": args.variant,
        "overrides": args.overrides,
        "preloaded": os.environ.get("LD_PRELOAD"),
        "rss_after_first_step_mb": steps[0]["rss_mb"],
        "peak_after_first_step_mb": steps[0]["peak_mb"],
        "rss_at_end_mb": round(rss_mb()),
        "peak_mb": round(peak_rss_mb()),
        "trace": trace,
    }
    common.write_results(args.out, "train_memory", {name: figures}, {})
    print(
        f"{name}: RSS after step 1 {figures['rss_after_first_step_mb']} MB (peak so far "
        f"{figures['peak_after_first_step_mb']}), at the end {figures['rss_at_end_mb']} MB, peak {figures['peak_mb']} MB"
    )
    return 0


if __name__ == "__main__":
    common.run_main(main)
