"""Averaging the weights of the last epochs (`training.average_last_epochs: K`).

Near the end of a run the dev score still moves by about a point from one epoch to the next while the weights move
little; the mean of the last K epochs' weights is often a flatter, better point than any one of them. It is a
candidate, not a rule: after training, the average is scored on dev and kept only if it scores at least as well as
the best epoch the Trainer chose (without a dev set it is kept, as asked).

The weights of each epoch go to `epoch-weights/epoch-N.safetensors` in the output folder (the last K kept), so an
interrupted run resumes with them; the folder goes with the Trainer's snapshots when the model is finished. Its name
must not start with `checkpoint-`: the Trainer's checkpoint rotation (sorted by modification time) deletes any such
folder, numbered or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import TrainerCallback

from ..atomic import atomic_path

log = logging.getLogger("arabic_news.training")


def snapshot_path(folder: Path, epoch: int) -> Path:
    return folder / f"epoch-{epoch}.safetensors"


def epoch_of(path: Path) -> int:
    """The epoch of a `snapshot_path` file."""
    return int(path.stem.split("-", 1)[1])


def epoch_snapshots(folder: Path) -> list[Path]:
    """The saved epochs' weight files, oldest first."""
    return sorted(folder.glob("epoch-*.safetensors"), key=epoch_of)


def write_weights(network: torch.nn.Module, path: Path) -> None:
    """All of the network's tensors (a CRF's scores too) as one safetensors file, written whole or not at all."""
    with atomic_path(path) as partial:  # a crash mid-save never leaves a truncated file to be averaged or restored
        save_file({name: t.detach().to("cpu").contiguous() for name, t in network.state_dict().items()}, str(partial))


class EpochSnapshots(TrainerCallback):
    """At the end of every epoch, save the model's weights (all of them: the CRF's scores too) and keep the last
    `keep` epochs."""

    def __init__(self, folder: Path, keep: int):
        self.folder, self.keep = Path(folder), keep

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero or model is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_weights(model, snapshot_path(self.folder, round(state.epoch)))
        for stale in epoch_snapshots(self.folder)[: -self.keep]:
            stale.unlink(missing_ok=True)


def averaged_tensors(paths: list[Path]) -> Iterator[tuple[str, torch.Tensor]]:
    """The element-wise mean of the files' floating-point tensors, one tensor at a time (in fp32, returned in the
    file's dtype), so that averaging costs no more memory than the largest tensor; other tensors (integer buffers
    such as position ids) are taken from the last file."""
    if not paths:
        raise ValueError("no weight files to average")
    with ExitStack() as stack:
        handles = [stack.enter_context(safe_open(str(p), framework="pt")) for p in paths]
        names = sorted(handles[-1].keys())
        for path, handle in zip(paths, handles):
            if sorted(handle.keys()) != names:
                raise ValueError(f"{path} holds other tensors than {paths[-1]}: the files are not of one model")
        for name in names:
            last = handles[-1].get_tensor(name)
            if not last.is_floating_point():
                yield name, last
                continue
            total = last.to(torch.float32)
            for handle in handles[:-1]:
                total += handle.get_tensor(name).to(torch.float32)
            yield name, (total / len(handles)).to(last.dtype)


def load_average(network: torch.nn.Module, paths: list[Path]) -> None:
    """Overwrite the network's weights, in place, with the mean of the files' weights."""
    state = network.state_dict()  # tensors that share the parameters' storage
    for name, tensor in averaged_tensors(paths):
        state[name].copy_(tensor)


def choose_average(network: torch.nn.Module, folder: Path, dev_score: Callable[[], float] | None) -> dict:
    """Replace the network's weights (the best epoch's, as the Trainer left them) by the mean of the saved epochs'
    if that scores at least as well on dev (`dev_score` scores the network as it is now; None: no dev set, the
    average is kept). Returns what was compared and kept, for the checkpoint's metadata."""
    paths = epoch_snapshots(folder)
    epochs = [epoch_of(p) for p in paths]
    if len(paths) < 2:
        return {"epochs": epochs, "kept": "best epoch", "why": "fewer than two epochs were trained"}
    if dev_score is None:
        load_average(network, paths)
        return {"epochs": epochs, "kept": "average", "why": "no dev set to compare on"}
    best = dev_score()
    kept = folder / "best-epoch.safetensors"  # on disk, not a second copy of the model in memory
    write_weights(network, kept)
    load_average(network, paths)
    average = dev_score()
    report = {"epochs": epochs, "dev": {"best_epoch": round(best, 6), "average": round(average, 6)}}
    if average >= best:
        log.info("the average of epochs %s scores %.4f on dev (best epoch: %.4f): kept", epochs, average, best)
        return {**report, "kept": "average"}
    load_average(network, [kept])  # the mean of one file: the best epoch's weights back
    log.info(
        "the average of epochs %s scores %.4f on dev, below the best epoch's %.4f: not kept", epochs, average, best
    )
    return {**report, "kept": "best epoch"}
