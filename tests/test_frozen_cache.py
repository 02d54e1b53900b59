"""`model.cache_frozen_layers`: the frozen bottom layers run once per training window, epochs run the top layers.

With no dropout anywhere the stored output is what the bottom layers compute at every step, so a run with the cache
must train the same model as a run without it; the hook test shows the steps really skip the bottom layers.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from arabic_news.errors import ConfigError
from arabic_news.training import train
from arabic_news.training.config import config_from_dict
from arabic_news.training.frozen import FrozenLayerCache, encoder_layers

from .test_training import make_config, train_losses


@pytest.fixture(scope="module")
def dropout_free_encoder(tiny_encoder, tmp_path_factory):
    """The tiny encoder with every dropout at 0, so that training with and without the cache computes the same."""
    folder = tmp_path_factory.mktemp("no-dropout-encoder")
    shutil.copytree(tiny_encoder, folder, dirs_exist_ok=True)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def cached_config(tmp_path, encoder, corpus, task: str, cache: bool):
    config = make_config(tmp_path / ("cached" if cache else "plain"), encoder, corpus, task=task, num_train_epochs=2)
    config.model.freeze_layers = 1
    config.model.cache_frozen_layers = cache
    config.model.crf = task == "ner"  # the main job's NER head
    return config


class BottomLayerCalls(TrainerCallback):
    """Counts layer 0's calls that computed something and those that passed their input through (the bypass)."""

    def __init__(self):
        self.computed = self.passed_through = 0

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def count(module, inputs, output):
            if output is inputs[0]:
                self.passed_through += 1
            else:
                self.computed += 1

        encoder_layers(model)[0].register_forward_hook(count)


@pytest.mark.parametrize("task", ["ner", "topic"])
def test_the_cache_trains_the_same_model_when_nothing_drops_out(tmp_path, dropout_free_encoder, tiny_corpus, task):
    plain = train(cached_config(tmp_path, dropout_free_encoder, tiny_corpus, task, cache=False))
    calls = BottomLayerCalls()
    cached = train(cached_config(tmp_path, dropout_free_encoder, tiny_corpus, task, cache=True), callbacks=[calls])

    assert train_losses(cached) == pytest.approx(train_losses(plain), rel=1e-4)
    before, after = load_file(plain / "model.safetensors"), load_file(cached / "model.safetensors")
    assert before.keys() == after.keys()  # the checkpoint is the whole model, not the top layers
    for name in before:
        torch.testing.assert_close(after[name], before[name], atol=1e-5, rtol=1e-4, msg=name)
    steps = json.loads((cached / "metrics.json").read_text())["log_history"][-1]["step"]
    assert calls.passed_through == steps  # every training step skipped the bottom layer ...
    assert calls.computed > 0  # ... and dev evaluation ran it


def test_the_cache_leaves_the_bottom_layers_dropout_out_and_still_trains(tmp_path, tiny_encoder, tiny_corpus):
    """With the encoder's own dropout the recipe differs (the stored output has none); it still learns."""
    out = train(cached_config(tmp_path, tiny_encoder, tiny_corpus, "ner", cache=True))
    losses = train_losses(out)
    assert losses[-1] < losses[0]


def test_a_store_that_does_not_reproduce_the_model_is_refused(tiny_encoder, capsys):
    """The check run before training compares the bypass with the full model: here the store is corrupted. (Storing
    shows its progress over the windows.)"""
    from datasets import Dataset
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    model = AutoModelForTokenClassification.from_pretrained(tiny_encoder, num_labels=3)
    rows = Dataset.from_list([{"input_ids": tokenizer(t)["input_ids"]} for t in ("أذربيجان والناتو", "في القاهرة")])
    cache = FrozenLayerCache.build(model, 1, rows, tokenizer, progress=True)
    assert len(cache.store) == 2
    progress = capsys.readouterr().err
    assert "store frozen layers" in progress and "2/2" in progress
    for states in cache.store.values():
        states += 1.0
    with pytest.raises(ConfigError, match="does not give the same outputs from its bottom layers' stored output"):
        cache.verify(rows, tokenizer, "config.yaml")


def test_cache_frozen_layers_without_frozen_layers_is_refused(tmp_path, tiny_encoder, tiny_corpus):
    raw = make_config(tmp_path, tiny_encoder, tiny_corpus).to_dict()
    raw["model"]["cache_frozen_layers"] = True
    with pytest.raises(ConfigError, match="cache_frozen_layers is set but no layer is frozen"):
        config_from_dict(raw)
