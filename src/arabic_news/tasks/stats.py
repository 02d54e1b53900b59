"""Bootstrap statistics shared by the tasks' reports: F1 from counts, resampling documents, percentile CIs."""

from __future__ import annotations

import numpy as np

BOOTSTRAP_SAMPLES = 1000


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """F1 from (..., 3) true positive, false positive, false negative counts."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def bootstrap_indices(n: int, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(samples, n)) if n else np.zeros((samples, 0), dtype=int)


def ci95(values: np.ndarray) -> list[float]:
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def macro_f1_samples(g: np.ndarray, p: np.ndarray, k: int, idx: np.ndarray) -> np.ndarray:
    """Macro-F1 over classes present in gold, for each bootstrap resample (rows of idx). Class counts per resample
    come from one bincount, so memory grows with samples x documents, not samples x documents x classes."""
    resample = np.arange(idx.shape[0])[:, None]

    def class_counts(classes: np.ndarray, keep: np.ndarray) -> np.ndarray:  # (samples, k)
        cells = (resample * k + classes[idx])[keep[idx]]
        return np.bincount(cells, minlength=idx.shape[0] * k).reshape(idx.shape[0], k)

    gold_n = class_counts(g, np.ones(len(g), dtype=bool))
    pred_n = class_counts(p, p >= 0)  # -1: a predicted topic outside the label list counts for no class
    tp = class_counts(g, g == p)
    f1 = f1_from_counts(np.stack([tp, pred_n - tp, gold_n - tp], axis=-1))
    present = gold_n > 0
    return (f1 * present).sum(1) / np.maximum(present.sum(1), 1)
