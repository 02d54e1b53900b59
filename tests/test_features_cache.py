"""The training features cache (training/features.py): a second run on the same data memory-maps the stored Arrow
file instead of encoding (and trains the same model as the first run and as features built in memory), and a change
of the data or of the preprocessing encodes again into a new entry."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from arabic_news.training import train
from arabic_news.training.config import config_from_dict

HIT = "encodings read from the cache"
MISS = "encoded and cached in"


def run(
    tmp_path: Path, name: str, tiny_encoder: Path, train_file: Path, caplog, cache: bool = True, **preprocessing
) -> list[str]:
    raw = {
        "task": "ner",
        "model": {"name_or_path": str(tiny_encoder)},
        "data": {"train": str(train_file), "features_cache": str(tmp_path / "cache") if cache else False},
        "preprocessing": {"max_length": 24, "stride": 6, **preprocessing},
        "training": {
            "output_dir": str(tmp_path / name),
            "num_train_epochs": 1,
            "per_device_train_batch_size": 8,
            "seed": 3,
            "save_strategy": "no",
            "logging_strategy": "no",
        },
    }
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="arabic_news.training"):
        train(config_from_dict(raw))
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("train: ")]


def entries(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "cache").iterdir())


def test_cache_hit_on_a_second_run_and_miss_after_a_data_or_preprocessing_change(
    tmp_path, tiny_encoder, tiny_corpus, caplog
):
    data = tmp_path / "train.jsonl"
    shutil.copy(tiny_corpus["train"], data)

    first = run(tmp_path, "a", tiny_encoder, data, caplog)
    assert len(first) == 1 and MISS in first[0]
    assert len(entries(tmp_path)) == 1

    second = run(tmp_path, "b", tiny_encoder, data, caplog)
    assert len(second) == 1 and HIT in second[0], second
    assert second[0].split(";")[0] == first[0].split(";")[0], "the same counts are logged"
    assert len(entries(tmp_path)) == 1
    # the same model from the cache, and from features built in memory with the cache off
    run(tmp_path, "no-cache", tiny_encoder, data, caplog, cache=False)
    weights = [(tmp_path / name / "model.safetensors").read_bytes() for name in ("a", "b", "no-cache")]
    assert weights[0] == weights[1] == weights[2], "the cached features train the same model"

    # the data changes (one record fewer): encoded again, a second entry
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    data.write_text("".join(lines[:-1]), encoding="utf-8")
    third = run(tmp_path, "c", tiny_encoder, data, caplog)
    assert MISS in third[0] and len(entries(tmp_path)) == 2

    # the preprocessing changes (another stride): encoded again
    fourth = run(tmp_path, "d", tiny_encoder, data, caplog, stride=4)
    assert MISS in fourth[0] and len(entries(tmp_path)) == 3
    assert not [name for name in entries(tmp_path) if name.startswith(".")], "no staging folder is left behind"
