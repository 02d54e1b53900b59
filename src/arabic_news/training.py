"""Fine-tune an encoder for one task with the Hugging Face Trainer, from a Config to a finished checkpoint folder.

The folder loads with the Auto classes and `pipeline` with no project code; beside the weights go the project's
metadata (written LAST, so its presence marks a finished model), metrics, a training curve and a model card.
Dev scores during training come from the inference path itself (`TaskModel.predict_documents`), so the number used
to pick the best epoch is the number a user will see.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from transformers import (AutoModelForSequenceClassification, AutoModelForTokenClassification,
                          DataCollatorForTokenClassification, DataCollatorWithPadding, EarlyStoppingCallback, Trainer,
                          TrainingArguments, set_seed)

from . import metrics as scoring
from .arabic import NormalizeOptions
from .atomic import atomic_write_json
from .config import PROJECT_TRAINING_KEYS, Config, save_config
from .document import Document, label_set, topic_set
from .encoder import load_tokenizer, resolve_model_path
from .errors import ConfigError, DataError
from .formats import read_documents
from .inference import METADATA_FILE, TaskModel
from .ner_encoding import ner_labels
from .report_files import plot_training_curve, write_model_card

log = logging.getLogger("arabic_news.training")


def default_training_arguments(task: str) -> dict:
    return {
        "eval_strategy": "epoch", "save_strategy": "epoch", "logging_strategy": "epoch",
        "load_best_model_at_end": True, "metric_for_best_model": "f1" if task == "ner" else "macro_f1",
        "greater_is_better": True, "save_total_limit": 1, "report_to": "none",
        "train_sampling_strategy": "group_by_length", "per_device_train_batch_size": 16,
        "per_device_eval_batch_size": 32, "learning_rate": 5e-5, "num_train_epochs": 3, "seed": 42,
    }


class ProjectTrainer(Trainer):
    """A Trainer whose evaluation adds scores computed by predicting the dev Documents through the inference path."""

    def __init__(self, *args, dev_documents: list[Document] | None = None, metadata: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.dev_documents, self.metadata = dev_documents or [], metadata

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        output = super().evaluation_loop(dataloader, description, True, ignore_keys, metric_key_prefix)
        if self.dev_documents:
            model = TaskModel(self.model, self.processing_class, self.metadata)
            predicted = model.predict_documents(self.dev_documents, self.args.per_device_eval_batch_size)
            for key, value in scoring.headline(self.metadata["task"], self.dev_documents, predicted).items():
                output.metrics[f"{metric_key_prefix}_{key}"] = value
        return output


def train(config: Config, overwrite: bool = False, callbacks: list | None = None) -> Path:
    """Train one model; rerunning an interrupted run's command resumes from its last checkpoint."""
    out = config.output_dir
    resume = prepare_output_dir(out, overwrite or bool(config.training.get("overwrite_output_dir")))
    model_path, tokenizer = load_encoder_tokenizer(config)
    train_docs, dev_docs, test_docs = load_splits(config)
    labels = task_labels(config, train_docs)
    metadata = build_metadata(config, labels, model_path)
    # Seed before the new head is initialised (Trainer seeds only later), so one config gives one model.
    set_seed(int(config.training.get("seed", default_training_arguments(config.task)["seed"])))
    model = TaskModel(load_model(config, model_path, labels), tokenizer, metadata)
    train_set = features_dataset(model.codec, train_docs, "train")
    dev_set = features_dataset(model.codec, dev_docs, "dev") if dev_docs else None
    args = training_arguments(config, has_dev=dev_set is not None)
    collator = (DataCollatorForTokenClassification(tokenizer) if config.task == "ner"
                else DataCollatorWithPadding(tokenizer))
    callbacks = list(callbacks or [])
    if dev_set is not None and config.training.get("early_stopping_patience"):
        callbacks.append(EarlyStoppingCallback(int(config.training["early_stopping_patience"])))
    trainer = ProjectTrainer(model=model.model, args=args, train_dataset=train_set, eval_dataset=dev_set,
                             data_collator=collator, processing_class=tokenizer, callbacks=callbacks,
                             compute_loss_func=class_weighted_loss(config, train_docs, labels),
                             dev_documents=dev_docs, metadata=metadata)
    if resume:
        log.warning("resuming the interrupted run from %s", resume)
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    if trainer.is_world_process_zero():
        finish(trainer, model, config, metadata, dev_docs, test_docs, result, seconds)
    trainer.accelerator.wait_for_everyone()  # under torchrun, no rank returns before rank 0 has finished the folder
    return out


def prepare_output_dir(out: Path, overwrite: bool) -> str | None:
    """Refuse to clobber a finished model; return the checkpoint to resume from, if a run was interrupted."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"training.output_dir {str(out)!r} is a file, not a folder",
                          hint="choose a folder path for training.output_dir")
    if (out / METADATA_FILE).exists():
        if not overwrite:
            raise ConfigError(f"{out} already holds a finished model", hint="pass --overwrite to replace it, or "
                              "choose another folder with --set training.output_dir=...")
        (out / METADATA_FILE).unlink(missing_ok=True)  # first: a crash below never leaves a "finished" folder
        for stale in out.glob("checkpoint-*"):          # missing_ok, ignore_errors: each torchrun process does this
            shutil.rmtree(stale, ignore_errors=True)
        return None
    return last_complete_checkpoint(out) if out.is_dir() else None


def last_complete_checkpoint(out: Path) -> str | None:
    """The newest `checkpoint-N` saved completely. The Trainer writes trainer_state.json last, so a folder without a
    readable one was cut off by a crash while saving: it is deleted (resuming from it would fail, and the Trainer's
    checkpoint rotation would take it for the newest) and the one before it is used."""
    numbered = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-", 1)[1].isdigit()]
    for folder in sorted(numbered, key=lambda p: int(p.name.split("-", 1)[1]), reverse=True):
        try:
            json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
            return str(folder)
        except (OSError, ValueError):
            log.warning("removing %s: it was only partly saved when the run stopped", folder)
            shutil.rmtree(folder, ignore_errors=True)  # every torchrun process may do this: ignore the losers' errors
    return None


def load_encoder_tokenizer(config: Config):
    """The encoder's path for `from_pretrained` and its tokenizer; errors name the config file and key."""
    try:
        model_path = resolve_model_path(config.model.name_or_path)
        return model_path, load_tokenizer(model_path)
    except ConfigError as err:
        raise ConfigError(f"model.name_or_path: {err.message}", path=err.path or config.source, hint=err.hint) from None


def load_splits(config: Config) -> tuple[list[Document], list[Document], list[Document]]:
    data = config.data
    train_docs = _read(data.train, "data.train", config)
    dev_docs = _read(data.dev, "data.dev", config) if data.dev else []
    if not dev_docs and data.dev_fraction:
        cut = len(train_docs) - max(1, round(len(train_docs) * data.dev_fraction))
        train_docs, dev_docs = train_docs[:cut], train_docs[cut:]
    test_docs = _read(data.test, "data.test", config) if data.test else []
    for name, docs in (("train", train_docs), ("dev", dev_docs), ("test", test_docs)):
        if name == "train" or docs:
            _check_annotated(config.task, docs, name, config)
    return train_docs, dev_docs, test_docs


def _read(path: str, key: str, config: Config) -> list[Document]:
    if not Path(path).exists():
        raise ConfigError(f"{key}: {path!r} does not exist (relative paths are read from the folder you run in)",
                          path=config.source, hint=f"fix {key} or pass --set {key}=PATH")
    docs = read_documents(path)
    if not docs:
        raise DataError(f"{key}: {path} holds no documents", path=path, hint="check the file's format and content")
    return docs


def _check_annotated(task: str, docs: list[Document], name: str, config: Config) -> None:
    if task == "topic":
        missing = [d.id for d in docs if d.topic is None]
        if missing:
            raise DataError(f"{len(missing)} {name} documents have no topic (first: {missing[0]!r})",
                            path=getattr(config.data, name), hint="add a topic to every document, or use task: ner")


def task_labels(config: Config, train_docs: list[Document]) -> list[str]:
    if config.task == "ner":
        types = label_set(train_docs)
        if not types:
            raise DataError("the training data has no entities", path=config.data.train,
                            hint="annotate entities or use task: topic")
        return ner_labels(types, config.preprocessing.granularity)
    topics = topic_set(train_docs)
    if len(topics) < 2:
        raise DataError(f"topic classification needs at least two topics in train, found {topics}",
                        path=config.data.train, hint="a classifier needs examples of two or more topics")
    return topics


def build_metadata(config: Config, labels: list[str], model_path: str) -> dict:
    p = config.preprocessing
    return {
        "format_version": 1, "task": config.task, "labels": labels,
        "encoder": config.model.name_or_path, "encoder_path_at_training": str(model_path),
        "preprocessing": {"normalize": NormalizeOptions.from_dict(p.normalize).to_dict(), "granularity": p.granularity,
                          "max_length": p.max_length, "stride": p.stride, "topic_input": p.topic_input,
                          "use_title": p.use_title},
        "data": {key: _fingerprint(getattr(config.data, key)) for key in ("train", "dev", "test")
                 if getattr(config.data, key)},
    }


def _fingerprint(path: str) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": path, "sha256": digest.hexdigest()}


def load_model(config: Config, model_path: str, labels: list[str]):
    auto = AutoModelForTokenClassification if config.task == "ner" else AutoModelForSequenceClassification
    try:
        model = auto.from_pretrained(model_path, num_labels=len(labels), id2label=dict(enumerate(labels)),
                                     label2id={label: i for i, label in enumerate(labels)}, use_safetensors=True,
                                     trust_remote_code=False)  # never run a model folder's own code, never ask
    except (OSError, ValueError) as err:  # what from_pretrained raises for a folder it cannot use
        raise ConfigError(f"model.name_or_path: cannot load {model_path}: {str(err).splitlines()[0]}",
                          path=config.source, hint="use a folder with config.json and model.safetensors of a standard "
                          "transformers architecture (its own code, auto_map, is never run), or 'embedded:e5-small'"
                          ) from None
    if config.model.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    return model


def features_dataset(codec, docs: list[Document], split: str):
    from datasets import Dataset

    rows, truncated = [], 0
    for doc in docs:  # encode once: the features and the count of tokens a 'head' input leaves out
        encoded = codec.encode(doc)
        truncated += encoded.truncated_tokens
        rows.extend(dict(f, length=len(f["input_ids"])) for f in codec.training_features(doc, encoded))
    log.warning("%s: %d documents -> %d windows of at most %d tokens%s", split, len(docs), len(rows),
                codec.max_length, f"; the 'head' strategy leaves out {truncated} tokens" if truncated else "")
    return Dataset.from_list(rows)


def training_arguments(config: Config, has_dev: bool) -> TrainingArguments:
    values = default_training_arguments(config.task)
    if not has_dev:
        values.update(eval_strategy="no", load_best_model_at_end=False)
    values.update({k: v for k, v in config.training.items() if k not in PROJECT_TRAINING_KEYS})
    if values.get("bf16") and not _bf16_supported():
        log.warning("bf16 requested but this device does not support it; training in fp32")
        values["bf16"] = False
    if values.get("bf16") and not torch.cuda.is_available():
        values.setdefault("use_cpu", True)  # Trainer wants this said explicitly for bf16 autocast on CPU
    launched = int(os.environ.get("WORLD_SIZE", "1"))  # set by torchrun / accelerate launch
    if launched > 1 and not torch.cuda.is_available():
        values.setdefault("use_cpu", True)  # without it accelerate ignores the process group on CPU (no gloo DDP)
    try:
        args = TrainingArguments(**values)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"training: {err}", path=config.source,
                          hint="see transformers.TrainingArguments for the valid values") from None
    if args.world_size != launched:
        # N unconnected copies of one run would overwrite each other's checkpoints in the same folder.
        raise ConfigError(f"launched as {launched} processes but training would run in {args.world_size}",
                          path=config.source, hint="on CPU drop training.use_cpu=false; on GPUs give each process "
                          "its own device (torchrun --nproc_per_node <= number of GPUs)")
    return args


def _bf16_supported() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return True  # CPU autocast to bf16 works everywhere; it is fast on AVX-512 BF16 / AMX CPUs


def class_weighted_loss(config: Config, train_docs: list[Document], labels: list[str]):
    """Cross-entropy summed over the labelled items and divided by `num_items_in_batch`, the item count of the whole
    step across all processes; with `class_weights: balanced` topic classes weigh n / (k * count) (scikit-learn's
    definition).

    Why not the model's own loss: BERT heads return a per-process mean, which the Trainer then multiplies by the
    number of processes (it expects a sum over its item count), so under torchrun the loss and the gradients came out
    N times too large. Summed this way, N processes give the same loss and gradients as one process with the same
    global batch, and gradient accumulation weighs every token equally.
    """
    weights = None
    if config.task == "topic" and config.training.get("class_weights") == "balanced":
        counts = np.array([sum(d.topic == label for d in train_docs) for label in labels], dtype=np.float64)
        weights = torch.tensor(counts.sum() / (len(labels) * np.maximum(counts, 1)), dtype=torch.float32)

    # A loss function replaces the Trainer's label smoother, so its one setting is applied here.
    smoothing = float(config.training.get("label_smoothing_factor") or 0.0)

    def loss(outputs, labels_, num_items_in_batch=None):
        logits = outputs["logits"].float()
        logits, targets = logits.reshape(-1, logits.shape[-1]), labels_.reshape(-1)
        options = dict(weight=weights.to(logits.device) if weights is not None else None, ignore_index=-100,
                       label_smoothing=smoothing)
        if num_items_in_batch is None:
            return torch.nn.functional.cross_entropy(logits, targets, **options)
        return torch.nn.functional.cross_entropy(logits, targets, reduction="sum", **options) / num_items_in_batch

    return loss


def finish(trainer, model: TaskModel, config: Config, metadata: dict, dev_docs, test_docs, result, seconds) -> None:
    out = config.output_dir
    trainer.save_model(str(out))
    (out / "training_args.bin").unlink(missing_ok=True)  # a pickle; config.yaml records the same settings
    scores = {"dev": _score(model, dev_docs, config), "test": _score(model, test_docs, config)}
    metadata["scores"] = {k: v for k, v in scores.items() if v}
    metadata["training"] = {"seconds": round(seconds, 1), "global_step": result.global_step,
                            "best_checkpoint": trainer.state.best_model_checkpoint and
                            Path(trainer.state.best_model_checkpoint).name}
    save_config(config, out / "config.yaml")
    atomic_write_json(out / "metrics.json", {"scores": metadata["scores"], "train": result.metrics,
                                             "log_history": trainer.state.log_history})
    plot_training_curve(trainer.state.log_history, out / "training_curve.png", metadata)
    write_model_card(out / "README.md", config, metadata)
    atomic_write_json(out / METADATA_FILE, metadata)  # last: marks the folder as a finished model
    for stale in out.glob("checkpoint-*"):  # after it: a crash in between leaves a finished model, not a lost run
        shutil.rmtree(stale, ignore_errors=True)


def _score(model: TaskModel, docs: list[Document], config: Config) -> dict:
    if not docs:
        return {}
    predicted = model.predict_documents(docs, batch_size=32)
    return scoring.headline(config.task, docs, predicted)
