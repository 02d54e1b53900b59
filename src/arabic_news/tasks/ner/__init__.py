"""NER: the codec (character spans <-> subword labels), seqeval and span metrics, the report section, the Task."""

from .task import NerTask

__all__ = ["NerTask"]
