"""Fine-tune an encoder for one task with the Hugging Face Trainer, from a Config to a finished checkpoint folder.

The folder loads with the Auto classes and `pipeline` with no project code; beside the weights go the project's
metadata (written LAST, so its presence marks a finished model), metrics, a training curve and a model card.
Dev scores during training come from the inference path itself (`TaskModel.predict_documents`), so the number used
to pick the best epoch is the number a user will see.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from transformers import EarlyStoppingCallback, Trainer, set_seed

from ..atomic import atomic_write_json
from ..checkpoint import (
    EPOCH_WEIGHTS_FOLDER,
    CheckpointMetadata,
    prepare_output_dir,
    remove_snapshots,
    write_crf,
    write_metadata,
)
from ..data import Document
from ..errors import ConfigError
from ..hardware import peak_rss_mb
from ..inference import TaskModel, TorchBackend
from ..modeling import load_tokenizer, resolve_model_path
from ..text import NormalizeOptions
from .arguments import default_training_arguments, training_arguments
from .averaging import EpochSnapshots, choose_average
from .card import plot_training_curve, write_model_card
from .config import Config, save_config
from .crf import CRF_ATTRIBUTE, attach_crf, crf_loss, crf_of
from .features import cache_folder, features_dataset, tokenizer_fingerprint
from .frozen import FrozenLayerCache, freeze_bottom
from .lexical import component_scores, fit_lexical
from .loss import class_weighted_loss
from .optimizer import layerwise_parameter_groups
from .splits import fingerprints, load_splits

log = logging.getLogger("arabic_news.training")


class ProjectTrainer(Trainer):
    """A Trainer whose evaluation adds scores computed by predicting the dev Documents through the inference path."""

    def __init__(
        self,
        *args,
        dev_documents: list[Document] | None = None,
        metadata: CheckpointMetadata | None = None,
        layerwise_lr_decay: float | None = None,
        crf_learning_rate: float | None = None,
        frozen_cache: FrozenLayerCache | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.dev_documents, self.metadata = dev_documents or [], metadata
        self.layerwise_lr_decay, self.crf_learning_rate = layerwise_lr_decay, crf_learning_rate
        self.frozen_cache = frozen_cache

    def get_train_dataloader(self):
        """Under `model.cache_frozen_layers` training batches carry the frozen layers' stored output; evaluation
        batches keep their token ids."""
        if self.frozen_cache is None:
            return super().get_train_dataloader()
        collator = self.data_collator
        self.data_collator = self.frozen_cache.collator(collator)
        try:
            return super().get_train_dataloader()
        finally:
            self.data_collator = collator

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.frozen_cache is None:
            return super().training_step(model, inputs, num_items_in_batch)
        with self.frozen_cache.skipping():  # forward and backward run the top layers only
            return super().training_step(model, inputs, num_items_in_batch)

    def create_optimizer(self, model=None):
        """The Trainer's optimizer, with one learning rate per layer under `training.layerwise_lr_decay`, and the
        CRF's scores in a group of their own under `model.crf_learning_rate`."""
        if self.optimizer is not None:
            return super().create_optimizer(model)
        target = self.model if model is None else model
        if self.layerwise_lr_decay:
            self._layerwise_optimizer(target)
        else:
            super().create_optimizer(model)
        layer = crf_of(target)
        if layer is not None and self.crf_learning_rate:
            own = {id(p) for p in layer.parameters()}
            for group in self.optimizer.param_groups:
                group["params"] = [p for p in group["params"] if id(p) not in own]
            self.optimizer.param_groups = [g for g in self.optimizer.param_groups if g["params"]]
            self.optimizer.add_param_group(
                {"params": list(layer.parameters()), "lr": self.crf_learning_rate, "weight_decay": 0.0}
            )
        return self.optimizer

    def _layerwise_optimizer(self, target) -> None:
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, target)
        groups = layerwise_parameter_groups(
            target,
            self.args.learning_rate,
            self.layerwise_lr_decay,
            self.args.weight_decay,
            decayed=set(self.get_decay_parameter_names(target)),
        )
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)  # each group's lr overrides the kwargs' one

    def evaluation_loop(
        self, dataloader, description, prediction_loss_only=None, ignore_keys=None, metric_key_prefix="eval"
    ):
        output = super().evaluation_loop(dataloader, description, True, ignore_keys, metric_key_prefix)
        if self.dev_documents:
            model = task_model(self.model, self.processing_class, self.metadata)
            predicted = model.predict_documents(self.dev_documents, self.args.per_device_eval_batch_size)
            for key, value in model.task.headline(self.dev_documents, predicted).items():
                output.metrics[f"{metric_key_prefix}_{key}"] = value
        return output


def train(config: Config, overwrite: bool = False, callbacks: list | None = None) -> Path:
    """Train one model; rerunning an interrupted run's command resumes from its last checkpoint."""
    out = config.output_dir
    resume = prepare_output_dir(out, overwrite or bool(config.training.get("overwrite_output_dir")))
    model_path, tokenizer = load_encoder_tokenizer(config)
    train_docs, dev_docs, test_docs = load_splits(config)
    task = config.task_type
    labels = task.labels(train_docs, config.preprocessing, config.data.train)
    metadata = build_metadata(config, labels, model_path)
    # Seed before the new head is initialised (Trainer seeds only later), so one config gives one model.
    set_seed(int(config.training.get("seed", default_training_arguments(task)["seed"])))
    network = load_model(config, model_path, labels)
    model = task_model(network, tokenizer, metadata)
    cache = cache_folder(config.data.features_cache)
    key_parts = {
        "task": metadata.task,
        "labels": labels,
        "preprocessing": metadata.preprocessing.to_dict(),
        "tokenizer": tokenizer_fingerprint(tokenizer),
    }
    train_set = features_dataset(model.codec, train_docs, "train", cache, key_parts)
    dev_set = features_dataset(model.codec, dev_docs, "dev", cache, key_parts) if dev_docs else None
    args = training_arguments(config, has_dev=dev_set is not None)
    started = time.perf_counter()  # storing the frozen layers' output is part of what training costs
    frozen_cache = None
    if config.model.cache_frozen_layers:
        network.to(args.device)  # store on the training device (the Trainer would move the model there anyway)
        frozen_cache = FrozenLayerCache.build(
            network,
            config.model.freeze_layers,
            train_set,
            tokenizer,
            config.source,
            progress=not args.disable_tqdm and args.process_index == 0,  # where the Trainer shows its own bars
        )
    callbacks = list(callbacks or [])
    if dev_set is not None and config.training.get("early_stopping_patience"):
        callbacks.append(EarlyStoppingCallback(int(config.training["early_stopping_patience"])))
    average_last = config.training.get("average_last_epochs")
    if average_last:
        callbacks.append(EpochSnapshots(out / EPOCH_WEIGHTS_FOLDER, average_last))
    trainer = ProjectTrainer(
        model=network,
        args=args,
        train_dataset=train_set,
        eval_dataset=dev_set,
        data_collator=task.collator(tokenizer),
        processing_class=tokenizer,
        callbacks=callbacks,
        compute_loss_func=crf_loss(layer)
        if (layer := crf_of(network))
        else class_weighted_loss(config, train_docs, labels),
        dev_documents=dev_docs,
        metadata=metadata,
        layerwise_lr_decay=config.training.get("layerwise_lr_decay"),
        crf_learning_rate=config.model.crf_learning_rate,
        frozen_cache=frozen_cache,
    )
    if resume:
        log.warning("resuming the interrupted run from %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    if trainer.is_world_process_zero():
        averaging = None
        if average_last:
            averaging = choose_average(
                network, out / EPOCH_WEIGHTS_FOLDER, dev_scorer(network, tokenizer, metadata, dev_docs)
            )
        model = task_model(network, tokenizer, metadata)  # the CRF's scores as training left them
        docs = {"train": train_docs, "dev": dev_docs, "test": test_docs}
        finish(trainer, model, config, docs, result, seconds, averaging)
    trainer.accelerator.wait_for_everyone()  # under torchrun, no rank returns before rank 0 has finished the folder
    return out


def dev_scorer(network, tokenizer, metadata: CheckpointMetadata, dev_docs: list[Document]):
    """A function that scores the network as it is at the call on dev, through the inference path (the number the
    Trainer chose the best epoch by); None without a dev set."""
    if not dev_docs:
        return None

    def score() -> float:
        model = task_model(network, tokenizer, metadata)
        predicted = model.predict_documents(dev_docs, batch_size=32)
        return model.task.headline(dev_docs, predicted)[model.task.headline_metric]

    return score


def load_encoder_tokenizer(config: Config):
    """The encoder's path for `from_pretrained` and its tokenizer; errors name the config file and key."""
    try:
        model_path = resolve_model_path(config.model.name_or_path)
        return model_path, load_tokenizer(model_path)
    except ConfigError as err:
        raise ConfigError(f"model.name_or_path: {err.message}", path=err.path or config.source, hint=err.hint) from None


def build_metadata(config: Config, labels: list[str], model_path: str) -> CheckpointMetadata:
    # Stored with every normalization option spelled out, so that a later change of defaults cannot alter it.
    normalize = NormalizeOptions.from_dict(config.preprocessing.normalize).to_dict()
    preprocessing = dataclasses.replace(config.preprocessing, normalize=normalize)
    return CheckpointMetadata(
        task=config.task,
        labels=labels,
        preprocessing=preprocessing,
        encoder=config.model.name_or_path,
        encoder_path_at_training=str(model_path),
        data=fingerprints(config),
        crf=config.model.crf,
    )


def task_model(network, tokenizer, metadata: CheckpointMetadata) -> TaskModel:
    """The inference path around the model in training, decoding with its CRF's current scores when it has one."""
    layer = crf_of(network)
    return TaskModel(TorchBackend(network), tokenizer, metadata, crf=layer.params() if layer else None)


def load_model(config: Config, model_path: str, labels: list[str]):
    try:
        model = config.task_type.auto_model_class().from_pretrained(
            model_path,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            use_safetensors=True,
            trust_remote_code=False,
            **attention_dropout_setting(config, model_path),
        )  # never run a model folder's own code, never ask
    except (OSError, ValueError) as err:  # what from_pretrained raises for a folder it cannot use
        raise ConfigError(
            f"model.name_or_path: cannot load {model_path}: {str(err).splitlines()[0]}",
            path=config.source,
            hint="use a folder with config.json and model.safetensors of a standard "
            "transformers architecture (its own code, auto_map, is never run), or 'embedded:e5-small'",
        ) from None
    if config.model.crf:
        attach_crf(model, labels)
    if config.model.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if config.model.freeze_layers:
        freeze_bottom(model, config.model.freeze_layers, config.source)
    return model


def attention_dropout_setting(config: Config, model_path: str) -> dict:
    """`model.attention_dropout` as the encoder config's own key. Why it matters on a CPU: with dropout on the
    attention weights PyTorch's scaled-dot-product attention falls back to its unfused path, which materializes
    every layer's (batch x heads x length x length) weights for backward; at 0 the fused kernel runs
    (benchmarks/attention_dropout.py: 1.67x faster steps and half the peak memory on windows of 256 tokens)."""
    if config.model.attention_dropout is None:
        return {}
    from transformers import AutoConfig

    encoder = AutoConfig.from_pretrained(model_path, trust_remote_code=False)
    for key in ("attention_probs_dropout_prob", "attention_dropout"):  # BERT/ELECTRA/XLM-R, then most others
        if hasattr(encoder, key):
            return {key: float(config.model.attention_dropout)}
    raise ConfigError(
        f"model.attention_dropout: the encoder's config ({type(encoder).__name__}) has no attention dropout setting",
        path=config.source,
        hint="remove model.attention_dropout for this encoder",
    )


def finish(
    trainer, model: TaskModel, config: Config, docs: dict[str, list[Document]], result, seconds, averaging=None
) -> None:
    out, metadata = config.output_dir, model.metadata
    save_weights(trainer, out)
    (out / "training_args.bin").unlink(missing_ok=True)  # a pickle; config.yaml records the same settings
    # One forward pass per split serves the lexical fusion's choice on dev and every score below.
    forwards = {split: model.forward(docs[split], batch_size=32) for split in ("dev", "test") if docs[split]}
    extra = {}
    if config.lexical:
        dev = (docs["dev"], *forwards["dev"]) if "dev" in forwards else None
        lexical, report = fit_lexical(model, config.lexical, docs["train"], dev, out)
        metadata.lexical = {**lexical.settings.to_dict(), "features": lexical.num_features}
        report["scores"] = {s: component_scores(model, lexical, docs[s], *f) for s, f in forwards.items()}
        extra["lexical"] = report
        model = TaskModel(
            model.backend, model.tokenizer, metadata, out, crf=model.crf
        )  # the fused model, from its files
    scores = {s: _score(model, docs[s], *f) for s, f in forwards.items()}
    metadata.scores = {k: v for k, v in scores.items() if v}
    for split, values in extra.get("lexical", {}).get("scores", {}).items():
        values["fused"] = scores[split]
    metadata.training = {
        "seconds": round(seconds, 1),
        "global_step": result.global_step,
        "best_checkpoint": trainer.state.best_model_checkpoint and Path(trainer.state.best_model_checkpoint).name,
        "peak_rss_mb": peak_rss_mb(),  # of this process (under DDP: rank 0's)
    }
    if averaging is not None:
        metadata.training["averaging"] = averaging
    save_config(config, out / "config.yaml")
    atomic_write_json(
        out / "metrics.json",
        {"scores": metadata.scores, **extra, "train": result.metrics, "log_history": trainer.state.log_history},
    )
    plot_training_curve(trainer.state.log_history, out / "training_curve.png", metadata)
    write_model_card(out / "README.md", config, metadata, extra.get("lexical"))
    write_metadata(out, metadata)  # last: marks the folder as a finished model
    remove_snapshots(out)  # after it: a crash in between leaves a finished model, not a lost run


def save_weights(trainer, out: Path) -> None:
    """model.safetensors holds the encoder and its emission layer only, so that the Auto classes load it with no
    unexpected keys; a CRF's scores go beside it, to crf.safetensors."""
    network = trainer.accelerator.unwrap_model(trainer.model)
    layer = crf_of(network)
    if layer is None:
        trainer.save_model(str(out))
        return
    delattr(network, CRF_ATTRIBUTE)
    try:
        trainer.save_model(str(out))
    finally:
        setattr(network, CRF_ATTRIBUTE, layer)
    write_crf(out, layer.params())


def _score(model: TaskModel, docs: list[Document], encoded: list, logits: list) -> dict:
    """Headline scores of the model's predictions, decoded from a forward pass made earlier (`TaskModel.forward`)."""
    return model.task.headline(docs, model.codec.decode_documents(docs, encoded, logits))
