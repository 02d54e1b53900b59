"""One trained model (NER or topic) with its tokenizer and codec, ready to predict Documents.

The checkpoint's metadata says how its inputs were made (normalization, granularity, windows), so inference repeats
training's preprocessing exactly. Batches are sorted by length and padded per batch, then handed to a Backend
(backends.py): PyTorch for a training folder, ONNX Runtime for an exported one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checkpoint import CheckpointMetadata, is_onnx_export, load_checkpoint, load_exported, load_lexical, read_crf
from ..data import Document
from ..errors import CheckpointError
from ..hardware import has_native_bf16
from ..tasks import CrfParams
from .backends import Backend, OnnxBackend, TorchBackend

# How an NER model turns per-unit scores into tags: 'auto' = the checkpoint's CRF when it has one, else 'argmax';
# 'argmax' = each unit's most probable tag (what plain transformers gives); 'constrained' = the best sequence with
# no I-X after O or after another type (Viterbi, with the CRF's transition scores when the checkpoint has them).
DECODINGS = ("auto", "argmax", "constrained")


class TaskModel:
    """`TaskModel.load(path)` reads a checkpoint folder or an ONNX export; training builds one around the model it is
    training (`TaskModel(TorchBackend(model), ...)`), so dev scores come from this very inference path.

    A topic checkpoint with a lexical component (metadata `lexical`, files in `path`) fuses it in the codec's decoding,
    whatever the backend; without `path` the encoder runs alone (training's dev scoring of each epoch)."""

    def __init__(
        self,
        backend: Backend,
        tokenizer,
        metadata: CheckpointMetadata,
        path: Path | None = None,
        crf: CrfParams | None = None,
    ):
        """`crf`: an NER model's CRF scores (decoding then runs constrained Viterbi with them)."""
        self.backend, self.tokenizer, self.metadata, self.path = backend, tokenizer, metadata, path
        self.task = metadata.task_type
        self.lexical = load_lexical(path, metadata) if path is not None else None
        self.codec = self.task.codec(tokenizer, metadata.labels, metadata.preprocessing, self.lexical)
        self.crf = crf
        if crf is not None:
            self.codec.use_crf(crf)
        self.choice = ""  # why this backend and precision, when load() chose them

    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str | None = None,
        dtype: str = "auto",
        quantize: str | None = None,
        threads: int | None = None,
        decoding: str = "auto",
    ) -> TaskModel:
        """A training folder runs in PyTorch: `dtype` 'auto' (bf16 where the device computes bf16 natively, else
        fp32), 'fp32' or 'bf16', or `quantize='int8'` (dynamic, CPU). An ONNX export runs in ONNX Runtime with the
        precision it was exported in (`dtype` 'auto' or 'fp32' leave it as it is); `threads` sets ONNX Runtime's intra-op threads (torch's are process-wide).
        `decoding` (NER; a topic model ignores it): one of DECODINGS."""
        if decoding not in DECODINGS:
            raise CheckpointError(f"unknown decoding {decoding!r}", hint=f"use one of {', '.join(DECODINGS)}")
        path = Path(path)
        device = device or _default_device()
        if is_onnx_export(path):
            if dtype == "bf16" or quantize:
                raise CheckpointError(
                    "precision and quantization are fixed when a model is exported; this folder is an ONNX export",
                    path=path,
                    hint="drop --dtype/--quantize, or export again with the precision you want",
                )
            tokenizer, metadata = load_exported(path)
            backend = OnnxBackend.from_folder(path, threads=threads, device=device)
            model = cls(backend, tokenizer, metadata, path, _decoder(path, metadata, decoding))
            model.choice = "exported precision"
        else:
            torch_model, tokenizer, metadata = load_checkpoint(path)
            precision, why = resolve_dtype(dtype, device, quantize)
            backend = TorchBackend.prepare(torch_model, device, precision, quantize)
            model = cls(backend, tokenizer, metadata, path, _decoder(path, metadata, decoding))
            model.choice = why
        if model.backend.num_labels != len(metadata.labels):
            raise CheckpointError(
                f"the model gives {model.backend.num_labels} scores per token or text but the metadata lists "
                f"{len(metadata.labels)} labels",
                path=path,
                hint="the folder's parts come from different runs: retrain or re-export",
            )
        return model

    @property
    def labels(self) -> list[str]:
        return list(self.metadata.labels)

    def describe(self) -> str:
        """One line for people: which model, task, engine and precision, and why that precision."""
        why = f" ({self.choice})" if self.choice else ""
        extra = ""
        if self.crf is not None:
            extra = ", CRF Viterbi decoding" if self.metadata.crf else ", constrained BIO decoding"
        if self.lexical is not None:
            s = self.lexical.settings
            extra += f", fused with TF-IDF + logistic regression ({s.fusion}, encoder weight {s.weight:g})"
        return f"{self.task.name}: {self.path} - {self.backend.description}{why}{extra}"

    def predict_documents(self, docs: list[Document], batch_size: int = 32, progress: bool = False) -> list[Document]:
        """Copies of `docs` with this model's entities (NER) or topic (topic) in place of the gold ones."""
        encoded, logits = self.forward(docs, batch_size, progress)
        return self.codec.decode_documents(docs, encoded, logits)

    def forward(self, docs: list[Document], batch_size: int = 32, progress: bool = False):
        """(encoded documents, per-document window logits): the model's raw view, before decoding."""
        encoded = [self.codec.encode(d) for d in docs]
        return encoded, self._run([self.codec.inference_features(e) for e in encoded], batch_size, progress)

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
        for batch in batches:
            width = max(len(flat[i][2]) for i in batch)
            ids = np.full((len(batch), width), pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                seq = flat[i][2]
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            logits = self.backend(ids, mask)
            for row, i in enumerate(batch):
                d, w, seq = flat[i]
                results[d][w] = logits[row, : len(seq)] if logits.ndim == 3 else logits[row]
        return results


def _decoder(path: Path, metadata: CheckpointMetadata, decoding: str) -> CrfParams | None:
    """The CRF scores the codec decodes with (None: argmax), from the folder's crf.safetensors or the constraints
    alone."""
    if not metadata.task_type.sequence_decoding or decoding == "argmax":
        return None
    crf = read_crf(path, metadata)
    if crf is None and decoding == "constrained":
        return CrfParams.zeros(len(metadata.labels))
    return crf


def resolve_dtype(dtype: str | None, device: str, quantize: str | None) -> tuple[str, str]:
    """(precision, why) for a PyTorch model. 'auto' takes bf16 only where the hardware computes it natively (its F1
    stays within ~0.1 of fp32 in benchmarks/results/inference_speed.json); emulated bf16 is many times slower."""
    if quantize:
        return "fp32", f"quantize={quantize} asked for"
    if dtype not in ("auto", None):
        return dtype, "asked for"
    if device == "cuda":
        native = has_native_bf16(device)
        return ("bf16", "auto: the GPU has native bf16") if native else ("fp32", "auto: the GPU lacks bf16")
    if has_native_bf16(device):
        return "bf16", "auto: this CPU has native bf16 (AVX-512 BF16 or AMX)"
    return "fp32", "auto: this CPU has no native bf16; an int8 ONNX export is faster here (arabic-news export)"


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
