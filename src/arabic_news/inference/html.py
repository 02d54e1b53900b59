"""A self-contained HTML page showing predicted entities and topics right-to-left, for people to look at."""

from __future__ import annotations

import html
from pathlib import Path

from ..atomic import atomic_write_text
from ..data import Document

COLOURS = {"PERS": "#ffd6a5", "LOC": "#caffbf", "ORG": "#9bf6ff", "MISC": "#ffc6ff"}
STYLE = """body{font-family:'Noto Naskh Arabic','Amiri',Tahoma,sans-serif;max-width:60rem;margin:2rem auto;
line-height:2}
article{border-bottom:1px solid #ddd;padding:1rem 0;white-space:pre-wrap}
mark{border-radius:.3rem;padding:0 .2rem}mark small{font-size:.65em;font-family:monospace;margin-inline-start:.2rem}
.topic{font-family:monospace;color:#444}.legend span{margin-inline-end:1rem;padding:0 .3rem;border-radius:.3rem}"""


def render_document(doc: Document) -> str:
    parts, pos = [], 0
    for span in doc.entities:
        parts.append(html.escape(doc.text[pos : span.start]))
        colour = COLOURS.get(span.label, "#e0e0e0")
        title = f"{span.label}" + (f" {span.score:.2f}" if span.score is not None else "")
        parts.append(
            f'<mark style="background:{colour}" title="{html.escape(title)}">'
            f"{html.escape(span.text)}<small>{html.escape(span.label)}</small></mark>"
        )
        pos = span.end
    parts.append(html.escape(doc.text[pos:]))
    topic = ""
    if doc.topic is not None:
        score = doc.topic_score
        topic = (
            f'<p class="topic" dir="ltr">topic: {html.escape(doc.topic)}'
            + (f" ({score:.2f})" if score else "")
            + "</p>"
        )
    return f'<section><h2 dir="ltr">{html.escape(doc.id)}</h2>{topic}<article>{"".join(parts)}</article></section>'


def render_page(docs: list[Document], title: str = "arabic-news predictions") -> str:
    legend = "".join(f'<span style="background:{c}">{t}</span>' for t, c in COLOURS.items())
    body = "\n".join(render_document(d) for d in docs)
    return (
        f'<!DOCTYPE html>\n<html lang="ar" dir="rtl">\n<head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<style>{STYLE}</style></head>\n<body>\n<p class="legend" dir="ltr">{legend}</p>\n{body}\n</body>\n</html>\n'
    )


def write_html(docs: list[Document], path: Path) -> None:
    atomic_write_text(path, render_page(docs))
