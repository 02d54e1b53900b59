"""The text layer: normalization with an offset map back to the original, word tokens, sentences, windows.

Everything downstream reads text through this package, and every entity comes back as offsets into the ORIGINAL
text: normalization never inserts characters, so the map from normalized to original positions is exact.
"""

from .normalize import (
    CONTROLS,
    TASHKEEL,
    TATWEEL,
    Normalized,
    NormalizeOptions,
    normalize,
    normalize_text,
)
from .sentences import split_sentences
from .windows import Window, make_windows, special_tokens_template
from .words import ARABIC_PROCLITICS, PROCLITIC_CHARS, Token, tokenize_words

__all__ = [
    "ARABIC_PROCLITICS",
    "CONTROLS",
    "PROCLITIC_CHARS",
    "TASHKEEL",
    "TATWEEL",
    "Normalized",
    "NormalizeOptions",
    "Token",
    "Window",
    "make_windows",
    "normalize",
    "normalize_text",
    "special_tokens_template",
    "split_sentences",
    "tokenize_words",
]
