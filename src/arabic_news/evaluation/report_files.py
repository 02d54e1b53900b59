"""The files of an evaluation report: report.json, report.md, the confusion plot and the predictions."""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_write_json, atomic_write_text, save_figure
from ..data import Document, write_documents
from ..tasks import Task


def write_report(target: Path, task: Task, report: dict, gold: list[Document], pred: list[Document]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    write_documents(pred, target / "predictions.jsonl", "jsonl")
    task.write_files(target, gold, pred)
    plot_confusion(task.confusion(report[task.name]), target / f"{task.name}_confusion.png", task.confusion_title)
    atomic_write_json(target / "report.json", report)
    atomic_write_text(target / "report.md", render_markdown(task, report))


def render_markdown(task: Task, report: dict) -> str:
    lines = [
        f"# Evaluation of `{Path(report['checkpoint']).name}`",
        "",
        f"- data: `{report['data']}` ({report['documents']} documents)",
        f"- task: {report['task']}",
    ]
    if report.get("label_map"):
        lines.append(f"- label map: {report['label_map']}")
    lines += task.markdown(report[task.name])
    return "\n".join(lines) + "\n"


def plot_confusion(matrix: dict[str, dict[str, int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = list(matrix)
    if not labels:  # no entity on either side: nothing to draw
        return
    values = np.array([[matrix[a].get(b, 0) for b in labels] for a in labels])
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * len(labels), 1 + 0.7 * len(labels)))
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                str(values[i, j]),
                ha="center",
                va="center",
                color="white" if values[i, j] > values.max() / 2 else "black",
                fontsize=8,
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    save_figure(fig, path)
    plt.close(fig)
