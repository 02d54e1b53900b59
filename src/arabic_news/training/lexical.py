"""`model.lexical`: after the encoder is trained, fit TF-IDF + logistic regression on the train split and choose how to
fuse it with the encoder on the dev split only; the checkpoint then predicts with the fusion.

The encoder's dev probabilities come from the inference path (the same windows and mean logits a user gets); the
choice is the (fusion, weight) with the best dev macro-F1 over a grid (ties: the lower dev log-loss, then the weight
nearest 0.5). Test data is only scored, never used to choose.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from ..data import Document
from ..inference import TaskModel
from ..tasks.topic.lexical import FUSIONS, LEXICAL_FILES, WEIGHT_GRID, LexicalModel, LexicalSettings, fuse

log = logging.getLogger("arabic_news.training")


def fit_lexical(
    model: TaskModel,
    settings: LexicalSettings,
    train_docs: list[Document],
    dev: tuple[list[Document], list, list] | None,
    out: Path,
) -> tuple[LexicalModel, dict]:
    """Fit, choose the fusion on dev (`dev`: documents, encoded, window logits of the encoder), write the lexical
    files into `out`; returns the model and what to report (metrics.json)."""
    started = time.perf_counter()
    codec, labels = model.codec, model.labels
    texts, topics = [codec.input_text(d) for d in train_docs], [d.topic for d in train_docs]
    lexical = LexicalModel.fit(texts, topics, labels, settings)
    fit_seconds = time.perf_counter() - started
    log.info("lexical model: %d features, fitted in %.0f s", lexical.num_features, fit_seconds)
    report: dict = {"features": lexical.num_features, "fit_seconds": round(fit_seconds, 1)}
    fusion, weight = settings.fusion, settings.weight
    if fusion is None or weight is None:
        docs, encoded, logits = dev  # the config check makes sure there is dev data
        encoder, lex = component_log_probs(model, lexical, encoded, logits)
        gold = np.array([labels.index(d.topic) if d.topic in labels else -1 for d in docs])
        fusions = FUSIONS if fusion is None else (fusion,)
        weights = WEIGHT_GRID if weight is None else (weight,)
        grid = fusion_grid(encoder, lex, gold, len(labels), fusions, weights)
        best = choose_fusion(grid)
        fusion, weight = best["fusion"], best["weight"]
        report["grid"] = grid
        log.info(
            "lexical fusion chosen on dev: %s, encoder weight %g (macro-F1 %.4f)", fusion, weight, best["dev_macro_f1"]
        )
    lexical.settings = dataclasses.replace(settings, fusion=fusion, weight=weight)
    lexical.save(out)
    report.update(
        fusion=fusion,
        weight=weight,
        size_bytes=sum((out / name).stat().st_size for name in LEXICAL_FILES),
        seconds=round(time.perf_counter() - started, 1),
    )
    return lexical, report


def choose_fusion(grid: list[dict]) -> dict:
    """The grid point training keeps: the best dev macro-F1 (ties: the lower dev log-loss, then the weight nearest
    0.5). benchmarks/fusion_rules.py compares this rule with others out of fold on dev."""
    return max(grid, key=lambda g: (g["dev_macro_f1"], -g["dev_log_loss"], -abs(g["weight"] - 0.5)))


def component_log_probs(model: TaskModel, lexical: LexicalModel, encoded: list, logits: list):
    """(encoder, lexical) class log-probabilities, each (documents, labels), from the encoder's window logits."""
    encoder = np.stack([model.codec.encoder_log_probs(lg) for lg in logits])
    return encoder, lexical.log_probs([e.text for e in encoded])


def fusion_grid(
    encoder: np.ndarray,
    lexical: np.ndarray,
    gold: np.ndarray,
    num_labels: int,
    fusions: tuple[str, ...] = FUSIONS,
    weights: tuple[float, ...] = WEIGHT_GRID,
) -> list[dict]:
    """Dev macro-F1 and log-loss of every (fusion, weight). A gold id of -1 is a label the model does not know."""
    known = gold >= 0
    grid = []
    for fusion in fusions:
        for weight in weights:
            probs = fuse(encoder, lexical, weight, fusion)
            picked = probs[np.flatnonzero(known), gold[known]]
            loss = float(-np.log(np.maximum(picked, 1e-12)).mean()) if known.any() else 0.0
            grid.append(
                {
                    "fusion": fusion,
                    "weight": weight,
                    "dev_macro_f1": round(macro_f1(gold, probs.argmax(1), num_labels), 6),
                    "dev_log_loss": round(loss, 6),
                }
            )
    return grid


def macro_f1(gold: np.ndarray, predicted: np.ndarray, num_labels: int) -> float:
    """sklearn's f1_score(labels=range(num_labels), average="macro", zero_division=0) from class counts: the grid is
    scored tens of thousands of times by benchmarks/fusion_rules.py. A gold id of -1 counts only as a wrong prediction."""
    known = gold >= 0
    hits = np.bincount(gold[known & (gold == predicted)], minlength=num_labels)
    denominators = np.bincount(predicted, minlength=num_labels) + np.bincount(gold[known], minlength=num_labels)
    return float(np.mean(np.divide(2 * hits, denominators, out=np.zeros(num_labels), where=denominators > 0)))


def component_scores(model: TaskModel, lexical: LexicalModel, docs: list[Document], encoded: list, logits: list):
    """Headline scores of the encoder alone and of the lexical model alone on `docs` (for the report)."""
    encoder, lex = component_log_probs(model, lexical, encoded, logits)
    out = {}
    for name, log_probs in (("encoder", encoder), ("lexical", lex)):
        predicted = [dataclasses.replace(d, topic=model.labels[int(i)]) for d, i in zip(docs, log_probs.argmax(1))]
        out[name] = model.task.headline(docs, predicted)
    return out
