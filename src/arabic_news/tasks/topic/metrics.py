"""Topic scores: accuracy and macro-F1 (scikit-learn), per source, and the arrays the bootstrap resamples."""

from __future__ import annotations

import numpy as np

from ...data import Document
from ..base import check_aligned


def topic_scores(gold: list[Document], pred: list[Document]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    check_aligned(gold, pred)
    pairs = [(g.topic, p.topic or "") for g, p in zip(gold, pred) if g.topic is not None]
    if not pairs:
        return {"accuracy": 0.0, "macro_f1": 0.0, "n": 0}
    y_true, y_pred = zip(*pairs)
    labels = sorted(set(y_true))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "n": len(pairs),
    }


def topic_arrays(gold: list[Document], pred: list[Document], labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    index = {label: i for i, label in enumerate(labels)}
    g = np.array([index[d.topic] for d in gold if d.topic is not None])
    p = np.array([index.get(q.topic, -1) for d, q in zip(gold, pred) if d.topic is not None])
    return g, p
