"""The ONNX graph of a checkpoint: traced from the PyTorch model, fused by ONNX Runtime's transformer optimizer, and
optionally quantized to int8. Each step reads one .onnx file and writes another, so the export can keep the fp32
graph for the quality gate while it tries int8."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from ..errors import ArabicNewsError, MissingExtraError

OPSET = 17  # ONNX Runtime >= 1.14 runs it; the fused LayerNormalization op needs >= 17
log = logging.getLogger("arabic_news.export")


class ExportError(ArabicNewsError):
    """An export that cannot be made, or whose int8 model loses more than the allowed F1."""


def require_onnx() -> None:
    for module in ("onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError(f"exporting to ONNX needs the {module} package", extra="onnx") from None


def trace(model, target: Path, token_level: bool) -> None:
    """Write `model` (a transformers token or sequence classifier) as one ONNX file with dynamic batch and sequence
    axes, inputs input_ids and attention_mask, output logits (per token when `token_level`). TorchScript tracing
    (dynamo=False) keeps the weights inside the single file and was 3x faster here than the dynamo exporter."""
    model = model.float().eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "sequence"} if token_level else {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes that are constant here
        torch.onnx.export(
            _LogitsOnly(model),
            (ids, mask),
            str(target),
            dynamo=False,
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
            | {"logits": axes},
            opset_version=OPSET,
        )


class _LogitsOnly(torch.nn.Module):
    """Calls the model with keyword inputs and returns only the logits tensor, so the graph has one output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def optimize(source: Path, target: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """Fuse attention, layer norms and GELU with ONNX Runtime's BERT optimizer; returns the fused operator counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet("onnxruntime.transformers"):
        optimized = optimize_model(str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size)
    optimized.save_model_to_file(str(target))
    stats = optimized.get_fused_operator_statistics()
    return {op: int(n) for op, n in stats.items() if n}


def quantize_int8(source: Path, target: Path, keep_fp32: list[str], calibration: list[dict] | None = None) -> dict:
    """int8 quantization of the matrix products, weights int8 per output channel. Without `calibration`, dynamic:
    activations are quantized per batch at run time. With it (model inputs of sample windows), static: activation
    ranges are measured once on those inputs (min-max) and fixed in the graph (QDQ format). The embedding lookups are
    never quantized, and the `keep_fp32` nodes (the classifier, and whatever the measurements point to) stay fp32.
    reduce_range (7-bit weights) avoids the overflow of u8*s8 dot products on CPUs without VNNI, where ONNX Runtime
    uses VPMADDUBSW with 16-bit saturation."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic, quantize_static

    from ..hardware import cpu_isa

    isa = cpu_isa()
    reduce_range = not (isa["avx512_vnni"] or isa["avx_vnni"] or isa["amx_int8"])
    settings = {
        "method": "static (min-max calibration)" if calibration else "dynamic",
        "weights": "int8 per channel" + (" (7-bit range)" if reduce_range else ""),
        "activations": f"uint8, ranges from {len(calibration)} calibration windows"
        if calibration
        else "uint8, per batch at run time",
        "operators": ["MatMul"] if calibration else ["MatMul", "Attention"],
        "kept_fp32": keep_fp32,
    }
    common = {
        "op_types_to_quantize": settings["operators"],
        "per_channel": True,
        "reduce_range": reduce_range,
        "weight_type": QuantType.QInt8,
        "nodes_to_exclude": keep_fp32,
        # The fused operators (BiasGelu, SkipLayerNormalization) are outside ONNX's shape inference, which leaves
        # their outputs untyped; they are all float here.
        "extra_options": {"DefaultTensorType": TensorProto.FLOAT},
    }
    with _quiet("onnxruntime"), _quiet(""):  # the quantizer logs its advice on the root logger
        if calibration:
            quantize_static(source, target, _Feeds(calibration), activation_type=QuantType.QUInt8, **common)
        else:
            quantize_dynamic(source, target, **common)
    return settings


class _Feeds:
    """ONNX Runtime's CalibrationDataReader protocol over a list of input dicts."""

    def __init__(self, feeds: list[dict]):
        self.feeds = iter(feeds)

    def get_next(self) -> dict | None:
        return next(self.feeds, None)


def classifier_nodes(graph: Path) -> list[str]:
    """The nodes between the encoder's last layer norm and the logits (the classification head): quantizing the
    head costs accuracy for no speed, since it is one small matrix."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    producers = {out: node for node in model.graph.node for out in node.output}
    head, frontier = [], ["logits"]
    while frontier:
        node = producers.get(frontier.pop())
        if node is None or node.op_type in ("LayerNormalization", "SkipLayerNormalization") or node.name in head:
            continue
        head.append(node.name)
        frontier.extend(node.input)
    return [name for name in head if name]


class _quiet:
    """Silence a logger's INFO/WARNING records inside a block (ONNX Runtime's tools log every fused node); "" is the
    root logger."""

    def __init__(self, name: str):
        self.logger = logging.getLogger(name)

    def __enter__(self):
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)
