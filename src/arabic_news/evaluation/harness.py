"""The evaluation harness: predict gold data with a checkpoint through the inference path, compare, report.

Evaluation is "predict, then compare two lists of Documents". What the report holds depends on the task (its
`Task.report`): for NER seqeval scores (default and strict IOB2 mode, word level: comparable with published
CoNLL/ANERcorp figures), exact and clitic-tolerant character-span scores and an error breakdown; for topics scores
per class and per source; bootstrap confidence intervals for both.

Layout of `run_evaluation`'s output: with one checkpoint and one data file everything goes into OUT/. Several data
files get OUT/<data name>/; several checkpoints get OUT/<data name>/<checkpoint name>/ each plus a comparison
(paired bootstrap against the first checkpoint, or mean ± sd when they are seeds of one config) in
OUT/<data name>/comparison.{json,md}.
"""

from __future__ import annotations

from pathlib import Path

from ..data import Document, join_documents, read_documents
from ..errors import CheckpointError
from ..inference import TaskModel
from ..tasks import TASKS
from .compare import write_comparison
from .labels import apply_label_map
from .report_files import write_report
from .schema import Report


def evaluate_predictions(task: str, gold: list[Document], pred: list[Document], model_labels: list[str]) -> dict:
    """The report body of predictions against gold: {"documents": n, <task>: the task's section}, for the task
    named `task` ("ner", "topic")."""
    return {"documents": len(gold), task: TASKS[task].report(gold, pred, model_labels)}


def evaluate(
    model: TaskModel,
    gold: list[Document],
    batch_size: int = 32,
    progress: bool = True,
    label_map: dict[str, str] | None = None,
) -> tuple[dict, list[Document]]:
    """Predict `gold` with `model` and score the predictions; returns (report body, predicted documents).
    `label_map` applies to the predictions too (gold is mapped by the caller), so `MISC=O` ignores MISC on both
    sides instead of turning every predicted MISC into a spurious entity."""
    unlabeled = [d.unlabeled() for d in gold]  # gold tags (kept for strict scoring) must not reach the predictions
    pred = model.predict_documents(unlabeled, batch_size=batch_size, progress=progress)
    pred = apply_label_map(pred, label_map or {})
    labels = model.task.map_labels(model.labels, label_map or {})
    return evaluate_predictions(model.task.name, gold, pred, labels), pred


def run_evaluation(
    checkpoints: list[Path],
    data_paths: list[Path],
    out: Path,
    label_map: dict[str, str] | None = None,
    batch_size: int = 32,
    seeds: bool = False,
    decoding: str = "auto",
    sentences_per_document: int | None = None,
) -> list[Path]:
    """Score every checkpoint on every data file and write a report folder for each pair; `sentences_per_document`
    joins that many consecutive documents of each file into one, as the training config's data section did."""
    # Scores are the model's own: a training folder in fp32 (as training scored it), an export as exported.
    models = [TaskModel.load(c, dtype="fp32", decoding=decoding) for c in checkpoints]
    if len({m.task.name for m in models}) > 1:  # a paired comparison of an NER score with a topic score means nothing
        raise CheckpointError(
            "--compare needs checkpoints of one task, got "
            + ", ".join(f"{m.path.name} ({m.task.name})" for m in models),
            hint="compare NER checkpoints and topic checkpoints in separate runs",
        )
    written = []
    data_names, model_names = unique_folder_names(data_paths), unique_folder_names([m.path for m in models])
    for data_path, data_name in zip(data_paths, data_names):
        gold = apply_label_map(read_documents(data_path), label_map or {})
        if sentences_per_document:
            gold = join_documents(gold, sentences_per_document, data_path)
        data_out = out if len(data_paths) == 1 else out / data_name
        results = []
        for model, model_name in zip(models, model_names):
            target = data_out if len(models) == 1 else data_out / model_name
            model.task.check_gold(gold, data_path)
            report, pred = evaluate(model, gold, batch_size=batch_size, label_map=label_map)
            report: Report = {
                "checkpoint": str(model.path),
                "task": model.task.name,
                "data": str(data_path),
                "label_map": label_map or {},
                "sentences_per_document": sentences_per_document or 1,
                **report,
            }
            write_report(target, model.task, report, gold, pred)
            results.append((model, report, pred))
            written.append(target)
        if len(models) > 1:
            write_comparison(data_out, gold, results, seeds)
    return written


def unique_folder_names(paths: list[Path]) -> list[str]:
    """One report folder name per data file or checkpoint: its stem, or `<parent>-<stem>` where stems repeat (two
    `dev.jsonl`, or `a/model` and `b/model`), numbered if that still repeats."""
    stems = [Path(p).stem if Path(p).is_file() else Path(p).name for p in paths]  # a folder keeps its dots
    names: list[str] = []
    for i, (path, stem) in enumerate(zip(paths, stems)):
        name = stem if stems.count(stem) == 1 else f"{Path(path).resolve().parent.name}-{stem}"
        names.append(name if name not in names else f"{name}-{i + 1}")
    return names
