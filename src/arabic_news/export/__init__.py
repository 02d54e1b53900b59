"""Export a trained checkpoint for fast inference: an ONNX graph (fused by ONNX Runtime, optionally int8) with the
tokenizer, the project metadata and a card, in a folder that `load()`, predict and evaluate accept."""

from .graph import ExportError
from .run import PRECISIONS, ExportRequest, export_checkpoint

__all__ = ["PRECISIONS", "ExportError", "ExportRequest", "export_checkpoint"]
