"""The topic section of an evaluation report: accuracy and macro-F1 with bootstrap CIs, per class, a confusion
matrix, per source; and its Markdown."""

from __future__ import annotations

from typing import TypedDict

from ...data import Document
from ..base import pct, prf_table
from ..stats import bootstrap_indices, ci95, macro_f1_samples
from .metrics import topic_arrays, topic_scores


class ClassScores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class SourceScores(TypedDict):
    accuracy: float
    macro_f1: float
    n: int


class Confusion(TypedDict):
    labels: list[str]
    matrix: list[list[int]]  # rows: gold, columns: predicted, in the order of labels


class TopicSection(TypedDict):
    """`report.json`'s `topic` section (docs/evaluation.md documents every key)."""

    accuracy: float
    macro_f1: float
    n: int
    accuracy_ci95: list[float]
    macro_f1_ci95: list[float]
    per_class: dict[str, ClassScores]
    confusion: Confusion
    per_source: dict[str, SourceScores]
    labels_missing_from_checkpoint: list[str]


def topic_section(gold: list[Document], pred: list[Document], model_labels: list[str]) -> TopicSection:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    gold_labels = sorted({d.topic for d in gold if d.topic is not None})
    labels = sorted(set(gold_labels) | set(model_labels))
    g, p = topic_arrays(gold, pred, labels)
    base = topic_scores(gold, pred)
    idx = bootstrap_indices(len(g))
    base["accuracy_ci95"] = ci95((g[idx] == p[idx]).mean(1)) if len(g) else [0.0, 0.0]
    base["macro_f1_ci95"] = ci95(macro_f1_samples(g, p, len(labels), idx)) if len(g) else [0.0, 0.0]
    pr, rc, f1, support = precision_recall_fscore_support(g, p, labels=list(range(len(labels))), zero_division=0)
    base["per_class"] = {
        label: {"precision": float(pr[i]), "recall": float(rc[i]), "f1": float(f1[i]), "support": int(support[i])}
        for i, label in enumerate(labels)
    }
    base["confusion"] = {"labels": labels, "matrix": confusion_matrix(g, p, labels=list(range(len(labels)))).tolist()}
    base["per_source"] = per_source(gold, pred)
    base["labels_missing_from_checkpoint"] = sorted(set(gold_labels) - set(model_labels))
    return base


def per_source(gold: list[Document], pred: list[Document]) -> dict:
    sources = sorted({str(d.meta["source"]) for d in gold if "source" in d.meta})
    out = {}
    for source in sources:
        pairs = [(g, p) for g, p in zip(gold, pred) if str(g.meta.get("source")) == source]
        out[source] = topic_scores([g for g, _ in pairs], [p for _, p in pairs])
    return out


def topic_markdown(topic: dict) -> list[str]:
    lo, hi = topic["macro_f1_ci95"]
    lines = [
        "",
        f"**Accuracy {pct(topic['accuracy'])}, macro-F1 {pct(topic['macro_f1'])}** "
        f"(95% bootstrap CI of macro-F1 {pct(lo)}–{pct(hi)}).",
        "",
    ]
    if topic["labels_missing_from_checkpoint"]:
        missing = ", ".join(topic["labels_missing_from_checkpoint"])
        lines += [f"Topics in the data that the checkpoint cannot predict: {missing}.", ""]
    lines += ["## Per class"] + prf_table(topic["per_class"])
    labels, matrix = topic["confusion"]["labels"], topic["confusion"]["matrix"]
    lines += ["", "## Confusion (rows: gold)", "", "| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    lines += [f"| {a} | " + " | ".join(str(v) for v in row) + " |" for a, row in zip(labels, matrix)]
    if topic["per_source"]:
        lines += ["", "## Per source", "| source | n | accuracy | macro-F1 |", "|---|---:|---:|---:|"]
        lines += [
            f"| {s} | {v['n']} | {pct(v['accuracy'])} | {pct(v['macro_f1'])} |" for s, v in topic["per_source"].items()
        ]
    return lines
