"""`predict --engine ray` (inference/ray_engine.py) on a local 2-CPU Ray: the same bytes as the local path, a
shard resumed under Ray from a local run's partial output, and a clear refusal of an address where no Ray answers.
The corpus, checkpoints and helpers are those of test_streaming_predict.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_streaming_predict import error_line, predict, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("ray") / "articles.jsonl")


@pytest.fixture(scope="module")
def local_ray():
    """One local 2-CPU Ray for the module's Ray runs (predict joins a running Ray and leaves it running)."""
    import os

    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: nothing is sent anywhere
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_engine_output_equals_the_local_output(corpus, tmp_path, ner_ckpt, topic_ckpt, local_ray):
    """Two actors; the input is read in two pieces (512 + 88 documents)."""
    local, out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert predict(ner_ckpt, topic_ckpt, corpus, local) == 0
    assert predict(ner_ckpt, topic_ckpt, corpus, out, "--engine", "ray", "--workers", 2) == 0
    assert out.read_bytes() == local.read_bytes()


def test_ray_engine_resumes_a_shard_that_a_local_run_began(corpus, tmp_path, ner_ckpt, topic_ckpt, local_ray):
    """The engines share the writer: a partial output of a local run goes on under Ray (and the reverse)."""
    local_shard, ray_shard = tmp_path / "local-1of2.jsonl", tmp_path / "ray-1of2.jsonl"
    assert predict(ner_ckpt, topic_ckpt, corpus, local_shard, "--shard", "1/2") == 0
    assert predict(ner_ckpt, topic_ckpt, corpus, ray_shard, "--shard", "1/2") == 0
    sidecar = Path(f"{ray_shard}.progress.json")
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    sidecar.write_text(json.dumps({**meta, "complete": False}), encoding="utf-8")
    Path(f"{ray_shard}.partial").write_bytes(b"".join(local_shard.read_bytes().splitlines(keepends=True)[:9]))
    ray_shard.unlink()
    assert predict(ner_ckpt, topic_ckpt, corpus, ray_shard, "--shard", "1/2", "--engine", "ray") == 0
    assert ray_shard.read_bytes() == local_shard.read_bytes()


def test_ray_engine_with_an_unreachable_address_is_refused(corpus, tmp_path, ner_ckpt, topic_ckpt, capsys):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out.jsonl"
    capsys.readouterr()
    assert predict(ner_ckpt, topic_ckpt, corpus, out, "--engine", "ray", "--address", f"127.0.0.1:{port}") == 1
    line = error_line(capsys)
    assert f"--address 127.0.0.1:{port}: no Ray cluster answers there" in line and "ray start --head" in line
    assert not any(tmp_path.iterdir())
