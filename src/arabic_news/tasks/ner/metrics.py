"""Entity scores with seqeval at word level (each document's words, IOB2 tags from its spans), which is what
published CoNLL/ANERcorp figures mean; a span that starts inside a word (a clitic) marks the whole word."""

from __future__ import annotations

import numpy as np
from seqeval.metrics import classification_report as seqeval_report
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2

from ...data import Document
from ...data.schemes import spans_to_tags, tags_to_spans
from ..base import check_aligned


def word_tags(docs: list[Document]) -> list[list[str]]:
    return [document_tags(d) for d in docs]


def document_tags(doc: Document) -> list[str]:
    """IOB2 word tags. Tags stored as read or predicted (`Document.tags`) are used when they still say exactly what
    the spans say: they keep invalid sequences that strict mode must see; rebuilt tags are always valid IOB2."""
    words = doc.words()
    stored = doc.tags
    if isinstance(stored, list) and len(stored) == len(words) and tags_to_spans(words, stored) == doc.entities:
        return list(stored)
    return spans_to_tags(words, doc.entities)


def ner_scores(gold: list[Document], pred: list[Document], strict: bool = False) -> dict:
    """seqeval micro/macro P/R/F1 and per type; `strict` uses IOB2 mode (an entity must start with B-)."""
    check_aligned(gold, pred)
    y_true, y_pred = word_tags(gold), word_tags(pred)
    if not any(tag != "O" for tags in y_true + y_pred for tag in tags):
        # seqeval averages over an empty set of types to NaN, which is not valid JSON; nothing to score is 0
        return {"micro": _prf(None), "macro": _prf(None), "per_type": {}}
    kwargs = {"mode": "strict", "scheme": IOB2} if strict else {}
    report = seqeval_report(y_true, y_pred, output_dict=True, zero_division=0, **kwargs)
    out = {"micro": _prf(report.get("micro avg")), "macro": _prf(report.get("macro avg")), "per_type": {}}
    for key, value in report.items():
        if key not in ("micro avg", "macro avg", "weighted avg"):
            out["per_type"][key] = _prf(value)
    return out


def _prf(row: dict | None) -> dict:
    row = row or {}
    return {
        k: float(row.get(name, 0.0))
        for k, name in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"))
    } | {"support": int(row.get("support", 0))}


def seqeval_counts(gold: list[Document], pred: list[Document]) -> np.ndarray:
    """(n_docs, 3) true positives, false positives, false negatives of seqeval's default-mode entities."""
    rows = []
    for g_tags, p_tags in zip(word_tags(gold), word_tags(pred)):
        g, p = set(get_entities(g_tags)), set(get_entities(p_tags))
        tp = len(g & p)
        rows.append((tp, len(p) - tp, len(g) - tp))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)
