"""The shape of `report.json` and `comparison.json`, as types: docs/evaluation.md documents every key, and a test
checks real reports against these types and the documentation against them."""

from __future__ import annotations

from typing import TypedDict

from ..tasks.ner.report import NerSection
from ..tasks.topic.report import TopicSection


class Report(TypedDict, total=False):
    """`report.json`: the header, then the section of the checkpoint's task (`ner` or `topic`)."""

    checkpoint: str
    task: str
    data: str
    label_map: dict[str, str]
    sentences_per_document: int
    documents: int
    ner: NerSection
    topic: TopicSection


class PairedBootstrap(TypedDict):
    a: float
    b: float
    difference: float
    difference_ci95: list[float]
    p_value: float


class ComparedCheckpoint(TypedDict, total=False):
    checkpoint: str
    score: float
    versus_first: PairedBootstrap  # every checkpoint after the first


class SeedSummary(TypedDict):
    mean: float
    std: float
    runs: int


class Comparison(TypedDict, total=False):
    headline: str
    checkpoints: list[ComparedCheckpoint]
    seeds: SeedSummary | None  # with --seeds only
