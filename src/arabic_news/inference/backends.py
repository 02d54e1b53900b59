"""The engines that run a model's forward pass: PyTorch (a transformers model in fp32 or bf16, or dynamically
quantized) and ONNX Runtime (an exported folder, fp32 or int8). Both take padded `input_ids` and `attention_mask`
arrays and give float32 logits, so windowing, batching, decoding and offsets stay one code path (TaskModel) whatever
the engine."""

from __future__ import annotations

import json
import warnings
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ..checkpoint import EXPORT_CARD, ONNX_FILE
from ..errors import CheckpointError, MissingExtraError

DTYPES = ("fp32", "bf16")
_REEXPORT = "re-export it: arabic-news export CHECKPOINT OUT --format onnx"


class Backend(ABC):
    """Runs one forward pass: (input_ids, attention_mask) int64 arrays of shape (batch, length) to float32 logits
    of shape (batch, length, labels) for token classification or (batch, labels) for sequence classification."""

    @property
    @abstractmethod
    def description(self) -> str:
        """What runs, for people: 'torch bf16 on cpu', 'onnxruntime int8 (CPUExecutionProvider)'."""

    @property
    @abstractmethod
    def num_labels(self) -> int: ...

    @abstractmethod
    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class TorchBackend(Backend):
    """A transformers model. Training wraps the model it is training, so dev scores come from this very path; the
    model's train/eval mode is restored after each call for that reason."""

    def __init__(self, model, precision: str = "fp32"):
        self.model, self.precision = model, precision

    @property
    def description(self) -> str:
        return f"torch {self.precision} on {self.device.type}"

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def num_labels(self) -> int:
        return int(self.model.config.num_labels)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        device, was_training = self.device, self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                logits = self.model(
                    input_ids=torch.from_numpy(input_ids).to(device),
                    attention_mask=torch.from_numpy(attention_mask).to(device),
                ).logits
            return logits.float().cpu().numpy()
        finally:
            self.model.train(was_training)

    @classmethod
    def prepare(cls, model, device: str, precision: str, quantize: str | None) -> TorchBackend:
        """Move `model` to `device` in `precision` ('fp32', 'bf16'), or quantize its linear layers to int8 (CPU)."""
        import torch

        model.eval()
        if quantize == "int8":
            if device != "cpu":
                raise CheckpointError(
                    "int8 dynamic quantization runs on CPU only", hint="drop --quantize or use --device cpu"
                )
            with warnings.catch_warnings():  # torch.ao announces its move to torchao; the API still works in torch 2.x
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
                quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            return cls(quantized, "int8 (dynamic)")
        if quantize is not None:
            raise CheckpointError(f"unknown quantization {quantize!r}", hint="use int8 or leave it out")
        if precision not in DTYPES:
            raise CheckpointError(f"unknown dtype {precision!r}", hint=f"use one of auto, {', '.join(DTYPES)}")
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        return cls(model.to(device=device, dtype=dtype), precision)


class OnnxBackend(Backend):
    """An ONNX graph in an ONNX Runtime session; `from_folder` opens an export's `model.onnx` with its card."""

    def __init__(self, graph: Path, precision: str = "fp32", threads: int | None = None, device: str = "cpu"):
        ort = import_onnxruntime()
        self.graph, self.precision = Path(graph), precision
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT warns about every unused initializer otherwise
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise CheckpointError(
                    "--device cuda with an ONNX export needs onnxruntime-gpu",
                    path=self.graph,
                    hint="pip install onnxruntime-gpu, or use --device cpu",
                )
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(self.graph), options, providers=providers)
        except Exception as err:  # ORT raises its own Fail/InvalidGraph/NoSuchFile classes, all without a common base
            raise CheckpointError(
                f"ONNX Runtime cannot load {self.graph.name}: {str(err).splitlines()[0][:300]}",
                path=self.graph,
                hint=f"the file is damaged or incomplete: {_REEXPORT}",
            ) from None
        self._check_signature()

    @classmethod
    def from_folder(cls, folder: Path, threads: int | None = None, device: str = "cpu") -> OnnxBackend:
        card = read_export_card(folder)
        return cls(folder / ONNX_FILE, str(card.get("precision", "fp32")), threads, device)

    @property
    def description(self) -> str:
        return f"onnxruntime {self.precision} ({self.session.get_providers()[0]})"

    @property
    def num_labels(self) -> int:
        return int(self.session.get_outputs()[0].shape[-1])

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        (logits,) = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(logits, dtype=np.float32)

    def _check_signature(self) -> None:
        inputs = sorted(i.name for i in self.session.get_inputs())
        outputs = [o.name for o in self.session.get_outputs()]
        if inputs != ["attention_mask", "input_ids"] or outputs != ["logits"]:
            raise CheckpointError(
                f"{ONNX_FILE} takes {inputs} and gives {outputs}; an export of this project takes "
                "['attention_mask', 'input_ids'] and gives ['logits']",
                path=self.graph,
                hint=f"the graph was not made by arabic-news export: {_REEXPORT}",
            )
        if not isinstance(self.session.get_outputs()[0].shape[-1], int):
            raise CheckpointError(
                f"{ONNX_FILE}'s logits have no fixed number of labels", path=self.graph, hint=_REEXPORT
            )


def read_export_card(folder: Path) -> dict:
    """`export.json`: how the folder was made (precision, source, opset, optimizations, quantization, scores)."""
    card = folder / EXPORT_CARD
    try:
        raw = json.loads(card.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"the ONNX export lacks {EXPORT_CARD}", path=folder, hint=_REEXPORT) from None
    except ValueError as err:
        raise CheckpointError(f"{EXPORT_CARD} is not valid JSON ({err})", path=card, hint=_REEXPORT) from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{EXPORT_CARD} must hold a JSON object", path=card, hint=_REEXPORT)
    return raw


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError("ONNX Runtime is not installed", extra="onnx") from None
    return onnxruntime
