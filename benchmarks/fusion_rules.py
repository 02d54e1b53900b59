"""Rules for choosing a fused topic model's encoder weight on dev, compared on dev alone and reported on test.

A rule looks at the dev grid (every fusion × weight) and picks one point. Which rule to trust is itself chosen on dev:
each rule is run out of fold (pick on 4/5 of dev, predict the held-out 1/5, over 5 folds and 4 shuffles), and the
pooled out-of-fold macro-F1 says how well its picks carry to articles it did not see. Each rule's pick on the whole
dev set and that pick's test macro-F1 are reported for the record; test chooses nothing. A plot shows dev and test
macro-F1 and dev log-loss against the weight, one row per checkpoint.

    python -m benchmarks.fusion_rules --checkpoints runs/ant-e5-lexical-seed42 runs/ant-e5-lexical-seed43 \\
        runs/ant-e5-lexical-seed44 [--data-dir ../shared/data] [--topic-input chunks --out results/NAME.json]

`--topic-input chunks` makes head-trained checkpoints read the whole article at inference (mean logits over
overlapping windows) instead of what they were trained on, to ask whether the rest of the text helps the fusion.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks import common

FOLDS, SHUFFLES = 5, 4


def smoothed_f1(grid: list[dict], g: dict, half_width: int = 2) -> float:
    """Mean dev macro-F1 of the grid points of g's fusion within ±half_width steps of its weight."""
    row = [p for p in grid if p["fusion"] == g["fusion"]]
    i = row.index(g)
    window = row[max(0, i - half_width) : i + half_width + 1]
    return statistics.mean(p["dev_macro_f1"] for p in window)


TRAINING_RULE = "best dev macro-F1"  # the name of training's own rule among _rules()


# Each rule: dev grid (training's own, training/lexical.py's fusion_grid) -> the chosen point. Tie-breaks keep the
# choice deterministic.
def _rules() -> dict[str, Callable[[list[dict]], dict]]:
    from arabic_news.training.lexical import choose_fusion

    return {
        TRAINING_RULE: choose_fusion,
        "best dev macro-F1, smoothed over ±0.1": lambda grid: min(
            grid, key=lambda g: (-smoothed_f1(grid, g), -g["dev_macro_f1"], g["dev_log_loss"])
        ),
        "lowest dev log-loss": lambda grid: min(grid, key=lambda g: (g["dev_log_loss"], -g["dev_macro_f1"])),
        "fixed: log, 0.5": lambda grid: next(g for g in grid if (g["fusion"], g["weight"]) == ("log", 0.5)),
        "fixed: prob, 0.5": lambda grid: next(g for g in grid if (g["fusion"], g["weight"]) == ("prob", 0.5)),
    }


def out_of_fold_splits(n: int):
    """The protocol's splits of n dev articles: per shuffle (seeded by its index), the (rest, fold) pairs of its
    FOLDS folds. Every out-of-fold figure of the benchmarks uses these, so that they compare."""
    for shuffle in range(SHUFFLES):
        order = np.random.default_rng(shuffle).permutation(n)
        yield [(np.setdiff1d(order, fold), fold) for fold in np.array_split(order, FOLDS)]


def out_of_fold_f1(encoder, lexical, gold, num_labels) -> dict[str, float]:
    """Per rule: pooled macro-F1 of predictions made, fold by fold, with the point it picked on the other folds."""
    from arabic_news.tasks.topic.lexical import fuse
    from arabic_news.training.lexical import fusion_grid, macro_f1

    rules = _rules()
    scores: dict[str, list[float]] = {rule: [] for rule in rules}
    for splits in out_of_fold_splits(len(gold)):
        predicted = {rule: np.empty_like(gold) for rule in rules}
        for rest, fold in splits:
            grid = fusion_grid(encoder[rest], lexical[rest], gold[rest], num_labels)
            for name, rule in rules.items():
                pick = rule(grid)
                predicted[name][fold] = fuse(encoder[fold], lexical[fold], pick["weight"], pick["fusion"]).argmax(1)
        for name in rules:
            scores[name].append(macro_f1(gold, predicted[name], num_labels))
    return {name: statistics.mean(values) for name, values in scores.items()}


def training_rule_figures(dev: tuple, test: tuple, gold_dev, gold_test, num_labels) -> dict:
    """Two views (encoder, lexical log-probs per split) fused by training's rule, as every benchmark reports it: the
    pooled out-of-fold dev figure, the best point of the dev grid, the pick on the whole dev set and its test macro-F1
    (for the record only)."""
    from arabic_news.tasks.topic.lexical import fuse
    from arabic_news.training.lexical import choose_fusion, fusion_grid, macro_f1

    grid = fusion_grid(*dev, gold_dev, num_labels)
    pick = choose_fusion(grid)
    test_predicted = fuse(*test, pick["weight"], pick["fusion"]).argmax(1)
    return {
        "dev_out_of_fold_macro_f1": out_of_fold_f1(*dev, gold_dev, num_labels)[TRAINING_RULE],
        "dev_best_of_grid": max(g["dev_macro_f1"] for g in grid),
        "pick": f"{pick['fusion']} {pick['weight']:g}",
        "test_macro_f1_at_pick": macro_f1(gold_test, test_predicted, num_labels),
    }


def encoder_outputs(model, docs) -> tuple[list, list, np.ndarray]:
    """The encoder's inputs and window logits on `docs`, and their gold label ids."""
    encoded, logits = model.forward(docs, batch_size=32)
    return encoded, logits, np.array([model.labels.index(d.topic) for d in docs])


def component_arrays(model, docs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(encoder, lexical) log-probabilities and gold label ids on `docs`, through the training code's own path."""
    from arabic_news.training.lexical import component_log_probs

    encoded, logits, gold = encoder_outputs(model, docs)
    return *component_log_probs(model, model.lexical, encoded, logits), gold


def checkpoint_section(checkpoint: Path, docs: dict, topic_input: str | None = None) -> dict:
    from arabic_news.inference import load
    from arabic_news.training.lexical import fusion_grid

    model = load(checkpoint, dtype="fp32").topic
    if model is None or model.lexical is None:
        raise common.BenchmarkError(f"{checkpoint}: not a fused topic checkpoint (no model.lexical)")
    if topic_input is not None:  # the same weights reading other windows: a codec built from edited preprocessing
        preprocessing = dataclasses.replace(model.metadata.preprocessing, topic_input=topic_input)
        model.codec = model.task.codec(model.tokenizer, model.labels, preprocessing, model.lexical)
    n = len(model.labels)
    dev, test = component_arrays(model, docs["dev"]), component_arrays(model, docs["test"])
    dev_grid, test_grid = fusion_grid(*dev, n), fusion_grid(*test, n)  # the test grid's "dev_" keys score test
    grid = [d | {"test_macro_f1": t["dev_macro_f1"]} for d, t in zip(dev_grid, test_grid)]
    out_of_fold = out_of_fold_f1(*dev, n)
    rules = {
        name: {**grid[dev_grid.index(rule(dev_grid))], "dev_out_of_fold_macro_f1": out_of_fold[name]}
        for name, rule in _rules().items()
    }
    return {
        "checkpoint": common.repo_relative(checkpoint),
        "topic_input": model.codec.strategy,
        "rules": rules,
        "grid": grid,
    }


def plot(sections: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(sections), 2, figsize=(10, 3 * len(sections)), squeeze=False)
    for row, section in zip(axes, sections):
        for ax, fusion in zip(row, ("log", "prob")):
            points = [g for g in section["grid"] if g["fusion"] == fusion]
            weights = [g["weight"] for g in points]
            ax.plot(weights, [100 * g["dev_macro_f1"] for g in points], label="dev macro-F1")
            ax.plot(weights, [100 * g["test_macro_f1"] for g in points], label="test macro-F1")
            ax.set_title(f"{Path(section['checkpoint']).name}: {fusion} fusion", fontsize=9)
            ax.set_xlabel("encoder weight")
            ax.legend(loc="lower center", fontsize=7)
            loss = ax.twinx()
            loss.plot(weights, [g["dev_log_loss"] for g in points], "k:", lw=1)
            loss.set_ylabel("dev log-loss (dotted)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def summarize(sections: list[dict]) -> dict:
    summary = {}
    for rule in _rules():
        picks = [s["rules"][rule] for s in sections]
        summary[rule] = {
            "picks": [f"{p['fusion']} {p['weight']:g}" for p in picks],
            "dev_out_of_fold_macro_f1_mean": statistics.mean(p["dev_out_of_fold_macro_f1"] for p in picks),
            "dev_macro_f1_mean": statistics.mean(p["dev_macro_f1"] for p in picks),
            "test_macro_f1": [p["test_macro_f1"] for p in picks],
            "test_macro_f1_mean": statistics.mean(p["test_macro_f1"] for p in picks),
        }
    return summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", type=Path, nargs="+", required=True, help="fused topic checkpoints")
    parser.add_argument("--data-dir", type=Path, default=common.DEFAULT_DATA_DIR, help="holds ant/{dev,test}.jsonl")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR / "fusion_rules.json")
    parser.add_argument(
        "--topic-input",
        choices=("head", "chunks"),
        help="read the articles this way instead of the checkpoint's own (preprocessing.topic_input)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.setup_logging()
    from arabic_news.data.formats import read_documents

    folder = args.data_dir / "ant"
    docs = {split: read_documents(folder / f"{split}.jsonl") for split in ("dev", "test")}
    sections = [checkpoint_section(c, docs, args.topic_input) for c in args.checkpoints]
    summary = summarize(sections)
    plot(sections, args.out.with_suffix(".png"))
    common.write_results(args.out, "fusion_rules", {"fusion": {"checkpoints": sections, "rules": summary}}, {})
    print(f"{'rule':40s} {'picks':28s} {'dev out-of-fold':>15s} {'dev':>6s} {'test (reported)':>22s}")
    for rule, f in summary.items():
        tests = " ".join(f"{100 * t:.1f}" for t in f["test_macro_f1"])
        print(
            f"{rule:40s} {', '.join(f['picks']):28s} {100 * f['dev_out_of_fold_macro_f1_mean']:15.2f} "
            f"{100 * f['dev_macro_f1_mean']:6.2f} {tests:>14s} = {100 * f['test_macro_f1_mean']:.2f}"
        )
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    common.run_main(main)
