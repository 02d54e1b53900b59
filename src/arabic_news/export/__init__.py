"""Export a trained checkpoint for fast inference: an ONNX graph (fused by ONNX Runtime, optionally int8) with the
tokenizer, the project metadata and a card, in a folder that `load()`, predict and evaluate accept."""

from .graph import ExportError
from .run import ExportRequest, export_checkpoint

__all__ = ["ExportError", "ExportRequest", "export_checkpoint"]
