"""Topic classification: one label per article, from its head or from all its windows; accuracy and macro-F1."""

from __future__ import annotations

import numpy as np

from ...data import Document, topic_set
from ...errors import DataError
from ...text import NormalizeOptions
from ..base import Preprocessing, Task
from ..stats import macro_f1_samples
from .codec import TopicCodec
from .metrics import topic_arrays, topic_scores
from .report import topic_markdown, topic_section


class TopicTask(Task):
    name = "topic"
    title = "topic classification"
    pipeline_task = "text-classification"
    auto_class_name = "AutoModelForSequenceClassification"
    headline_metric = "macro_f1"
    headline_name = "macro-F1"
    confusion_title = "topics (rows: gold)"

    def labels(self, train_docs: list[Document], preprocessing: Preprocessing, path: object) -> list[str]:
        topics = topic_set(train_docs)
        if len(topics) < 2:
            raise DataError(
                f"topic classification needs at least two topics in train, found {topics}",
                path=path,
                hint="a classifier needs examples of two or more topics",
            )
        return topics

    def check_documents(self, docs: list[Document], split: str, path: object) -> None:
        missing = [d.id for d in docs if d.topic is None]
        if missing:
            raise DataError(
                f"{len(missing)} {split} documents have no topic (first: {missing[0]!r})",
                path=path,
                hint="add a topic to every document, or use task: ner",
            )

    def check_gold(self, docs: list[Document], path: object) -> None:
        """Data with no topic would give an empty report (or a scikit-learn crash)."""
        if not any(d.topic is not None for d in docs):
            raise DataError(
                "no document has a topic, so a topic checkpoint cannot be scored on it",
                path=path,
                hint="pass data with a `topic` (or `label`) field, or an NER checkpoint",
            )

    def codec(self, tokenizer, labels: list[str], preprocessing: Preprocessing, lexical=None) -> TopicCodec:
        p = preprocessing
        fusion = {} if lexical is None else {"weight": lexical.settings.weight, "fusion": lexical.settings.fusion}
        return TopicCodec(
            tokenizer,
            labels,
            p.topic_input,
            p.max_length,
            p.stride,
            NormalizeOptions.from_dict(p.normalize),
            p.use_title,
            lexical,
            **fusion,
        )

    def collator(self, tokenizer):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer)

    def class_weights(self, train_docs: list[Document], labels: list[str], setting: str | None) -> np.ndarray | None:
        """`balanced`: class c weighs n / (k * count_c), scikit-learn's definition."""
        if setting != "balanced":
            return None
        counts = np.array([sum(d.topic == label for d in train_docs) for label in labels], dtype=np.float64)
        return counts.sum() / (len(labels) * np.maximum(counts, 1))

    def headline(self, gold: list[Document], pred: list[Document]) -> dict[str, float]:
        scores = topic_scores(gold, pred)
        return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}

    def report(self, gold: list[Document], pred: list[Document], model_labels: list[str]) -> dict:
        return topic_section(gold, pred, model_labels)

    def headline_score(self, section: dict) -> float:
        return section["macro_f1"]

    def headline_samples(
        self, gold: list[Document], pred: list[Document], idx: np.ndarray, labels: list[str]
    ) -> tuple[float, np.ndarray]:
        labels = sorted(set(labels) | {d.topic for d in gold if d.topic is not None})  # a gold topic no model knows
        g, p = topic_arrays(gold, pred, labels)
        full = macro_f1_samples(g, p, len(labels), np.arange(len(g))[None, :])[0]
        return float(full), macro_f1_samples(g, p, len(labels), idx)

    def confusion(self, section: dict) -> dict[str, dict[str, int]]:
        labels, matrix = section["confusion"]["labels"], section["confusion"]["matrix"]
        return {a: dict(zip(labels, row)) for a, row in zip(labels, matrix)}

    def markdown(self, section: dict) -> list[str]:
        return topic_markdown(section)
