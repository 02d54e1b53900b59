"""Scores that compare gold and predicted Documents: seqeval for entities, scikit-learn for topics.

Entity scores are computed at word level (each document's words, IOB2 tags from its spans), which is what
published CoNLL/ANERcorp figures mean; a span that starts inside a word (a clitic) marks the whole word.
"""
from __future__ import annotations

from seqeval.metrics import classification_report as seqeval_report
from seqeval.scheme import IOB2

from .conll import document_words, spans_to_tags, tags_to_spans
from .document import Document


def word_tags(docs: list[Document]) -> list[list[str]]:
    return [document_tags(d) for d in docs]


def document_tags(doc: Document) -> list[str]:
    """IOB2 word tags. Tags stored as read or predicted (meta['tags']) are used when they still say exactly what
    the spans say: they keep invalid sequences that strict mode must see; rebuilt tags are always valid IOB2."""
    words = document_words(doc)
    stored = doc.meta.get("tags")
    if isinstance(stored, list) and len(stored) == len(words) and tags_to_spans(words, stored) == doc.entities:
        return list(stored)
    return spans_to_tags(words, doc.entities)


def check_aligned(gold: list[Document], pred: list[Document]) -> None:
    if len(gold) != len(pred) or any(g.text != p.text for g, p in zip(gold, pred)):
        raise ValueError("gold and predicted documents must be the same texts in the same order")


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
    return {k: float(row.get(name, 0.0)) for k, name in
            (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"))} | {"support": int(row.get("support", 0))}


def topic_scores(gold: list[Document], pred: list[Document]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    check_aligned(gold, pred)
    pairs = [(g.topic, p.topic or "") for g, p in zip(gold, pred) if g.topic is not None]
    if not pairs:
        return {"accuracy": 0.0, "macro_f1": 0.0, "n": 0}
    y_true, y_pred = zip(*pairs)
    labels = sorted(set(y_true))
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
            "n": len(pairs)}


def headline(task: str, gold: list[Document], pred: list[Document]) -> dict[str, float]:
    """The few numbers training logs and selects the best checkpoint by."""
    if task == "ner":
        scores = ner_scores(gold, pred)["micro"]
        return {"f1": scores["f1"], "precision": scores["precision"], "recall": scores["recall"]}
    scores = topic_scores(gold, pred)
    return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}
