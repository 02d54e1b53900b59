"""`export_checkpoint`: a training folder in, an ONNX export folder out (graph, tokenizer, metadata, card).

The folder is built in a hidden staging folder beside OUT and renamed into place only when complete, and
`arabic_news.json` is written last inside it, so a failure (a quantization that loses too much F1, a full disk,
Ctrl-C) never leaves a folder that looks like an export.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_json
from ..checkpoint import (
    EXPORT_CARD,
    ONNX_FILE,
    is_onnx_export,
    load_checkpoint,
    load_lexical,
    read_crf,
    write_crf,
    write_metadata,
)
from ..data import Document, read_documents
from ..errors import ConfigError
from ..inference import OnnxBackend, TaskModel, TorchBackend
from ..tasks.topic.lexical import LEXICAL_FILES
from .card import write_card
from .graph import OPSET, ExportError, classifier_nodes, optimize, quantize_int8, require_onnx, trace

log = logging.getLogger("arabic_news.export")
# Largest |logit| difference allowed between the traced graph and the PyTorch model it came from: float32
# reassociation in fused kernels gives ~1e-5; a wrong trace gives differences of order 1.
TRACE_TOLERANCE = 1e-3


@dataclass
class ExportRequest:
    checkpoint: Path
    out: Path
    quantize: str | None = None  # None (fp32) or 'int8'
    eval_data: Path | None = None  # annotated data that scores fp32 against int8
    calibration: Path | None = None  # texts whose windows fix static int8 activation ranges (else dynamic int8)
    max_f1_loss: float = 0.5  # F1 points (0-100 scale) that int8 may lose against fp32 on eval_data
    overwrite: bool = False
    batch_size: int = 32
    # The classifier is one small matrix (no speed to gain) whose input has the encoder's outlier channels: kept in
    # fp32 unless this is False (measured in docs/inference.md).
    keep_classifier_fp32: bool = True


def export_checkpoint(request: ExportRequest) -> dict:
    """Export `request.checkpoint` to `request.out`; returns the card (export.json's content)."""
    require_onnx()
    _check_request(request)
    model, tokenizer, metadata = load_checkpoint(request.checkpoint)
    load_lexical(request.checkpoint, metadata)  # a fused topic model's lexical files must be whole before exporting
    gold = _read_gold(request.eval_data, metadata) if request.eval_data else None
    request.out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{request.out.name}.partial-", dir=request.out.parent))
    try:
        card = _build(request, model, tokenizer, metadata, gold, staging)
        if request.out.exists():  # --overwrite of an earlier export: replaced only now that the new one is whole
            shutil.rmtree(request.out)
        os.replace(staging, request.out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return card


def _build(request: ExportRequest, model, tokenizer, metadata, gold, staging: Path) -> dict:
    started = time.perf_counter()
    crf = read_crf(request.checkpoint, metadata)
    token_level = metadata.task_type.auto_class_name.endswith("TokenClassification")
    if metadata.lexical:  # a fused topic model: its lexical half runs beside the graph, from the same files
        for name in LEXICAL_FILES:
            shutil.copy2(Path(request.checkpoint) / name, staging / name)
    traced, fp32 = staging / "traced.onnx", staging / "fp32.onnx"
    log.info("tracing %s to ONNX (opset %d)", request.checkpoint, OPSET)
    trace(model, traced, token_level)
    difference = _trace_difference(model, traced, tokenizer, request.checkpoint)
    fused = optimize(traced, fp32, model.config.num_attention_heads, model.config.hidden_size)
    traced.unlink()
    log.info("fused operators: %s", ", ".join(f"{op} x{n}" for op, n in fused.items()) or "none")
    card: dict = {
        "format": "onnx",
        "precision": request.quantize or "fp32",
        "source": {"checkpoint": str(request.checkpoint), "task": metadata.task, "encoder": metadata.encoder},
        "opset": OPSET,
        "fused_operators": fused,
        "max_abs_logit_difference_vs_torch": difference,
        "versions": _versions(),
    }
    if metadata.lexical:
        card["lexical"] = {k: metadata.lexical.get(k) for k in ("fusion", "weight", "features")}
    final = fp32
    if request.quantize == "int8":
        final = staging / "int8.onnx"
        log.info("quantizing to int8")
        keep = classifier_nodes(fp32) if request.keep_classifier_fp32 else []
        feeds = _calibration_feeds(request.calibration, tokenizer, metadata) if request.calibration else None
        card["quantization"] = quantize_int8(fp32, final, keep, feeds)
    if gold is not None:  # with the lexical files already in `staging`, a fused model's gate scores the fusion
        card["evaluation"] = _gate(request, staging, fp32, final, tokenizer, metadata, gold, crf)
    os.replace(final, staging / ONNX_FILE)
    for leftover in staging.glob("*.onnx"):
        if leftover.name != ONNX_FILE:
            leftover.unlink()
    card["size_mb"] = round((staging / ONNX_FILE).stat().st_size / 2**20, 1)
    card["seconds"] = round(time.perf_counter() - started, 1)
    tokenizer.save_pretrained(staging)
    if crf is not None:  # the graph gives the emissions; the CRF's scores travel beside it, decoded as before
        write_crf(staging, crf)
    model.config.save_pretrained(staging)  # labels and architecture, for people and tools reading the folder
    atomic_write_json(staging / EXPORT_CARD, card)
    write_card(staging / "README.md", card, metadata)
    write_metadata(staging, metadata)  # last: marks the folder as finished
    return card


def _check_request(request: ExportRequest) -> None:
    if request.quantize not in (None, "int8"):
        raise ConfigError(f"unknown quantization {request.quantize!r}", hint="use --quantize int8 or leave it out")
    if request.calibration and request.quantize != "int8":
        raise ConfigError(
            "--calibration calibrates int8 quantization", hint="add --quantize int8, or drop --calibration"
        )
    if request.max_f1_loss < 0:
        raise ConfigError("--max-f1-loss must be 0 or more (F1 points)", hint="e.g. --max-f1-loss 0.5")
    if request.out.exists():
        if not request.out.is_dir():
            raise ConfigError("the output is a file", path=request.out, hint="give a folder path for the export")
        if not request.overwrite:
            what = "an ONNX export" if is_onnx_export(request.out) else "files"
            raise ConfigError(
                f"{request.out} already holds {what}",
                hint="pass --overwrite to replace it, or choose another folder",
            )
    if request.out.resolve() == Path(request.checkpoint).resolve():
        raise ConfigError("the export folder is the checkpoint folder", hint="export into a new folder")


def _read_gold(path: Path, metadata) -> list[Document]:
    gold = read_documents(path)
    metadata.task_type.check_gold(gold, path)
    return gold


CALIBRATION_WINDOWS = 256  # enough for stable min-max ranges; more only slows the export


def _calibration_feeds(path: Path, tokenizer, metadata) -> list[dict]:
    """Model inputs of the first CALIBRATION_WINDOWS windows of the texts in `path` (any readable format; labels are
    ignored), one window per feed, encoded exactly as inference encodes them."""
    codec = metadata.task_type.codec(tokenizer, metadata.labels, metadata.preprocessing)
    feeds = []
    for doc in read_documents(path):
        for window in codec.inference_features(codec.encode(doc.unlabeled())):
            ids = np.asarray([window["input_ids"]], dtype=np.int64)
            feeds.append({"input_ids": ids, "attention_mask": np.ones_like(ids)})
            if len(feeds) == CALIBRATION_WINDOWS:
                return feeds
    if not feeds:
        raise ConfigError("the calibration file holds no text", path=path, hint="give training or dev texts")
    return feeds


def _trace_difference(model, graph: Path, tokenizer, checkpoint: Path) -> float:
    """Largest |logit| difference between the traced graph and the PyTorch model on a padded two-row batch; raises
    when the trace is wrong (the graph would predict something else than the checkpoint)."""
    rng = np.random.default_rng(0)
    ids = rng.integers(5, len(tokenizer), size=(2, 12), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 7:] = 0
    ids[1, 7:] = tokenizer.pad_token_id or 0
    expected = TorchBackend(model)(ids, mask)
    got = OnnxBackend(graph)(ids, mask)
    rows = mask.astype(bool) if expected.ndim == 3 else np.ones(len(ids), dtype=bool)
    difference = float(np.abs(expected[rows] - got[rows]).max())
    if difference > TRACE_TOLERANCE:
        raise ExportError(
            f"the ONNX graph's logits differ from the PyTorch model's by {difference:.3g}",
            path=checkpoint,
            hint="report this with the checkpoint's config.json: the architecture does not trace faithfully",
        )
    return round(difference, 7)


def _gate(request: ExportRequest, staging: Path, fp32: Path, final: Path, tokenizer, metadata, gold, crf) -> dict:
    """Score the fp32 graph and the exported one on the gold data; refuse an int8 model that loses too much."""
    task = metadata.task_type
    key = task.headline_metric
    scores = {"fp32": _score(fp32, "fp32", tokenizer, metadata, gold, request.batch_size, staging, crf)}
    result = {
        "data": str(request.eval_data),
        "sha256": hashlib.sha256(Path(request.eval_data).read_bytes()).hexdigest(),
        "documents": len(gold),
        "metric": key,
        "scores": scores,
    }
    if final == fp32:
        return result
    scores["int8"] = _score(final, "int8", tokenizer, metadata, gold, request.batch_size, staging, crf)
    loss = round(100 * (scores["fp32"][key] - scores["int8"][key]), 3)
    result.update(f1_loss_points=loss, max_f1_loss_points=request.max_f1_loss)
    log.info(
        "%s on %s: fp32 %.4f, int8 %.4f (loss %.2f points)",
        key,
        request.eval_data,
        scores["fp32"][key],
        scores["int8"][key],
        loss,
    )
    if loss > request.max_f1_loss:
        raise ExportError(
            f"int8 loses {loss:.2f} {key} points against fp32 on {request.eval_data} "
            f"({100 * scores['int8'][key]:.2f} vs {100 * scores['fp32'][key]:.2f}), more than --max-f1-loss "
            f"{request.max_f1_loss}; nothing was written",
            hint="export without --quantize (fp32), or raise --max-f1-loss if that loss is acceptable",
        )
    return result


def _score(graph: Path, precision: str, tokenizer, metadata, gold, batch_size: int, folder: Path, crf=None) -> dict:
    model = TaskModel(OnnxBackend(graph, precision), tokenizer, metadata, folder, crf=crf)
    predicted = model.predict_documents([d.unlabeled() for d in gold], batch_size=batch_size, progress=True)
    return {k: round(float(v), 6) for k, v in model.task.headline(gold, predicted).items()}


def _versions() -> dict:
    import onnx
    import onnxruntime
    import torch
    import transformers

    return {
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "created": time.strftime("%Y-%m-%d"),
    }
