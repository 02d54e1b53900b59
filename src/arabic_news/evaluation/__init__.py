"""The evaluation layer: predict gold data through the inference path, score it with the task's metrics, write
report.json / report.md / plots / predictions, and compare checkpoints (paired bootstrap, seeds)."""

from .compare import paired_bootstrap, summarize_runs
from .harness import evaluate, evaluate_predictions, run_evaluation, unique_folder_names
from .labels import apply_label_map, parse_label_map
from .report_files import write_report

__all__ = [
    "apply_label_map",
    "evaluate",
    "evaluate_predictions",
    "paired_bootstrap",
    "parse_label_map",
    "run_evaluation",
    "summarize_runs",
    "unique_folder_names",
    "write_report",
]
