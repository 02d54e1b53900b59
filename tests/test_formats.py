"""Readers and writers of every format, their round trips, located errors, and the atomic writer."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from arabic_news.atomic import atomic_write, atomic_write_json, read_utf8
from arabic_news.data.document import Document, Span
from arabic_news.data.formats import (
    FORMATS,
    detect_format,
    read_documents,
    write_documents,
)
from arabic_news.errors import DataError, DataWarning

TEXT = "التقى ماكرون في باريس بوفد من الأمم المتحدة."


def span(text: str, part: str, label: str) -> Span:
    start = text.index(part)
    return Span(start, start + len(part), label)


def sample_docs() -> list[Document]:
    second = "فاز الأهلي على الزمالك في القاهرة"
    return [
        Document(
            "d1",
            TEXT,
            "internationalNews",
            [span(TEXT, "ماكرون", "PERS"), span(TEXT, "باريس", "LOC"), span(TEXT, "الأمم المتحدة", "ORG")],
            {"source": "BBC", "title": "لقاء", "tags": ["a", "b"]},
        ),
        Document("d2", second, "sport", [span(second, "الأهلي", "ORG"), span(second, "القاهرة", "LOC")]),
        Document("d3", "نص بلا كيانات ولا موضوع"),
    ]


def write_lines(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def essence(docs: list[Document]) -> list[tuple]:
    return [(d.id, d.text, d.topic, [(s.start, s.end, s.label) for s in d.entities]) for d in docs]


# ----------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name, fmt", [("out.jsonl", None), ("out.jsonl", "doccano"), ("out.json", None)])
def test_json_formats_round_trip_text_topic_entities_and_meta(tmp_path, name, fmt):
    docs = sample_docs()
    path = tmp_path / name
    write_documents(docs, path, fmt)
    again = read_documents(path)
    assert essence(again) == essence(docs)
    assert again[0].meta == docs[0].meta
    assert detect_format(path) == {"doccano": "doccano", None: "jsonl" if name.endswith("l") else "labelstudio"}[fmt]


def test_native_jsonl_keeps_extra_fields_and_scores(tmp_path):
    path = write_lines(
        tmp_path / "a.jsonl",
        [
            {
                "id": 7,
                "text": TEXT,
                "topic": "x",
                "entities": [{"start": 6, "end": 12, "label": "PERS", "text": "ماكرون", "score": 0.9}],
                "lang": "ar",
            }
        ],
    )
    doc = read_documents(path)[0]
    assert doc.id == "7" and doc.meta == {"lang": "ar"}
    assert doc.entities[0].score == 0.9 and doc.entity_texts() == [("ماكرون", "PERS")]
    write_documents([doc], tmp_path / "b.jsonl")
    record = json.loads((tmp_path / "b.jsonl").read_text(encoding="utf-8"))
    assert record["lang"] == "ar" and record["entities"][0]["score"] == 0.9


def test_topic_corpus_reads_label_as_topic_and_keeps_title_in_meta(tmp_path):
    path = write_lines(
        tmp_path / "ant.jsonl",
        [{"id": "BBC-sport-1", "source": "BBC", "title": "عنوان", "text": "نص المقال", "label": "sport"}],
    )
    doc = read_documents(path)[0]
    assert (doc.topic, doc.text) == ("sport", "نص المقال")
    assert doc.meta == {"source": "BBC", "title": "عنوان"}


def test_label_field_hint_names_the_topic_field(tmp_path):
    path = write_lines(tmp_path / "a.jsonl", [{"text": "نص", "category": "economy", "label": "ignored"}])
    doc = read_documents(path, label_field_hint="category")[0]
    assert doc.topic == "economy" and doc.meta == {"label": "ignored"}
    assert doc.id == "a:1"  # no id: file stem and line


def test_doccano_exports_old_new_and_classification(tmp_path):
    path = write_lines(
        tmp_path / "doccano.jsonl",
        [
            {"id": 1, "text": TEXT, "label": [[16, 21, "LOC"], [6, 12, "PERS"]], "Comments": []},
            {
                "id": 2,
                "text": TEXT,
                "entities": [{"id": 9, "label": "LOC", "start_offset": 16, "end_offset": 21}],
                "relations": [],
            },
            {"id": 3, "text": "نص", "label": ["sport"]},
            {"id": 4, "text": "نص", "cats": ["culture"]},
        ],
    )
    assert detect_format(path) == "doccano"
    docs = read_documents(path)
    assert docs[0].entity_texts() == [("ماكرون", "PERS"), ("باريس", "LOC")]
    assert docs[0].meta == {"Comments": []}
    assert docs[1].entity_texts() == [("باريس", "LOC")] and docs[1].meta == {"relations": []}
    assert (docs[2].topic, docs[2].entities) == ("sport", [])
    assert docs[3].topic == "culture"


def test_tool_exports_get_spans_trimmed_of_edge_spaces_with_a_warning(tmp_path):
    text = "زار ماكرون باريس"
    doccano = write_lines(tmp_path / "d.jsonl", [{"text": text, "label": [[3, 11, "PERS"], [11, 16, "LOC"]]}])
    with pytest.warns(DataWarning, match="1 span.*trimmed"):
        assert read_documents(doccano)[0].entity_texts() == [("ماكرون", "PERS"), ("باريس", "LOC")]
    studio = tmp_path / "s.json"
    studio.write_text(
        json.dumps(
            [
                {
                    "data": {"text": text},
                    "annotations": [
                        {
                            "result": [
                                {
                                    "type": "labels",
                                    "value": {"start": 4, "end": 11, "text": "ماكرون ", "labels": ["PERS"]},
                                }
                            ]
                        }
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    with pytest.warns(DataWarning, match="trimmed"):
        assert read_documents(studio)[0].entity_texts() == [("ماكرون", "PERS")]


def test_label_studio_export_is_read(tmp_path):
    text = "👍 زار ماكرون باريس"
    tasks = [
        {
            "id": 11,
            "data": {"text": text, "source": "web"},
            "annotations": [
                {"was_cancelled": True, "result": [{"type": "choices", "value": {"choices": ["wrong"]}}]},
                {
                    "result": [
                        # UTF-16 offsets, as older Label Studio versions wrote them (the emoji counts twice)
                        {
                            "type": "labels",
                            "from_name": "label",
                            "to_name": "text",
                            "value": {"start": 7, "end": 13, "text": "ماكرون", "labels": ["PERS"]},
                        },
                        {"type": "labels", "value": {"start": 13, "end": 18, "text": "باريس", "labels": ["LOC"]}},
                        {"type": "choices", "value": {"choices": ["internationalNews"]}},
                        {"type": "relation", "from_id": "a", "to_id": "b"},
                    ]
                },
            ],
        },
        {"id": 12, "data": {"text": "نص بلا تعليق"}, "annotations": []},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    docs = read_documents(path)
    assert docs[0].id == "11" and docs[0].topic == "internationalNews" and docs[0].meta == {"source": "web"}
    assert docs[0].entity_texts() == [("ماكرون", "PERS"), ("باريس", "LOC")]
    assert (docs[1].id, docs[1].entities, docs[1].topic) == ("12", [], None)


def test_txt_file_and_folder_read_exactly_without_bom(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "b.txt").write_bytes("\ufeffسطر أول\r\nسطر ثان\n".encode("utf-8"))
    (folder / "a.txt").write_text("مقال", encoding="utf-8")
    (folder / "notes.md").write_text("ignored", encoding="utf-8")
    docs = read_documents(folder)
    assert [(d.id, d.text) for d in docs] == [("a", "مقال"), ("b", "سطر أول\r\nسطر ثان\n")]
    assert read_documents(folder / "b.txt")[0].text == "سطر أول\r\nسطر ثان\n"
    assert detect_format(folder) == "txt"


def test_conll_through_the_dispatcher(tmp_path):
    docs = [
        Document("x", "زار ماكرون باريس", entities=[Span(4, 10, "PERS"), Span(11, 16, "LOC")], word_split="whitespace")
    ]
    write_documents(docs, tmp_path / "a.conll", scheme="IOBES")
    assert (tmp_path / "a.conll").read_text(encoding="utf-8") == "زار\tO\nماكرون\tS-PERS\nباريس\tS-LOC\n\n"
    assert read_documents(tmp_path / "a.conll")[0].entities == docs[0].entities


def test_every_format_name_is_readable_or_writable(tmp_path):
    assert FORMATS == ("conll", "jsonl", "doccano", "labelstudio", "txt")
    with pytest.raises(DataError, match="input format only"):
        write_documents(sample_docs(), tmp_path / "x.txt", "txt")
    with pytest.raises(DataError, match="unknown format"):
        read_documents(tmp_path / "x.jsonl", "yaml")
    with pytest.raises(DataError, match="extension '.csv'"):
        write_documents(sample_docs(), tmp_path / "x.csv")


# ----------------------------------------------------------------------------------------------- errors

GOOD = {"id": "g", "text": TEXT}


@pytest.mark.parametrize(
    "name, content, line, words",
    [
        ("bad.jsonl", '{"id": "g", "text": "x"}\n{"id": 2, "text": \n', 2, "invalid JSON"),
        ("bad.jsonl", '\n\n["not", "an", "object"]\n', 3, "expected a JSON object"),
        ("bad.jsonl", '{"id": 1, "body": "x"}\n', 1, "no 'text' field"),
        ("bad.jsonl", '{"id": 1, "text": 5}\n', 1, "must be a string"),
        ("bad.jsonl", '{"text": "abc", "entities": [{"start": 1, "end": 9, "label": "LOC"}]}\n', 1, "outside the text"),
        (
            "bad.jsonl",
            '{"text": "abc def", "entities": [{"start": 0, "end": 3, "label": "LOC", "text": "abd"}]}\n',
            1,
            "differs from",
        ),
        ("bad.jsonl", '{"text": "abc def", "entities": [[0, 3, "LOC"], [2, 7, "ORG"]]}\n', 1, "overlap"),
        ("bad.jsonl", '{"text": "abc def", "entities": [{"start": 0, "end": 4, "label": "LOC"}]}\n', 1, "whitespace"),
        ("bad.jsonl", '{"text": "abc", "entities": [{"start": "0", "end": 3, "label": "LOC"}]}\n', 1, "integer start"),
        (
            "bad.jsonl",
            '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n{"id": "a", "text": "z"}\n',
            3,
            "already used on line 1",
        ),
        ("bad.jsonl", '{"text": "abc", "label": [[0, 3]]}\n', 1, "is not an entity"),
        ("bad.jsonl", '{"text": "abc", "label": ["sport", "economy"]}\n', 1, "single-label"),
        ("bad.jsonl", '{"text": "abc", "topic": 3}\n', 1, "string topic"),
        ("bad.jsonl", '{"data": {"text": "abc"}}\n', 1, "Label Studio"),
        ("bad.jsonl", "\n\n", 1, "no records"),
        ("bad.json", '[\n  {"data": {"text": "a"}},\n  {"data": {"text": "b"},}\n]', 3, "invalid JSON"),
        ("bad.json", '[\n  {"data": {"text": "a"}},\n  {"data": {"body": "b"}}\n]', 3, "task 2 has no data.text"),
        ("bad.json", '{"a": 1}\n', 1, "task 1 has no data.text"),
        ("bad.json", '"just a string"', 1, "expected a JSON list"),
        ("bad.json", '[{"data": {"text": "a"}}]\n{"x": 1}', 2, "after the closing"),
        ("bad.json", '[{"data": {"text": "a"}}', 1, "not closed"),
        ("bad.json", '{"data": {"text": "a"}}\n{"data": {"text": "b"}}\n', 2, "JSON lines"),
        (
            "bad.json",
            '[\n{"data": {"text": "ab"}, "annotations": [{"result": [{"type": "labels", "value": '
            '{"start": 0, "end": 1, "labels": ["A", "B"]}}]}]}]',
            2,
            "exactly one",
        ),
    ],
)
def test_malformed_inputs_raise_located_errors(tmp_path, name, content, line, words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_documents(path)
    message = str(caught.value)
    assert f"{name}:{line}:" in message
    assert words in message


def test_non_utf8_jsonl_names_line_and_byte(tmp_path):
    path = tmp_path / "legacy.jsonl"
    path.write_bytes(b'{"text": "ok"}\n' + '{"text": "مدينة"}\n'.encode("cp1256"))
    with pytest.raises(DataError, match=r"legacy.jsonl:2: .*byte offset 25.*re-encode"):
        read_documents(path)


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_documents(tmp_path / "absent.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .txt files"):
        read_documents(tmp_path / "empty")


def test_issues_mode_keeps_the_valid_part_and_lists_the_problems(tmp_path):
    path = write_lines(
        tmp_path / "a.jsonl",
        [
            {
                "id": "x",
                "text": "abc def ghi",
                "topic": " ",
                "entities": [[0, 3, "A"], [2, 7, "B"], [8, 11, "C"], [9, 20, "D"]],
            },
            {"id": "x", "text": "again"},
        ],
    )
    issues: list[DataError] = []
    docs = read_documents(path, issues=issues)
    assert [(s.start, s.end, s.label) for s in docs[0].entities] == [(0, 3, "A"), (8, 11, "C")]
    assert docs[0].topic is None and len(docs) == 2
    messages = " | ".join(str(i) for i in issues)
    assert "topic must be" in messages and "overlap" in messages and "outside the text" in messages
    assert "already used on line 1" in messages and len(issues) == 4


# ----------------------------------------------------------------------------------------------- atomic I/O


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary file left behind


def test_atomic_write_json_creates_folders_keeps_newlines_and_readable_mode(tmp_path):
    target = tmp_path / "new" / "report.json"
    atomic_write_json(target, {"نص": "سطر\nسطر"})
    raw = target.read_bytes()
    assert b"\r\n" not in raw and "نص".encode() in raw
    assert json.loads(raw) == {"نص": "سطر\nسطر"}
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_read_utf8_strips_only_a_leading_bom(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffa\ufeffb".encode("utf-8"))
    assert read_utf8(path) == "a\ufeffb"
    with pytest.raises(DataError, match="absent.conll: no such file"):
        read_utf8(tmp_path / "absent.conll")
