"""Label maps for data written to other guidelines: `--label-map MISC=O` (drop a type) or `PER=PERS` (rename)."""

from __future__ import annotations

from dataclasses import replace

from ..data import Document


def parse_label_map(items: list[str]) -> dict[str, str]:
    """`OLD=NEW` pairs; NEW may be `O` to drop a type (e.g. `MISC=O` for guidelines without MISC)."""
    mapping = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise ValueError(f"--label-map {item!r} is not OLD=NEW (e.g. MISC=O or PER=PERS)")
        mapping[old] = new
    return mapping


def apply_label_map(docs: list[Document], mapping: dict[str, str]) -> list[Document]:
    if not mapping:
        return docs
    out = []
    for d in docs:
        spans = [replace(s, label=mapping.get(s.label, s.label)) for s in d.entities]
        topic = mapping.get(d.topic, d.topic) if d.topic is not None else None
        out.append(replace(d, entities=[s for s in spans if s.label != "O"], topic=topic))
    return out
