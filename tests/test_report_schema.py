"""report.json and comparison.json against their declared types (arabic_news.evaluation.schema), and
docs/evaluation.md against those types: every key a report holds is declared, and every declared key is documented."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path

import pytest

from arabic_news.data import Document, Span
from arabic_news.evaluation import evaluate_predictions, paired_bootstrap, summarize_runs
from arabic_news.evaluation.schema import PairedBootstrap, Report, SeedSummary
from arabic_news.tasks import TASKS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"
TEXT = "زار ماكرون باريس والتقى وفد الأمم المتحدة"


def conforms(value, hint, where: str = "report") -> list[str]:
    """Every mismatch between a JSON value and a type hint, as 'path: problem' lines (empty: it conforms)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        fields = typing.get_type_hints(hint)
        problems = [f"{where}.{k}: not declared in {hint.__name__}" for k in value if k not in fields]
        problems += [f"{where}.{k}: missing" for k in hint.__required_keys__ if k not in value]
        for key, sub in fields.items():
            if key in value:
                problems += conforms(value[key], sub, f"{where}.{key}")
        return problems
    if origin in (typing.Union, types.UnionType):
        return [] if any(not conforms(value, a, where) for a in args) else [f"{where}: {value!r} fits none of {args}"]
    if hint is type(None):
        return [] if value is None else [f"{where}: expected null"]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        return [p for k, v in value.items() for p in conforms(v, args[1], f"{where}.{k}")]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [p for i, v in enumerate(value) for p in conforms(v, args[0], f"{where}[{i}]")]
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {value!r}"]
    return (
        []
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool))
        else [f"{where}: expected {hint.__name__}, got {value!r}"]
    )


def ner_docs() -> tuple[list[Document], list[Document]]:
    gold = [Document("a", TEXT, entities=[Span(4, 10, "PERS"), Span(11, 16, "LOC"), Span(28, 41, "ORG")])]
    pred = [Document("a", TEXT, entities=[Span(4, 10, "PERS"), Span(11, 16, "ORG"), Span(17, 23, "MISC")])]
    return gold, pred


def topic_docs() -> tuple[list[Document], list[Document]]:
    gold = [
        Document(str(i), TEXT, topic, meta={"source": s})
        for i, (topic, s) in enumerate([("a", "x"), ("b", "x"), ("a", "y"), ("c", "y")])
    ]
    pred = [Document(str(i), TEXT, topic) for i, topic in enumerate(["a", "a", "a", "b"])]
    return gold, pred


@pytest.mark.parametrize(
    "task, make, labels",
    [("ner", ner_docs, ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC"]), ("topic", topic_docs, ["a", "b"])],
)
def test_reports_hold_exactly_the_declared_keys(task, make, labels):
    gold, pred = make()
    report = {
        "checkpoint": "runs/x",
        "task": task,
        "data": "dev.jsonl",
        "label_map": {},
        **evaluate_predictions(task, gold, pred, labels),
    }
    report = json.loads(json.dumps(report))  # as report.json holds it
    assert conforms(report, Report) == []
    assert report[task]  # the section is there, and not empty


def test_comparison_blocks_hold_exactly_the_declared_keys():
    gold, pred = ner_docs()
    assert (
        conforms(json.loads(json.dumps(paired_bootstrap(TASKS["ner"], gold, pred, gold, ["O"]))), PairedBootstrap) == []
    )
    assert conforms(summarize_runs([0.5, 0.7]), SeedSummary) == []


def test_the_checker_catches_an_undeclared_and_a_missing_key():
    gold, pred = ner_docs()
    report = {
        "checkpoint": "c",
        "task": "ner",
        "data": "d",
        "label_map": {},
        **evaluate_predictions("ner", gold, pred, ["O"]),
    }
    report["ner"]["extra"] = 1
    del report["ner"]["micro"]["ci95"]
    problems = conforms(json.loads(json.dumps(report)), Report)
    assert "report.ner.extra: not declared in NerSection" in problems
    assert "report.ner.micro.ci95: missing" in problems


def test_docs_document_every_declared_key():
    text = DOCS.read_text(encoding="utf-8")
    missing = []
    for section in ("ner", "topic"):
        for key in typing.get_type_hints(typing.get_type_hints(Report)[section]):
            if f"`{section}.{key}" not in text:
                missing.append(f"{section}.{key}")
    for key in typing.get_type_hints(Report):
        if key not in ("ner", "topic") and f"| `{key}` |" not in text:
            missing.append(key)
    assert missing == [], f"docs/evaluation.md does not document {missing}"
