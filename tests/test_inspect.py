"""Data diagnostics: counts, problems reported instead of raised, duplicates, leakage, subword lengths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arabic_news.cli import main
from arabic_news.data import read_documents
from arabic_news.data.inspect import format_report, inspect_files
from arabic_news.modeling import load_tokenizer, resolve_model_path

SHARED = "زار ماكرون باريس أمس"


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path) -> dict[str, Path]:
    train = write_lines(
        tmp_path / "train.jsonl",
        [
            {"id": "t1", "text": SHARED, "topic": "politics", "entities": [[4, 10, "PERS"], [11, 16, "LOC"]]},
            {"id": "t2", "text": SHARED, "topic": "sport", "entities": [[4, 10, "PERS"], [11, 16, "LOC"]]},
            {
                "id": "t3",
                "text": "الأمم المتحدة تجتمع في نيويورك",
                "topic": "politics",
                "entities": [[0, 13, "ORG"], [23, 30, "LOC"], [25, 30, "LOC"], [23, 99, "LOC"]],
            },
            {
                "id": "t4",
                "text": "قال وزير الخارجية الأذربيجاني",
                "topic": "politics",
                "entities": [[18, 29, "LOC"], [22, 29, "MISC"]],
            },
        ],
    )
    dev = write_lines(
        tmp_path / "dev.jsonl",
        [
            {"id": "d1", "text": SHARED + "\n", "topic": "politics"},
            {"id": "d2", "text": "نص آخر تماما", "topic": "economy"},
        ],
    )
    conll = tmp_path / "extra.conll"
    conll.write_text(
        "a\tO\nb\tI-LOC\n\nc\tB-PERS\nd\tI-PERS\ne\tI-PERS\nf\tI-PERS\ng\tI-PERS\nh\tI-PERS\n", encoding="utf-8"
    )
    return {"train": train, "dev": dev, "conll": conll}


def test_counts_problems_duplicates_and_leakage(corpus):
    pytest.importorskip("arabic_news.text")
    report = inspect_files([corpus["train"], corpus["dev"], corpus["conll"]])
    train, dev, conll = report["files"]
    assert report["ok"] and train["error"] is None
    assert train["documents"] == 4 and train["words"] == 4 + 4 + 5 + 4
    assert train["entity_types"] == {"LOC": 4, "PERS": 2, "ORG": 1}
    assert train["topics"] == {"politics": 3, "sport": 1}
    assert train["entity_length_words"] == {"1": 6, "2": 1}
    # the overlapping LOC and the out-of-range LOC are reported and left out; the MISC overlaps too
    assert len(train["issues"]) == 3 and any("overlap" in i for i in train["issues"])
    assert any("outside the text" in i for i in train["issues"])
    # "الأذربيجاني" is one word: MISC starting inside it is not on a word boundary (and was dropped as overlap)
    assert train["spans_off_word_boundaries"]["count"] == 0
    assert train["duplicates"] == {"groups": 1, "extra_copies": 1, "conflicting_labels": 1, "examples": [["t1", "t2"]]}
    assert dev["duplicates"]["groups"] == 0 and dev["entities"] == 0
    assert report["shared"] == [
        {"files": [str(corpus["train"]), str(corpus["dev"])], "documents": 1, "examples": [["t1", "d1"]]}
    ]
    assert conll["repairs"]["count"] == 1 and conll["repairs"]["examples"] == [f"{corpus['conll']}:2"]
    assert conll["entity_length_words"] == {"1": 1, "6+": 1}


def test_spans_inside_words_are_counted(tmp_path):
    pytest.importorskip("arabic_news.text")
    text = "زار الوزير وأذربيجان"
    path = write_lines(
        tmp_path / "a.jsonl", [{"id": "a", "text": text, "entities": [[text.index("أذربيجان"), len(text), "LOC"]]}]
    )
    file = inspect_files([path])["files"][0]
    assert file["spans_off_word_boundaries"]["count"] == 1
    assert "أذربيجان" in file["spans_off_word_boundaries"]["examples"][0]


def test_unreadable_file_is_reported_and_the_others_still_inspected(corpus, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "a"}\n{oops\n', encoding="utf-8")
    report = inspect_files([broken, corpus["conll"]])
    assert not report["ok"]
    assert "broken.jsonl:2:" in report["files"][0]["error"]
    assert report["files"][1]["documents"] == 2
    assert "ERROR" in format_report(report)


def test_text_report_names_the_findings(corpus):
    pytest.importorskip("arabic_news.text")
    text = format_report(inspect_files([corpus["train"], corpus["dev"], corpus["conll"]]))
    assert "documents 4" in text and "LOC 4 (57.1%)" in text
    assert "1 with conflicting labels" in text
    assert f"{corpus['train']} & {corpus['dev']}: 1" in text
    assert "breaking IOB2, read the seqeval way: 1" in text


def test_subword_lengths_with_a_local_tokenizer(tmp_path):
    tokenizer_dir = _word_tokenizer(tmp_path / "tok", ["a", "b", "c", "X"])
    conll = tmp_path / "long.conll"
    tags = ["B-LOC"] + ["O"] * 8 + ["B-PER"]  # 10 words: with [CLS]/[SEP], 12 subword tokens
    conll.write_text("".join(f"w\t{t}\n" for t in tags) + "\nw\tB-LOC\n", encoding="utf-8")
    report = inspect_files([conll], tokenizer=load_tokenizer(str(tokenizer_dir)), tokenizer_name="tok", max_length=8)
    sub = report["files"][0]["subwords"]
    assert sub["max"] == 12 and sub["over_max_length"] == 1 and sub["over_max_length_share"] == 0.5
    assert sub["entities_beyond_max_length"] == 1  # the PER at word 10 lies beyond 6 content tokens
    assert "exceed 8" in format_report(report)


def test_missing_tokenizer_is_a_located_error(tmp_path, corpus, capsys):
    missing = tmp_path / "no-such-folder"
    assert main(["inspect", str(corpus["conll"]), "--tokenizer", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"model folder {missing} does not exist" in err and "Fix:" in err and "Traceback" not in err


def test_inspect_resolves_the_tokenizer_as_training_does(tmp_path, corpus, capsys, monkeypatch):
    """`--tokenizer embedded:e5-small` is resolved by the same code as a config's model.name_or_path, so the command
    counts exactly the subword tokens training will see."""
    monkeypatch.setenv("ARABIC_NEWS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "report.json"
    assert main(["inspect", str(corpus["conll"]), "--tokenizer", "embedded:e5-small", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["tokenizer"] == "embedded:e5-small"
    docs = read_documents(corpus["conll"])
    tokenizer = load_tokenizer(resolve_model_path("embedded:e5-small"))
    lengths = [len(tokenizer(d.text)["input_ids"]) for d in docs]
    assert report["files"][0]["subwords"]["max"] == max(lengths)


def _word_tokenizer(folder: Path, words: list[str]) -> Path:
    """A whitespace word-level tokenizer with [CLS]/[SEP], saved as a Hugging Face folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )
    fast.save_pretrained(folder)
    return folder
