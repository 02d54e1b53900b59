"""data/tools/markup_to_jsonl.py: the hand-writing helper for sample articles computes offsets the reader accepts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from arabic_news.data import Document, Span

TOOL = Path(__file__).resolve().parents[1] / "data" / "tools" / "markup_to_jsonl.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("markup_to_jsonl", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_markup_becomes_records_with_offsets_into_the_plain_text(tmp_path, capsys) -> None:
    source = tmp_path / "a.txt"
    source.write_text(
        "### x-1 internationalNews\n«[إيكاو](ORG)» تجتمع في [مونتريال](LOC)\n\n"
        "وقالت [منظمة الطيران المدني الدولي](ORG) («[إيكاو](ORG)») إن المنظمة و[كندا](LOC) اتفقتا، وأكدت إيكاو ذلك.\n",
        encoding="utf-8",
    )
    assert load_tool().main([str(source)]) == 0
    out, err = capsys.readouterr()
    record = json.loads(out)
    text = record["text"]
    assert text.split("\n")[0] == "«إيكاو» تجتمع في مونتريال" and "[" not in text
    assert [(text[e["start"] : e["end"]], e["label"]) for e in record["entities"]] == [
        ("إيكاو", "ORG"),
        ("مونتريال", "LOC"),
        ("منظمة الطيران المدني الدولي", "ORG"),
        ("إيكاو", "ORG"),
        ("كندا", "LOC"),
    ]
    assert all(e["text"] == text[e["start"] : e["end"]] for e in record["entities"])
    spans = [Span(e["start"], e["end"], e["label"]) for e in record["entities"]]
    Document(record["id"], text, record["topic"], spans).validate(source, 1)
    assert "'إيكاو' unmarked" in err  # the third mention has no span: rule 7 says every mention counts
