"""Overlapping windows over a token sequence, so long articles are covered and nothing is truncated.

Each token is decided by exactly one window, the one where it sits most centrally: consecutive windows split their
overlap at its midpoint. Training sees every window; inference keeps each window's "owned" range.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: int  # first token (inclusive) in the full sequence
    end: int  # last token (exclusive)
    own_start: int  # tokens in [own_start, own_end) are decided by this window
    own_end: int


def make_windows(n_tokens: int, body_length: int, stride: int) -> list[Window]:
    """Windows of at most `body_length` tokens, consecutive ones sharing `stride` tokens, covering all n_tokens."""
    if body_length <= 0:
        raise ValueError(f"window body must hold at least one token, got {body_length}")
    stride = min(stride, body_length - 1) if body_length > 1 else 0
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + body_length, n_tokens)
        spans.append((start, end))
        if end >= n_tokens:
            break
        start += body_length - stride
    windows = []
    for k, (start, end) in enumerate(spans):
        own_start = start if k == 0 else (start + spans[k - 1][1] + 1) // 2
        own_end = end if k == len(spans) - 1 else (spans[k + 1][0] + end + 1) // 2
        windows.append(Window(start, end, own_start, own_end))
    return windows


def special_tokens_template(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single text ([CLS] ... [SEP], <s> ... </s>), found by encoding a
    probe with and without special tokens (transformers 5 tokenizers no longer expose a builder for this)."""
    for probe in ("a", "ا", "1", "x y"):
        plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
        full = tokenizer(probe)["input_ids"]
        for i in range(len(full) - len(plain) + 1):
            if plain and full[i : i + len(plain)] == plain:
                return list(full[:i]), list(full[i + len(plain) :])
    raise ValueError(f"cannot find where {type(tokenizer).__name__} puts its special tokens")
