"""`training.average_last_epochs`: the mean of the last epochs' weights, kept only when dev says it is no worse."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import TrainerCallback
from transformers.trainer_utils import rotate_checkpoints

from arabic_news.checkpoint import EPOCH_WEIGHTS_FOLDER, METADATA_FILE, remove_snapshots
from arabic_news.errors import ConfigError
from arabic_news.training import train
from arabic_news.training.averaging import averaged_tensors, choose_average
from arabic_news.training.config import config_from_dict

from .conftest import read_json
from .test_training import make_config


def test_the_average_is_the_mean_of_the_files_and_integer_buffers_come_from_the_last(tmp_path):
    first, second, third = (tmp_path / f"epoch-{i}.safetensors" for i in (1, 2, 3))
    save_file({"w": torch.tensor([1.0, 2.0]), "ids": torch.tensor([0, 1])}, str(first))
    save_file({"w": torch.tensor([2.0, 4.0]), "ids": torch.tensor([5, 6])}, str(second))
    save_file({"w": torch.tensor([6.0, 0.0]), "ids": torch.tensor([7, 8])}, str(third))
    averaged = dict(averaged_tensors([first, second, third]))
    assert torch.equal(averaged["w"], torch.tensor([3.0, 2.0]))
    assert torch.equal(averaged["ids"], torch.tensor([7, 8])), "integer buffers are not averaged"
    save_file({"v": torch.tensor([1.0])}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not of one model"):
        dict(averaged_tensors([first, tmp_path / "other.safetensors"]))


def epochs_of(tmp_path, *values: float):
    folder = tmp_path / EPOCH_WEIGHTS_FOLDER
    folder.mkdir()
    for epoch, value in enumerate(values, start=1):
        save_file(
            {"weight": torch.full((1, 2), value), "bias": torch.zeros(1)}, str(folder / f"epoch-{epoch}.safetensors")
        )
    return folder


def network_at(value: float) -> torch.nn.Linear:
    network = torch.nn.Linear(2, 1)
    with torch.no_grad():
        network.weight.fill_(value)
        network.bias.zero_()
    return network


@pytest.mark.parametrize(("target", "kept", "weight"), [(3.0, "average", 3.0), (5.0, "best epoch", 5.0)])
def test_the_average_is_kept_only_if_it_scores_at_least_as_well_on_dev(tmp_path, target, kept, weight):
    """Epochs at weights 2 and 4 (mean 3); the network holds the best epoch, at 5. The dev score is highest at
    `target`: the average replaces the best epoch's weights only when it is closer to it."""
    folder = epochs_of(tmp_path, 2.0, 4.0)
    network = network_at(5.0)
    report = choose_average(network, folder, lambda: -abs(network.weight.mean().item() - target))
    assert report["kept"] == kept and report["epochs"] == [1, 2]
    assert report["dev"] == {"best_epoch": -abs(5.0 - target), "average": -abs(3.0 - target)}
    assert torch.equal(network.weight, torch.full((1, 2), weight)), "the network holds what was kept"


def test_without_dev_the_average_is_kept_and_one_epoch_keeps_the_best(tmp_path):
    network = network_at(5.0)
    assert choose_average(network, epochs_of(tmp_path, 2.0, 4.0), None)["kept"] == "average"
    assert torch.equal(network.weight, torch.full((1, 2), 3.0))
    single = tmp_path / "single"
    single.mkdir()
    (tmp_path / EPOCH_WEIGHTS_FOLDER / "epoch-1.safetensors").rename(single / "epoch-1.safetensors")
    network = network_at(5.0)
    assert choose_average(network, single, lambda: 0.0)["kept"] == "best epoch"
    assert torch.equal(network.weight, torch.full((1, 2), 5.0))


def test_the_trainers_checkpoint_rotation_leaves_the_saved_epochs_alone(tmp_path):
    """The Trainer rotates its snapshots by modification time, and then deletes ANY `checkpoint-*` folder, numbered
    or not (a tiny run finishes within a second and falls back to numeric order, which hides this): the epochs'
    folder, older than the snapshots as it is in a real run, must survive a rotation to one snapshot."""
    (tmp_path / EPOCH_WEIGHTS_FOLDER).mkdir()
    (tmp_path / EPOCH_WEIGHTS_FOLDER / "epoch-1.safetensors").write_bytes(b"weights")
    for age, name in ((300, EPOCH_WEIGHTS_FOLDER), (200, "checkpoint-10"), (100, "checkpoint-20")):
        (tmp_path / name).mkdir(exist_ok=True)
        os.utime(tmp_path / name, (time.time() - age, time.time() - age))
    rotate_checkpoints(str(tmp_path), save_total_limit=1, use_mtime=True)
    assert (tmp_path / EPOCH_WEIGHTS_FOLDER / "epoch-1.safetensors").exists()
    assert not (tmp_path / "checkpoint-10").exists(), "the rotation did run"
    remove_snapshots(tmp_path)
    assert not (tmp_path / EPOCH_WEIGHTS_FOLDER).exists() and not (tmp_path / "checkpoint-20").exists()


class KeepEpochFiles(TrainerCallback):
    """Copies the epochs' weight files when training ends, before the run averages and removes them."""

    def __init__(self, out: Path, copy: Path):
        self.folder, self.copy = out / EPOCH_WEIGHTS_FOLDER, copy

    def on_train_end(self, args, state, control, **kwargs):
        shutil.copytree(self.folder, self.copy)


@pytest.mark.slow
def test_a_run_keeps_what_scores_best_on_dev_and_leaves_no_snapshots(tmp_path, tiny_encoder, tiny_corpus):
    config = make_config(
        tmp_path, tiny_encoder, tiny_corpus, num_train_epochs=3, average_last_epochs=2, save_total_limit=1
    )
    out = train(config, callbacks=[KeepEpochFiles(config.output_dir, tmp_path / "epochs")])
    meta = read_json(out / METADATA_FILE)
    averaging = meta["training"]["averaging"]
    assert averaging["epochs"] == [2, 3]
    assert not (out / EPOCH_WEIGHTS_FOLDER).exists(), "the epochs' weights go with the Trainer's snapshots"
    dev = averaging["dev"]
    kept = "average" if dev["average"] >= dev["best_epoch"] else "best epoch"
    assert averaging["kept"] == kept
    key = "average" if kept == "average" else "best_epoch"
    assert meta["scores"]["dev"]["f1"] == pytest.approx(dev[key], abs=1e-6), "the saved model is the one kept"
    saved = load_file(str(out / "model.safetensors"))
    copies = sorted((tmp_path / "epochs").glob("epoch-*.safetensors"))
    average = dict(averaged_tensors(copies))
    same = all(torch.equal(saved[name], average[name]) for name in saved)
    assert same == (kept == "average")


@pytest.mark.parametrize("value", [1, 0, "3", True, 2.5])
def test_average_last_epochs_below_two_or_not_a_count_is_refused(tmp_path, tiny_encoder, tiny_corpus, value):
    raw = make_config(tmp_path, tiny_encoder, tiny_corpus).to_dict()
    raw["training"]["average_last_epochs"] = value
    with pytest.raises(ConfigError, match="average_last_epochs must be a whole number >= 2"):
        config_from_dict(raw)
