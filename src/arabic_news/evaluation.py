"""The evaluation harness: predict gold data with a checkpoint through the inference path, compare, report.

Evaluation is "predict, then compare two lists of Documents". The report holds seqeval scores (default and strict
IOB2 mode, word level: comparable with published CoNLL/ANERcorp figures), exact and clitic-tolerant character-span
scores, an error breakdown, topic scores per class and per source, and bootstrap confidence intervals.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
from seqeval.metrics.sequence_labeling import get_entities

from . import metrics as scoring
from .conll import document_words
from .document import Document, Span
from .inference import TaskModel
from .span_metrics import error_breakdown, span_scores

log = logging.getLogger("arabic_news.evaluation")
BOOTSTRAP_SAMPLES = 1000


# ---- labels --------------------------------------------------------------------------------------------------
def parse_label_map(items: list[str]) -> dict[str, str]:
    """`OLD=NEW` pairs; NEW may be `O` to drop a type (e.g. `MISC=O` for guidelines without MISC)."""
    mapping = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise ValueError(f"--label-map {item!r} is not OLD=NEW (e.g. MISC=O or PER=PERS)")
        mapping[old] = new
    return mapping


def apply_label_map(docs: list[Document], mapping: dict[str, str]) -> list[Document]:
    if not mapping:
        return docs
    out = []
    for d in docs:
        spans = [replace(s, label=mapping.get(s.label, s.label)) for s in d.entities]
        topic = mapping.get(d.topic, d.topic) if d.topic is not None else None
        out.append(replace(d, entities=[s for s in spans if s.label != "O"], topic=topic))
    return out


def map_model_labels(task: str, labels: list[str], mapping: dict[str, str]) -> list[str]:
    """The checkpoint's label list as the mapped data sees it: `B-MISC` under `MISC=O` is gone, `B-PER` under
    `PER=PERS` becomes `B-PERS`, a topic `sports` under `sports=sport` becomes `sport`."""
    if not mapping:
        return list(labels)
    out = []
    for label in labels:
        prefix, _, kind = label.partition("-") if task == "ner" and "-" in label else ("", "", label)  # B-, C1-...
        new = mapping.get(kind, kind)
        if new != "O" or label == "O":
            out.append(f"{prefix}-{new}" if prefix else new)
    return list(dict.fromkeys(out))


# ---- per-document counts (for micro scores and the bootstrap) ---------------------------------------------------
def seqeval_counts(gold: list[Document], pred: list[Document]) -> np.ndarray:
    """(n_docs, 3) true positives, false positives, false negatives of seqeval's default-mode entities."""
    rows = []
    for g_tags, p_tags in zip(scoring.word_tags(gold), scoring.word_tags(pred)):
        g, p = set(get_entities(g_tags)), set(get_entities(p_tags))
        tp = len(g & p)
        rows.append((tp, len(p) - tp, len(g) - tp))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def bootstrap_indices(n: int, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(samples, n)) if n else np.zeros((samples, 0), dtype=int)


def ci95(values: np.ndarray) -> list[float]:
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def topic_arrays(gold: list[Document], pred: list[Document], labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    index = {label: i for i, label in enumerate(labels)}
    g = np.array([index[d.topic] for d in gold if d.topic is not None])
    p = np.array([index.get(q.topic, -1) for d, q in zip(gold, pred) if d.topic is not None])
    return g, p


def macro_f1_samples(g: np.ndarray, p: np.ndarray, k: int, idx: np.ndarray) -> np.ndarray:
    """Macro-F1 over classes present in gold, for each bootstrap resample (rows of idx). Class counts per resample
    come from one bincount, so memory grows with samples x documents, not samples x documents x classes."""
    resample = np.arange(idx.shape[0])[:, None]

    def class_counts(classes: np.ndarray, keep: np.ndarray) -> np.ndarray:  # (samples, k)
        cells = (resample * k + classes[idx])[keep[idx]]
        return np.bincount(cells, minlength=idx.shape[0] * k).reshape(idx.shape[0], k)

    gold_n = class_counts(g, np.ones(len(g), dtype=bool))
    pred_n = class_counts(p, p >= 0)  # -1: a predicted topic outside the label list counts for no class
    tp = class_counts(g, g == p)
    f1 = f1_from_counts(np.stack([tp, pred_n - tp, gold_n - tp], axis=-1))
    present = gold_n > 0
    return (f1 * present).sum(1) / np.maximum(present.sum(1), 1)


# ---- the report for one checkpoint on one data set -------------------------------------------------------------
def evaluate_predictions(task: str, gold: list[Document], pred: list[Document], model_labels: list[str]) -> dict:
    report: dict = {"documents": len(gold)}
    if task == "ner":
        report["ner"] = ner_section(gold, pred, model_labels)
    else:
        report["topic"] = topic_section(gold, pred, model_labels)
    return report


def ner_section(gold: list[Document], pred: list[Document], model_labels: list[str]) -> dict:
    default = scoring.ner_scores(gold, pred)
    strict = scoring.ner_scores(gold, pred, strict=True)
    counts = seqeval_counts(gold, pred)
    samples = f1_from_counts(counts[bootstrap_indices(len(gold))].sum(1))
    default["micro"]["ci95"] = ci95(samples)
    known = {label.split("-", 1)[1] for label in model_labels if "-" in label}  # B-LOC, C1-LOC -> LOC
    return {
        "mode": "seqeval default (an I- after O starts an entity), word level",
        "micro": default["micro"], "macro": default["macro"], "per_type": default["per_type"],
        "strict": {"mode": "seqeval strict, IOB2", **strict},
        "span": {"exact": span_scores(gold, pred), "clitic_tolerant": span_scores(gold, pred, tolerant=True)},
        "errors": error_breakdown(gold, pred),
        "labels_missing_from_checkpoint": sorted({s.label for d in gold for s in d.entities} - known),
    }


def topic_section(gold: list[Document], pred: list[Document], model_labels: list[str]) -> dict:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    gold_labels = sorted({d.topic for d in gold if d.topic is not None})
    labels = sorted(set(gold_labels) | set(model_labels))
    g, p = topic_arrays(gold, pred, labels)
    base = scoring.topic_scores(gold, pred)
    idx = bootstrap_indices(len(g))
    base["accuracy_ci95"] = ci95((g[idx] == p[idx]).mean(1)) if len(g) else [0.0, 0.0]
    base["macro_f1_ci95"] = ci95(macro_f1_samples(g, p, len(labels), idx)) if len(g) else [0.0, 0.0]
    pr, rc, f1, support = precision_recall_fscore_support(g, p, labels=list(range(len(labels))), zero_division=0)
    base["per_class"] = {label: {"precision": float(pr[i]), "recall": float(rc[i]), "f1": float(f1[i]),
                                 "support": int(support[i])} for i, label in enumerate(labels)}
    base["confusion"] = {"labels": labels,
                         "matrix": confusion_matrix(g, p, labels=list(range(len(labels)))).tolist()}
    base["per_source"] = per_source(gold, pred)
    base["labels_missing_from_checkpoint"] = sorted(set(gold_labels) - set(model_labels))
    return base


def per_source(gold: list[Document], pred: list[Document]) -> dict:
    sources = sorted({str(d.meta["source"]) for d in gold if "source" in d.meta})
    out = {}
    for source in sources:
        pairs = [(g, p) for g, p in zip(gold, pred) if str(g.meta.get("source")) == source]
        out[source] = scoring.topic_scores([g for g, _ in pairs], [p for _, p in pairs])
    return out


def evaluate(model: TaskModel, gold: list[Document], batch_size: int = 32, progress: bool = True,
             label_map: dict[str, str] | None = None) -> tuple[dict, list[Document]]:
    """Predict `gold` with `model` and score the predictions; returns (report section, predicted documents).
    `label_map` applies to the predictions too (gold is mapped by the caller), so `MISC=O` ignores MISC on both
    sides instead of turning every predicted MISC into a spurious entity."""
    unlabeled = [replace(d, entities=[], topic=None, meta={k: v for k, v in d.meta.items() if k != "tags"})
                 for d in gold]  # gold tags (kept for strict scoring) must not reach the predictions
    pred = model.predict_documents(unlabeled, batch_size=batch_size, progress=progress)
    pred = apply_label_map(pred, label_map or {})
    labels = map_model_labels(model.task, model.labels, label_map or {})
    return evaluate_predictions(model.task, gold, pred, labels), pred


# ---- comparing checkpoints ---------------------------------------------------------------------------------------
def headline_samples(task: str, gold: list[Document], pred: list[Document], idx: np.ndarray,
                     labels: list[str]) -> tuple[float, np.ndarray]:
    """The headline score (NER micro-F1, topic macro-F1) and its value on each bootstrap resample."""
    if task == "ner":
        counts = seqeval_counts(gold, pred)
        return float(f1_from_counts(counts.sum(0))), f1_from_counts(counts[idx].sum(1))
    labels = sorted(set(labels) | {d.topic for d in gold if d.topic is not None})  # a gold topic no model knows
    g, p = topic_arrays(gold, pred, labels)
    full = macro_f1_samples(g, p, len(labels), np.arange(len(g))[None, :])[0]
    return float(full), macro_f1_samples(g, p, len(labels), idx)


def paired_bootstrap(task: str, gold: list[Document], pred_a: list[Document], pred_b: list[Document],
                     labels: list[str], samples: int = BOOTSTRAP_SAMPLES) -> dict:
    """Difference b - a of the headline score, its 95% CI, and a one-sided p-value: the share of document resamples
    in which b does not beat a when it does on the full set (or the reverse), as in Koehn (2004)."""
    idx = bootstrap_indices(len(gold), samples, seed=1)
    a, a_samples = headline_samples(task, gold, pred_a, idx, labels)
    b, b_samples = headline_samples(task, gold, pred_b, idx, labels)
    delta = b_samples - a_samples
    observed = b - a
    p_value = float(np.mean(delta <= 0)) if observed > 0 else float(np.mean(delta >= 0))
    return {"a": a, "b": b, "difference": observed, "difference_ci95": ci95(delta), "p_value": p_value}


def summarize_runs(values: list[float]) -> dict:
    arr = np.array(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, "runs": len(arr)}
