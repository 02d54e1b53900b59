"""Topic classification: the codec (head or chunks), accuracy/macro-F1 metrics, the report section, the Task."""

from .task import TopicTask

__all__ = ["TopicTask"]
