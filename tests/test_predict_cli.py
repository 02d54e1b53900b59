"""`predict.py` / `arabic-news predict` on tiny checkpoints: .txt folders, single files and JSONL in, Document JSONL
or an HTML page out, and one-line located errors for what cannot be read.

The checkpoints come from `test_inference.tiny_checkpoint` (trained once per session, shared with that module).
"""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from arabic_news.cli import main
from arabic_news.data.document import Document, Span
from arabic_news.data.formats import read_documents, write_documents
from arabic_news.inference import load
from arabic_news.inference.html import render_page

from .conftest import ROOT, sample_documents

SEED = ROOT / "seeds" / "000_d551d2ad5a0e191b.txt"


@pytest.fixture
def articles(tmp_path) -> Path:
    """A folder with the seed article, a CRLF article, an empty one and a file that is not .txt."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "seed.txt").write_bytes(SEED.read_bytes())
    (folder / "crlf.txt").write_bytes("\r\n".join(d.text for d in sample_documents()[:3]).encode("utf-8"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "notes.md").write_text("not an article", encoding="utf-8")
    return folder


def predict(*args: object) -> int:
    return main(["predict", *map(str, args)])


def test_folder_of_txt_files_to_jsonl_with_both_models(articles, ner_ckpt, topic_ckpt, tmp_path, capsys):
    out = tmp_path / "tagged.jsonl"
    assert (
        predict("--checkpoint", ner_ckpt, "--topic-checkpoint", topic_ckpt, "--input", articles, "--output", out) == 0
    )
    docs = read_documents(out)  # validates every span against its text
    assert [d.id for d in docs] == ["crlf", "empty", "seed"]
    by_id = {d.id: d for d in docs}
    assert by_id["seed"].text == SEED.read_text(encoding="utf-8")
    assert by_id["crlf"].text.count("\r\n") == 2, "texts are kept byte for byte"
    assert by_id["seed"].entities and by_id["empty"].entities == []
    for doc in docs:
        assert doc.topic is not None
        assert abs(sum(doc.topic_probabilities.values()) - 1) < 1e-3
        assert all(doc.text[s.start : s.end] == s.text for s in doc.entities)
    assert "wrote 3 documents" in capsys.readouterr().err


def test_jsonl_in_keeps_ids_and_fields_and_replaces_gold_entities(ner_ckpt, tmp_path):
    first = Document(
        "a-1", "زار [عنوان] باريس و أذربيجان", "sport", [Span(4, 11, "MISC")], {"title": "خبر", "source": "x"}
    )
    gold = [first, *sample_documents()[:2]]
    write_documents(gold, tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    assert predict("--checkpoint", ner_ckpt, "--input", tmp_path / "in.jsonl", "--output", out) == 0
    docs = read_documents(out)
    assert [d.id for d in docs] == ["a-1", "t0", "t1"]
    assert docs[0].meta == {"title": "خبر", "source": "x"} and docs[0].text == gold[0].text
    assert Span(4, 11, "MISC") not in docs[0].entities, "gold spans are not copied into the predictions"
    assert all(s.score is not None for d in docs for s in d.entities)


def test_single_txt_file_and_reduced_precision_options(ner_ckpt, tmp_path, capsys):
    """The CLI's job is to hand --dtype/--quantize/--threads to the engine and write what the engine tags. Whether
    bf16/int8 stay close to fp32 is a numerical question with a tolerance (test_inference); comparing their spans
    exactly here flips on the tiny model's undecided tokens, which differ between CPUs and thread counts."""
    article = tmp_path / "one.txt"
    text = sample_documents()[0].text
    article.write_text(text, encoding="utf-8")
    cases = {"fp32": ["--dtype", "fp32"], "bf16": ["--dtype", "bf16", "--threads", "1"], "int8": ["--quantize", "int8"]}
    outputs = {}
    for precision, options in cases.items():
        out = tmp_path / f"one-{precision}.jsonl"
        capsys.readouterr()
        assert predict("--checkpoint", ner_ckpt, "--input", article, "--output", out, *options) == 0
        assert f"torch {precision}" in capsys.readouterr().err, "the engine runs at the precision asked for"
        outputs[precision] = read_documents(out)  # validates every span against its text
        assert [d.id for d in outputs[precision]] == ["one"] and outputs[precision][0].text == text
    assert outputs["fp32"][0].entities == load(ner_ckpt, dtype="fp32")(text).entities


class PageParser(HTMLParser):
    """Checks nesting while collecting the page's attributes, <mark>s and article texts."""

    VOID = {"meta", "br", "hr", "img", "link", "input", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.attrs: dict[str, dict] = {}
        self.marks: list[list[str]] = []  # [text, label] per <mark>
        self.articles: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.attrs.setdefault(tag, dict(attrs))
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag == "mark":
            self.marks.append(["", ""])
        if tag == "article":
            self.articles.append("")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        if "small" in self.stack:
            self.marks[-1][1] += data
            return
        if "mark" in self.stack:
            self.marks[-1][0] += data
        if "article" in self.stack:
            self.articles[-1] += data


def parse_page(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    parser.close()
    assert parser.problems == [] and parser.stack == [], "the page is well-formed"
    return parser


def test_html_page_is_well_formed_rtl_and_marks_every_entity(articles, ner_ckpt, topic_ckpt, tmp_path):
    out = tmp_path / "page.html"
    assert (
        predict("--checkpoint", ner_ckpt, "--topic-checkpoint", topic_ckpt, "--input", articles, "--output", out) == 0
    )
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    parsed = parse_page(page)
    assert parsed.attrs["html"] == {"lang": "ar", "dir": "rtl"}
    assert parsed.attrs["meta"].get("charset", "").lower() == "utf-8"
    json_out = tmp_path / "same.jsonl"
    predict("--checkpoint", ner_ckpt, "--topic-checkpoint", topic_ckpt, "--input", articles, "--output", json_out)
    predicted = read_documents(json_out)
    assert parsed.marks == [[s.text, s.label] for d in predicted for s in d.entities]
    assert len(parsed.marks) > 3
    # HTML reads CR LF as one line break (so do browsers); otherwise the page shows the text exactly
    shown = [d.text.replace("\r\n", "\n") for d in predicted]
    assert parsed.articles == shown, "the whole text is shown, nothing lost or doubled"
    for doc in predicted:
        assert f"topic: {doc.topic}" in page


def test_html_format_option_and_escaping(ner_ckpt, tmp_path):
    text = "قال <script>alert('&')</script> إن باريس \"جميلة\""
    start = text.index("باريس")
    hostile = Document("x<1>", text, entities=[Span(start, start + 5, "LOC")])
    parsed = parse_page(render_page([hostile]))
    assert parsed.articles == [hostile.text] and parsed.marks == [["باريس", "LOC"]]
    assert "script" not in parsed.attrs, "markup inside a text stays text"
    source = tmp_path / "in.jsonl"
    write_documents([Document("d", sample_documents()[1].text)], source)
    out = tmp_path / "view.out"
    assert predict("--checkpoint", ner_ckpt, "--input", source, "--output", out, "--format", "html") == 0
    assert parse_page(out.read_text(encoding="utf-8")).attrs["html"]["dir"] == "rtl"


def test_invalid_utf8_in_a_file_is_one_located_line(articles, ner_ckpt, tmp_path, capsys):
    (articles / "cp1256.txt").write_bytes("سطر أول\n".encode() + "باريس".encode("cp1256"))
    out = tmp_path / "never.jsonl"
    assert predict("--checkpoint", ner_ckpt, "--input", articles, "--output", out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {articles / 'cp1256.txt'}:2: ")
    assert "not valid UTF-8" in err[0] and "Fix:" in err[0] and "iconv" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("problem", ["no-checkpoint", "bad-jsonl", "empty-folder", "output-is-folder"])
def test_errors_are_one_line_and_write_nothing(problem, ner_ckpt, articles, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    checkpoint, source = ner_ckpt, articles
    expected = {
        "no-checkpoint": "does not exist",
        "bad-jsonl": "in.jsonl:2: invalid JSON",
        "empty-folder": "no .txt files",
        "output-is-folder": "is a folder",
    }[problem]
    if problem == "no-checkpoint":
        checkpoint = tmp_path / "missing"
    elif problem == "bad-jsonl":
        source = tmp_path / "in.jsonl"
        source.write_text('{"text": "نص"}\n{"text": \n', encoding="utf-8")
    elif problem == "empty-folder":
        source = tmp_path / "nothing"
        source.mkdir()
    else:
        out = tmp_path
    assert predict("--checkpoint", checkpoint, "--input", source, "--output", out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert problem == "output-is-folder" or not out.exists()


def test_predict_script_runs_end_to_end(ner_ckpt, articles, tmp_path):
    out = tmp_path / "script.jsonl"
    command = [
        sys.executable,
        str(ROOT / "predict.py"),
        "--checkpoint",
        str(ner_ckpt),
        "--input",
        str(articles),
        "--output",
        str(out),
        "--threads",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [d.id for d in read_documents(out)] == ["crlf", "empty", "seed"]
    assert "wrote 3 documents" in done.stderr
