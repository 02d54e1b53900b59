"""Tagging schemes (IOB1, IOB2, IOBES, BILOU): from tags to character spans and back, read the way seqeval's
default mode reads them (an `I-X` after `O` or after another type starts a new entity), so the entities the trainer
learns are the ones the metrics score.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

from .document import Span

SCHEMES = ("IOB1", "IOB2", "IOBES")
_ALIASES = {
    "IOB": "IOB2",
    "BIO": "IOB2",
    "BIOES": "IOBES",
    "IOBES": "IOBES",
    "BILOU": "BILOU",
    "IOB1": "IOB1",
    "IOB2": "IOB2",
}
VALID_TAG = re.compile(r"O|[BIESLU]-\S+")
BILOU_PREFIXES = {"L": "E", "U": "S"}  # BILOU's last and unit tags are IOBES's end and single tags


def scheme_name(scheme: str, allow_auto: bool) -> str:
    key = scheme.upper()
    if allow_auto and key == "AUTO":
        return "auto"
    if key not in _ALIASES:
        choices = ", ".join((["auto"] if allow_auto else []) + list(SCHEMES) + ["BIOES", "BILOU"])
        raise ValueError(f"unknown tagging scheme {scheme!r}; choose one of {choices}")
    return _ALIASES[key]


def split_tag(tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, _, entity_type = tag.partition("-")
    return BILOU_PREFIXES.get(prefix, prefix), entity_type


def detect_scheme(sentences: Iterable[Sequence[str]]) -> str:
    """IOBES if E-/S- tags occur; IOB1 if entities start with I- and B- only separates same-type neighbours;
    IOB2 otherwise (including files without entities)."""
    b_opens = i_opens = 0
    for tags in sentences:
        prev_prefix, prev_type = "O", ""
        for tag in tags:
            prefix, entity_type = split_tag(tag)
            if prefix in "ES":
                return "IOBES"
            continues = prev_prefix != "O" and prev_type == entity_type
            b_opens += prefix == "B" and not continues
            i_opens += prefix == "I" and not continues
            prev_prefix, prev_type = prefix, entity_type
    return "IOB1" if i_opens and not b_opens else "IOB2"


def scheme_violations(tags: Sequence[str], scheme: str) -> list[int]:
    """Indices of tags that `scheme` forbids (the reading stays seqeval's; this only finds what to report)."""
    scheme = scheme_name(scheme, allow_auto=False)
    scheme = "IOBES" if scheme == "BILOU" else scheme
    parts = [split_tag(t) for t in tags]
    bad: list[int] = []
    for i, (prefix, entity_type) in enumerate(parts):
        prev_prefix, prev_type = parts[i - 1] if i else ("O", "")
        next_prefix, next_type = parts[i + 1] if i + 1 < len(parts) else ("O", "")
        inside = prev_type == entity_type and prev_prefix in ("B", "I")
        if scheme == "IOB2":
            wrong = prefix in "ES" or (prefix == "I" and not inside)
        elif scheme == "IOB1":
            wrong = prefix in "ES" or (prefix == "B" and not inside)
        else:
            unclosed = prefix in ("B", "I") and not (next_type == entity_type and next_prefix in ("I", "E"))
            wrong = (prefix in ("I", "E") and not inside) or unclosed
        if wrong:
            bad.append(i)
    return bad


def tags_to_spans(words: Sequence[tuple[int, int]], tags: Sequence[str], scheme: str = "auto") -> list[Span]:
    """Entities of one sentence as character spans, read as seqeval's default mode reads tags.

    That reading is the same for IOB1, IOB2 and IOBES (and BILOU, whose L-/U- count as E-/S-), so `scheme` is
    only checked; scheme violations are found by `scheme_violations`.
    """
    scheme_name(scheme, allow_auto=True)
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} words but {len(tags)} tags")
    for tag in set(tags):
        if not VALID_TAG.fullmatch(tag):
            raise ValueError(f"{tag!r} is not a tag: expected O or PREFIX-TYPE with prefix B, I, E, S, L or U")
    return [Span(words[first][0], words[last][1], entity_type) for entity_type, first, last in _chunks(tags)]


def _chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word) per entity, with seqeval's default-mode start and end rules."""
    chunks: list[tuple[str, int, int]] = []
    prev_prefix, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, entity_type = split_tag(tag)
        if prev_prefix != "O" and _chunk_ends(prev_prefix, prefix, prev_type, entity_type):
            chunks.append((prev_type, begin, i - 1))
        if prefix != "O" and _chunk_starts(prev_prefix, prefix, prev_type, entity_type):
            begin = i
        prev_prefix, prev_type = prefix, entity_type
    return chunks


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str, entity_type: str) -> bool:
    return (
        prev_prefix in ("E", "S")
        or (prev_prefix in ("B", "I") and prefix in ("B", "S", "O"))
        or prev_type != entity_type
    )


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str, entity_type: str) -> bool:
    return prefix in ("B", "S") or (prefix in ("E", "I") and prev_prefix in ("E", "S", "O")) or prev_type != entity_type


def spans_to_tags(words: Sequence[tuple[int, int]], spans: Iterable[Span], scheme: str = "IOB2") -> list[str]:
    """One tag per word. A span that covers part of a word tags the whole word; a span whose words are
    already taken by an earlier span is left out (use `encode_spans` to learn which spans were changed)."""
    tags, _, _ = encode_spans(words, spans, scheme)
    return tags


def encode_spans(
    words: Sequence[tuple[int, int]], spans: Iterable[Span], scheme: str = "IOB2"
) -> tuple[list[str], list[Span], list[Span]]:
    """Tags, the spans widened to whole words, and the spans dropped (no word, or words already tagged)."""
    scheme = scheme_name(scheme, allow_auto=False)
    starts = [w[0] for w in words]
    owner: list[int | None] = [None] * len(words)  # which chunk covers each word
    chunks: list[tuple[str, int, int]] = []
    widened: list[Span] = []
    dropped: list[Span] = []
    for span in sorted(spans):
        first = max(bisect.bisect_right(starts, span.start) - 1, 0)
        covered = [
            i
            for i in range(first, bisect.bisect_left(starts, span.end))
            if words[i][0] < span.end and words[i][1] > span.start
        ]
        if not covered or any(owner[i] is not None for i in covered):
            dropped.append(span)
            continue
        if words[covered[0]][0] != span.start or words[covered[-1]][1] != span.end:
            widened.append(span)
        for i in covered:
            owner[i] = len(chunks)
        chunks.append((span.label, covered[0], covered[-1]))
    return _chunk_tags(len(words), chunks, scheme), widened, dropped


def _chunk_tags(n_words: int, chunks: list[tuple[str, int, int]], scheme: str) -> list[str]:
    tags = ["O"] * n_words
    previous_end: dict[int, str] = {}  # last word of a chunk -> its type, for IOB1's B- rule
    for label, first, last in chunks:
        for i in range(first, last + 1):
            tags[i] = f"I-{label}"
        if scheme == "IOB2" or (scheme == "IOB1" and previous_end.get(first - 1) == label):
            tags[first] = f"B-{label}"
        elif scheme in ("IOBES", "BILOU"):
            single, end = ("S", "E") if scheme == "IOBES" else ("U", "L")
            if first == last:
                tags[first] = f"{single}-{label}"
            else:
                tags[first], tags[last] = f"B-{label}", f"{end}-{label}"
        previous_end[last] = label
    return tags
