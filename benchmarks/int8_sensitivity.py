"""Which operators int8 may touch: dev F1 and speed of int8 ONNX graphs that keep different operator groups in fp32.

    python -m benchmarks.int8_sensitivity --checkpoint runs/anercorp-e5 \\
        --train ../shared/data/anercorp/train.conll --test ../shared/data/anercorp/test.conll

The checkpoint is traced and fused once (as `arabic-news export` does), then quantized with dynamic int8 several
times, each keeping another group of nodes in fp32: nothing, the classifier (the export's default), the classifier
plus the feed-forward output products (their inputs carry the GELU outliers of BERT-type encoders), plus the
feed-forward input products, plus attention. Each graph is scored on dev (the last `--dev-fraction` of the training
file, as the configs cut it: choices are made there) and, for the record, on test; words/s is the median of
`--repeats` passes over the dev sentences after a warm-up, one variant after another in turn.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

GROUPS = {
    "none": [],
    "classifier": ["classifier"],
    "classifier+ffn_out": ["classifier", "ffn_out"],
    "classifier+ffn": ["classifier", "ffn_out", "ffn_in"],
    "classifier+ffn+attention": ["classifier", "ffn_out", "ffn_in", "attention"],
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--train", required=True, type=Path, help="the training file; its last --dev-fraction is dev")
    p.add_argument("--dev-fraction", type=float, default=0.1)
    p.add_argument("--test", type=Path, help="test file, scored for the record (never used to choose)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/int8_sensitivity.json"))
    return p.parse_args(argv)


def node_groups(graph: Path) -> dict[str, list[str]]:
    """The quantizable nodes of a fused graph, by role (from the exporter's node names and operator types)."""
    import onnx

    from arabic_news.export.graph import classifier_nodes

    model = onnx.load(str(graph), load_external_data=False)
    groups: dict[str, list[str]] = {"classifier": classifier_nodes(graph), "ffn_out": [], "ffn_in": [], "attention": []}
    for node in model.graph.node:
        name = node.name
        if node.op_type == "Attention" or "/attention/" in name and node.op_type == "MatMul":
            groups["attention"].append(name)
        elif node.op_type == "MatMul" and "/intermediate/" in name:
            groups["ffn_in"].append(name)
        elif node.op_type == "MatMul" and "/output/dense/" in name:
            groups["ffn_out"].append(name)
    return groups


def main(argv=None) -> int:
    args = parse_args(argv)
    from arabic_news.checkpoint import load_checkpoint
    from arabic_news.data import read_documents
    from arabic_news.export.graph import optimize, quantize_int8, trace
    from arabic_news.inference import OnnxBackend, TaskModel
    from arabic_news.training.splits import split_off_dev
    from benchmarks.common import machine_info

    model, tokenizer, metadata = load_checkpoint(args.checkpoint)
    _, dev = split_off_dev(read_documents(args.train), args.dev_fraction)
    test = read_documents(args.test) if args.test else []
    work = Path(tempfile.mkdtemp(prefix="int8-sensitivity-"))
    fp32 = work / "fp32.onnx"
    trace(model, work / "traced.onnx", token_level=metadata.task == "ner")
    optimize(work / "traced.onnx", fp32, model.config.num_attention_heads, model.config.hidden_size)
    groups = node_groups(fp32)
    graphs = {"fp32": (fp32, "fp32", [])}
    for variant, kept in GROUPS.items():
        target = work / f"int8-{variant}.onnx"
        keep = [name for group in kept for name in groups[group]]
        quantize_int8(fp32, target, keep)
        graphs[f"int8 keep {variant}"] = (target, "int8", keep)
    models = {
        name: TaskModel(OnnxBackend(path, precision), tokenizer, metadata)
        for name, (path, precision, _) in graphs.items()
    }
    words = sum(len(d.text.split()) for d in dev)
    rows: dict[str, dict] = {}
    for name, tagged in models.items():
        predicted = tagged.predict_documents([d.unlabeled() for d in dev], args.batch_size)  # also the warm-up
        rows[name] = {"dev": tagged.task.headline(dev, predicted), "seconds": []}
        if test:
            rows[name]["test"] = tagged.task.headline(test, tagged.predict_documents([d.unlabeled() for d in test]))
        rows[name]["kept_fp32_nodes"] = len(graphs[name][2])
        rows[name]["size_mb"] = round(graphs[name][0].stat().st_size / 2**20, 1)
    for _ in range(args.repeats):
        for name, tagged in models.items():
            started = time.perf_counter()
            tagged.predict_documents([d.unlabeled() for d in dev], args.batch_size)
            rows[name]["seconds"].append(round(time.perf_counter() - started, 3))
    key = metadata.task_type.headline_metric
    for row in rows.values():
        row["words_per_s"] = round(words / statistics.median(row["seconds"]), 1)
        row["dev_loss_points"] = round(100 * (rows["fp32"]["dev"][key] - row["dev"][key]), 2)
        if test:
            row["test_loss_points"] = round(100 * (rows["fp32"]["test"][key] - row["test"][key]), 2)
    report = {
        "checkpoint": str(args.checkpoint),
        "dev": f"last {args.dev_fraction:.0%} of {args.train} ({len(dev)} documents, {words} words)",
        "test": str(args.test) if args.test else None,
        "metric": key,
        "groups": {name: len(nodes) for name, nodes in groups.items()},
        "machine": machine_info(),
        "variants": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{'graph':34} {'dev ' + key:>8} {'loss':>6} {'test':>6} {'loss':>6} {'words/s':>8} {'MB':>6}")
    for name, row in rows.items():
        print(
            f"{name:34} {100 * row['dev'][key]:8.2f} {row['dev_loss_points']:6.2f} "
            f"{100 * row.get('test', {}).get(key, 0):6.2f} {row.get('test_loss_points', 0):6.2f} "
            f"{row['words_per_s']:8.0f} {row['size_mb']:6.1f}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
