"""`arabic-news export`: a trained checkpoint as an ONNX Runtime folder (fp32, or int8 behind an F1 gate)."""

from __future__ import annotations

import sys
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX (fp32 or int8) for fast CPU inference",
        description="Write CHECKPOINT as an ONNX Runtime folder that load(), predict and evaluate accept. "
        "Example: arabic-news export runs/anercorp-e5 runs/anercorp-e5-int8 --quantize int8 "
        "--eval data/dev.conll",
    )
    p.add_argument("checkpoint", type=Path, help="a finished training folder")
    p.add_argument("out", type=Path, help="the export folder to create")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="the export format (default: onnx)")
    p.add_argument("--quantize", choices=("int8",), help="dynamic int8 quantization of the encoder's matrix products")
    p.add_argument(
        "--calibration",
        type=Path,
        metavar="FILE",
        help="with --quantize int8: texts (any readable format, e.g. a sample of the training data) whose first 256 "
        "windows fix the activation ranges: static int8 instead of dynamic",
    )
    p.add_argument(
        "--eval",
        type=Path,
        metavar="FILE",
        help="annotated data (dev, never test) to score fp32 against int8 on; the export fails if int8 loses more "
        "than --max-f1-loss",
    )
    p.add_argument(
        "--max-f1-loss",
        type=float,
        default=0.5,
        metavar="POINTS",
        help="F1 points (0-100 scale) int8 may lose against fp32 on --eval (default 0.5)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing export folder")
    p.add_argument("--batch-size", type=int, default=32, help="batch size when scoring --eval data")
    p.set_defaults(run=run_export)


def run_export(args) -> int:
    from ..export import ExportRequest, export_checkpoint

    request = ExportRequest(
        checkpoint=args.checkpoint,
        out=args.out,
        quantize=args.quantize,
        eval_data=args.eval,
        calibration=args.calibration,
        max_f1_loss=args.max_f1_loss,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
    )
    if args.quantize and not args.eval:
        print(
            "warning: int8 without --eval is not checked against fp32; pass --eval DEV_FILE to gate it",
            file=sys.stderr,
        )
    card = export_checkpoint(request)
    scores = card.get("evaluation", {})
    summary = f", F1 loss {scores['f1_loss_points']:.2f} points" if "f1_loss_points" in scores else ""
    print(f"wrote {args.out} (onnx {card['precision']}, {card['size_mb']} MB{summary})", file=sys.stderr)
    return 0
