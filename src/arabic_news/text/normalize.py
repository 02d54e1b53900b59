"""Arabic normalization with an offset map back to the original text.

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


def _chars(*ranges: tuple[int, int]) -> frozenset[str]:
    return frozenset(chr(code) for first, last in ranges for code in range(first, last + 1))


# Harakat, tanween, shadda, sukun, the combining maddah/hamza marks and the other marks of the Arabic block;
# U+0610-U+061A are honorific and small high signs, U+06D6-U+06ED the Quranic annotation marks (the small
# letters U+06E5/U+06E6 are letters, not marks, and stay), U+08CA-U+08FF the Extended-A marks (not U+08E2,
# which is a format character).
TASHKEEL = _chars(
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x08CA, 0x08E1),
    (0x08E3, 0x08FF),
)
TATWEEL = "\u0640"
# Bidi marks, embeddings, overrides and isolates, zero-width space/joiners, word joiner, soft hyphen, BOM.
CONTROLS = _chars(
    (0x061C, 0x061C),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2060),
    (0x2066, 0x2069),
    (0xFEFF, 0xFEFF),
    (0x00AD, 0x00AD),
)

_ALEF_FORMS = {ch: "\u0627" for ch in "\u0623\u0625\u0622\u0671\u0672\u0673\u0675"}  # أ إ آ ٱ ٲ ٳ ٵ -> ا
_ALEF_MAQSURA = {"\u0649": "\u064a"}  # ى -> ي
_TAA_MARBUTA = {"\u0629": "\u0647"}  # ة -> ه
_DIGITS = {chr(base + d): str(d) for base in (0x0660, 0x06F0) for d in range(10)}
_DIGITS.update({"\u066b": ".", "\u066c": ","})  # Arabic decimal and thousands separators: ٣٫٥ -> 3.5
# Letters typed on Persian keyboards in Arabic text: ی (Farsi yeh) -> ي, ک (keheh) -> ك, ھ (heh doachashmee) -> ه.
_PERSIAN_LETTERS = {"\u06cc": "\u064a", "\u06a9": "\u0643", "\u06be": "\u0647"}


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
    def none(cls) -> NormalizeOptions:
        """No normalization at all: the normalized text is the original and the offset map is the identity."""
        return cls(**{f.name: False for f in fields(cls)})

    @classmethod
    def from_dict(cls, d: dict[str, Any] | NormalizeOptions | None) -> NormalizeOptions:
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
    steps = [
        (options.fold_presentation_forms, _PRESENTATION_FORMS),
        (options.persian_letters_to_arabic, _PERSIAN_LETTERS),
        (options.unify_alef, _ALEF_FORMS),
        (options.alef_maqsura_to_ya, _ALEF_MAQSURA),
        (options.taa_marbuta_to_ha, _TAA_MARBUTA),
        (options.ascii_digits, _DIGITS),
    ]
    enabled = [mapping for on, mapping in steps if on]
    table: dict[int, str | None] = {}
    for source in {ch for mapping in enabled for ch in mapping}:
        target = source
        for mapping in enabled:
            target = mapping.get(target, target)
        if target != source:
            table[ord(source)] = target
    attached = (TASHKEEL if options.remove_tashkeel else frozenset()) | (
        frozenset(TATWEEL) if options.remove_tatweel else frozenset()
    )
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
        raise ValueError(
            f"span ({start!r}, {end!r}) is not a valid span of the {which} text (length {length}); "
            f"need integers with 0 <= start <= end <= {length}"
        )


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
