"""The data layer: the Document type and the file formats that become Documents (one `Codec` per format).

Gold data, model predictions and evaluation inputs are all Documents with character-offset Spans into the
original text, so every reader, the trainer, the inference API and the metrics speak the same language.
"""

from .context import join_documents
from .document import Document, Span, label_set, topic_set
from .formats import (
    CODECS,
    FORMATS,
    Codec,
    detect_format,
    output_format,
    read_documents,
    stream_documents,
    write_documents,
)

__all__ = [
    "CODECS",
    "FORMATS",
    "Codec",
    "Document",
    "Span",
    "detect_format",
    "join_documents",
    "label_set",
    "output_format",
    "read_documents",
    "stream_documents",
    "topic_set",
    "write_documents",
]
