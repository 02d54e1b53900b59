"""The task layer: one `Task` per kind of model (NER, topic), behind one interface, found by name in `TASKS`.

To add a task, write a subpackage with a `Task` subclass (labels, codec, collator, scores, report) and add an
instance to `TASKS`: training, evaluation, inference and the config check then know it.
"""

from .base import Preprocessing, Task, TaskCodec
from .ner import NerTask
from .ner.crf import CrfParams
from .topic import TopicTask

TASKS: dict[str, Task] = {task.name: task for task in (NerTask(), TopicTask())}

__all__ = ["TASKS", "CrfParams", "NerTask", "Preprocessing", "Task", "TaskCodec", "TopicTask"]
