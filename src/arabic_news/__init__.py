"""arabic-news: fine-tune Arabic BERT-family encoders for news NER and topic classification, evaluate them,
tag articles.

    from arabic_news import load
    tagger = load("runs/sample-ner", "runs/sample-topic")
    prediction = tagger("وصل وزير الخارجية إلى باكو ...")
    prediction.entities   # [Span(start, end, label, text, score), ...] with offsets into the text given
    prediction.topic      # TopicPrediction(label, score, probabilities)

The packages, lowest layer first (each imports only from the ones below it; `.importlinter` in pyproject.toml
checks it): text, data, tasks | modeling, checkpoint, inference, training | evaluation, cli. See docs/design.md.
"""

from .data import Document, Span, read_documents, write_documents
from .errors import ArabicNewsError, CheckpointError, ConfigError, DataError
from .text import NormalizeOptions, normalize, split_sentences, tokenize_words

_LAZY = {"load", "NewsTagger", "Prediction", "TaskModel", "TopicPrediction"}  # they import torch: load on first use


def __getattr__(name: str):
    if name in _LAZY:
        from . import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'arabic_news' has no attribute {name!r}")


__version__ = "0.1.0"
__all__ = [
    "load",
    "NewsTagger",
    "Prediction",
    "TopicPrediction",
    "TaskModel",
    "Document",
    "Span",
    "read_documents",
    "write_documents",
    "normalize",
    "NormalizeOptions",
    "tokenize_words",
    "split_sentences",
    "ArabicNewsError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "__version__",
]
