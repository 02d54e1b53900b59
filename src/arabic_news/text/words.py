"""Word tokens with offsets, and the proclitic letters that glue onto Arabic words.

Clitics are not split off (`وأذربيجان` is one token); code that must find a name inside such a token uses
`ARABIC_PROCLITICS` and `PROCLITIC_CHARS`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .normalize import TATWEEL

ARABIC_PROCLITICS = "وفبلك"
"""Letters that attach to the following word (wa-, fa-, bi-, li-, ka-); evaluation and data checks use them to
recognise an entity that starts inside a whitespace token, such as `أذربيجان` in `وأذربيجان`."""
PROCLITIC_CHARS = frozenset(ARABIC_PROCLITICS + TATWEEL)
"""The proclitic letters plus tatweel, which joins a clitic to a quote or a name (`لـ`)."""


@dataclass(frozen=True)
class Token:
    """A word, number or punctuation token: `text == source[start:end]`."""

    start: int
    end: int
    text: str


_SPACE, _WORD, _MARK, _FORMAT, _OTHER = range(5)
_NUMBER_SEPARATORS = frozenset(".,\u066b\u066c")  # inside a number only: 3.5, 1,200, ٣٫٥
_class_cache: dict[str, int] = {}


def _char_class(ch: str) -> int:
    cls = _class_cache.get(ch)
    if cls is None:
        category = unicodedata.category(ch)
        if ch.isspace():
            cls = _SPACE
        elif ch.isalnum() or category == "Pc":  # letters (tatweel too), digits, underscore: like regex \w
            cls = _WORD
        elif category.startswith("M"):  # harakat and other combining marks stay with what precedes them
            cls = _MARK
        elif category == "Cf":
            cls = _FORMAT
        else:
            cls = _OTHER
        if len(_class_cache) < 50_000:  # bounded: adversarial input must not grow memory without limit
            _class_cache[ch] = cls
    return cls


_NON_SPACE_RUN = re.compile(r"\S+")


def tokenize_words(text: str) -> list[Token]:
    """Split `text` into word, number and punctuation tokens with offsets into `text`.

    - Words are runs of letters, digits, underscores and combining marks (so harakat and tatweel stay inside).
      Arabic clitics are not split: `وأذربيجان` is one token.
    - Numbers stay whole with `.` `,` `٫` `٬` between digits: `3.5`, `1,200`, `٢٠٢٤`.
    - Every other visible character (punctuation, quotes, symbols) is a token of its own; a run of the same
      character (`..`, `...`, `!!`) is one token. `-` and `'` always split, so `e-mail` is `e`, `-`, `mail`.
    - Invisible format characters (ZWNJ, bidi marks) inside a word stay in it; elsewhere a run of them is a token.
    Tokens cover every non-whitespace character exactly once, in order.
    """
    tokens: list[Token] = []
    for chunk_match in _NON_SPACE_RUN.finditer(text):
        chunk, offset = chunk_match.group(), chunk_match.start()
        if chunk.isalnum():  # fast path: a plain word or number
            tokens.append(Token(offset, offset + len(chunk), chunk))
            continue
        for start, end in _split_chunk(chunk):
            tokens.append(Token(offset + start, offset + end, chunk[start:end]))
    return tokens


def _split_chunk(chunk: str) -> list[tuple[int, int]]:
    """Token spans of a whitespace-free string."""
    spans = []
    position, length = 0, len(chunk)
    while position < length:
        cls = _char_class(chunk[position])
        if cls in (_WORD, _MARK):
            end = _word_end(chunk, position)
        elif cls == _FORMAT:
            end = _run_end(chunk, position, lambda ch: _char_class(ch) == _FORMAT)
        else:  # punctuation, symbol or a stray control: a run of the same character, plus any marks on it
            first = chunk[position]
            end = _run_end(chunk, position, lambda ch, first=first: ch == first)
            end = _run_end(chunk, end, lambda ch: _char_class(ch) == _MARK)
        spans.append((position, end))
        position = end
    return spans


def _run_end(chunk: str, position: int, belongs) -> int:
    while position < len(chunk) and belongs(chunk[position]):
        position += 1
    return position


def _word_end(chunk: str, start: int) -> int:
    position, length = start + 1, len(chunk)
    while position < length:
        ch = chunk[position]
        cls = _char_class(ch)
        if cls in (_WORD, _MARK):
            position += 1
        elif cls == _FORMAT:  # joiners/marks inside a word belong to it, at its edge they do not
            after = _run_end(chunk, position, lambda c: _char_class(c) == _FORMAT)
            if after < length and _char_class(chunk[after]) in (_WORD, _MARK):
                position = after + 1
            else:
                break
        elif (
            ch in _NUMBER_SEPARATORS
            and chunk[position - 1].isdecimal()
            and position + 1 < length
            and chunk[position + 1].isdecimal()
        ):
            position += 2
        else:
            break
    return position
