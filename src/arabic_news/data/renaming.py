"""Training articles with some of their names swapped for other names of the same type (mention replacement).

A small corpus names few people, places and organizations, so a model can learn the names themselves rather than
the contexts that mark a name's type (`الأمين العام لـ“المنظمة” ...`, `في مدينة ...`). Renaming a share of the
named things in each training article with names of the same type taken from elsewhere in the corpus makes the
same contexts carry other names, and the same names appear in other contexts. This is the "mention replacement"
augmentation of Dai and Adel (2020, *An Analysis of Simple Data Augmentation for Named Entity Recognition*,
COLING), applied to whole named things rather than to single mentions, so that an article stays coherent:

- every mention of a renamed thing in the article gets the same new name;
- a person's family name written alone after the full name (`[كارين ليندبرج](PERS)` ... `[ليندبرج](PERS)`) becomes
  the new name's last word;
- a name with the article `ال` is replaced by one with it, and one without by one without, so that a joined
  clitic stays well spelled (`ل[مصر]` never becomes `لالأردن`).

Clitics, quotation marks and the rest of the text are kept, and the spans' offsets are recomputed. The corpus does
not grow: the renamed articles replace the originals, so training costs the same.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .document import Document, Span

ARTICLE = "ال"


def rename_entities(docs: Sequence[Document], probability: float, seed: int) -> list[Document]:
    """`docs` with each named thing of each document renamed with `probability`, from names of its type in `docs`
    (the same `seed` gives the same result)."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"renaming probability must be between 0 and 1, got {probability!r}")
    pools = _name_pools(docs)
    rng = random.Random(seed)
    return [_rename(doc, _choose_names(doc, pools, probability, rng)) for doc in docs]


def _key(span: Span) -> tuple[str, bool]:
    return span.label, span.text.startswith(ARTICLE)


def _name_pools(docs: Sequence[Document]) -> dict[tuple[str, bool], list[str]]:
    """Each type's distinct names (with or without the article), in first-seen order so that runs repeat."""
    pools: dict[tuple[str, bool], dict[str, None]] = {}
    for doc in docs:
        for span in doc.entities:
            pools.setdefault(_key(span), {})[span.text] = None
    return {key: list(names) for key, names in pools.items()}


def _choose_names(doc: Document, pools: dict, probability: float, rng: random.Random) -> dict[tuple[str, str], str]:
    """(label, name) -> new name for the named things of `doc` that are renamed."""
    chosen: dict[tuple[str, str], str] = {}
    seen: dict[tuple[str, str], None] = {}
    for span in doc.entities:
        seen.setdefault((span.label, span.text), None)
    for label, name in seen:
        if (label, name) in chosen or rng.random() >= probability:
            continue
        others = [n for n in pools[_key(Span(0, 1, label, name))] if n != name]
        if not others:
            continue
        new = rng.choice(others)
        chosen[(label, name)] = new
        if label == "PERS":
            _rename_family_name(name, new, seen, chosen)
    return chosen


def _rename_family_name(name: str, new: str, seen: dict, chosen: dict) -> None:
    """A person's family name alone follows the full name's renaming (`ليندبرج` -> the new name's last word)."""
    words = name.split()
    if len(words) > 1 and ("PERS", words[-1]) in seen:
        chosen[("PERS", words[-1])] = new.split()[-1]


def _rename(doc: Document, names: dict[tuple[str, str], str]) -> Document:
    if not names:
        return doc
    parts, spans, position, shift = [], [], 0, 0
    for span in doc.entities:
        new = names.get((span.label, span.text), span.text)
        parts.append(doc.text[position : span.start])
        parts.append(new)
        spans.append(Span(span.start + shift, span.start + shift + len(new), span.label, new))
        shift += len(new) - (span.end - span.start)
        position = span.end
    parts.append(doc.text[position:])
    return Document(
        id=doc.id,
        text="".join(parts),
        topic=doc.topic,
        entities=spans,
        meta=dict(doc.meta),
        word_split=doc.word_split,
    )
