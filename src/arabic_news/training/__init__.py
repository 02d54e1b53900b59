"""The training layer: experiment configs (YAML, typed and checked) and fine-tuning with the Hugging Face Trainer
into a finished checkpoint folder; an interrupted run resumes from its last snapshot."""

from .config import Config, load_config
from .run import train
from .splits import load_splits

__all__ = ["Config", "load_config", "load_splits", "train"]
