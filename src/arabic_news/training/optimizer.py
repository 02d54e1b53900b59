"""Layer-wise learning-rate decay (`training.layerwise_lr_decay`): the head learns at the full rate, each encoder layer
below it at `decay` times the rate of the layer above, the embeddings last.

Why: the bottom layers of a pretrained encoder hold general features that a small task corpus should move least;
a uniform high rate (small encoders want one) disturbs them as much as the top layers.
"""

from __future__ import annotations

import re

import torch

_LAYER = re.compile(r"\.layers?\.(\d+)\.")


def layer_depths(model: torch.nn.Module) -> dict[str, int]:
    """Each trainable parameter's depth: 0 for the embeddings, i + 1 for encoder layer i, and one above the top
    layer for everything else (the classifier head, the pooler, a CRF)."""
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    layers = {name: int(m.group(1)) for name in names if (m := _LAYER.search(name))}
    top = max(layers.values(), default=-1) + 2
    return {name: layers[name] + 1 if name in layers else 0 if "embeddings" in name else top for name in names}


def layerwise_parameter_groups(
    model: torch.nn.Module, learning_rate: float, decay: float, weight_decay: float, decayed: set[str]
) -> list[dict]:
    """Optimizer parameter groups, one per (depth, weight-decayed or not); `decayed` names the parameters that get
    weight decay (the Trainer's `get_decay_parameter_names`: not biases, not LayerNorm weights)."""
    depths = layer_depths(model)
    top = max(depths.values(), default=0)
    groups: dict[tuple[int, bool], dict] = {}
    for name, parameter in model.named_parameters():
        if name not in depths:
            continue
        no_decay = name not in decayed
        key = (depths[name], no_decay)
        if key not in groups:
            groups[key] = {
                "params": [],
                "lr": learning_rate * decay ** (top - depths[name]),
                "weight_decay": 0.0 if no_decay else weight_decay,
            }
        groups[key]["params"].append(parameter)
    return [groups[key] for key in sorted(groups)]
