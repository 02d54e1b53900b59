"""The inference layer: `load()` a checkpoint and tag articles (NewsTagger), one model's prediction path
(TaskModel, which training and evaluation use too) on its engines (backends: PyTorch, ONNX Runtime), and the HTML
view of predictions."""

from .backends import Backend, OnnxBackend, TorchBackend
from .model import TaskModel
from .tagger import NewsTagger, Prediction, TopicPrediction, load

__all__ = ["Backend", "OnnxBackend", "TorchBackend", "NewsTagger", "Prediction", "TaskModel", "TopicPrediction", "load"]
