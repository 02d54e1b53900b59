"""README.md of an export folder: what it is, how it was made, what it scored, and how to use it."""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_write_text
from ..checkpoint import CheckpointMetadata


def write_card(path: Path, card: dict, metadata: CheckpointMetadata) -> None:
    atomic_write_text(path, render_card(card, metadata, path.parent.name))


def render_card(card: dict, metadata: CheckpointMetadata, folder: str) -> str:
    task = metadata.task_type
    lines = [
        f"# Arabic news {task.title} model: ONNX {card['precision']}",
        "",
        f"Exported by `arabic-news export` from `{card['source']['checkpoint']}` (encoder `{metadata.encoder}`), "
        f"ONNX opset {card['opset']}, {card['size_mb']} MB.",
        "",
        "## Use",
        "```python",
        "from arabic_news import load",
        f'tagger = load("{folder}")  # runs in ONNX Runtime (pip install -e ".[onnx]")',
        "```",
        f"or `predict.py --checkpoint {folder} ...` / `evaluate.py --checkpoint {folder} ...`. Inputs go through the "
        "same normalization, windows and decoding as the PyTorch checkpoint (`arabic_news.json`).",
        "",
        "## How it was made",
        f"- traced from PyTorch; largest logit difference to the PyTorch model on a test batch: "
        f"{card['max_abs_logit_difference_vs_torch']:.2g}",
        "- ONNX Runtime's transformer optimizer fused: "
        + (", ".join(f"{op} x{n}" for op, n in card["fused_operators"].items()) or "nothing"),
    ]
    lexical = card.get("lexical")
    if lexical:
        lines.append(
            f"- fused topic model: the graph's probabilities are combined ({lexical['fusion']}, encoder weight "
            f"{lexical['weight']:g}) with a TF-IDF + logistic regression model of {lexical['features']} features, "
            "copied from the checkpoint (`lexical_vocabulary.json`, `lexical.safetensors`) and run beside the graph"
        )
    quantization = card.get("quantization")
    if quantization:
        lines.append(
            f"- int8 {quantization['method']} quantization of {', '.join(quantization['operators'])}: weights "
            f"{quantization['weights']}, activations {quantization['activations']}; kept in fp32: the embeddings and "
            f"{len(quantization['kept_fp32'])} classifier node(s)"
        )
    evaluation = card.get("evaluation")
    lines += ["", "## Scores"]
    if evaluation:
        metric = evaluation["metric"]
        lines += [
            f"On `{evaluation['data']}` ({evaluation['documents']} documents):",
            "",
            "| graph | " + " | ".join(evaluation["scores"]["fp32"]) + " |",
            "|---|" + "---:|" * len(evaluation["scores"]["fp32"]),
        ]
        for name, scores in evaluation["scores"].items():
            lines.append(f"| {name} | " + " | ".join(f"{100 * v:.2f}" for v in scores.values()) + " |")
        if "f1_loss_points" in evaluation:
            lines += [
                "",
                f"int8 loses {evaluation['f1_loss_points']:.2f} {metric} points (allowed: "
                f"{evaluation['max_f1_loss_points']}).",
            ]
    else:
        lines.append("Not scored at export (no `--eval` data given). The source checkpoint's own scores:")
        lines += [
            f"- {split}: " + ", ".join(f"{k} {v:.4f}" for k, v in s.items()) for split, s in metadata.scores.items()
        ]
    return "\n".join(lines) + "\n"
