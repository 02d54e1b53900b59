"""Scale-out: `train.py` under torchrun (and accelerate launch) with 2 CPU processes (gloo DDP) trains the same model
as one process with the same global batch.

What must match, and why it can: with `train_sampling_strategy: sequential` the data order is the file order in
both runs, and accelerate deals a global batch of 4 out as two per-process batches of 2 (rank 0 the first two
windows, rank 1 the next two), so every optimizer step sees the same 4 windows as the single process's batch of 4.
`dataloader_drop_last` drops the last, incomplete global batch in both runs (DDP would otherwise pad it by
repeating windows from the start). Dropout is switched off in the encoder (the two processes draw their masks from
the same seed, which differs from one process drawing one mask for all 4 windows), and the seed fixes the new
head's initialisation. The loss is summed over labelled tokens and divided by the step's token count across
processes, so the gradients, not only the data, are the single process's.

What remains is floating-point order: DDP all-reduces two partial gradients where one process sums them in one
pass. That changes results in the 7th significant digit; over a few Adam steps on a 2-layer model it stays far
below the tolerance used (1e-4 relative on the loss, 1e-4 on weights), while any real difference (one window more
or less in a batch, a different order, a loss N times too large) moves the loss curve by 1e-2 or more.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForTokenClassification

from arabic_news import cli
from arabic_news.checkpoint import METADATA_FILE
from arabic_news.inference import load

from .conftest import ROOT, read_json, write_config

pytestmark = pytest.mark.slow

PER_DEVICE_BATCH, PROCESSES = 2, 2
SUBPROCESS_ENV = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")


@pytest.fixture(scope="module")
def encoder_without_dropout(tiny_encoder, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("encoder-no-dropout")
    shutil.copytree(tiny_encoder, folder, dirs_exist_ok=True)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def scale_config(encoder_without_dropout, tiny_corpus, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scale-out")
    return write_config(
        folder / "ner.yaml",
        task="ner",
        model={"name_or_path": str(encoder_without_dropout)},
        data={"train": str(tiny_corpus["train"]), "dev": str(tiny_corpus["dev"])},
        preprocessing={"max_length": 24, "stride": 6},
        training={
            "output_dir": str(folder / "unused"),
            "num_train_epochs": 3,
            "learning_rate": 5e-3,
            "per_device_train_batch_size": PER_DEVICE_BATCH,
            "seed": 3,
            "train_sampling_strategy": "sequential",
            "dataloader_drop_last": True,
            "dataloader_num_workers": 0,
            "logging_strategy": "steps",
            "logging_steps": 1,
            "ddp_find_unused_parameters": False,
            # compare the last step's weights: picking a "best" epoch by a dev F1 that float noise can tie or
            # flip would compare different checkpoints (seen in a CI clone)
            "eval_strategy": "no",
            "load_best_model_at_end": False,
        },
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LAUNCHERS = {
    "torchrun": lambda: [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={PROCESSES}",
    ],
    "accelerate": lambda: [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        f"--num_processes={PROCESSES}",
        "--num_machines=1",
        "--mixed_precision=no",
        "--dynamo_backend=no",
        f"--main_process_port={free_port()}",
    ],
}


def losses(out: Path) -> dict[int, float]:
    return {h["step"]: h["loss"] for h in read_json(out / "metrics.json")["log_history"] if "loss" in h}


def launch(launcher: str, config: Path, out: Path, log: Path, *extra: str) -> subprocess.Popen:
    """Output goes to a file: a pipe left unread while this process trains would fill up and stall the workers."""
    command = [
        *LAUNCHERS[launcher](),
        str(ROOT / "train.py"),
        str(config),
        "--set",
        f"training.output_dir={out}",
        *extra,
    ]
    with open(log, "w", encoding="utf-8") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=SUBPROCESS_ENV, stdout=handle, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("launcher, crf", [("torchrun", False), ("accelerate", False), ("torchrun", True)])
def test_two_processes_train_the_model_of_one_process_with_the_same_global_batch(launcher, crf, scale_config, tmp_path):
    """Also with a CRF output layer (`model.crf`), whose scores DDP must reduce although its loss runs outside the
    wrapped model's forward."""
    distributed, single = tmp_path / f"{launcher}-2x{PER_DEVICE_BATCH}", tmp_path / f"single-1x{2 * PER_DEVICE_BATCH}"
    extra = ("--set", f"model.crf={str(crf).lower()}")
    running = launch(launcher, scale_config, distributed, tmp_path / f"{launcher}.log", *extra)
    # Meanwhile, in this process: one process, per-device batch doubled, so the global batch is the same.
    assert (
        cli.main(
            [
                "train",
                str(scale_config),
                "--set",
                f"training.output_dir={single}",
                "--set",
                f"training.per_device_train_batch_size={PROCESSES * PER_DEVICE_BATCH}",
                *extra,
            ]
        )
        == 0
    )
    running.wait(timeout=300)
    output = (tmp_path / f"{launcher}.log").read_text(encoding="utf-8")
    assert running.returncode == 0, output[-4000:]

    # Same number of optimizer steps: two unconnected copies would each have taken twice as many.
    steps, expected_steps = losses(distributed), losses(single)
    assert len(expected_steps) >= 6 and sorted(steps) == sorted(expected_steps)
    for step, loss in expected_steps.items():
        assert steps[step] == pytest.approx(loss, rel=1e-4), f"step {step}"
    files = ["model.safetensors"] + (["crf.safetensors"] if crf else [])
    for name in files:
        assert (distributed / name).is_file(), name
    weights = {f"{f}:{k}": v for f in files for k, v in load_file(distributed / f).items()}
    expected_weights = {f"{f}:{k}": v for f in files for k, v in load_file(single / f).items()}
    assert sorted(weights) == sorted(expected_weights)
    for name, tensor in expected_weights.items():
        torch.testing.assert_close(weights[name], tensor, rtol=1e-4, atol=1e-4, msg=name)
    meta, expected_meta = read_json(distributed / METADATA_FILE), read_json(single / METADATA_FILE)
    assert meta["scores"]["dev"] == pytest.approx(expected_meta["scores"]["dev"], abs=1e-6)

    # Rank 0 alone finished the folder and reported; the result loads with and without project code.
    assert output.count("ner model in") == 1, output[-4000:]
    assert sorted(p.name for p in distributed.iterdir()) == sorted(p.name for p in single.iterdir())
    assert AutoModelForTokenClassification.from_pretrained(distributed).config.num_labels == len(meta["labels"])
    tagged = load(distributed)("التقى ماكرون في باريس")
    assert all(0 <= s.start < s.end <= len("التقى ماكرون في باريس") for s in tagged.entities)
