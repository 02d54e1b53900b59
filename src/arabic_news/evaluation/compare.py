"""Comparing checkpoints on one data set: a paired bootstrap of the headline score against the first checkpoint,
and mean ± sd when the checkpoints are seeds of one config."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_write_json, atomic_write_text
from ..data import Document
from ..tasks import Task
from ..tasks.base import pct
from ..tasks.stats import BOOTSTRAP_SAMPLES, bootstrap_indices, ci95
from .schema import ComparedCheckpoint, Comparison, PairedBootstrap, SeedSummary


def paired_bootstrap(
    task: Task,
    gold: list[Document],
    pred_a: list[Document],
    pred_b: list[Document],
    labels: list[str],
    samples: int = BOOTSTRAP_SAMPLES,
) -> PairedBootstrap:
    """Difference b - a of the headline score, its 95% CI, and a one-sided p-value: the share of document resamples
    in which b does not beat a when it does on the full set (or the reverse), as in Koehn (2004)."""
    idx = bootstrap_indices(len(gold), samples, seed=1)
    a, a_samples = task.headline_samples(gold, pred_a, idx, labels)
    b, b_samples = task.headline_samples(gold, pred_b, idx, labels)
    delta = b_samples - a_samples
    observed = b - a
    p_value = float(np.mean(delta <= 0)) if observed > 0 else float(np.mean(delta >= 0))
    return {"a": a, "b": b, "difference": observed, "difference_ci95": ci95(delta), "p_value": p_value}


def summarize_runs(values: list[float]) -> SeedSummary:
    arr = np.array(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, "runs": len(arr)}


def write_comparison(out: Path, gold: list[Document], results: list, seeds: bool) -> None:
    first_model, first_report, first_pred = results[0]
    task = first_model.task
    name = task.headline_name
    rows: list[str] = []
    comparison: Comparison = {"headline": name, "checkpoints": []}
    for model, report, pred in results:
        entry: ComparedCheckpoint = {"checkpoint": str(model.path), "score": task.headline_score(report[task.name])}
        if model is not first_model:
            labels = sorted(set(first_model.labels) | set(model.labels))
            entry["versus_first"] = paired_bootstrap(task, gold, first_pred, pred, labels)
        comparison["checkpoints"].append(entry)
    if seeds:
        comparison["seeds"] = summarize_runs([e["score"] for e in comparison["checkpoints"]])
    for e in comparison["checkpoints"]:
        vs = e.get("versus_first")
        rows.append(
            f"| `{Path(e['checkpoint']).name}` | {pct(e['score'])} | "
            + (
                f"{100 * vs['difference']:+.1f} (CI {100 * vs['difference_ci95'][0]:+.1f}…"
                f"{100 * vs['difference_ci95'][1]:+.1f}), p={vs['p_value']:.3f} |"
                if vs
                else "(reference) |"
            )
        )
    md = [
        f"# Comparison on `{out.name}`",
        "",
        f"| checkpoint | {name} | difference to the first, paired bootstrap |",
        "|---|---:|---|",
        *rows,
    ]
    if seeds:
        s = comparison["seeds"]
        md += ["", f"Seeds of one config: {name} {pct(s['mean'])} ± {pct(s['std'])} (mean ± sd over {s['runs']} runs)."]
    atomic_write_json(out / "comparison.json", comparison)
    atomic_write_text(out / "comparison.md", "\n".join(md) + "\n")
