"""The Arabic text layer: normalization with an offset map back to the original, word tokens, sentence spans.

Everything downstream (encoding, prediction, evaluation, data checks) reads text through this module, and every
entity must come back as offsets into the ORIGINAL text. So normalization here never inserts characters: each
original character is either kept (possibly replaced by one other character) or deleted. That keeps the map from
normalized to original positions monotone and exact, and lets a model work on clean text while users get spans in
the text they gave.

Two kinds of deletion, which matter for mapping spans back:
- diacritics and tatweel are *attached*: they belong to the chunk of the preceding kept character, so a letter's
  original extent includes its harakat and an entity mapped back ends after its last letter's diacritics;
- invisible controls (bidi marks, zero-width characters, BOM) are *detached*: they belong to no character, so a
  span mapped back never starts or ends on one.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any

ARABIC_PROCLITICS = "وفبلك"
"""Letters that attach to the following word (wa-, fa-, bi-, li-, ka-); evaluation and data checks use them to
recognise an entity that starts inside a whitespace token, such as `أذربيجان` in `وأذربيجان`."""


def _chars(*ranges: tuple[int, int]) -> frozenset[str]:
    return frozenset(chr(code) for first, last in ranges for code in range(first, last + 1))


# Harakat, tanween, shadda, sukun, the combining maddah/hamza marks and the other marks of the Arabic block;
# U+0610-U+061A are honorific and small high signs, U+06D6-U+06ED the Quranic annotation marks (the small
# letters U+06E5/U+06E6 are letters, not marks, and stay), U+08CA-U+08FF the Extended-A marks (not U+08E2,
# which is a format character).
TASHKEEL = _chars((0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06DC), (0x06DF, 0x06E4),
                  (0x06E7, 0x06E8), (0x06EA, 0x06ED), (0x08CA, 0x08E1), (0x08E3, 0x08FF))
TATWEEL = "\u0640"
# Bidi marks, embeddings, overrides and isolates, zero-width space/joiners, word joiner, soft hyphen, BOM.
CONTROLS = _chars((0x061C, 0x061C), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2060), (0x2066, 0x2069),
                  (0xFEFF, 0xFEFF), (0x00AD, 0x00AD))

_ALEF_FORMS = {ch: "\u0627" for ch in "\u0623\u0625\u0622\u0671\u0672\u0673\u0675"}  # أ إ آ ٱ ٲ ٳ ٵ -> ا
_ALEF_MAQSURA = {"\u0649": "\u064A"}  # ى -> ي
_TAA_MARBUTA = {"\u0629": "\u0647"}  # ة -> ه
_DIGITS = {chr(base + d): str(d) for base in (0x0660, 0x06F0) for d in range(10)}
_DIGITS.update({"\u066B": ".", "\u066C": ","})  # Arabic decimal and thousands separators: ٣٫٥ -> 3.5
# Letters typed on Persian keyboards in Arabic text: ی (Farsi yeh) -> ي, ک (keheh) -> ك, ھ (heh doachashmee) -> ه.
_PERSIAN_LETTERS = {"\u06CC": "\u064A", "\u06A9": "\u0643", "\u06BE": "\u0647"}


def _presentation_forms() -> dict[str, str]:
    """Arabic presentation forms (contextual glyphs from PDFs and old encodings) whose NFKC form is one letter.

    Ligatures such as lam-alef decompose into two letters; they are left alone because normalization never inserts.
    """
    out = {}
    for block in (range(0xFB50, 0xFE00), range(0xFE70, 0xFF00)):
        for code in block:
            folded = unicodedata.normalize("NFKC", chr(code))
            if len(folded) == 1 and folded != chr(code) and unicodedata.category(folded).startswith("L"):
                out[chr(code)] = folded
    return out


_PRESENTATION_FORMS = _presentation_forms()


@dataclass(frozen=True)
class NormalizeOptions:
    """Which normalizations to apply; each is 1:1 or a deletion, so offsets map back exactly."""

    remove_tashkeel: bool = True  # harakat, tanween, shadda, sukun, dagger alef, Quranic and other Arabic marks
    remove_tatweel: bool = True  # ـ (U+0640), the stretching character
    unify_alef: bool = True  # أ إ آ ٱ (and the wavy-hamza forms) -> ا
    alef_maqsura_to_ya: bool = True  # ى -> ي
    taa_marbuta_to_ha: bool = False  # ة -> ه
    ascii_digits: bool = True  # ٠-٩ and ۰-۹ -> 0-9, ٫ -> '.', ٬ -> ','
    remove_controls: bool = True  # bidi marks/embeddings/isolates, zero-width characters, soft hyphen, BOM
    fold_presentation_forms: bool = True  # contextual glyphs such as ﺍ (U+FE8D) -> ا; ligatures are kept
    persian_letters_to_arabic: bool = True  # ی -> ي, ک -> ك, ھ -> ه

    @classmethod
    def none(cls) -> "NormalizeOptions":
        """No normalization at all: the normalized text is the original and the offset map is the identity."""
        return cls(**{f.name: False for f in fields(cls)})

    @classmethod
    def from_dict(cls, d: dict[str, Any] | NormalizeOptions | None) -> "NormalizeOptions":
        """Options from a config section; missing keys keep their defaults, unknown keys are an error."""
        if d is None:
            return cls()
        if isinstance(d, NormalizeOptions):
            return d
        if not isinstance(d, dict):
            raise ValueError(f"normalization options must be a mapping of option -> true/false, got {d!r}")
        valid = [f.name for f in fields(cls)]
        for key, value in d.items():
            if key not in valid:
                raise ValueError(f"unknown normalization option {key!r}; valid options are: {', '.join(valid)}")
            if not isinstance(value, bool):
                raise ValueError(f"normalization option {key!r} must be true or false, got {value!r}")
        return cls(**d)

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)


@dataclass(frozen=True)
class _Rules:
    """What `options` do to single characters, precomputed once per options value."""

    table: dict[int, str | None]  # for str.translate: replacements and deletions
    attached: frozenset[str]  # deleted, extend the preceding kept character's chunk
    detached: frozenset[str]  # deleted, belong to nothing
    deletion_run: re.Pattern[str] | None  # a run of deleted characters of either kind


@lru_cache(maxsize=64)
def _rules(options: NormalizeOptions) -> _Rules:
    # Replacements compose in this order so that a presentation form ends where its base letter would, e.g.
    # ﺃ -> أ -> ا; no output is itself replaced or deleted, which makes normalization idempotent.
    steps = [(options.fold_presentation_forms, _PRESENTATION_FORMS),
             (options.persian_letters_to_arabic, _PERSIAN_LETTERS),
             (options.unify_alef, _ALEF_FORMS),
             (options.alef_maqsura_to_ya, _ALEF_MAQSURA),
             (options.taa_marbuta_to_ha, _TAA_MARBUTA),
             (options.ascii_digits, _DIGITS)]
    enabled = [mapping for on, mapping in steps if on]
    table: dict[int, str | None] = {}
    for source in {ch for mapping in enabled for ch in mapping}:
        target = source
        for mapping in enabled:
            target = mapping.get(target, target)
        if target != source:
            table[ord(source)] = target
    attached = (TASHKEEL if options.remove_tashkeel else frozenset()) | (
        frozenset(TATWEEL) if options.remove_tatweel else frozenset())
    detached = CONTROLS if options.remove_controls else frozenset()
    for ch in attached | detached:
        table[ord(ch)] = None
    deleted = sorted(attached | detached)
    pattern = re.compile("[" + "".join(re.escape(ch) for ch in deleted) + "]+") if deleted else None
    return _Rules(table, attached, detached, pattern)


@dataclass(frozen=True)
class Normalized:
    """Normalized text plus, for each of its characters, the original chunk it came from.

    `original[starts[i]:ends[i]]` is the chunk of normalized character i: the kept character itself followed by
    any attached deletions (diacritics, tatweel). Chunks are disjoint and in order. Detached deletions (controls)
    lie between chunks, or inside one when a diacritic after them attaches across them, never at a chunk's edge.
    """

    text: str
    original: str
    starts: tuple[int, ...] = field(repr=False)
    ends: tuple[int, ...] = field(repr=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Normalized span [start, end) -> original span covering exactly those characters and their diacritics.

        An empty span maps to the empty original span at the start of normalized character `start`, or at the
        end of the original text when `start == len(text)`.
        """
        _check_span(start, end, len(self.text), "normalized")
        if start < end:
            return self.starts[start], self.ends[end - 1]
        position = self.starts[start] if start < len(self.starts) else len(self.original)
        return position, position

    def to_normalized(self, start: int, end: int) -> tuple[int, int]:
        """Original span [start, end) -> smallest normalized span whose chunks cover every kept part of it.

        The result includes each normalized character whose chunk overlaps the original span (so a span starting
        on a diacritic takes in its letter). It is empty when the span holds only deleted characters, and for an
        empty span, which maps to the position of the first normalized character starting at or after `start`.
        """
        _check_span(start, end, len(self.original), "original")
        if start == end:
            position = bisect_left(self.starts, start)
            return position, position
        first = bisect_right(self.ends, start)  # first chunk ending after `start`
        stop = bisect_left(self.starts, end)  # chunks starting before `end`
        return (first, stop) if first < stop else (first, first)


def _check_span(start: int, end: int, length: int, which: str) -> None:
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= length):
        raise ValueError(f"span ({start!r}, {end!r}) is not a valid span of the {which} text (length {length}); "
                         f"need integers with 0 <= start <= end <= {length}")


def normalize(text: str, options: NormalizeOptions = NormalizeOptions()) -> Normalized:
    """Normalize `text` and keep, for every output character, the original chunk it came from. Linear time."""
    if not isinstance(text, str):
        raise TypeError(f"normalize() needs a str, got {type(text).__name__}")
    rules = _rules(options)
    normalized = text.translate(rules.table)
    length = len(text)
    if len(normalized) == length:  # nothing deleted: the map is the identity (the common case for news text)
        return Normalized(normalized, text, tuple(range(length)), tuple(range(1, length + 1)))
    starts: list[int] = []
    ends: list[int] = []
    kept_from = 0
    assert rules.deletion_run is not None  # something was deleted, so a deletion rule exists
    for run in rules.deletion_run.finditer(text):
        run_start, run_end = run.span()
        starts.extend(range(kept_from, run_start))
        ends.extend(range(kept_from + 1, run_start + 1))
        if ends:  # attached deletions extend the last kept character's chunk up to the last of them
            last_attached = _last_index_in(run.group(), rules.attached)
            if last_attached >= 0:
                ends[-1] = run_start + last_attached + 1
        kept_from = run_end
    starts.extend(range(kept_from, length))
    ends.extend(range(kept_from + 1, length + 1))
    return Normalized(normalized, text, tuple(starts), tuple(ends))


def _last_index_in(run: str, members: frozenset[str]) -> int:
    for index in range(len(run) - 1, -1, -1):
        if run[index] in members:
            return index
    return -1


def normalize_text(text: str, options: NormalizeOptions = NormalizeOptions()) -> str:
    """Just the normalized string (equal to `normalize(text, options).text`), for features and lookups."""
    return text.translate(_rules(options).table)


# ----------------------------------------------------------------------------------------------------- tokens

@dataclass(frozen=True)
class Token:
    """A word, number or punctuation token: `text == source[start:end]`."""

    start: int
    end: int
    text: str


_SPACE, _WORD, _MARK, _FORMAT, _OTHER = range(5)
_NUMBER_SEPARATORS = frozenset(".,\u066B\u066C")  # inside a number only: 3.5, 1,200, ٣٫٥
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
            end = _run_end(chunk, position, lambda ch: ch == first)
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
        elif (ch in _NUMBER_SEPARATORS and chunk[position - 1].isdecimal()
              and position + 1 < length and chunk[position + 1].isdecimal()):
            position += 2
        else:
            break
    return position


# -------------------------------------------------------------------------------------------------- sentences

_TERMINATORS = ".!?\u061F\u2026\u06D4"  # . ! ? ؟ … ۔
_CLOSERS = "\u00BB\u201D\u2019\u203A\"')]}"  # » ” ’ › " ' ) ] }: stay with the sentence they close
_SENTENCE_BREAK = re.compile(
    "(?P<newline>[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])"
    f"|(?P<terminator>[{re.escape(_TERMINATORS)}]+)(?P<closers>[{re.escape(_CLOSERS)}]*)")


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
