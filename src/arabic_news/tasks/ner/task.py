"""Named-entity recognition: flat PERS/LOC/ORG/MISC spans, subword or word labels, seqeval scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...data import Document, label_set
from ...errors import CheckpointError, DataError
from ...text import NormalizeOptions
from ..base import Preprocessing, Task
from ..stats import f1_from_counts
from .codec import NerCodec, ner_labels
from .metrics import ner_scores, seqeval_counts
from .report import ner_markdown, ner_section, write_word_conll


class NerTask(Task):
    name = "ner"
    title = "named-entity recognition"
    pipeline_task = "token-classification"
    auto_class_name = "AutoModelForTokenClassification"
    headline_metric = "f1"
    headline_name = "micro-F1"
    confusion_title = "NER types (rows: gold)"
    sequence_decoding = True

    def labels(self, train_docs: list[Document], preprocessing: Preprocessing, path: object) -> list[str]:
        types = label_set(train_docs)
        if not types:
            raise DataError("the training data has no entities", path=path, hint="annotate entities or use task: topic")
        return ner_labels(types, preprocessing.granularity)

    def codec(self, tokenizer, labels: list[str], preprocessing: Preprocessing, lexical=None) -> NerCodec:
        if lexical is not None:
            raise CheckpointError(
                "an NER checkpoint cannot have a lexical component (it classifies topics)",
                hint="remove the `lexical` block from arabic_news.json, or retrain without model.lexical",
            )
        p = preprocessing
        return NerCodec(
            tokenizer, labels, p.granularity, p.max_length, p.stride, NormalizeOptions.from_dict(p.normalize)
        )

    def collator(self, tokenizer):
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(tokenizer)

    def map_labels(self, labels: list[str], mapping: dict[str, str]) -> list[str]:
        """`B-MISC` under `MISC=O` is gone, `B-PER` under `PER=PERS` becomes `B-PERS` (C1-, C2- likewise)."""
        if not mapping:
            return list(labels)
        out = []
        for label in labels:
            prefix, _, kind = label.partition("-") if "-" in label else ("", "", label)
            new = mapping.get(kind, kind)
            if new != "O" or label == "O":
                out.append(f"{prefix}-{new}" if prefix else new)
        return list(dict.fromkeys(out))

    def headline(self, gold: list[Document], pred: list[Document]) -> dict[str, float]:
        scores = ner_scores(gold, pred)["micro"]
        return {"f1": scores["f1"], "precision": scores["precision"], "recall": scores["recall"]}

    def report(self, gold: list[Document], pred: list[Document], model_labels: list[str]) -> dict:
        return ner_section(gold, pred, model_labels)

    def headline_score(self, section: dict) -> float:
        return section["micro"]["f1"]

    def headline_samples(
        self, gold: list[Document], pred: list[Document], idx: np.ndarray, labels: list[str]
    ) -> tuple[float, np.ndarray]:
        counts = seqeval_counts(gold, pred)
        return float(f1_from_counts(counts.sum(0))), f1_from_counts(counts[idx].sum(1))

    def confusion(self, section: dict) -> dict[str, dict[str, int]]:
        return section["errors"]["confusion"]

    def markdown(self, section: dict) -> list[str]:
        return ner_markdown(section)

    def write_files(self, target: Path, gold: list[Document], pred: list[Document]) -> None:
        write_word_conll(gold, pred, target / "predictions.conll")
