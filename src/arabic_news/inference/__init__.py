"""The inference layer: `load()` a checkpoint and tag articles (NewsTagger), one model's prediction path
(TaskModel, which training and evaluation use too), and the HTML view of predictions."""

from .model import TaskModel
from .tagger import NewsTagger, Prediction, TopicPrediction, load

__all__ = ["NewsTagger", "Prediction", "TaskModel", "TopicPrediction", "load"]
