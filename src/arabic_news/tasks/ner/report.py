"""The NER section of an evaluation report: seqeval in default and strict IOB2 mode, character-span scores,
an error breakdown with examples, a bootstrap CI; its Markdown; and the word-level CoNLL of the predictions."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from ...atomic import atomic_write_text
from ...data import Document
from ...data.conll import DOCSTART
from ..base import pct, prf_table
from ..stats import bootstrap_indices, ci95, f1_from_counts
from .metrics import ner_scores, seqeval_counts, word_tags
from .spans import error_breakdown, span_scores


class Scores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class MicroScores(Scores):
    ci95: list[float]  # bootstrap 95% interval [low, high]


class StrictScores(TypedDict):
    mode: str
    micro: Scores
    macro: Scores
    per_type: dict[str, Scores]


class SpanMacro(TypedDict):
    precision: float
    recall: float
    f1: float


class SpanScores(TypedDict):
    micro: Scores
    macro: SpanMacro
    per_type: dict[str, Scores]


class SpanViews(TypedDict):
    exact: SpanScores
    clitic_tolerant: SpanScores


class SpanDict(TypedDict, total=False):
    start: int
    end: int
    label: str
    text: str
    score: float


class ErrorExample(TypedDict):
    doc: str
    gold: SpanDict | None
    predicted: SpanDict | None
    context: str


class ErrorCounts(TypedDict):
    correct: int
    wrong_type: int
    boundary: int
    boundary_and_type: int
    missed: int
    spurious: int


class Errors(TypedDict):
    counts: ErrorCounts
    confusion: dict[str, dict[str, int]]
    examples: dict[str, list[ErrorExample]]


class NerSection(TypedDict):
    """`report.json`'s `ner` section (docs/evaluation.md documents every key)."""

    mode: str
    micro: MicroScores
    macro: Scores
    per_type: dict[str, Scores]
    strict: StrictScores
    span: SpanViews
    errors: Errors
    labels_missing_from_checkpoint: list[str]


def ner_section(gold: list[Document], pred: list[Document], model_labels: list[str]) -> NerSection:
    default = ner_scores(gold, pred)
    strict = ner_scores(gold, pred, strict=True)
    counts = seqeval_counts(gold, pred)
    samples = f1_from_counts(counts[bootstrap_indices(len(gold))].sum(1))
    default["micro"]["ci95"] = ci95(samples)
    known = {label.split("-", 1)[1] for label in model_labels if "-" in label}  # B-LOC, C1-LOC -> LOC
    return {
        "mode": "seqeval default (an I- after O starts an entity), word level",
        "micro": default["micro"],
        "macro": default["macro"],
        "per_type": default["per_type"],
        "strict": {"mode": "seqeval strict, IOB2", **strict},
        "span": {"exact": span_scores(gold, pred), "clitic_tolerant": span_scores(gold, pred, tolerant=True)},
        "errors": error_breakdown(gold, pred),
        "labels_missing_from_checkpoint": sorted({s.label for d in gold for s in d.entities} - known),
    }


def ner_markdown(ner: dict) -> list[str]:
    lo, hi = ner["micro"]["ci95"]
    lines = [
        "",
        f"**Micro-F1 {pct(ner['micro']['f1'])}** (95% bootstrap CI {pct(lo)}–{pct(hi)}; "
        f"{ner['mode']}). Strict IOB2 micro-F1: {pct(ner['strict']['micro']['f1'])}.",
        "",
    ]
    if ner["labels_missing_from_checkpoint"]:
        lines += [
            f"Types in the data that the checkpoint cannot predict (always missed): "
            f"{', '.join(ner['labels_missing_from_checkpoint'])}. Map them with --label-map TYPE=O.",
            "",
        ]
    lines += ["## seqeval, default mode (word level)"] + prf_table(
        {"micro": ner["micro"], "macro": ner["macro"], **ner["per_type"]}
    )
    lines += ["", "## seqeval, strict IOB2 mode"] + prf_table(
        {"micro": ner["strict"]["micro"], "macro": ner["strict"]["macro"], **ner["strict"]["per_type"]}
    )
    lines += ["", "## Character spans", "| match | precision | recall | F1 |", "|---|---:|---:|---:|"]
    for name, s in ner["span"].items():
        m = s["micro"]
        lines.append(f"| {name.replace('_', ' ')} | {pct(m['precision'])} | {pct(m['recall'])} | {pct(m['f1'])} |")
    errors = ner["errors"]
    lines += ["", "## Errors", "| class | count |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in errors["counts"].items()]
    labels = list(errors["confusion"])
    lines += [
        "",
        "Type confusion (rows: gold, columns: predicted, O: none):",
        "",
        "| | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    lines += [f"| {a} | " + " | ".join(str(errors["confusion"][a][b]) for b in labels) + " |" for a in labels]
    for kind, examples in errors["examples"].items():
        if examples:
            lines += ["", f"### {kind.replace('_', ' ')}: examples"]
            for ex in examples:
                gold = f"{ex['gold']['label']}" if ex["gold"] else "—"
                pred = f"{ex['predicted']['label']} `{ex['predicted'].get('text', '')}`" if ex["predicted"] else "—"
                lines.append(f"- `{ex['doc']}` gold {gold}, predicted {pred}: {ex['context']}")
    return lines


def write_word_conll(gold: list[Document], pred: list[Document], path: Path) -> None:
    """`token gold predicted` per word, a blank line between sentences, and a `-DOCSTART-` line opening each
    document, so that reading the file back by document gives exactly the tag sequences the report scored (an
    entity may run across a line break)."""
    lines = []
    for g, _p, g_tags, p_tags in zip(gold, pred, word_tags(gold), word_tags(pred)):
        lines += [f"{DOCSTART}\tO\tO", ""]
        previous_end = 0
        for (start, end), gt, pt in zip(g.words(), g_tags, p_tags):
            if "\n" in g.text[previous_end:start] and lines and lines[-1]:
                lines.append("")
            lines.append(f"{g.text[start:end]}\t{gt}\t{pt}")
            previous_end = end
        lines.append("")
    atomic_write_text(path, "\n".join(lines) + "\n")
