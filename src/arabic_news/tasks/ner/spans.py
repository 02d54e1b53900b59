"""Character-span scores and an error breakdown for NER: what seqeval's word-level view cannot show.

Exact span matching is the honest score for span data (entities that start inside words); the clitic-tolerant
match forgives a leading proclitic (و ف ب ل ك, with or without tatweel) at the start boundary, so a user can see
how much of the error is boundary noise. The breakdown puts every gold and predicted span into one class.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ...data import Document, Span
from ...text import PROCLITIC_CHARS

ERROR_CLASSES = ("correct", "wrong_type", "boundary", "boundary_and_type", "missed", "spurious")


def clitic_equivalent(text: str, a: Span, b: Span) -> bool:
    """Same end, and the starts differ only by proclitic letters (e.g. `وأذربيجان` vs `أذربيجان`)."""
    if a.end != b.end:
        return False
    lo, hi = sorted((a.start, b.start))
    return all(ch in PROCLITIC_CHARS for ch in text[lo:hi])


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def scores(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": p, "recall": r, "f1": f, "support": self.tp + self.fn}


def document_counts(gold: Document, pred: Document, tolerant: bool = False) -> dict[str, Counts]:
    """Per-type true/false positives and false negatives for one document (key '' = all types)."""
    unmatched = list(pred.entities)
    per_type: dict[str, Counts] = {}
    for g in gold.entities:
        match = next(
            (
                p
                for p in unmatched
                if p.label == g.label and (p == g or (tolerant and clitic_equivalent(gold.text, g, p)))
            ),
            None,
        )
        counts = per_type.setdefault(g.label, Counts())
        if match is not None:
            unmatched.remove(match)
            counts.tp += 1
        else:
            counts.fn += 1
    for p in unmatched:
        per_type.setdefault(p.label, Counts()).fp += 1
    total = Counts()
    for c in per_type.values():
        total.add(c)
    per_type[""] = total
    return per_type


def span_scores(gold: list[Document], pred: list[Document], tolerant: bool = False) -> dict:
    totals: dict[str, Counts] = {}
    for g, p in zip(gold, pred):
        for label, counts in document_counts(g, p, tolerant).items():
            totals.setdefault(label, Counts()).add(counts)
    micro = totals.pop("", Counts()).scores()
    per_type = {label: c.scores() for label, c in sorted(totals.items())}
    macro = {
        k: sum(s[k] for s in per_type.values()) / len(per_type) if per_type else 0.0
        for k in ("precision", "recall", "f1")
    }
    return {"micro": micro, "macro": macro, "per_type": per_type}


def error_breakdown(gold: list[Document], pred: list[Document], examples: int = 5, context: int = 30) -> dict:
    """Classify every gold span (correct, wrong type, boundary, boundary+type, missed) and every unmatched
    prediction (spurious); a gold-type x predicted-type confusion matrix ('O' = none); a few examples in context."""
    counts: Counter = Counter()
    confusion: Counter = Counter()
    shown: dict[str, list] = {name: [] for name in ERROR_CLASSES}
    for g_doc, p_doc in zip(gold, pred):
        used: set[Span] = set()
        for g in g_doc.entities:
            kind, p = _classify(g, p_doc.entities, used)
            counts[kind] += 1
            confusion[(g.label, p.label if p else "O")] += 1
            if p is not None:
                used.add(p)
            if kind != "correct":
                _example(shown[kind], g_doc, g, p, examples, context)
        for p in p_doc.entities:
            if p not in used:
                counts["spurious"] += 1
                confusion[("O", p.label)] += 1
                _example(shown["spurious"], g_doc, None, p, examples, context)
    labels = sorted({a for a, _ in confusion} | {b for _, b in confusion})
    matrix = {a: {b: confusion.get((a, b), 0) for b in labels} for a in labels}
    return {"counts": {name: counts.get(name, 0) for name in ERROR_CLASSES}, "confusion": matrix, "examples": shown}


def _classify(g: Span, candidates: list[Span], used: set[Span]) -> tuple[str, Span | None]:
    free = [p for p in candidates if p not in used]
    for p in free:
        if (p.start, p.end) == (g.start, g.end):
            return ("correct" if p.label == g.label else "wrong_type"), p
    overlapping = [p for p in free if p.start < g.end and g.start < p.end]
    same = [p for p in overlapping if p.label == g.label]
    if same:
        return "boundary", same[0]
    if overlapping:
        return "boundary_and_type", overlapping[0]
    return "missed", None


def _example(bucket: list, doc: Document, g: Span | None, p: Span | None, limit: int, context: int) -> None:
    if len(bucket) >= limit:
        return
    anchor = g or p
    left = doc.text[max(0, anchor.start - context) : anchor.start].replace("\n", " ")
    right = doc.text[anchor.end : anchor.end + context].replace("\n", " ")
    bucket.append(
        {
            "doc": doc.id,
            "gold": g.to_dict() if g else None,
            "predicted": p.to_dict() if p else None,
            "context": f"…{left}[{doc.text[anchor.start : anchor.end]}]{right}…",
        }
    )
