"""NER training throughput: this project's training against the plain Hugging Face way, measured in one run.

    python -m benchmarks.training_speed [--data-dir ../shared/data] [--sentences 640] [--epochs 1] [--repeats 3]

Both sides fine-tune the same encoder (embedded e5-small) on the same first N ANERcorp train sentences for the same
number of epochs (or --max-steps optimizer steps), batch 16, alternating plain, ours, plain, ours, ... so that load
from other processes on the machine hits both alike; the figure is the median over repeats.

- plain: the `run_ner.py` recipe written out here: AutoTokenizer on pre-split words, first-subword labels (the
  other subwords -100), max_length 128 with truncation, DataCollatorForTokenClassification (dynamic padding),
  Trainer with random sampling (no length grouping), fp32, every parameter trained.
- ours: `arabic_news.training.train` with configs/anercorp.yaml (frozen word embeddings, length-grouped batches,
  windows instead of truncation) plus `training.bf16=true`.

Throughput counts non-padding tokens entering the model's forward pass during training (special tokens included),
from the end of the first --warmup-steps optimizer steps to the end of the last, so model loading, one-time setup,
and checkpoint writing are not in it. Achieved GFLOP/s = 6 x non-embedding parameters x tokens/s (forward 2, backward
4 multiply-adds per weight and token; attention score products and the embedding lookups are left out, so this
slightly understates the work), set against a 2048 x 2048 matmul measured in fp32 and bf16 in the same script.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from transformers import TrainerCallback

from benchmarks import common
from benchmarks.common import median, print_table, repo_relative

log = logging.getLogger("benchmarks.speed")

MODEL = "embedded:e5-small"
PLAIN_MAX_LENGTH = 128
PLAIN_LEARNING_RATE = 5e-5
OURS_DEFAULT_OVERRIDES = ["training.bf16=true"]


def parse_args(argv=None):
    parser = common.benchmark_parser(
        __doc__.splitlines()[0], "speed.json", "anercorp.yaml", "the project's NER config ('ours')"
    )
    parser.add_argument("--sentences", type=int, default=640, help="first N ANERcorp train sentences")
    parser.add_argument("--epochs", type=int, default=1, help="epochs over those sentences, both sides")
    parser.add_argument("--max-steps", type=int, default=None, help="stop both sides after this many optimizer steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="runs per side, alternating (at least 2)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="optimizer steps left out of the timing")
    parser.add_argument("--matmul-size", type=int, default=2048)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup_steps < 0 or args.sentences < 1:
        parser.error("--repeats and --sentences must be at least 1, --warmup-steps at least 0")
    return args


# ---- measuring ------------------------------------------------------------------------------------------------
class ThroughputMeter(TrainerCallback):
    """Counts the tokens each training forward pass sees (a forward pre-hook on the model) and timestamps the end of
    every optimizer step, so throughput can be taken over the steps after a warm-up."""

    def __init__(self, warmup_steps: int):
        self.warmup_steps = warmup_steps
        self.real_tokens = self.padded_tokens = 0
        self.marks: list[tuple[float, int, int]] = []  # (time, real tokens so far, padded tokens so far) per step
        self.loop_seconds = 0.0
        self._hook = None
        self._started = 0.0

    def _count(self, module, args, kwargs) -> None:
        if not module.training:
            return
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        self.padded_tokens += int(ids.numel())
        self.real_tokens += int(mask.sum()) if mask is not None else int(ids.numel())

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._hook = model.register_forward_pre_hook(self._count, with_kwargs=True)
        self._started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.marks.append((time.perf_counter(), self.real_tokens, self.padded_tokens))

    def on_train_end(self, args, state, control, **kwargs):
        self.loop_seconds = time.perf_counter() - self._started
        if self._hook is not None:
            self._hook.remove()

    def result(self) -> dict:
        if len(self.marks) <= self.warmup_steps:
            raise ValueError(
                f"only {len(self.marks)} optimizer steps ran; need more than --warmup-steps "
                f"({self.warmup_steps}): use more --sentences or --max-steps"
            )
        (t0, real0, pad0), (t1, real1, pad1) = (
            (self.marks[self.warmup_steps - 1] if self.warmup_steps else (self._started, 0, 0)),
            self.marks[-1],
        )
        seconds = t1 - t0
        return {
            "steps": len(self.marks),
            "timed_steps": len(self.marks) - self.warmup_steps,
            "timed_tokens": real1 - real0,
            "timed_seconds": round(seconds, 2),
            "tokens_per_second": (real1 - real0) / seconds,
            "padding_share": 1 - (real1 - real0) / max(pad1 - pad0, 1),
            "total_tokens": self.real_tokens,
            "loop_seconds": round(self.loop_seconds, 2),
        }


def matmul_gflops(dtype: torch.dtype, n: int, repeats: int = 10) -> float:
    """Best sustained GFLOP/s of an n x n matmul (2 n^3 flops), median of `repeats` timed products after warm-up."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return 2 * n**3 / median(times) / 1e9


def non_embedding_parameters(model_path: str) -> int:
    """Parameters outside the embedding tables (the ones whose work grows with tokens: encoder layers, head)."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_path)
    return sum(
        p.numel() for name, p in model.named_parameters() if not ("embeddings." in name and "LayerNorm" not in name)
    )


# ---- the two ways of training ------------------------------------------------------------------------------------
def run_plain(model_path: str, sentences, labels: list[str], args, workdir: Path, meter: ThroughputMeter) -> None:
    """The run_ner.py recipe: first-subword labels, truncation at 128, dynamic padding, random batches, fp32."""
    from datasets import Dataset
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
    )

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    label2id = {label: i for i, label in enumerate(labels)}

    def tokenize_and_align(batch):
        encoded = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True, max_length=PLAIN_MAX_LENGTH)
        all_labels = []
        for i, tags in enumerate(batch["tags"]):
            previous, row = None, []
            for word in encoded.word_ids(i):
                row.append(-100 if word is None or word == previous else label2id[tags[word]])
                previous = word
            all_labels.append(row)
        encoded["labels"] = all_labels
        return encoded

    raw = Dataset.from_dict({"tokens": [s.tokens for s in sentences], "tags": [s.tags for s in sentences]})
    dataset = raw.map(tokenize_and_align, batched=True, remove_columns=raw.column_names)
    model = AutoModelForTokenClassification.from_pretrained(
        model_path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id
    )
    training_args = TrainingArguments(
        output_dir=str(workdir),
        per_device_train_batch_size=args.batch_size,
        learning_rate=PLAIN_LEARNING_RATE,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps or -1,
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        seed=42,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        callbacks=[meter],
    )
    trainer.train()


def run_ours(train_file: Path, args, workdir: Path, meter: ThroughputMeter) -> None:
    from arabic_news.training import train
    from arabic_news.training.config import load_config

    overrides = [
        f"data.train={train_file}",
        "data.dev_fraction=null",
        "data.test=null",
        "data.dev=null",
        f"training.output_dir={workdir}",
        f"training.num_train_epochs={args.epochs}",
        f"training.per_device_train_batch_size={args.batch_size}",
        "training.save_strategy='no'",
        "training.disable_tqdm=true",
        *([f"training.max_steps={args.max_steps}"] if args.max_steps else []),
        *ours_overrides(args),
    ]
    train(load_config(args.config, overrides), overwrite=True, callbacks=[meter])


def ours_overrides(args) -> list[str]:
    """bf16 first, so that a --set training.bf16=false given by the user wins."""
    return [*OURS_DEFAULT_OVERRIDES, *args.overrides]


def ours_uses_bf16(args, train_file: Path) -> bool:
    from arabic_news.training.config import load_config

    config = load_config(args.config, [f"data.train={train_file}", *ours_overrides(args)])
    return bool(config.training.get("bf16"))


# ---- the benchmark -----------------------------------------------------------------------------------------------
def load_sentences(data_dir: Path, n: int, folder: Path):
    """The first n train sentences as (tokens, tags), and the same sentences as a CoNLL file for the project."""
    from arabic_news.data.conll import read_conll, write_conll
    from benchmarks.crf_baseline import sentences_of

    docs = read_conll(common.corpus_file(data_dir, "anercorp/train.conll"))[:n]
    train_file = folder / "train.conll"
    write_conll(docs, train_file)
    types = sorted({s.label for d in docs for s in d.entities})
    return sentences_of(docs), train_file, ["O"] + [f"{p}-{t}" for t in types for p in "BI"]


def summarize(runs: list[dict], flops_per_token: float, peak: float) -> dict:
    tps = median(r["tokens_per_second"] for r in runs)
    return {
        "runs": runs,
        "median_tokens_per_second": tps,
        "achieved_gflops": tps * flops_per_token / 1e9,
        "share_of_matmul_peak": tps * flops_per_token / 1e9 / peak,
        "tokens_per_sentence_epoch": runs[0]["total_tokens"] / max(runs[0]["sentences_seen"], 1),
        "median_padding_share": median(r["padding_share"] for r in runs),
    }


def main(argv=None) -> int:
    from arabic_news.modeling import resolve_model_path

    common.setup_logging()
    args = parse_args(argv)
    folder = common.scratch_dir("speed")
    sentences, train_file, labels = load_sentences(args.data_dir, args.sentences, folder)
    model_path = resolve_model_path(MODEL)
    log.info(
        "%d sentences, %d epoch(s)%s, batch %d, %d repeats per side",
        len(sentences),
        args.epochs,
        f", at most {args.max_steps} steps" if args.max_steps else "",
        args.batch_size,
        args.repeats,
    )
    peaks_before = {
        "fp32": matmul_gflops(torch.float32, args.matmul_size),
        "bf16": matmul_gflops(torch.bfloat16, args.matmul_size),
    }
    params = non_embedding_parameters(model_path)
    runs: dict[str, list[dict]] = {"plain": [], "ours": []}
    for repeat in range(args.repeats):
        for side in ("plain", "ours"):
            workdir = folder / f"{side}-{repeat}"
            meter = ThroughputMeter(args.warmup_steps)
            log.info("run %d/%d: %s", repeat + 1, args.repeats, side)
            if side == "plain":
                run_plain(model_path, sentences, labels, args, workdir, meter)
            else:
                run_ours(train_file, args, workdir, meter)
            shutil.rmtree(workdir, ignore_errors=True)
            result = meter.result()
            result["sentences_seen"] = min(len(sentences) * args.epochs, (args.max_steps or 10**9) * args.batch_size)
            log.info(
                "%s: %.0f tokens/s (%d tokens in %.1f s, padding %.0f%%)",
                side,
                result["tokens_per_second"],
                result["timed_tokens"],
                result["timed_seconds"],
                100 * result["padding_share"],
            )
            runs[side].append(result)
    peaks_after = {
        "fp32": matmul_gflops(torch.float32, args.matmul_size),
        "bf16": matmul_gflops(torch.bfloat16, args.matmul_size),
    }
    peak = {k: max(peaks_before[k], peaks_after[k]) for k in peaks_before}
    flops_per_token = 6 * params
    plain = summarize(runs["plain"], flops_per_token, peak["fp32"])
    ours_precision = "bf16" if ours_uses_bf16(args, train_file) else "fp32"
    ours = summarize(runs["ours"], flops_per_token, peak[ours_precision])
    ratio = ours["median_tokens_per_second"] / plain["median_tokens_per_second"]
    section = {
        "model": MODEL,
        "data": repo_relative(common.corpus_file(args.data_dir, "anercorp/train.conll")),
        "sentences": len(sentences),
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "warmup_steps": args.warmup_steps,
        "order": "alternating plain, ours",
        "plain": {
            "recipe": f"run_ner.py: first-subword labels, max_length {PLAIN_MAX_LENGTH} truncation, dynamic "
            "padding, random batches, fp32, nothing frozen",
            **plain,
        },
        "ours": {
            "config": repo_relative(args.config),
            "overrides": ours_overrides(args),
            "precision": ours_precision,
            **ours,
        },
        "speedup_tokens_per_second": ratio,
        "target_speedup": 1.5,
        "matmul_gflops": {"size": args.matmul_size, "before": peaks_before, "after": peaks_after, "peak": peak},
        "flops_formula": "6 x non-embedding parameters x non-padding tokens (forward + backward; attention score "
        "products and embedding lookups not counted)",
        "non_embedding_parameters": params,
    }
    common.write_results(args.out, "speed", {"training": section}, {"training_speedup": ratio})
    print_table(
        "NER training throughput (non-padding tokens/s, median)",
        ["way", "tokens/s", "GFLOP/s", "share of matmul peak", "padding", "tokens per sentence"],
        [
            [
                name,
                f"{s['median_tokens_per_second']:.0f}",
                f"{s['achieved_gflops']:.1f}",
                f"{100 * s['share_of_matmul_peak']:.0f}% of {ours_precision if name == 'ours' else 'fp32'}",
                f"{100 * s['median_padding_share']:.0f}%",
                f"{s['tokens_per_sentence_epoch']:.1f}",
            ]
            for name, s in (("plain", plain), ("ours", ours))
        ],
    )
    print(
        f"speed-up: {ratio:.2f}x (target 1.5x); matmul peak fp32 {peak['fp32']:.0f}, bf16 {peak['bf16']:.0f} "
        f"GFLOP/s; {params / 1e6:.1f}M non-embedding parameters"
    )
    return 0


if __name__ == "__main__":
    common.run_main(main)
