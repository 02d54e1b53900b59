"""`arabic-news convert` and `arabic-news inspect`, in-process and once as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arabic_news import cli
from arabic_news.data.formats import read_documents

CONLL = "زار\tO\nماكرون\tB-PERS\nباريس\tB-LOC\n\nقال\tO\nالأهلي\tB-ORG\n\n"


@pytest.fixture
def conll_file(tmp_path) -> Path:
    path = tmp_path / "train.conll"
    path.write_text(CONLL, encoding="utf-8")
    return path


def test_convert_conll_to_jsonl_and_back(tmp_path, conll_file, capsys):
    jsonl = tmp_path / "out" / "train.jsonl"
    assert cli.main(["convert", str(conll_file), str(jsonl)]) == 0
    assert f"wrote 2 documents (3 entities, 0 with a topic) to {jsonl} as jsonl" in capsys.readouterr().out
    assert [d.entity_texts() for d in read_documents(jsonl)] == [
        [("ماكرون", "PERS"), ("باريس", "LOC")],
        [("الأهلي", "ORG")],
    ]
    back = tmp_path / "back.txt"  # an extension that says nothing: the formats are named
    assert cli.main(["convert", str(jsonl), str(back), "--from", "jsonl", "--to", "conll", "--scheme", "IOBES"]) == 0
    assert back.read_text(encoding="utf-8") == CONLL.replace("B-", "S-")
    assert "as conll (IOBES)" in capsys.readouterr().out


def test_convert_to_doccano_and_label_studio(tmp_path, conll_file, capsys):
    assert cli.main(["convert", str(conll_file), str(tmp_path / "d.jsonl"), "--to", "doccano"]) == 0
    record = json.loads((tmp_path / "d.jsonl").read_text(encoding="utf-8").split("\n")[0])
    assert record["label"] == [[4, 10, "PERS"], [11, 16, "LOC"]]
    assert cli.main(["convert", str(tmp_path / "d.jsonl"), str(tmp_path / "ls.json")]) == 0
    assert cli.main(["convert", str(tmp_path / "ls.json"), str(tmp_path / "again.conll")]) == 0
    assert (tmp_path / "again.conll").read_text(encoding="utf-8") == CONLL
    assert "note: CoNLL keeps words and entity tags only" in capsys.readouterr().out
    tasks = json.loads((tmp_path / "ls.json").read_text(encoding="utf-8"))
    assert tasks[1]["annotations"][0]["result"][0]["value"]["labels"] == ["ORG"]


def test_convert_topic_corpus_with_label_field(tmp_path, capsys):
    source = tmp_path / "news.jsonl"
    source.write_text(json.dumps({"text": "نص", "section": "sport"}) + "\n", encoding="utf-8")
    assert cli.main(["convert", str(source), str(tmp_path / "n.jsonl"), "--label-field", "section"]) == 0
    assert "1 with a topic" in capsys.readouterr().out
    assert read_documents(tmp_path / "n.jsonl")[0].topic == "sport"


def test_data_error_is_one_located_line_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.conll"
    bad.write_text("a\tO\nb\tX-LOC\n", encoding="utf-8")
    assert cli.main(["convert", str(bad), str(tmp_path / "x.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"{bad}:2:" in err and "Traceback" not in err
    assert not (tmp_path / "x.jsonl").exists()


def test_repairs_show_as_a_short_warning(tmp_path, capsys):
    path = tmp_path / "r.conll"
    path.write_text("a\tB-PERS\nb\tI-LOC\n", encoding="utf-8")  # B- opens entities, so this is IOB2 with a repair
    assert cli.main(["convert", str(path), str(tmp_path / "r.jsonl")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and f"{path}:2" in err and "DataWarning" not in err


def test_inspect_prints_a_report_and_writes_json(tmp_path, conll_file, capsys):
    out = tmp_path / "report.json"
    assert cli.main(["inspect", str(conll_file), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "documents 2   words 5   entities 3" in text and f"wrote {out}" in text
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["files"][0]["entity_types"] == {"PERS": 1, "LOC": 1, "ORG": 1}


def test_inspect_exits_1_when_a_file_cannot_be_read(tmp_path, conll_file, capsys):
    assert cli.main(["inspect", str(conll_file), str(tmp_path / "absent.jsonl")]) == 1
    assert "no such file" in capsys.readouterr().out


def test_unknown_subcommand_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["frobnicate"])
    assert caught.value.code == 2


def test_python_dash_m_runs_the_cli(tmp_path, conll_file):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    out = tmp_path / "train.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "arabic_news", "convert", str(conll_file), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 2 documents" in done.stdout and out.exists()
    failed = subprocess.run(
        [sys.executable, "-m", "arabic_news", "convert", str(tmp_path / "nope.conll"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert failed.returncode == 1 and "no such file" in failed.stderr and "Traceback" not in failed.stderr
