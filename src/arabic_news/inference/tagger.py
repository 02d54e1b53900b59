"""The Python API: `load(...)` returns a NewsTagger over an NER model, a topic model or both; call it on a text or
`pipe` many texts, and get entities with offsets into the text given, and a topic with its probabilities."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..data import Document, Span
from ..errors import CheckpointError
from .model import TaskModel


@dataclass
class TopicPrediction:
    label: str
    score: float
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass
class Prediction:
    text: str
    entities: list[Span] = field(default_factory=list)
    topic: TopicPrediction | None = None

    def to_document(self, doc_id: str = "") -> Document:
        if self.topic is None:
            return Document(doc_id, self.text, None, list(self.entities))
        return Document(
            doc_id,
            self.text,
            self.topic.label,
            list(self.entities),
            topic_score=round(self.topic.score, 6),
            topic_probabilities={k: round(v, 6) for k, v in self.topic.probabilities.items()},
        )


class NewsTagger:
    """The Python API: an NER model, a topic model, or both; call it on a text or `pipe` many texts."""

    def __init__(self, ner: TaskModel | None = None, topic: TaskModel | None = None):
        if ner is None and topic is None:
            raise CheckpointError("give at least one checkpoint (an NER one, a topic one, or both)")
        self.ner, self.topic = ner, topic

    def describe(self) -> list[str]:
        """One line per model: task, folder, engine, precision and why (see TaskModel.describe)."""
        return [m.describe() for m in (self.ner, self.topic) if m is not None]

    def __call__(self, text: str) -> Prediction:
        return next(iter(self.pipe([text])))

    def pipe(self, texts: Iterable[str], batch_size: int = 32, chunk: int = 256) -> Iterator[Prediction]:
        """Predict many texts, streaming: `chunk` texts at a time are batched by length and yielded in input order."""
        buffer: list[str] = []
        for text in texts:
            buffer.append(text)
            if len(buffer) == chunk:
                yield from self._predict(buffer, batch_size)
                buffer = []
        if buffer:
            yield from self._predict(buffer, batch_size)

    def predict_documents(self, docs: list[Document], batch_size: int = 32, progress: bool = False) -> list[Document]:
        out = [d.unlabeled() for d in docs]
        for model in (self.ner, self.topic):
            if model is not None:
                out = model.predict_documents(out, batch_size, progress)
        return out

    def _predict(self, texts: list[str], batch_size: int) -> list[Prediction]:
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"NewsTagger takes str texts, got {type(t).__name__}; decode bytes first")
        docs = self.predict_documents([Document(str(i), t) for i, t in enumerate(texts)], batch_size)
        return [Prediction(d.text, d.entities, _topic_of(d) if self.topic else None) for d in docs]


def _topic_of(doc: Document) -> TopicPrediction:
    return TopicPrediction(doc.topic, doc.topic_score, doc.topic_probabilities)


def load(*checkpoints: str | Path, **options) -> NewsTagger:
    """`load("runs/sample-ner", "runs/sample-topic")`: a NewsTagger; each checkpoint's task is read from its metadata.
    A checkpoint is a training folder (run in PyTorch) or an ONNX export (run in ONNX Runtime, `arabic-news export`).
    Options: device ('cpu', 'cuda'), dtype ('auto': bf16 where the hardware computes it natively, else fp32; 'fp32',
    'bf16'), quantize ('int8': torch dynamic quantization), threads (ONNX Runtime intra-op threads)."""
    models: dict[str, TaskModel] = {}
    for path in checkpoints:
        model = TaskModel.load(path, **options)
        if model.task.name in models:
            raise CheckpointError(
                f"two {model.task.name} checkpoints given ({models[model.task.name].path} and {path})",
                hint="give at most one NER and one topic checkpoint",
            )
        models[model.task.name] = model
    return NewsTagger(models.get("ner"), models.get("topic"))
