"""Crash safety: SIGKILL in the middle of training, rerun the same command, get the same model.

The run under test is a real `python train.py CONFIG` subprocess killed with SIGKILL (no Python cleanup, no
atexit, no finally) right after its first complete checkpoint appears. Rerunning the same command must resume from
that checkpoint and finish with the metrics of an uninterrupted run of the same config; in between, the killed
run's folder must never pass for a finished model, and a finished model must not be overwritten without asking.

Determinism on CPU: fixed seed (which, since training seeds before the classifier head is built, covers the
head's initialisation too), sequential sampling, no dataloader workers. The Trainer saves and restores the RNG
states with each checkpoint, so dropout stays on and is part of what must resume exactly.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from arabic_news import cli
from arabic_news.checkpoint import METADATA_FILE

from .conftest import ROOT, read_json, write_config

pytestmark = pytest.mark.slow

EPOCHS = 20  # ~5 steps each: the run must still be training when its first checkpoint appears
KILL_TIMEOUT_S = 120  # generous: two shared cores, and the subprocess imports torch and transformers first
# One torch thread everywhere: on two cores shared with other jobs, two spinning OpenMP threads made these tiny
# steps 20 times slower; and the killed, resumed and reference runs then also sum in the same order.
SUBPROCESS_ENV = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")


def crash_config(folder: Path, tiny_encoder: Path, tiny_corpus: dict, output_dir: Path) -> Path:
    return write_config(
        folder / f"{output_dir.name}.yaml",
        task="ner",
        model={"name_or_path": str(tiny_encoder)},
        data={"train": str(tiny_corpus["train"]), "dev": str(tiny_corpus["dev"])},
        preprocessing={"max_length": 24, "stride": 6},
        training={
            "output_dir": str(output_dir),
            "num_train_epochs": EPOCHS,
            "learning_rate": 5e-3,
            "per_device_train_batch_size": 4,
            "seed": 11,
            "train_sampling_strategy": "sequential",
            "dataloader_num_workers": 0,
        },
    )


def train_command(config: Path) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), str(config)]


def complete_checkpoints(out: Path) -> list[Path]:
    """Checkpoints whose trainer_state.json (the Trainer's last write) is there."""
    return sorted(
        (p for p in out.glob("checkpoint-*") if (p / "trainer_state.json").is_file()),
        key=lambda p: int(p.name.split("-")[1]),
    )


def start(command: list[str], log: Path) -> subprocess.Popen:
    """Output goes to a file: a pipe nobody reads while polling would fill up and stall the run."""
    with open(log, "w", encoding="utf-8") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=SUBPROCESS_ENV, stdout=handle, stderr=subprocess.STDOUT)


def kill_after_first_checkpoint(command: list[str], out: Path, log: Path) -> None:
    proc = start(command, log)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while not complete_checkpoints(out):
            if proc.poll() is not None:
                pytest.fail(f"training ended (rc={proc.returncode}) before any checkpoint: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint appeared in time")
            time.sleep(0.02)
        still_training = proc.poll() is None
    finally:
        proc.kill()  # SIGKILL: no finally, atexit or signal handler runs in the child
        proc.wait(timeout=60)
    assert still_training, "the run finished before it could be killed: raise EPOCHS"
    assert proc.returncode == -signal.SIGKILL


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def simulate_a_save_cut_short(out: Path) -> Path:
    """What a kill in the middle of `_save_checkpoint` leaves: a newer checkpoint folder with half a weights file and
    no trainer_state.json (the Trainer writes that last). Resuming must skip it, not crash on it."""
    last = complete_checkpoints(out)[-1]
    cut = out / f"checkpoint-{int(last.name.split('-')[1]) + 5}"
    cut.mkdir()
    weights = (last / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    return cut


def test_sigkilled_training_resumes_and_ends_like_an_uninterrupted_run(tmp_path, tiny_encoder, tiny_corpus, capsys):
    out = tmp_path / "killed"
    config = crash_config(tmp_path, tiny_encoder, tiny_corpus, out)
    kill_after_first_checkpoint(train_command(config), out, tmp_path / "killed.log")

    # The killed run's folder is not a model: every command that loads one says so, located, with the fix.
    assert not (out / METADATA_FILE).exists()
    gold = tiny_corpus["dev"]
    assert cli.main(["evaluate", "--checkpoint", str(out), "--data", str(gold), "--out", str(tmp_path / "r")]) == 1
    message = capsys.readouterr().err
    assert f"{out}" in message and "not a finished model" in message and "rerun the same train.py command" in message
    assert not (tmp_path / "r").exists(), "a failed evaluation writes no report folder"

    resumed_from = complete_checkpoints(out)[-1]
    cut_short = simulate_a_save_cut_short(out)
    resumed = start(train_command(config), tmp_path / "resumed.log")
    # Meanwhile (two cores): the same config, uninterrupted, in this process.
    reference = tmp_path / "uninterrupted"
    assert cli.main(["train", str(config), "--set", f"training.output_dir={reference}"]) == 0
    resumed.wait(timeout=300)
    log = (tmp_path / "resumed.log").read_text(encoding="utf-8")
    assert resumed.returncode == 0, log[-3000:]
    assert f"resuming the interrupted run from {resumed_from}" in log
    assert f"removing {cut_short}" in log

    finished, expected = read_json(out / METADATA_FILE), read_json(reference / METADATA_FILE)
    assert finished["training"]["global_step"] == expected["training"]["global_step"]
    assert finished["training"]["best_checkpoint"] == expected["training"]["best_checkpoint"]
    for split, scores in expected["scores"].items():
        assert finished["scores"][split] == pytest.approx(scores, abs=1e-6), split
    history = read_json(out / "metrics.json")["log_history"]
    reference_history = read_json(reference / "metrics.json")["log_history"]
    after_resume = [h for h in history if "loss" in h and h["step"] > int(resumed_from.name.split("-")[1])]
    assert after_resume, "the resumed run logged training after the checkpoint"
    expected_losses = {h["step"]: h["loss"] for h in reference_history if "loss" in h}
    for entry in after_resume:
        assert entry["loss"] == pytest.approx(expected_losses[entry["step"]], rel=1e-4), entry["step"]
    weights, expected_weights = load_file(out / "model.safetensors"), load_file(reference / "model.safetensors")
    assert weights.keys() == expected_weights.keys()
    for name, tensor in expected_weights.items():
        torch.testing.assert_close(weights[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    assert not list(out.glob("checkpoint-*")) and not list(out.glob(".*.tmp"))


def test_a_finished_model_is_not_overwritten_unless_asked(tmp_path, tiny_encoder, tiny_corpus, capsys):
    out = tmp_path / "finished"
    config = crash_config(tmp_path, tiny_encoder, tiny_corpus, out)
    assert cli.main(["train", str(config), "--set", "training.num_train_epochs=1"]) == 0
    before = {p.name: sha256(p) for p in out.iterdir() if p.is_file()}
    one_epoch = read_json(out / METADATA_FILE)["training"]["global_step"]
    capsys.readouterr()

    assert cli.main(["train", str(config), "--set", "training.num_train_epochs=2"]) == 1
    message = capsys.readouterr().err
    assert f"{out} already holds a finished model" in message and "--overwrite" in message
    assert {p.name: sha256(p) for p in out.iterdir() if p.is_file()} == before, "nothing was touched"

    assert cli.main(["train", str(config), "--set", "training.num_train_epochs=2", "--overwrite"]) == 0
    assert read_json(out / METADATA_FILE)["training"]["global_step"] == 2 * one_epoch
    assert sha256(out / "model.safetensors") != before["model.safetensors"]


def test_a_folder_with_weights_but_no_metadata_is_refused_at_load(tmp_path, tiny_encoder, tiny_corpus, capsys):
    """A crash after the weights were saved but before the metadata (written last) leaves such a folder."""
    done = tmp_path / "done"
    config = crash_config(tmp_path, tiny_encoder, tiny_corpus, done)
    assert cli.main(["train", str(config), "--set", "training.num_train_epochs=1"]) == 0
    partial = tmp_path / "partial"
    shutil.copytree(done, partial)
    (partial / METADATA_FILE).unlink()
    articles = tmp_path / "article.txt"
    articles.write_text("التقى ماكرون في باريس بوفد من الأمم المتحدة.", encoding="utf-8")
    capsys.readouterr()
    assert (
        cli.main(
            ["predict", "--checkpoint", str(partial), "--input", str(articles), "--output", str(tmp_path / "out.jsonl")]
        )
        == 1
    )
    message = capsys.readouterr().err
    assert f"{partial}" in message and f"no {METADATA_FILE}" in message and "rerun" in message
    assert not (tmp_path / "out.jsonl").exists()
    # the same folder with its metadata back loads fine: the refusal was about the marker only
    shutil.copy(done / METADATA_FILE, partial / METADATA_FILE)
    assert (
        cli.main(
            ["predict", "--checkpoint", str(partial), "--input", str(articles), "--output", str(tmp_path / "out.jsonl")]
        )
        == 0
    )
    assert (tmp_path / "out.jsonl").is_file()
