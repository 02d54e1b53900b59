"""Frozen bottom layers (`model.freeze_layers`), and training the layers above from their stored output
(`model.cache_frozen_layers`).

Freezing the embeddings block and the bottom N layers stops backward at layer N, but every step of every epoch still
runs those N layers forward, to the same result each time up to dropout. With `cache_frozen_layers` their output is
computed once per training window, before the first step, and kept in memory; each training step then feeds it to
the model as `inputs_embeds` while the embeddings block and the bottom layers pass their input through untouched,
so only the top layers run. Nothing else changes: the same model object trains (its checkpoints, its dev
evaluation, resuming and averaging see a normal model), and the bypass is on only inside a training step.

What it changes in the recipe: the bottom layers' dropout (embeddings and hidden states) no longer applies, since
their output is computed once, in eval mode. Memory: hidden size x 4 bytes per training token (e.g. 1,536 bytes
for e5-small: about 150 MB for the sample corpus's 100k tokens). Under torchrun every process stores every window.

A model whose forward does not go embeddings -> layers (so that the bypass would give other outputs) is caught
before training: `FrozenLayerCache.build` checks on a few windows that the bypass gives the full model's outputs.
"""

from __future__ import annotations

import contextlib
import logging
import time

import torch

from ..errors import ConfigError

log = logging.getLogger("arabic_news.training")

BUILD_BATCH = 16
CHECK_WINDOWS = 4
CHECK_TOLERANCE = 1e-3  # logits; the stored output was computed in other batches (other padding), so not bitwise


def encoder_layers(model) -> torch.nn.ModuleList | None:
    """The encoder's stack of layers: the ModuleList with `num_hidden_layers` members (BERT, XLM-R, ELECTRA ...)."""
    return next(
        (
            m
            for m in model.base_model.modules()
            if isinstance(m, torch.nn.ModuleList) and len(m) == model.config.num_hidden_layers
        ),
        None,
    )


def freeze_bottom(model, n_layers: int, source: str) -> None:
    """Freeze the embeddings block and the bottom `n_layers` encoder layers: backward then stops at layer
    `n_layers`, so a step costs a forward pass plus the backward of the top layers only."""
    layers = encoder_layers(model)
    if layers is None or not 0 <= n_layers <= len(layers):
        count = "no layer stack found" if layers is None else f"it has {len(layers)} layers"
        raise ConfigError(
            f"model.freeze_layers: cannot freeze {n_layers} encoder layers ({count})",
            path=source,
            hint="use a number between 0 and the encoder's num_hidden_layers",
        )
    for module in [model.base_model.embeddings, *layers[:n_layers]]:
        module.requires_grad_(False)


def _pass_through(*args, inputs_embeds=None, hidden_states=None, **kwargs):
    """A module forward that returns its input: `inputs_embeds` for an embeddings block, the hidden states (the
    first argument) for a layer."""
    if inputs_embeds is not None:
        return inputs_embeds
    return hidden_states if hidden_states is not None else args[0]


@contextlib.contextmanager
def _bypassed(modules):
    """Within the block, each module's forward returns its input (an instance attribute over the class's method;
    parameters and state dict untouched)."""
    for module in modules:
        module.forward = _pass_through
    try:
        yield
    finally:
        for module in modules:
            del module.forward


class FrozenLayerCache:
    """The frozen bottom layers' output for each training window (keyed by its token ids), and what feeds it to the
    model: a collator for the training batches and a context in which the model skips the frozen part."""

    def __init__(self, model, n_layers: int, store: dict[tuple[int, ...], torch.Tensor]):
        self.model, self.n_layers, self.store = model, n_layers, store
        layers = encoder_layers(model)
        self._bottom = [model.base_model.embeddings, *layers[:n_layers]]
        self._top = list(layers[n_layers:])

    @classmethod
    def build(
        cls, model, n_layers: int, dataset, tokenizer, source: str = "<config>", progress: bool = False
    ) -> FrozenLayerCache:
        """Run the embeddings and the bottom `n_layers` layers once over every window of `dataset` (eval mode, no
        gradients), then check that the bypass reproduces the full model on the first windows. `progress` shows a
        bar over the windows (training passes the Trainer's own choice: ANT's 10,730 take minutes on a CPU)."""
        from tqdm.auto import tqdm

        started = time.perf_counter()
        cache = cls(model, n_layers, {})
        was_training = model.training
        model.eval()
        try:
            with tqdm(total=len(dataset), desc="store frozen layers", unit="window", disable=not progress) as bar:
                for start in range(0, len(dataset), BUILD_BATCH):
                    rows = dataset[start : start + BUILD_BATCH]["input_ids"]
                    cache.store_windows(rows, tokenizer)
                    bar.update(len(rows))
            cache.verify(dataset, tokenizer, source)
        finally:
            model.train(was_training)
        megabytes = sum(t.numel() * t.element_size() for t in cache.store.values()) / 2**20
        log.info(
            "stored the bottom %d layers' output for %d training windows (%.0f MB) in %.1f s: epochs run the top "
            "layers only",
            n_layers,
            len(cache.store),
            megabytes,
            time.perf_counter() - started,
        )
        return cache

    def store_windows(self, rows: list[list[int]], tokenizer) -> None:
        """Store the bottom layers' output for these windows (token ids): one forward pass with no gradients and
        the top layers skipped. The model should be in eval mode, so that no dropout is stored."""
        batch = tokenizer.pad({"input_ids": rows}, return_tensors="pt").to(self.model.device)
        with torch.no_grad(), _bypassed(self._top):  # the top layers' output is not needed here
            hidden = self._bottom_output(batch["input_ids"], batch["attention_mask"])
        for ids, states, mask in zip(rows, hidden, batch["attention_mask"].bool()):
            # the window's own positions, in order, whatever the padding side; kept in host memory, not the GPU's
            self.store[tuple(ids)] = states[mask].cpu().clone()

    def _bottom_output(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        outputs = self.model.base_model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return outputs.hidden_states[self.n_layers]

    def verify(self, dataset, tokenizer, source: str = "<config>") -> None:
        """Raise ConfigError unless the model fed from the store gives the full model's outputs on the first windows
        of `dataset` (run by `build`; a store that no longer matches its model fails it too)."""
        rows = dataset[: min(CHECK_WINDOWS, len(dataset))]["input_ids"]
        batch = tokenizer.pad({"input_ids": rows}, return_tensors="pt").to(self.model.device)
        with torch.no_grad():
            full = self.model(**batch).logits
            with self.skipping():
                cached = {k: v.to(self.model.device) for k, v in self.cached_inputs(batch.data, rows).items()}
                bypassed = self.model(**cached).logits
        mask = batch["attention_mask"].bool()
        if full.dim() == 3:  # per-token logits: compare the windows' own positions only
            full, bypassed = full[mask], bypassed[mask]
        if not torch.allclose(full, bypassed, atol=CHECK_TOLERANCE, rtol=CHECK_TOLERANCE):
            difference = (full - bypassed).abs().max().item()
            raise ConfigError(
                f"model.cache_frozen_layers: this encoder ({type(self.model).__name__}) does not give the same "
                f"outputs from its bottom layers' stored output (largest logit difference {difference:.3g})",
                path=source,
                hint="drop model.cache_frozen_layers for this encoder (model.freeze_layers works without it)",
            )

    def cached_inputs(self, batch: dict, rows: list[list[int]]) -> dict:
        """`batch` (padded by the task's collator) with `input_ids` replaced by the windows' stored output, padded
        with zeros where the batch has padding."""
        batch = dict(batch)
        ids = batch.pop("input_ids")
        mask = batch["attention_mask"].bool() if "attention_mask" in batch else ids.new_ones(ids.shape, dtype=bool)
        stored = [self._stored(row) for row in rows]
        hidden = stored[0].new_zeros((*ids.shape, stored[0].shape[-1]))
        for i, states in enumerate(stored):
            hidden[i, mask[i].cpu()] = states
        batch["inputs_embeds"] = hidden
        return batch

    def _stored(self, row) -> torch.Tensor:
        try:
            return self.store[tuple(int(i) for i in row)]
        except KeyError:
            raise RuntimeError("a training batch holds a window whose frozen layers' output was not stored") from None

    def collator(self, base):
        """The task's collator, then the stored output in place of the token ids (for training batches only)."""

        def collate(features: list[dict]):
            return self.cached_inputs(base(features), [f["input_ids"] for f in features])

        return collate

    @contextlib.contextmanager
    def skipping(self):
        """Within the block the embeddings block and the bottom layers pass their input through: the model runs
        from `inputs_embeds` holding the stored output."""
        with _bypassed(self._bottom):
            yield
