"""Configs: located errors with the closest valid key, YAML overrides, `extends`, and the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from arabic_news.errors import ConfigError
from arabic_news.training.config import config_from_dict, load_config

from .conftest import ROOT, write_config

BASE = {"task": "ner", "data": {"train": "data/sample/train.jsonl"}, "training": {"output_dir": "runs/x"}}


def test_shipped_configs_are_valid():
    paths = sorted((ROOT / "configs").glob("*.yaml"))
    assert len(paths) >= 8
    for path in paths:
        config = load_config(path)
        assert config.training["output_dir"].startswith("runs/")
        assert config.task in ("ner", "topic")


def test_hub_configs_extend_the_embedded_ones():
    config = load_config(ROOT / "configs" / "anercorp-arabertv02.yaml")
    assert config.model.name_or_path == "aubmindlab/bert-base-arabertv02"
    assert config.data.dev_fraction == 0.1 and config.preprocessing.granularity == "word"


@pytest.mark.parametrize(
    "section, key, close",
    [
        ("training", "learning_rat", "learning_rate"),
        ("preprocessing", "max_lenght", "max_length"),
        ("model", "name_or_pth", "name_or_path"),
        ("data", "tarin", "train"),
    ],
)
def test_unknown_key_names_file_key_and_closest_valid_key(tmp_path, section, key, close):
    raw = {**BASE, section: {**BASE.get(section, {}), key: 1}}
    path = write_config(tmp_path / "bad.yaml", **raw)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and f"{section}.{key}" in message and close in message


def test_unknown_top_level_section(tmp_path):
    with pytest.raises(ConfigError, match="did you mean training"):
        load_config(write_config(tmp_path / "c.yaml", **BASE, trainng={}))


@pytest.mark.parametrize(
    "section, key, value, expected",
    [
        ("preprocessing", "max_length", "long", "must be int"),
        ("preprocessing", "max_length", True, "must be int"),
        ("model", "freeze_embeddings", "yes", "must be bool"),
        ("data", "dev_fraction", "tenth", "must be float or null"),
    ],
)
def test_wrong_types_are_located(tmp_path, section, key, value, expected):
    raw = {**BASE, section: {**BASE.get(section, {}), key: value}}
    path = write_config(tmp_path / "c.yaml", **raw)
    with pytest.raises(ConfigError, match=expected) as err:
        load_config(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({**BASE, "task": "pos"}, "task must be one of"),
        ({**BASE, "preprocessing": {"granularity": "char"}}, "granularity must be one of"),
        ({**BASE, "preprocessing": {"max_length": 64, "stride": 40}}, "stride must be between"),
        ({**BASE, "preprocessing": {"normalize": {"unify_alif": True}}}, "unify_alif"),
        ({**BASE, "training": {}}, "output_dir is required"),
        ({"task": "ner", "training": {"output_dir": "x"}}, "data.train is required"),
        ({**BASE, "training": {"output_dir": "x", "class_weights": "inverse"}}, "class_weights"),
        ({**BASE, "data": {"train": "t.conll", "sentences_per_document": 0}}, "sentences_per_document must be"),
    ],
)
def test_invalid_values(raw, expected):
    with pytest.raises(ConfigError, match=expected):
        config_from_dict(raw, source="c.yaml")


def test_overrides_parse_yaml_values_including_exponent_floats(tmp_path):
    path = write_config(tmp_path / "c.yaml", **BASE)
    config = load_config(
        path,
        [
            "training.learning_rate=5e-5",
            "training.bf16=true",
            "preprocessing.max_length=128",
            "preprocessing.stride=32",
            "data.dev=null",
            "model.name_or_path=some/hub-id",
        ],
    )
    assert config.training["learning_rate"] == 5e-5 and config.training["bf16"] is True
    assert config.preprocessing.max_length == 128 and config.data.dev is None
    assert config.model.name_or_path == "some/hub-id"


def test_exponent_floats_in_files_are_numbers(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: ner\ndata: {train: t.jsonl}\ntraining: {output_dir: o, learning_rate: 3e-4}\n")
    assert load_config(path).training["learning_rate"] == pytest.approx(3e-4)


@pytest.mark.parametrize("item", ["training.learning_rate", "=3", "training.output_dir.x=1"])
def test_malformed_overrides(tmp_path, item):
    path = write_config(tmp_path / "c.yaml", **BASE)
    with pytest.raises(ConfigError):
        load_config(path, [item])


def test_extends_merges_sections_and_detects_loops(tmp_path):
    write_config(tmp_path / "base.yaml", **BASE, preprocessing={"max_length": 128, "stride": 16})
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\npreprocessing: {stride: 32}\n")
    config = load_config(child)
    assert (config.preprocessing.max_length, config.preprocessing.stride) == (128, 32)
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="loop"):
        load_config(tmp_path / "a.yaml")


def test_missing_file_and_bad_yaml_are_located(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: ner\ntraining:\n  output_dir: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert f"{bad}:" in str(err.value)


def test_resolved_config_round_trips_through_save(tmp_path):
    from arabic_news.training.config import save_config

    config = load_config(ROOT / "configs" / "sample-ner.yaml")
    save_config(config, tmp_path / "config.yaml")
    again = load_config(Path(tmp_path / "config.yaml"))
    assert again.to_dict() == config.to_dict()


@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_a_cpu_is_kept_only_where_the_cpu_computes_it_natively(native, monkeypatch, caplog):
    """On a CPU without AVX-512 BF16 or AMX, autocast emulates bf16 many times slower than fp32: refused there."""
    import torch

    from arabic_news import hardware
    from arabic_news.training import arguments

    if torch.cuda.is_available():
        pytest.skip("the CPU rule applies where no GPU is visible")
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: native)
    config = config_from_dict(
        {"task": "ner", "data": {"train": "t.jsonl"}, "training": {"output_dir": "runs/x", "bf16": True}}
    )
    with caplog.at_level("WARNING", logger="arabic_news.training"):
        args = arguments.training_arguments(config, has_dev=False)
    assert args.bf16 is native
    assert ("no native bf16" in caplog.text) is not native


def test_the_cpu_probes_answer_with_bools_and_name_the_flags_that_decide_kernels():
    from arabic_news.hardware import ISA_FLAGS, cpu_has_native_bf16, cpu_isa

    assert isinstance(cpu_has_native_bf16(), bool)
    isa = cpu_isa()
    assert set(isa) == set(ISA_FLAGS) and all(isinstance(v, bool) for v in isa.values())
