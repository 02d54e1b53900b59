"""Streaming prediction (inference/stream.py through `arabic-news predict`): a run killed with SIGKILL resumes with
no document lost or repeated, a line cut in half is dropped and redone, `--shard I/N` parts are disjoint and cover
the input and merge back into the unsharded output, and an output from other checkpoints or another input is
refused.

Every run uses --batch-size 1 (a document's scores then do not depend on its batch neighbours) and one thread, so
a resumed or sharded output is byte for byte the uninterrupted one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arabic_news.cli import main

from .conftest import ROOT, sample_documents

N_DOCS = 600


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("stream") / "articles.jsonl")


def write_corpus(path: Path) -> Path:
    """N_DOCS short articles in JSON lines (ids in input order, an extra field kept, one blank line)."""
    texts = [d.text for d in sample_documents()]
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(N_DOCS):
            record = {"id": f"a{i:04d}", "text": f"{texts[i % len(texts)]} ({i})", "source": "test"}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            if i == 10:
                handle.write("\n")
    return path


@pytest.fixture(scope="module")
def uninterrupted(corpus, ner_ckpt, topic_ckpt, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("full") / "full.jsonl"
    assert predict(ner_ckpt, topic_ckpt, corpus, out) == 0
    return out.read_bytes()


def options(ner_ckpt: Path, topic_ckpt: Path, source: Path, out: Path, *extra: object) -> list[str]:
    args = ["predict", "--checkpoint", ner_ckpt, "--topic-checkpoint", topic_ckpt, "--input", source, "--output", out]
    return [str(a) for a in [*args, "--batch-size", 1, "--chunk-size", 4, "--threads", 1, *extra]]


def predict(ner_ckpt: Path, topic_ckpt: Path, source: Path, out: Path, *extra: object) -> int:
    return main(options(ner_ckpt, topic_ckpt, source, out, *extra))


def ids(data: bytes) -> list[str]:
    return [json.loads(line)["id"] for line in data.splitlines()]


def error_line(capsys) -> str:
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Fix: " in errors[0], errors
    return errors[0]


def complete_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_uninterrupted_output_and_summary(uninterrupted, corpus, tmp_path, ner_ckpt, topic_ckpt, capsys):
    assert ids(uninterrupted) == [f"a{i:04d}" for i in range(N_DOCS)]
    first = json.loads(uninterrupted.splitlines()[0])
    assert first["source"] == "test" and first["topic"] and "topic_probabilities" in first
    out = tmp_path / "again.jsonl"
    capsys.readouterr()
    assert predict(ner_ckpt, topic_ckpt, corpus, out) == 0
    summary = capsys.readouterr().err.splitlines()[-1]
    assert summary.startswith(f"wrote {N_DOCS} documents (") and "entities)" in summary and "documents/s" in summary
    assert out.read_bytes() == uninterrupted
    assert not (tmp_path / "again.jsonl.partial").exists()
    sidecar = json.loads((tmp_path / "again.jsonl.progress.json").read_text(encoding="utf-8"))
    assert sidecar["complete"] and sidecar["documents"] == N_DOCS
    # the same command again has nothing to do, and leaves the output alone
    capsys.readouterr()
    assert predict(ner_ckpt, topic_ckpt, corpus, out) == 0
    assert "already complete" in capsys.readouterr().err and out.read_bytes() == uninterrupted


def test_sigkilled_run_resumes_without_duplicates_or_losses(uninterrupted, corpus, tmp_path, ner_ckpt, topic_ckpt):
    out = tmp_path / "tagged.jsonl"
    partial = tmp_path / "tagged.jsonl.partial"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    process = subprocess.Popen(
        [sys.executable, "-m", "arabic_news", *options(ner_ckpt, topic_ckpt, corpus, out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while complete_lines(partial) < 40:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run wrote nothing in 2 minutes"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_at = complete_lines(partial)
    assert 40 <= killed_at < N_DOCS and not out.exists()
    # a crash in the middle of a write leaves a cut line: make one, and check it is dropped and redone
    data = partial.read_bytes()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    partial.write_bytes(data[: len(data) - len(last) // 2 - 1])
    assert not partial.read_bytes().endswith(b"\n")

    assert predict(ner_ckpt, topic_ckpt, corpus, out) == 0
    result = out.read_bytes()
    assert len(ids(result)) == len(set(ids(result))) == N_DOCS
    assert result == uninterrupted, "the resumed output differs from an uninterrupted run"


def test_a_cut_last_line_alone_is_dropped_and_redone(uninterrupted, corpus, tmp_path, ner_ckpt, topic_ckpt, capsys):
    """A partial output as a run interrupted mid-line leaves it (its progress file from a real run's start)."""
    out = tmp_path / "tagged.jsonl"
    assert predict(ner_ckpt, topic_ckpt, corpus, out) == 0
    sidecar = tmp_path / "tagged.jsonl.progress.json"
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    sidecar.write_text(json.dumps({**meta, "complete": False}), encoding="utf-8")
    lines = uninterrupted.splitlines(keepends=True)
    out.unlink()
    (tmp_path / "tagged.jsonl.partial").write_bytes(b"".join(lines[:7]) + lines[7][:25])
    capsys.readouterr()
    assert predict(ner_ckpt, topic_ckpt, corpus, out) == 0
    assert "7 of them resumed" in capsys.readouterr().err
    assert out.read_bytes() == uninterrupted


def test_shards_are_disjoint_cover_the_input_and_merge_to_the_whole(
    uninterrupted, corpus, tmp_path, ner_ckpt, topic_ckpt, capsys
):
    shards = [tmp_path / f"part-{i}.jsonl" for i in range(3)]
    for i, shard in enumerate(shards):
        assert predict(ner_ckpt, topic_ckpt, corpus, shard, "--shard", f"{i}/3") == 0
    parts = [ids(shard.read_bytes()) for shard in shards]
    assert parts[1][:2] == ["a0001", "a0004"], "shard I/N holds the positions p with p % N == I"
    everything = [i for part in parts for i in part]
    assert len(everything) == len(set(everything)), "shards overlap"
    assert sorted(everything) == ids(uninterrupted), "shards do not cover the input"
    merged = tmp_path / "merged.jsonl"
    assert main(["merge", str(merged), *map(str, [shards[2], shards[0], shards[1]])]) == 0
    assert merged.read_bytes() == uninterrupted
    # an incomplete set is refused, and so is a shard of another split
    assert main(["merge", str(tmp_path / "m2.jsonl"), str(shards[0]), str(shards[2])]) == 1
    assert "shard(s) 1/3 missing" in error_line(capsys)
    other = tmp_path / "other.jsonl"
    assert predict(ner_ckpt, topic_ckpt, corpus, other, "--shard", "1/2") == 0
    assert main(["merge", str(tmp_path / "m3.jsonl"), str(shards[0]), str(other), str(shards[2])]) == 1
    assert "1/2 does not belong to a split into 3" in error_line(capsys)


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("3/2", "shard 3 does not exist among 2 shards"),
        ("2/2", "use 0/2 to 1/2"),
        ("1/0", "at least 1"),
        ("-1/2", "not of the form I/N"),
        ("a/b", "not of the form I/N"),
    ],
)
def test_bad_shard_specs_are_refused(spec, fragment, corpus, tmp_path, ner_ckpt, topic_ckpt, capsys):
    out = tmp_path / "out.jsonl"
    capsys.readouterr()
    assert predict(ner_ckpt, topic_ckpt, corpus, out, f"--shard={spec}") == 1
    assert fragment in error_line(capsys)
    assert not any(tmp_path.iterdir()), "a refused command wrote something"


def test_output_from_other_checkpoints_or_input_is_refused(corpus, tmp_path, ner_ckpt, topic_ckpt, capsys):
    source = tmp_path / "few.jsonl"
    source.write_bytes(b"".join(corpus.read_bytes().splitlines(keepends=True)[:5]))
    out = tmp_path / "out.jsonl"
    assert predict(ner_ckpt, topic_ckpt, source, out) == 0
    before = out.read_bytes()
    capsys.readouterr()
    # other checkpoints (the NER model alone)
    assert main(["predict", "--checkpoint", str(ner_ckpt), "--input", str(source), "--output", str(out)]) == 1
    assert "out.jsonl: not this command's output: it was tagged by other checkpoints" in error_line(capsys)
    # another input: the same path, its content changed
    with open(source, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "new", "text": "خبر جديد من القاهرة"}, ensure_ascii=False) + "\n")
    assert predict(ner_ckpt, topic_ckpt, source, out) == 1
    line = error_line(capsys)
    assert "it was made from another input" in line and "--overwrite" in line
    assert out.read_bytes() == before
    # an unfinished output of another run is refused the same way, and --overwrite starts again
    (tmp_path / "out.jsonl.partial").write_bytes(before[:-10])
    sidecar = tmp_path / "out.jsonl.progress.json"
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace('"complete": true', '"complete": false'))
    assert predict(ner_ckpt, topic_ckpt, source, out) == 1
    assert "out.jsonl.partial: not this command's output" in error_line(capsys)
    assert predict(ner_ckpt, topic_ckpt, source, out, "--overwrite") == 0
    assert ids(out.read_bytes())[-1] == "new" and not (tmp_path / "out.jsonl.partial").exists()


def test_a_bad_record_fails_before_the_models_load_and_leaves_nothing(tmp_path, ner_ckpt, topic_ckpt, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "نص"}\n' * 3 + '{"id": "b", "text": 5}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    capsys.readouterr()
    assert predict(ner_ckpt, topic_ckpt, source, out) == 1
    assert "in.jsonl:2: id 'a' was already used on line 1" in error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.parametrize(
    "content",
    [
        b'{"id": "a", "text": "\xd9\x86\xd8\xb5"}\n{"id": "b", "text": \n',  # invalid JSON on line 2
        b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "\xc7\xe1"}\n',  # Windows-1256 bytes on line 2
        b'{"id": "a", "text": "ok"}\n\n{"id": "a", "text": "again"}\n',  # a repeated id on line 3
        b'{"id": "a", "body": "no text"}\n',
        b'{"id": "a", "text": "abc", "entities": [{"start": 0, "end": 9, "label": "LOC"}]}\n',
        b"\n\n",  # no records
        b"[1, 2]\n",
    ],
)
def test_the_lazy_reader_gives_read_documents_errors(content, tmp_path):
    from arabic_news.data import read_documents, stream_documents
    from arabic_news.errors import DataError

    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError) as whole:
        read_documents(path)
    with pytest.raises(DataError) as lazy:
        list(stream_documents(path))
    assert str(lazy.value) == str(whole.value)


def test_the_lazy_reader_gives_read_documents_documents(tmp_path):
    from arabic_news.data import read_documents, stream_documents

    path = tmp_path / "in.jsonl"
    path.write_bytes(
        "\ufeff".encode()
        + b'{"text": "\xd9\x86\xd8\xb5 1"}\r\n\n{"id": 7, "text": "b", "label": "sport", "title": "t"}\n{"text": "c"}'
    )
    assert list(stream_documents(path)) == read_documents(path)
    assert [d.id for d in stream_documents(path, select=lambda p: p % 2 == 0)] == ["in:1", "in:4"]
