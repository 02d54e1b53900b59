"""Convert hand-written articles in a light markup to the sample corpus's JSONL records.

Input: one or more UTF-8 text files. Each article starts with a line ``### <id> <topic>``; the lines after it, up to
the next ``###`` line or the end of the file, are the article (first line the headline, one paragraph a line).
Entities are written in place as ``[text](TYPE)`` with TYPE one of PERS, LOC, ORG, MISC; everything else is plain
text, so the article's text is the markup with the brackets and the ``(TYPE)`` removed. Blank lines are dropped.

    python data/tools/markup_to_jsonl.py ARTICLES.txt... > new.jsonl

Each record gets ``id``, ``text``, ``topic`` and ``entities`` (``start``, ``end``, ``label``, ``text``), offsets
computed here, in the field order of ``data/sample/*.jsonl``. On stderr the script warns about a surface form that
is annotated in an article and also occurs there as a whole word (after an optional clitic) without a span, since
rule 7 of the guidelines says every mention counts; nominal mentions that only look alike are for the writer to
judge. Validate the result with ``arabic-news inspect``.
"""

from __future__ import annotations

import json
import re
import sys

ENTITY = re.compile(r"\[([^\[\]]+)\]\((PERS|LOC|ORG|MISC)\)")
HEADER = re.compile(r"^### (\S+) (\S+)\s*$")
CLITICS = "(?:و|ف|ب|ل|ك|وب|ول|فل|وك|فب|لـ|بـ|ولـ|وبـ)?"


def convert(lines: list[str]) -> tuple[str, list[dict]]:
    """The plain text of one article and its entities (offsets into that text)."""
    text, entities = "", []
    for number, line in enumerate(lines):
        if number:
            text += "\n"
        position = 0
        for match in ENTITY.finditer(line):
            text += line[position : match.start()]
            surface, label = match.group(1), match.group(2)
            if surface != surface.strip():
                raise ValueError(f"entity {surface!r} has surrounding whitespace")
            entities.append({"start": len(text), "end": len(text) + len(surface), "label": label, "text": surface})
            text += surface
            position = match.end()
        rest = line[position:]
        if "[" in rest or "](" in rest:
            raise ValueError(f"unparsed markup in line {line!r}")
        text += rest
    return text, entities


def unmarked_mentions(text: str, entities: list[dict]) -> list[str]:
    """Annotated surface forms that also occur in `text` as whole words outside every span."""
    covered = [(e["start"], e["end"]) for e in entities]
    warnings = []
    for surface in sorted({e["text"] for e in entities}):
        pattern = re.compile(rf"(?<!\w){CLITICS}({re.escape(surface)})(?!\w)")
        for match in pattern.finditer(text):
            start, end = match.span(1)
            if not any(s <= start < e for s, e in covered):
                warnings.append(f"{surface!r} unmarked at {start}: ...{text[max(0, start - 20) : end + 20]}...")
    return warnings


def main(paths: list[str]) -> int:
    articles: list[tuple[str, str, list[str]]] = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for raw in handle:
                line = raw.rstrip("\n")
                header = HEADER.match(line)
                if header:
                    articles.append((header.group(1), header.group(2), []))
                elif line.strip():
                    if not articles:
                        raise SystemExit(f"{path}: text before the first '### <id> <topic>' line")
                    articles[-1][2].append(line.strip())
    for article_id, topic, lines in articles:
        try:
            text, entities = convert(lines)
        except ValueError as error:
            raise SystemExit(f"{article_id}: {error}") from None
        for warning in unmarked_mentions(text, entities):
            print(f"{article_id}: {warning}", file=sys.stderr)
        record = {"id": article_id, "text": text, "topic": topic, "entities": entities}
        print(json.dumps(record, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
