"""Tagging at corpus scale: per-core rate, flat memory, resume cost, and Ray, for `predict` with JSONL output.

    python -m benchmarks.corpus_scale --checkpoint runs/sample-ner --ray [--features 8640]

Every figure comes from `python -m arabic_news predict ...` run as a subprocess, as a user runs it; its wall time is
measured around the process (model loading included) and its peak resident set size is the child's `ru_maxrss`
(from `os.wait4`, so of that process alone). Corpora are synthetic, built in a scratch folder outside the
repository from the project's own sample articles (`data/sample/*.jsonl`):

- `rate`: the real task. The checkpoint given (an e5-small NER model trained on the sample, e.g. by
  `python train.py configs/sample-ner.yaml`) tags `--articles` whole sample articles (cycled, each with its own id),
  with 1 thread (the per-core rate) and with all cores (`--threads 2` here). Documents/s excludes model loading
  (the process's time minus that of a run on 1 article).
- `memory`: flat memory whatever the input size. The same command on two synthetic corpora of `--sizes` documents
  (short documents: one sentence of a sample article each, so that tens of thousands are tagged in minutes) with a
  tiny 2-layer NER model trained here on the sample in seconds (`tiny_checkpoint`); the e5-small model would take
  hours. Every document is read, checked, tagged and written; only the model differs. Peak RSS should not grow
  with the input; the part that may is the set of ids kept to refuse a repeated one.
- `resume`: the larger corpus run again after it was killed (SIGKILL) when about half its lines were written:
  the rerun's wall time against the uninterrupted run's, and its fixed overhead (time beyond what the remaining
  documents cost at the uninterrupted rate: loading, reading the input through, checking the written ids).
- `ray` (with `--ray`, needs `pip install -e ".[ray]"`): the `rate` articles through `--engine ray --workers 2`
  (a local 2-CPU Ray), against the local path with 2 threads; Ray start-up included.

- `training_features` (with `--features N`): training's encoded features for N sample articles with their gold
  entities (cycled; 4,320 articles are about 790k words, five times ANERcorp's training set), encoded with the
  checkpoint's tokenizer and preprocessing by `training.features.features_dataset`, each in a fresh process that
  then reads every row once (as an epoch does): in memory (`data.features_cache: false`), a cache miss (encoded
  into the Arrow file) and a cache hit (memory-mapped). Peak RSS and seconds of each.

Results go to benchmarks/results/corpus_scale.json; docs/scale-out.md turns the per-core rate into a projection.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import common

SAMPLE = common.REPO_ROOT / "data" / "sample"


def sample_texts() -> list[str]:
    return [
        json.loads(line)["text"]
        for split in ("train", "dev")
        for line in (SAMPLE / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def sentences(texts: list[str]) -> list[str]:
    """The sample articles cut into sentences of at least 5 words."""
    out = []
    for text in texts:
        for piece in re.split(r"(?<=[.!؟?])\s+", text):
            if len(piece.split()) >= 5:
                out.append(piece.strip())
    return out


def write_corpus(path: Path, texts: list[str], n: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            record = {"id": f"syn-{i:07d}", "text": texts[i % len(texts)], "source": "synthetic"}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def tiny_checkpoint(folder: Path) -> Path:
    """A 2-layer, 64-wide NER model with the embedded encoder's tokenizer, trained on the sample for 20 steps."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from arabic_news.modeling import resolve_model_path
    from arabic_news.training import train
    from arabic_news.training.config import config_from_dict

    model_dir = folder / "tiny-model"
    if (folder / "tiny-ner" / "arabic_news.json").is_file():
        return folder / "tiny-ner"
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("embedded:e5-small"))
    tokenizer.save_pretrained(model_dir)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=514,
    )
    BertModel(config).save_pretrained(model_dir)
    raw = {
        "task": "ner",
        "model": {"name_or_path": str(model_dir), "freeze_embeddings": True},
        "data": {"train": str(SAMPLE / "train.jsonl"), "features_cache": False},
        "preprocessing": {"max_length": 128, "stride": 32},
        "training": {
            "output_dir": str(folder / "tiny-ner"),
            "max_steps": 20,
            "learning_rate": 1e-3,
            "per_device_train_batch_size": 16,
            "save_strategy": "no",
            "logging_strategy": "no",
            "report_to": [],
        },
    }
    return train(config_from_dict(raw))


def predict_process(args: list[str], threads: int, kill_after_lines: int | None = None, watch: Path | None = None):
    """Run `python -m arabic_news predict ARGS` under `/usr/bin/time` and return (seconds, peak RSS in MiB, exit
    status, last stderr line). The peak is GNU time's %M for the predict process alone: measured from a small parent,
    so it never counts pages of this (large) benchmark process that a fork shares before the exec."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    peak_file = Path(tempfile.mkstemp(suffix=".rss")[1])
    command = [sys.executable, "-m", "arabic_news", "predict", *args, "--threads", str(threads)]
    started = time.perf_counter()
    process = subprocess.Popen(
        ["/usr/bin/time", "-o", str(peak_file), "-f", "%M", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if kill_after_lines is not None:
        while process.poll() is None:
            try:
                if watch.read_bytes().count(b"\n") >= kill_after_lines:
                    for child in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split():
                        os.kill(int(child), signal.SIGKILL)  # the predict process under /usr/bin/time
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.05)
    stderr_text = process.communicate()[1]
    seconds = time.perf_counter() - started
    lines = [line for line in stderr_text.replace("\r", "\n").splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("Command terminated", "Command exited"))]
    lines = [line.replace(f"{args[args.index('--output') + 1].rsplit('/', 1)[0]}/", "") for line in lines]  # no paths
    if process.returncode != 0 and kill_after_lines is None:
        raise common.BenchmarkError(f"predict failed ({process.returncode}): {lines[-1] if lines else ''}")
    numbers = re.findall(r"^\d+$", peak_file.read_text(), flags=re.M)
    peak_file.unlink()
    return (
        seconds,
        round(int(numbers[-1]) / 1024, 1) if numbers else None,
        process.returncode,
        (lines[-1] if lines else ""),
    )


def base_args(checkpoint: Path, source: Path, out: Path, batch_size: int) -> list[str]:
    return [
        "--checkpoint",
        str(checkpoint),
        "--input",
        str(source),
        "--output",
        str(out),
        "--batch-size",
        str(batch_size),
        "--overwrite",
    ]


def tagging_rate(summary: str) -> float | None:
    """The documents/s of predict's summary line: the tagging phase (after loading and the read-through)."""
    match = re.search(r"in ([\d.]+) s, ([\d.]+) documents/s", summary)
    return float(match[2]) if match else None


def checkpoint_info(checkpoint: Path) -> dict[str, Any]:
    meta = json.loads((checkpoint / "arabic_news.json").read_text(encoding="utf-8"))
    return {
        "name": checkpoint.name,
        "task": meta.get("task"),
        "encoder": meta.get("encoder"),
        "max_length": meta.get("preprocessing", {}).get("max_length"),
        "stride": meta.get("preprocessing", {}).get("stride"),
        "dev": meta.get("scores", {}).get("dev"),
    }


def rate_section(checkpoint: Path, work: Path, articles: int, threads_list: list[int]) -> dict[str, Any]:
    texts = sample_texts()
    corpus = write_corpus(work / "articles.jsonl", texts, articles)
    words = sum(len(texts[i % len(texts)].split()) for i in range(articles))
    runs = {}
    for threads in threads_list:
        seconds, rss, _, summary = predict_process(base_args(checkpoint, corpus, work / "rate.jsonl", 32), threads)
        rate = tagging_rate(summary)
        runs[f"threads_{threads}"] = {
            "threads": threads,
            "wall_seconds": round(seconds, 1),
            "documents_per_second": rate,
            "words_per_second": round(rate * words / articles, 1) if rate else None,
            "peak_rss_mib": rss,
            "summary": summary,
        }
    return {
        "checkpoint": checkpoint_info(checkpoint),
        "documents": articles,
        "mean_words_per_document": round(words / articles, 1),
        "note": "documents_per_second: the tagging phase of predict's summary line (model loading and the input's "
        "read-through excluded); wall_seconds: the whole command",
        "runs": runs,
    }


def memory_and_resume(work: Path, sizes: list[int], threads: int) -> tuple[dict[str, Any], dict[str, Any]]:
    checkpoint = tiny_checkpoint(work)
    pool = sentences(sample_texts())
    memory: dict[str, Any] = {
        "checkpoint": "tiny 2-layer NER model trained here (see the module docstring)",
        "distinct_texts": len(pool),
        "threads": threads,
        "runs": {},
    }
    largest = None
    for n in sizes:
        corpus = write_corpus(work / f"short-{n}.jsonl", pool, n)
        out = work / f"short-{n}.tagged.jsonl"
        seconds, rss, _, summary = predict_process(base_args(checkpoint, corpus, out, 32), threads)
        memory["runs"][str(n)] = {
            "documents": n,
            "input_mib": round(corpus.stat().st_size / 2**20, 1),
            "wall_seconds": round(seconds, 1),
            "documents_per_second": tagging_rate(summary),
            "peak_rss_mib": rss,
            "summary": summary,
        }
        largest = (n, corpus, out, seconds)
    n, corpus, out, full_seconds = largest
    partial = Path(f"{out}.partial")
    killed = work / "killed.jsonl"
    args = base_args(checkpoint, corpus, killed, 32)
    seconds_to_kill, _, status, _ = predict_process(
        args, threads, kill_after_lines=n // 2, watch=Path(f"{killed}.partial")
    )
    written = Path(f"{killed}.partial").read_bytes().count(b"\n")
    resume_args = [a for a in args if a != "--overwrite"]
    resume_seconds, rss, _, summary = predict_process(resume_args, threads)
    remaining = n - written
    expected = full_seconds * remaining / n
    resume = {
        "documents": n,
        "killed_after_seconds": round(seconds_to_kill, 1),
        "killed_with_status": status,
        "documents_written_before_the_kill": written,
        "rerun_wall_seconds": round(resume_seconds, 1),
        "uninterrupted_wall_seconds": round(full_seconds, 1),
        "rerun_overhead_seconds": round(resume_seconds - expected, 1),
        "peak_rss_mib": rss,
        "same_output_as_uninterrupted": killed.read_bytes() == out.read_bytes(),
        "summary": summary,
    }
    partial.unlink(missing_ok=True)
    return memory, resume


def ray_section(checkpoint: Path, work: Path, articles: int) -> dict[str, Any]:
    corpus = write_corpus(work / "articles.jsonl", sample_texts(), articles)
    local_s, local_rss, _, _ = predict_process(base_args(checkpoint, corpus, work / "local.jsonl", 32), 2)
    ray_args = base_args(checkpoint, corpus, work / "ray.jsonl", 32) + ["--engine", "ray", "--workers", "2"]
    ray_s, ray_rss, _, summary = predict_process(ray_args, 1)
    return {
        "documents": articles,
        "local_2_threads": {
            "wall_seconds": round(local_s, 1),
            "documents_per_second_whole_command": round(articles / local_s, 2),
            "peak_rss_mib": local_rss,
        },
        "ray_2_workers": {
            "wall_seconds": round(ray_s, 1),
            "documents_per_second_whole_command": round(articles / ray_s, 2),
            "documents_per_second_tagging": tagging_rate(summary),
            "driver_peak_rss_mib": ray_rss,
            "summary": summary,
        },
        "same_output": (work / "local.jsonl").read_bytes() == (work / "ray.jsonl").read_bytes(),
        "note": "wall time of the whole command, model loading and (for Ray) Ray start-up included",
    }


_FEATURES_CHILD = """
import json, sys, time
from pathlib import Path
from arabic_news.data import read_documents
from arabic_news.inference import TaskModel
from arabic_news.training.features import features_dataset
model = TaskModel.load(sys.argv[1])
docs = read_documents(sys.argv[2])
started = time.perf_counter()
cache = None if sys.argv[3] == "off" else Path(sys.argv[3])
dataset = features_dataset(model.codec, docs, "train", cache, {"benchmark": "corpus_scale"})
tokens = sum(len(row["input_ids"]) for row in dataset)
print(json.dumps({"windows": len(dataset), "tokens": tokens, "seconds": round(time.perf_counter() - started, 1)}))
"""


def features_section(checkpoint: Path, work: Path, articles: int) -> dict[str, Any]:
    source = [line for line in (SAMPLE / "train.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    corpus = work / "annotated.jsonl"
    words = 0
    with open(corpus, "w", encoding="utf-8") as handle:
        for i in range(articles):
            record = json.loads(source[i % len(source)])
            record["id"] = f"syn-{i:06d}"
            words += len(record["text"].split())
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    runs = {}
    for mode, cache in (("in_memory", "off"), ("cache_miss", str(work / "cache")), ("cache_hit", str(work / "cache"))):
        peak_file = Path(tempfile.mkstemp(suffix=".rss")[1])
        done = subprocess.run(
            ["/usr/bin/time", "-o", str(peak_file), "-f", "%M", sys.executable, "-c", _FEATURES_CHILD]
            + [str(checkpoint), str(corpus), cache],
            env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise common.BenchmarkError(f"features run failed: {done.stderr.strip().splitlines()[-1:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        numbers = re.findall(r"^\d+$", peak_file.read_text(), flags=re.M)
        peak_file.unlink()
        runs[mode] = {**figures, "peak_rss_mib": round(int(numbers[-1]) / 1024, 1) if numbers else None}
    return {
        "articles": articles,
        "words": words,
        "input_mib": round(corpus.stat().st_size / 2**20, 1),
        "checkpoint": checkpoint.name,
        "note": "seconds: encoding (or opening the cache) plus one read of every row; peak RSS of the whole process, "
        "the model loaded for its codec included",
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="an NER checkpoint (e.g. runs/sample-ner)")
    parser.add_argument("--articles", type=int, default=200, help="whole articles tagged for the per-core rate")
    parser.add_argument("--sizes", type=int, nargs=2, default=[20000, 100000], help="the two short-document corpora")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts for the rate")
    parser.add_argument("--ray", action="store_true", help="also time --engine ray with 2 workers")
    parser.add_argument("--features", type=int, metavar="N", help="also measure training features for N articles")
    parser.add_argument("--only-features", action="store_true", help="measure only the training features")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR / "corpus_scale.json")
    args = parser.parse_args()
    if not (args.checkpoint / "arabic_news.json").is_file():
        raise common.BenchmarkError(f"{args.checkpoint} is not a finished checkpoint; train one first")
    work = common.scratch_dir("corpus-scale-")
    sections: dict[str, Any] = {}
    if args.features:
        sections["training_features"] = features_section(args.checkpoint, work, args.features)
        print(json.dumps(sections["training_features"], indent=2), file=sys.stderr)
    if args.only_features:
        common.write_results(args.out, "corpus_scale", sections, {})
        return 0
    sections["rate"] = rate_section(args.checkpoint, work, args.articles, args.threads)
    print(json.dumps(sections["rate"], indent=2), file=sys.stderr)
    sections["memory"], sections["resume"] = memory_and_resume(work, sorted(args.sizes), 1)
    print(json.dumps({k: sections[k] for k in ("memory", "resume")}, indent=2), file=sys.stderr)
    if args.ray:
        sections["ray"] = ray_section(args.checkpoint, work, args.articles)
        print(json.dumps(sections["ray"], indent=2), file=sys.stderr)
    sections["machine"] = common.machine_info()
    per_core = sections["rate"]["runs"].get("threads_1", {}).get("documents_per_second")
    common.write_results(args.out, "corpus_scale", sections, {"documents_per_second_per_core": per_core})
    return 0


if __name__ == "__main__":
    common.run_main(main)
