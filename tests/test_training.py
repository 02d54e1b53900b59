"""Training end to end on a tiny encoder: both tasks, both granularities, reload with no project code, resume."""

from __future__ import annotations

import pytest
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    TrainerCallback,
    pipeline,
)

from arabic_news.checkpoint import METADATA_FILE
from arabic_news.errors import ConfigError
from arabic_news.inference import load
from arabic_news.training import train
from arabic_news.training.config import config_from_dict

from .conftest import read_json

pytestmark = pytest.mark.slow


def make_config(tmp_path, tiny_encoder, tiny_corpus, task="ner", granularity="subword", **training):
    raw = {
        "task": task,
        "model": {"name_or_path": str(tiny_encoder)},
        "data": {"train": str(tiny_corpus["train"]), "dev": str(tiny_corpus["dev"])},
        "preprocessing": {"granularity": granularity, "max_length": 24, "stride": 6},
        "training": {
            "output_dir": str(tmp_path / f"{task}-{granularity}"),
            "num_train_epochs": 6,
            "learning_rate": 5e-3,
            "per_device_train_batch_size": 8,
            "seed": 7,
            "save_total_limit": 2,
            **training,
        },
    }
    return config_from_dict(raw)


def train_losses(out) -> list[float]:
    return [h["loss"] for h in read_json(out / "metrics.json")["log_history"] if "loss" in h]


@pytest.mark.parametrize("granularity", ["subword", "word"])
def test_ner_training_learns_and_reloads_without_project_code(tmp_path, tiny_encoder, tiny_corpus, granularity):
    out = train(make_config(tmp_path, tiny_encoder, tiny_corpus, granularity=granularity))
    losses = train_losses(out)
    assert len(losses) >= 3 and losses[-1] < losses[0]
    meta = read_json(out / METADATA_FILE)
    assert meta["task"] == "ner" and meta["preprocessing"]["granularity"] == granularity
    expected = {"O"} | {f"{p}-{t}" for t in ("PERS", "LOC", "ORG", "MISC") for p in ("B", "I")}
    if granularity == "subword":  # entities that start after a glued proclitic inside a token
        expected |= {f"{p}-{t}" for t in ("PERS", "LOC", "ORG", "MISC") for p in ("C1", "C2")}
    assert set(meta["labels"]) == expected
    assert set(meta["scores"]["dev"]) == {"f1", "precision", "recall"}
    assert len(meta["data"]["train"]["sha256"]) == 64
    assert meta["training"]["peak_rss_mb"] > 100, "the run records the memory it needed (torch alone takes more)"
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "config.yaml",
        "training_curve.png",
        "README.md",
    ):
        assert (out / name).is_file(), name
    assert not list(out.glob("checkpoint-*")), "intermediate checkpoints are removed once the model is finished"
    assert not list(out.glob("*.bin"))
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert model.config.id2label[0] == "O"
    tagger = pipeline("token-classification", model=str(out), aggregation_strategy="simple")
    assert isinstance(tagger("التقى ماكرون في باريس"), list)


def test_topic_training_and_api(tmp_path, tiny_encoder, tiny_corpus):
    out = train(make_config(tmp_path, tiny_encoder, tiny_corpus, task="topic", class_weights="balanced"))
    losses = train_losses(out)
    assert losses[-1] < losses[0]
    assert AutoModelForSequenceClassification.from_pretrained(out).config.num_labels == 6
    prediction = load(out)("فاز نادي الأهلي على الزمالك في القاهرة")
    assert prediction.topic.label in prediction.topic.probabilities
    assert abs(sum(prediction.topic.probabilities.values()) - 1) < 1e-4
    assert prediction.entities == []


class StopAfter(TrainerCallback):
    """Simulates a crash: raises once the trainer has saved a checkpoint at `step`."""

    def __init__(self, step):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            raise KeyboardInterrupt("simulated interruption")


def test_interrupted_run_resumes_from_last_checkpoint(tmp_path, tiny_encoder, tiny_corpus):
    config = make_config(tmp_path, tiny_encoder, tiny_corpus, num_train_epochs=4, early_stopping_patience=None)
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[StopAfter(4)])
    out = config.output_dir
    assert not (out / METADATA_FILE).exists(), "an interrupted run must not look finished"
    with pytest.raises(Exception, match="not a finished model"):
        load(out)
    saved = sorted(out.glob("checkpoint-*"))
    assert saved, "a checkpoint was saved before the interruption"
    resumed_from = int(saved[-1].name.split("-")[1])
    train(config)
    history = read_json(out / "metrics.json")["log_history"]
    first_logged_step = min(h["step"] for h in history if "loss" in h and h["step"] > resumed_from)
    assert first_logged_step > resumed_from
    # 12 sentences make 21 windows of 24 tokens: 3 batches of 8 per epoch, 4 epochs, whether interrupted or not
    assert read_json(out / METADATA_FILE)["training"]["global_step"] == 12


def test_finished_model_is_not_overwritten_unless_asked(tmp_path, tiny_encoder, tiny_corpus):
    config = make_config(tmp_path, tiny_encoder, tiny_corpus, num_train_epochs=1)
    train(config)
    with pytest.raises(ConfigError, match="already holds a finished model"):
        train(config)
    train(config, overwrite=True)
    assert (config.output_dir / METADATA_FILE).is_file()


def test_freeze_layers_reaches_the_model_and_training_leaves_frozen_weights_alone(tmp_path, tiny_encoder, tiny_corpus):
    import torch
    from safetensors.torch import load_file

    from arabic_news.training.run import load_model

    config = make_config(tmp_path, tiny_encoder, tiny_corpus, num_train_epochs=1)
    config.model.freeze_layers = 1
    model = load_model(config, str(tiny_encoder), ["O", "B-LOC", "I-LOC"])
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert not any(name.startswith(("bert.embeddings.", "bert.encoder.layer.0.")) for name in trainable)
    assert any(name.startswith("bert.encoder.layer.1.") for name in trainable) and "classifier.weight" in trainable

    out = train(config)
    before, after = load_file(tiny_encoder / "model.safetensors"), load_file(out / "model.safetensors")
    for name in ("encoder.layer.0.output.dense.weight", "embeddings.LayerNorm.weight"):
        assert torch.equal(before[name], after[f"bert.{name}"]), name
    assert not torch.equal(
        before["encoder.layer.1.output.dense.weight"], after["bert.encoder.layer.1.output.dense.weight"]
    )


def test_freeze_layers_beyond_the_encoder_is_a_located_error(tmp_path, tiny_encoder, tiny_corpus):
    from arabic_news.training.run import load_model

    config = make_config(tmp_path, tiny_encoder, tiny_corpus)
    config.model.freeze_layers = 3  # the tiny encoder has 2
    with pytest.raises(ConfigError, match="cannot freeze 3 encoder layers .it has 2 layers."):
        load_model(config, str(tiny_encoder), ["O", "B-LOC", "I-LOC"])


def test_layerwise_lr_decay_reaches_the_optimizer(tmp_path, tiny_encoder, tiny_corpus):
    """Each layer's parameters train at decay x the rate of the layer above: head 5e-3, layer 1 x0.5, layer 0 x0.25,
    embeddings x0.125; biases and LayerNorm weights without weight decay, as in the Trainer's own grouping."""
    seen = {}

    class Capture(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
            seen["rates"] = {
                name: (group["lr"], group["weight_decay"])
                for group in optimizer.param_groups
                for name, p in model.named_parameters()
                if any(p is q for q in group["params"])
            }
            seen["parameters"] = sum(1 for _ in model.parameters())

    config = make_config(tmp_path, tiny_encoder, tiny_corpus, num_train_epochs=1, weight_decay=0.01)
    config.training["layerwise_lr_decay"] = 0.5
    train(config, callbacks=[Capture()])
    rates = seen["rates"]
    assert rates["classifier.weight"] == (5e-3, 0.01) and rates["classifier.bias"] == (5e-3, 0.0)
    assert rates["bert.encoder.layer.1.output.dense.weight"] == (2.5e-3, 0.01)
    assert rates["bert.encoder.layer.0.attention.self.query.weight"] == (1.25e-3, 0.01)
    assert rates["bert.encoder.layer.0.output.LayerNorm.weight"] == (1.25e-3, 0.0)
    assert rates["bert.embeddings.word_embeddings.weight"] == (6.25e-4, 0.01)
    assert len(rates) == seen["parameters"]  # every parameter is in exactly one group


@pytest.mark.parametrize("value", [0, 1.5, "fast", True])
def test_layerwise_lr_decay_outside_0_1_is_refused(tmp_path, tiny_encoder, tiny_corpus, value):
    raw = make_config(tmp_path, tiny_encoder, tiny_corpus).to_dict()
    raw["training"]["layerwise_lr_decay"] = value
    with pytest.raises(ConfigError, match="layerwise_lr_decay must be a number in"):
        config_from_dict(raw)


def test_attention_dropout_reaches_the_encoder_config(tmp_path, tiny_encoder, tiny_corpus):
    from arabic_news.training.run import load_model

    config = make_config(tmp_path, tiny_encoder, tiny_corpus)
    assert load_model(config, str(tiny_encoder), ["O", "B-LOC"]).config.attention_probs_dropout_prob == 0.1
    config.model.attention_dropout = 0.0
    model = load_model(config, str(tiny_encoder), ["O", "B-LOC"])
    assert model.config.attention_probs_dropout_prob == 0.0
    assert all(layer.attention.self.dropout.p == 0.0 for layer in model.bert.encoder.layer)
    assert model.bert.encoder.layer[0].output.dropout.p == 0.1  # the hidden-state dropout stays


@pytest.mark.parametrize("value", [1.0, -0.1])
def test_attention_dropout_outside_0_1_is_refused(tmp_path, tiny_encoder, tiny_corpus, value):
    raw = make_config(tmp_path, tiny_encoder, tiny_corpus).to_dict()
    raw["model"]["attention_dropout"] = value
    with pytest.raises(ConfigError, match=r"model.attention_dropout must be in \[0, 1\)"):
        config_from_dict(raw)
