"""The training loss: cross-entropy summed over labelled items and divided by the step's item count."""

from __future__ import annotations

import torch

from ..data import Document
from .config import Config


def class_weighted_loss(config: Config, train_docs: list[Document], labels: list[str]):
    """Cross-entropy summed over the labelled items and divided by `num_items_in_batch`, the item count of the whole
    step across all processes, with the task's class weights (`training.class_weights`).

    Why not the model's own loss: BERT heads return a per-process mean, which the Trainer then multiplies by the
    number of processes (it expects a sum over its item count), so under torchrun the loss and the gradients came out
    N times too large. Summed this way, N processes give the same loss and gradients as one process with the same
    global batch, and gradient accumulation weighs every token equally.
    """
    class_weights = config.task_type.class_weights(train_docs, labels, config.training.get("class_weights"))
    weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights is not None else None

    # A loss function replaces the Trainer's label smoother, so its one setting is applied here.
    smoothing = float(config.training.get("label_smoothing_factor") or 0.0)

    def loss(outputs, labels_, num_items_in_batch=None):
        logits = outputs["logits"].float()
        logits, targets = logits.reshape(-1, logits.shape[-1]), labels_.reshape(-1)
        options = dict(
            weight=weights.to(logits.device) if weights is not None else None,
            ignore_index=-100,
            label_smoothing=smoothing,
        )
        if num_items_in_batch is None:
            return torch.nn.functional.cross_entropy(logits, targets, **options)
        return torch.nn.functional.cross_entropy(logits, targets, reduction="sum", **options) / num_items_in_batch

    return loss
