"""TrainingArguments from a config's `training` section: the project's defaults underneath, the config on top, and
the checks that keep bf16 and multi-process launches honest."""

from __future__ import annotations

import logging
import os

import torch
from transformers import TrainingArguments

from ..errors import ConfigError
from ..hardware import has_native_bf16
from ..tasks import Task
from .config import PROJECT_TRAINING_KEYS, Config

log = logging.getLogger("arabic_news.training")


def default_training_arguments(task: Task) -> dict:
    return {
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "logging_strategy": "epoch",
        "load_best_model_at_end": True,
        "metric_for_best_model": task.headline_metric,
        "greater_is_better": True,
        "save_total_limit": 1,
        "report_to": "none",
        "train_sampling_strategy": "group_by_length",
        "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 32,
        "learning_rate": 5e-5,
        "num_train_epochs": 3,
        "seed": 42,
    }


def training_arguments(config: Config, has_dev: bool) -> TrainingArguments:
    values = default_training_arguments(config.task_type)
    if not has_dev:
        values.update(eval_strategy="no", load_best_model_at_end=False)
    values.update({k: v for k, v in config.training.items() if k not in PROJECT_TRAINING_KEYS})
    if values.get("bf16") and not has_native_bf16("cuda" if torch.cuda.is_available() else "cpu"):
        log.warning(
            "bf16 requested but this device has no native bf16 (on a CPU: AVX-512 BF16 or AMX), where "
            "autocast would emulate it many times slower; training in fp32"
        )
        values["bf16"] = False
    if values.get("bf16") and not torch.cuda.is_available():
        values.setdefault("use_cpu", True)  # Trainer wants this said explicitly for bf16 autocast on CPU
    launched = int(os.environ.get("WORLD_SIZE", "1"))  # set by torchrun / accelerate launch
    if launched > 1 and not torch.cuda.is_available():
        values.setdefault("use_cpu", True)  # without it accelerate ignores the process group on CPU (no gloo DDP)
    try:
        args = TrainingArguments(**values)
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"training: {err}", path=config.source, hint="see transformers.TrainingArguments for the valid values"
        ) from None
    if args.world_size != launched:
        # N unconnected copies of one run would overwrite each other's checkpoints in the same folder.
        raise ConfigError(
            f"launched as {launched} processes but training would run in {args.world_size}",
            path=config.source,
            hint="on CPU drop training.use_cpu=false; on GPUs give each process "
            "its own device (torchrun --nproc_per_node <= number of GPUs)",
        )
    return args
