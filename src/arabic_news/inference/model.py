"""One trained model (NER or topic) with its tokenizer and codec, ready to predict Documents.

The checkpoint's metadata says how its inputs were made (normalization, granularity, windows), so inference repeats
training's preprocessing exactly. Batches are sorted by length and padded per batch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import CheckpointMetadata, load_checkpoint
from ..data import Document
from ..errors import CheckpointError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


class TaskModel:
    """`TaskModel.load(path)` reads a checkpoint; training builds one around the model it is training, so dev scores
    come from this very inference path."""

    def __init__(self, model, tokenizer, metadata: CheckpointMetadata, path: Path | None = None):
        self.model, self.tokenizer, self.metadata, self.path = model, tokenizer, metadata, path
        self.task = metadata.task_type
        self.codec = self.task.codec(tokenizer, metadata.labels, metadata.preprocessing)

    @classmethod
    def load(
        cls, path: str | Path, device: str | None = None, dtype: str = "fp32", quantize: str | None = None
    ) -> TaskModel:
        model, tokenizer, metadata = load_checkpoint(path)
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        return cls(_prepare(model, device, dtype, quantize), tokenizer, metadata, Path(path))

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def labels(self) -> list[str]:
        return list(self.metadata.labels)

    def predict_documents(self, docs: list[Document], batch_size: int = 32, progress: bool = False) -> list[Document]:
        """Copies of `docs` with this model's entities (NER) or topic (topic) in place of the gold ones."""
        encoded = [self.codec.encode(d) for d in docs]
        logits = self._run([self.codec.inference_features(e) for e in encoded], batch_size, progress)
        return [self.codec.decode_into(d, e, lg) for d, e, lg in zip(docs, encoded, logits)]

    @torch.inference_mode()
    def _run(self, per_doc: list[list[dict]], batch_size: int, progress: bool) -> list[list[np.ndarray]]:
        """Forward every window of every document in length-sorted batches; logits come back per document (per
        token for token classification, one row per window for sequence classification)."""
        flat = [(d, w, f["input_ids"]) for d, windows in enumerate(per_doc) for w, f in enumerate(windows)]
        order = sorted(range(len(flat)), key=lambda i: len(flat[i][2]))
        results: list[list] = [[None] * len(windows) for windows in per_doc]
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"predict ({self.task.name})", unit="batch")
        pad = self.tokenizer.pad_token_id or 0
        device = self.device
        was_training = self.model.training
        self.model.eval()
        for batch in batches:
            width = max(len(flat[i][2]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                seq = flat[i][2]
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            logits = logits.float().cpu().numpy()
            for row, i in enumerate(batch):
                d, w, seq = flat[i]
                results[d][w] = logits[row, : len(seq)] if logits.ndim == 3 else logits[row]
        self.model.train(was_training)
        return results


def _prepare(model, device: torch.device, dtype: str, quantize: str | None):
    model.eval()
    if quantize == "int8":
        if device.type != "cpu":
            raise CheckpointError(
                "int8 dynamic quantization runs on CPU only", hint="drop --quantize or use --device cpu"
            )
        with warnings.catch_warnings():  # torch.ao announces its move to torchao; the API still works in torch 2.x
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
            return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    if quantize is not None:
        raise CheckpointError(f"unknown quantization {quantize!r}", hint="use int8 or leave it out")
    if dtype not in DTYPES:
        raise CheckpointError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    return model.to(device=device, dtype=DTYPES[dtype])
