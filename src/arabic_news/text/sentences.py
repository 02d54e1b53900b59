"""Sentence spans of a text."""

from __future__ import annotations

import re

_TERMINATORS = ".!?\u061f\u2026\u06d4"  # . ! ? ؟ … ۔
_CLOSERS = "\u00bb\u201d\u2019\u203a\"')]}"  # » ” ’ › " ' ) ] }: stay with the sentence they close
_SENTENCE_BREAK = re.compile(
    "(?P<newline>[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])"
    f"|(?P<terminator>[{re.escape(_TERMINATORS)}]+)(?P<closers>[{re.escape(_CLOSERS)}]*)"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of `text`, stripped of surrounding whitespace, in order, covering every
    non-whitespace character exactly once.

    A sentence ends after a run of . ! ? ؟ … ۔ (with any closing quotes or brackets right after it) and at every
    line break. A single '.' between two digits (3.5) or between two ASCII letters/digits (example.com, v1.2) is
    not an end. Abbreviations such as `د.` do end a sentence: telling them from a real end needs more than
    characters.
    """
    cuts = []
    for match in _SENTENCE_BREAK.finditer(text):
        if match.group("newline"):
            cuts.append(match.start())
        elif not _is_inner_dot(text, match):
            cuts.append(match.end())
    cuts.append(len(text))
    spans = []
    previous = 0
    for cut in cuts:
        segment = text[previous:cut]
        stripped = segment.strip()
        if stripped:
            start = previous + len(segment) - len(segment.lstrip())
            spans.append((start, start + len(stripped)))
        previous = cut
    return spans


def _is_inner_dot(text: str, match: re.Match[str]) -> bool:
    """True for a lone '.' inside a number or an ASCII word such as a domain name."""
    position = match.start()
    if match.group("terminator") != "." or match.group("closers") or position == 0 or position + 1 >= len(text):
        return False
    before, after = text[position - 1], text[position + 1]
    if before.isdecimal() and after.isdecimal():
        return True
    return before.isascii() and before.isalnum() and after.isascii() and after.isalnum()
