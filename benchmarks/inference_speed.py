"""Inference speed, memory and accuracy of one checkpoint (NER or topic), side by side with `transformers.pipeline`.

    python -m benchmarks.inference_speed --checkpoint runs/anercorp-e5 \\
        --data ../shared/data/anercorp/test.conll --out benchmarks/results/inference_speed.json
    python -m benchmarks.inference_speed --checkpoint runs/sample-topic \\
        --data data/sample/test.jsonl --out benchmarks/results/inference_speed_topic.json

Variants, all on the same checkpoint and the same texts (for CoNLL data, the sentences, their words joined by spaces):
- `pipeline`: `transformers.pipeline("token-classification", aggregation_strategy="simple")` for NER,
  `pipeline("text-classification")` for topics, batch_size 32;
- `fp32`, `bf16`, `int8`: this project's `NewsTagger.predict_documents` (normalization, windows, length-sorted
  batches with dynamic padding, decoding to character spans) in PyTorch, in float32, bfloat16, and with torch's
  dynamic int8 quantization of the linear layers;
- `onnx_fp32`, `onnx_int8`: the same path on ONNX Runtime, with folders made by `arabic-news export` (fp32, and
  int8 with the classifier in fp32) into `--export-dir` before timing (an existing export there is reused);
- `forward_fp32` (diagnostic, no entities): only the model's forward passes over the same length-sorted padded
  batches, to show how much of the end-to-end time is pre- and post-processing.

Timing: each variant runs once untimed (warm-up), then the variants take turns for `--repeats` rounds (alternating,
so a slow spell of a shared machine hits all of them alike); the figure is the median. Throughput counts the CoNLL
words. Model loading is not timed.

Memory and cold start: each variant is also run once in a fresh process that loads the model (`load_s`, timed from
after the imports to a loaded model) and predicts all texts; its peak resident set size (VmHWM of /proc/self/status on Linux, else `resource.getrusage(RUSAGE_SELF).ru_maxrss`; both
include torch's native buffers) is reported,
together with the peak of the same process doing nothing but the imports and reading the data (`baseline`), and the
peak of Python-level allocations during prediction (`tracemalloc`, a separate run since tracing slows Python down;
torch tensors are not Python allocations and do not appear there).

Accuracy: NER: micro precision/recall/F1 against the gold entities (seqeval default mode at word level, via
`arabic_news.tasks.ner.metrics`), and agreement of each variant's entities with the pipeline's (and with fp32): the
share of documents with identical entity lists, the Jaccard overlap of (document, start, end, label) sets, and the
share of words given the same IOB2 tag. Topics: accuracy and macro-F1, and the share of documents given the same
topic. `f1_loss_vs_fp32` is fp32's F1 (macro-F1 for topics) minus the variant's, in points (0-100).

Size: the weights file each variant loads (model.safetensors, or model.onnx), in MB. Machine: CPU model, cores and
the instruction sets that decide which kernels run (AVX2, AVX-512, VNNI, AVX-512 BF16, AMX), since the ratios
between variants differ from one CPU to another.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

END_TO_END = ("pipeline", "fp32", "bf16", "int8", "onnx_fp32", "onnx_int8")
ONNX = {"onnx_fp32": None, "onnx_int8": "int8"}  # variant -> the export's quantization
DIAGNOSTIC = ("forward_fp32",)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, type=Path, help="a finished NER checkpoint folder")
    p.add_argument("--data", required=True, type=Path, help="CoNLL file whose sentences are the texts")
    p.add_argument("--limit", type=int, help="use only the first N sentences (for quick runs)")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds per variant (median reported; >= 3)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument(
        "--variants",
        default=",".join(END_TO_END + DIAGNOSTIC),
        help=f"comma-separated subset of {', '.join(END_TO_END + DIAGNOSTIC)}",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the per-variant memory runs")
    p.add_argument(
        "--export-dir",
        type=Path,
        default=Path("runs/benchmark-exports"),
        help="where the ONNX variants' exports are made (or reused, when already there)",
    )
    p.add_argument("--model-path", type=Path, help=argparse.SUPPRESS)  # internal: the folder a memory probe loads
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/inference_speed.json"))
    p.add_argument("--memory-probe", metavar="VARIANT", help=argparse.SUPPRESS)  # internal: one fresh-process run
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------------- data


def read_texts(path: Path, limit: int | None):
    from arabic_news.data.formats import read_documents

    docs = read_documents(path)
    return docs[:limit] if limit else docs


def word_count(docs) -> int:
    return sum(len(d.text.split()) for d in docs)


# ----------------------------------------------------------------------------------------------- predictors


def task_of(checkpoint: Path) -> str:
    from arabic_news.checkpoint import read_metadata

    return read_metadata(checkpoint).task


def model_folder(variant: str, checkpoint: Path, export_dir: Path) -> Path:
    return export_dir / f"{checkpoint.name}-{variant}" if variant in ONNX else checkpoint


def make_exports(variants: list[str], checkpoint: Path, export_dir: Path) -> dict:
    """Export the ONNX variants' folders (reusing finished ones); returns their export cards."""
    from arabic_news.checkpoint import EXPORT_CARD, is_finished
    from arabic_news.export import ExportRequest, export_checkpoint

    cards = {}
    for variant in (v for v in variants if v in ONNX):
        folder = model_folder(variant, checkpoint, export_dir)
        if not is_finished(folder):
            export_checkpoint(ExportRequest(checkpoint, folder, quantize=ONNX[variant], overwrite=folder.exists()))
        cards[variant] = json.loads((folder / EXPORT_CARD).read_text(encoding="utf-8"))
    return cards


def make_predictor(variant: str, checkpoint: Path, batch_size: int, folder: Path | None = None, threads=None):
    """A function from gold Documents to predicted Documents (or None for the forward-only diagnostic)."""
    task = task_of(checkpoint)
    if variant == "pipeline":
        from transformers import pipeline

        if task == "topic":
            reference = pipeline("text-classification", model=str(checkpoint), device=-1)
            return lambda docs: pipeline_topics(
                docs, reference(docs_texts(docs), batch_size=batch_size, truncation=True)
            )
        reference = pipeline("token-classification", model=str(checkpoint), aggregation_strategy="simple", device=-1)
        return lambda docs: pipeline_documents(docs, reference(docs_texts(docs), batch_size=batch_size))
    from arabic_news.inference import load

    options = {"fp32": {"dtype": "fp32"}, "bf16": {"dtype": "bf16"}, "int8": {"quantize": "int8"}}
    tagger = load(folder or checkpoint, device="cpu", threads=threads, **options.get(variant, {"dtype": "fp32"}))
    if variant == "forward_fp32":
        return lambda docs: forward_only(tagger.ner or tagger.topic, docs, batch_size)
    return lambda docs: tagger.predict_documents(docs, batch_size=batch_size)


def docs_texts(docs) -> list[str]:
    return [d.text for d in docs]


def pipeline_documents(docs, outputs):
    """The pipeline's entity groups as Documents (spans trimmed of the spaces some tokenizers put in offsets)."""
    from dataclasses import replace

    from arabic_news.data.document import Span

    out = []
    for doc, groups in zip(docs, outputs):
        spans, end = [], 0
        for g in groups:
            start, stop = int(g["start"]), int(g["end"])
            while start < stop and doc.text[start].isspace():
                start += 1
            while stop > start and doc.text[stop - 1].isspace():
                stop -= 1
            if stop > start and start >= end:  # flat spans only, as the metrics expect
                spans.append(Span(start, stop, g["entity_group"], doc.text[start:stop], float(g["score"])))
                end = stop
        meta = {k: v for k, v in doc.meta.items() if k != "tags"}  # the gold tags must not ride along
        out.append(replace(doc, entities=spans, meta=meta))
    return out


def pipeline_topics(docs, outputs):
    from dataclasses import replace

    return [replace(doc, topic=out["label"], entities=[]) for doc, out in zip(docs, outputs)]


def forward_only(model, docs, batch_size: int):
    features = [model.codec.inference_features(model.codec.encode(d)) for d in docs]
    model._run(features, batch_size, False)
    return None


# ----------------------------------------------------------------------------------------------- timing


def time_variants(predictors: dict, docs, repeats: int) -> tuple[dict, dict]:
    """Warm up each variant, then alternate timed runs; returns (wall, CPU) seconds per run and the predictions.
    CPU seconds (all threads of this process) are steadier than wall time on a machine shared with other jobs."""
    predictions = {name: run(docs) for name, run in predictors.items()}  # warm-up, and the outputs to score
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in predictors}
    for _ in range(repeats):
        for name, run in predictors.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            run(docs)
            seconds[name].append((time.perf_counter() - started, time.process_time() - cpu_started))
    return seconds, predictions


# ----------------------------------------------------------------------------------------------- accuracy


def accuracy(gold, predicted, task: str) -> dict:
    """NER: micro P/R/F1; topics: accuracy and macro-F1, also under `f1` (the figure the F1 loss is taken on)."""
    if task == "topic":
        from arabic_news.tasks import TASKS

        scores = TASKS["topic"].headline(gold, predicted)
        return {"accuracy": round(scores["accuracy"], 4), "f1": round(scores["macro_f1"], 4)}
    from arabic_news.tasks.ner.metrics import ner_scores

    micro = ner_scores(gold, predicted)["micro"]
    return {k: round(micro[k], 4) for k in ("precision", "recall", "f1")}


def agreement(a, b, task: str) -> dict:
    if task == "topic":
        return {"same_topic": round(sum(x.topic == y.topic for x, y in zip(a, b)) / max(len(a), 1), 4)}
    return entity_agreement(a, b)


def entity_agreement(a, b) -> dict:
    from arabic_news.tasks.ner.metrics import word_tags

    same_docs = sum(x.entities == y.entities for x, y in zip(a, b))
    spans_a = {(i, s.start, s.end, s.label) for i, d in enumerate(a) for s in d.entities}
    spans_b = {(i, s.start, s.end, s.label) for i, d in enumerate(b) for s in d.entities}
    union = spans_a | spans_b
    tags_a = [t for tags in word_tags(a) for t in tags]
    tags_b = [t for tags in word_tags(b) for t in tags]
    return {
        "identical_documents": round(same_docs / max(len(a), 1), 4),
        "entity_jaccard": round(len(spans_a & spans_b) / len(union), 4) if union else 1.0,
        "word_tag_agreement": round(sum(x == y for x, y in zip(tags_a, tags_b)) / max(len(tags_a), 1), 4),
        "entities": [len(spans_a), len(spans_b)],
    }


# ----------------------------------------------------------------------------------------------- memory


def memory_probe(args) -> dict:
    """Run in a fresh process: peak RSS after loading and predicting once, and the Python-level peak."""
    docs = read_texts(args.data, args.limit)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.memory_probe == "baseline":
        import torch  # noqa: F401  (the imports every variant pays for)
        import transformers  # noqa: F401

        return {"peak_rss_mb": peak_rss_mb()}
    started = time.perf_counter()
    run = make_predictor(args.memory_probe, args.checkpoint, args.batch_size, args.model_path, args.threads)
    load_s = time.perf_counter() - started
    run(docs)
    rss = peak_rss_mb()
    tracemalloc.start()
    run(docs)
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"peak_rss_mb": rss, "python_peak_mb": round(python_peak / 2**20, 1), "load_s": round(load_s, 2)}


def peak_rss_mb() -> float:
    """Peak resident set size of this process. On Linux, getrusage's ru_maxrss still counts the parent's memory
    that was shared at fork time (it survives exec), so /proc/self/status's VmHWM, kept per address space, is read
    instead (elsewhere, ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 2**10, 1)
    except OSError:
        pass
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return round(kilobytes / (2**20 if sys.platform == "darwin" else 2**10), 1)


def measure_memory(args, variants: list[str]) -> dict:
    out = {}
    for variant in ["baseline", *variants]:
        command = [
            sys.executable,
            __file__,
            "--checkpoint",
            str(args.checkpoint),
            "--data",
            str(args.data),
            "--batch-size",
            str(args.batch_size),
            "--memory-probe",
            variant,
        ]
        command += ["--limit", str(args.limit)] if args.limit else []
        if variant in ONNX:
            command += ["--model-path", str(model_folder(variant, args.checkpoint, args.export_dir))]
        command += ["--threads", str(args.threads)] if args.threads else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"memory run of {variant} failed:\n{done.stderr[-2000:]}")
        out[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# ----------------------------------------------------------------------------------------------- report


def weights_mb(variant: str, args) -> float:
    folder = model_folder(variant, args.checkpoint, args.export_dir)
    name = "model.onnx" if variant in ONNX else "model.safetensors"
    return round((folder / name).stat().st_size / 2**20, 1)


def build_report(args, docs, seconds: dict, predictions: dict, memory: dict, cards: dict) -> dict:
    from benchmarks.common import machine_info

    task = task_of(args.checkpoint)
    words = word_count(docs)
    speed = {name: words / statistics.median(wall for wall, _ in runs) for name, runs in seconds.items()}
    cpu_speed = {name: words / statistics.median(cpu for _, cpu in runs) for name, runs in seconds.items()}
    report = {
        "checkpoint": str(args.checkpoint),
        "data": str(args.data),
        "texts": len(docs),
        "words": words,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "task": task,
        "threads": args.threads,
        "machine": machine_info(),
        "method": {
            "timing": "warm-up run, then alternating timed runs; median seconds; words/s = CoNLL words "
            "/ median; words_per_cpu_s the same with process CPU time (all threads); "
            "model loading not timed",
            "memory": "fresh process per variant: peak RSS (VmHWM, else getrusage ru_maxrss) after "
            "loading and predicting all texts once; python_peak_mb = tracemalloc peak of a "
            "second prediction pass; baseline = imports and data only",
            "accuracy": "NER: seqeval default mode, word level, micro P/R/F1 via arabic_news.tasks.ner.metrics; "
            "topics: accuracy and macro-F1 (as f1); f1_loss_vs_fp32 = (fp32 f1 - variant f1) x 100",
            "size": "the weights file the variant loads (model.safetensors or model.onnx)",
            "load": "load_s: seconds from after the imports to a loaded model, in the fresh memory process",
        },
        "variants": {},
    }
    for name, runs in seconds.items():
        row = {
            "words_per_s": round(speed[name], 1),
            "seconds": [round(wall, 3) for wall, _ in runs],
            "words_per_cpu_s": round(cpu_speed[name], 1),
            "cpu_seconds": [round(cpu, 3) for _, cpu in runs],
        }
        if "pipeline" in speed:
            row["ratio_vs_pipeline"] = round(speed[name] / speed["pipeline"], 3)
            row["cpu_ratio_vs_pipeline"] = round(cpu_speed[name] / cpu_speed["pipeline"], 3)
        if predictions.get(name) is not None:
            row.update(accuracy(docs, predictions[name], task))
            for other in ("pipeline", "fp32"):
                if other != name and predictions.get(other) is not None:
                    row[f"agreement_with_{other}"] = agreement(predictions[name], predictions[other], task)
        if name in memory:
            row["memory"] = memory[name]
        if name != "forward_fp32":
            row["weights_mb"] = weights_mb(name, args)
        if name in cards:
            row["export"] = {
                k: cards[name][k] for k in ("precision", "fused_operators", "quantization") if k in cards[name]
            }
        report["variants"][name] = row
    variants = report["variants"]
    if "fp32" in variants and "f1" in variants["fp32"]:
        for row in variants.values():
            if "f1" in row:
                row["f1_loss_vs_fp32"] = round(100 * (variants["fp32"]["f1"] - row["f1"]), 2)
    if "baseline" in memory:
        report["memory_baseline"] = memory["baseline"]
    return report


def print_summary(report: dict) -> None:
    machine = report["machine"]
    isa = ", ".join(flag for flag, present in machine["isa"].items() if present) or "unknown"
    print(
        f"{report['texts']} texts, {report['words']} words, {machine['torch_threads']} threads; {machine['cpu']} ({isa})"
    )
    print(
        f"{'variant':12} {'words/s':>9} {'x pipe':>7} {'words/cpu-s':>11} {'x pipe':>7} {'F1':>6} {'loss':>6} "
        f"{'RSS MB':>7} {'load s':>6} {'MB':>6}"
    )
    for name, row in report["variants"].items():
        memory = row.get("memory", {})
        print(
            f"{name:12} {row['words_per_s']:9.0f} {row.get('ratio_vs_pipeline', 0):7.2f} "
            f"{row['words_per_cpu_s']:11.0f} {row.get('cpu_ratio_vs_pipeline', 0):7.2f} {row.get('f1', ''):>6} "
            f"{row.get('f1_loss_vs_fp32', '')!s:>6} {memory.get('peak_rss_mb', '')!s:>7} "
            f"{memory.get('load_s', '')!s:>6} {row.get('weights_mb', '')!s:>6}"
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.memory_probe:
        print(json.dumps(memory_probe(args)))
        return 0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(END_TO_END + DIAGNOSTIC)
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; choose from {', '.join(END_TO_END + DIAGNOSTIC)}")
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1 (3 or more for a median worth reporting)")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    docs = read_texts(args.data, args.limit)
    cards = make_exports(variants, args.checkpoint, args.export_dir)
    predictors = {
        v: make_predictor(
            v, args.checkpoint, args.batch_size, model_folder(v, args.checkpoint, args.export_dir), args.threads
        )
        for v in variants
    }
    seconds, predictions = time_variants(predictors, docs, args.repeats)
    memory = {} if args.no_memory else measure_memory(args, variants)
    report = build_report(args, docs, seconds, predictions, memory, cards)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_summary(report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
