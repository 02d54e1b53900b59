"""The `Task` interface: everything that differs between NER and topic classification, in one place.

Training, evaluation and inference hold a `Task` and never ask which task it is: the task gives the label set,
the codec (Documents to model inputs and logits back to Documents), the data collator, the model class, the scores
and the report. A new task is one new subpackage with a `Task` subclass, registered in `tasks/__init__.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from ..data import Document


@dataclass
class Preprocessing:
    """How Documents become model inputs; chosen in a config's `preprocessing` section and stored in the checkpoint
    so that inference repeats it exactly."""

    normalize: dict[str, bool] = field(default_factory=dict)  # NormalizeOptions fields; empty = defaults
    granularity: str = "subword"  # ner: 'word' (first subword of a word) or 'subword' (every subword from spans)
    max_length: int = 256  # subword tokens per window, special tokens included
    stride: int = 64  # tokens shared by consecutive windows
    topic_input: str = "head"  # topic: 'head' (title + first tokens) or 'chunks' (mean logits over windows)
    use_title: bool = True  # topic: prepend meta['title'] when the data has one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Preprocessing:
        """From stored metadata: missing keys take their defaults (older checkpoints), unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


class TaskCodec(Protocol):
    """Documents to model inputs, and model outputs back to Documents; training and inference share it."""

    labels: list[str]
    max_length: int

    def encode(self, doc: Document) -> Any:
        """Everything about `doc` that features and decoding need (tokens, windows, offsets)."""

    def training_features(self, doc: Document, encoded: Any = None) -> list[dict]:
        """One feature dict (input_ids, attention_mask, labels) per window."""

    def inference_features(self, encoded: Any) -> list[dict]:
        """One feature dict (input_ids, attention_mask) per window."""

    def decode_into(self, doc: Document, encoded: Any, window_logits: list[np.ndarray]) -> Document:
        """A copy of `doc` carrying this model's prediction (entities, or topic with its scores)."""

    def decode_documents(self, docs: list[Document], encoded: list, logits: list) -> list[Document]:
        """`decode_into` for each document (a codec may do part of the work for all of them at once)."""


class Task(ABC):
    name: ClassVar[str]  # the config's `task:` value and the checkpoint metadata's
    title: ClassVar[str]  # for people: "named-entity recognition"
    pipeline_task: ClassVar[str]  # the transformers pipeline that loads a checkpoint of this task
    auto_class_name: ClassVar[str]  # the transformers Auto class of its model
    headline_metric: ClassVar[str]  # the key of `headline()` that picks the best epoch ("f1", "macro_f1")
    headline_name: ClassVar[str]  # how reports name the headline score ("micro-F1")
    confusion_title: ClassVar[str]  # the confusion plot's title
    sequence_decoding: ClassVar[bool] = False  # its codec decodes label sequences (use_crf: a CRF, BIO constraints)

    # ---- data and model ---------------------------------------------------------------------------------------
    def auto_model_class(self):
        import transformers

        return getattr(transformers, self.auto_class_name)

    @abstractmethod
    def labels(self, train_docs: list[Document], preprocessing: Preprocessing, path: object) -> list[str]:
        """The model's output labels from the training data; DataError (naming `path`) when they cannot be learnt."""

    def check_documents(self, docs: list[Document], split: str, path: object) -> None:
        """Raise DataError when a training, dev or test split lacks the annotation this task learns from."""
        return None  # any Document will do unless the task says otherwise

    def check_gold(self, docs: list[Document], path: object) -> None:
        """Raise DataError when evaluation data cannot score a model of this task."""
        return None

    @abstractmethod
    def codec(self, tokenizer, labels: list[str], preprocessing: Preprocessing, lexical=None) -> TaskCodec:
        """The codec; `lexical` is a checkpoint's lexical component (topic only, tasks/topic/lexical.py)."""

    @abstractmethod
    def collator(self, tokenizer): ...

    def class_weights(self, train_docs: list[Document], labels: list[str], setting: str | None) -> np.ndarray | None:
        """Per-class loss weights for `training.class_weights` (None: unweighted)."""
        return None

    def map_labels(self, labels: list[str], mapping: dict[str, str]) -> list[str]:
        """The model's label list as data under `--label-map` sees it (a label mapped to O disappears)."""
        out = [mapping.get(label, label) for label in labels]
        return list(dict.fromkeys(new for label, new in zip(labels, out) if new != "O" or label == "O"))

    # ---- scores -----------------------------------------------------------------------------------------------
    @abstractmethod
    def headline(self, gold: list[Document], pred: list[Document]) -> dict[str, float]:
        """The few numbers training logs and selects the best checkpoint by (`headline_metric` among them)."""

    @abstractmethod
    def report(self, gold: list[Document], pred: list[Document], model_labels: list[str]) -> dict:
        """The full report section of an evaluation."""

    @abstractmethod
    def headline_score(self, section: dict) -> float:
        """The headline score inside a report section."""

    @abstractmethod
    def headline_samples(
        self, gold: list[Document], pred: list[Document], idx: np.ndarray, labels: list[str]
    ) -> tuple[float, np.ndarray]:
        """The headline score and its value on each bootstrap resample of documents (rows of `idx`)."""

    @abstractmethod
    def confusion(self, section: dict) -> dict[str, dict[str, int]]:
        """The report's confusion matrix as {gold: {predicted: count}}."""

    @abstractmethod
    def markdown(self, section: dict) -> list[str]:
        """The report section as Markdown lines."""

    def write_files(self, target: Path, gold: list[Document], pred: list[Document]) -> None:
        """Extra prediction files beside report.json (e.g. word-level CoNLL)."""
        return None


def check_aligned(gold: list[Document], pred: list[Document]) -> None:
    if len(gold) != len(pred) or any(g.text != p.text for g, p in zip(gold, pred)):
        raise ValueError("gold and predicted documents must be the same texts in the same order")


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def prf_table(rows: dict[str, dict]) -> list[str]:
    out = ["| | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, s in rows.items():
        out.append(f"| {name} | {pct(s['precision'])} | {pct(s['recall'])} | {pct(s['f1'])} | {s.get('support', '')} |")
    return out
