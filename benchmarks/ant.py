"""ANT v2.1 topic classification: the project's topic model against TF-IDF + linear SVM, overall and per source.

    python -m benchmarks.ant [--data-dir ../shared/data] [--seeds 42] [--set training.num_train_epochs=2] [--lexical]

1. model: trains `configs/ant.yaml` through the project API (runs/ant-e5-seed<N>; rerunning an interrupted command
   resumes it) and scores the test split with the evaluation harness: accuracy, macro-F1 with bootstrap 95% CIs,
   per class and per source (each site has its own label set and style, so a model can learn the site instead of
   the topic; the per-source rows show it).
   A config with `model.lexical` (configs/ant.yaml has one), or --lexical on a config without: the topic model
   fused with TF-IDF + logistic regression, the fusion weight chosen on dev (runs/ant-e5-lexical-seed<N>); the
   results then also hold the dev/test macro-F1 of the encoder alone, the regression alone and the fusion, and the
   chosen weight.
2. svm: TF-IDF (word 1-2 + char 2-5 grams) + LinearSVC (benchmarks/svm_baseline.py), C chosen on dev, scored by
   the same scorer.
3. lr: the same features + logistic regression, C chosen on dev from (100, 1000).
All systems use the corpus's own train/dev/test split; test is never used for a choice.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common
from benchmarks.common import mean_sd, pct, print_table, repo_relative

log = logging.getLogger("benchmarks.ant")
SPLITS = ("train", "dev", "test")


def parse_args(argv=None):
    parser = common.benchmark_parser(
        __doc__.splitlines()[0],
        "ant.json",
        "ant.yaml",
        "the project's topic config to train",
        systems=("model", "svm", "lr"),
    )
    parser.add_argument(
        "--lexical",
        action="store_true",
        help="fuse the model with TF-IDF + logistic regression (model.lexical: true, weight chosen on dev) when the "
        "config does not already; a config's own model.lexical block is kept",
    )
    return parser.parse_args(argv)


def load_corpus(data_dir: Path, limit: int | None) -> tuple[dict[str, Path], dict[str, list]]:
    """Paths and Documents of the three splits; with --limit, paths to subsets (every k-th article: the files are
    sorted by source and topic) written outside the repo."""
    from arabic_news.data.formats import read_documents, write_documents

    paths = {split: common.corpus_file(data_dir, f"ant/{split}.jsonl") for split in SPLITS}
    docs = {split: common.limited(read_documents(path), limit, spread=True) for split, path in paths.items()}
    if limit is not None:
        folder = common.scratch_dir("ant")
        for split in SPLITS:
            paths[split] = folder / f"{split}.jsonl"
            write_documents(docs[split], paths[split])
        log.info("--limit %d: subsets written to %s", limit, folder)
    return paths, docs


def corpus_summary(docs: dict[str, list]) -> dict:
    from collections import Counter

    return {
        split: {
            "articles": len(d),
            "topics": dict(sorted(Counter(x.topic for x in d).items())),
            "sources": dict(sorted(Counter(str(x.meta.get("source")) for x in d).items())),
        }
        for split, d in docs.items()
    }


def topic_figures(topic: dict) -> dict:
    """The figures worth keeping from the harness's `topic` section."""
    return {
        "accuracy": topic["accuracy"],
        "accuracy_ci95": topic.get("accuracy_ci95"),
        "macro_f1": topic["macro_f1"],
        "macro_f1_ci95": topic.get("macro_f1_ci95"),
        "per_class": topic["per_class"],
        "per_source": topic["per_source"],
        "confusion": topic["confusion"],
    }


# ---- 1. the project's model --------------------------------------------------------------------------------------
def model_section(args, paths: dict[str, Path]) -> dict:
    from arabic_news.training.config import load_config

    overrides = [f"data.{split}={paths[split]}" for split in SPLITS] + args.overrides
    fused = bool(load_config(args.config, overrides).model.lexical)
    if args.lexical and not fused:  # a config's own model.lexical block (its chosen settings) is kept as it is
        overrides.append("model.lexical=true")
        fused = True
    name = common.run_name("ant-e5-lexical" if fused else "ant-e5", args.limit)
    checkpoints = common.train_seeds(
        args.config, overrides, name, args.runs_dir, args.seeds, args.skip_train, args.overwrite
    )
    evaluated, seconds = common.evaluate_checkpoints(checkpoints, paths["test"], args.runs_dir / f"{name}-eval")
    runs = [
        {
            "seed": seed,
            "checkpoint": repo_relative(checkpoint),
            **topic_figures(e["report"]["topic"]),
            "dev_macro_f1": e["metadata"].get("scores", {}).get("dev", {}).get("macro_f1"),
            "training": e["metadata"].get("training", {}),
            **lexical_figures(checkpoint, e["metadata"]),
        }
        for seed, checkpoint, e in zip(args.seeds, checkpoints, evaluated)
    ]
    return {
        "system": "this project, embedded e5-small" + (" fused with TF-IDF + logistic regression" if fused else ""),
        "config": repo_relative(args.config),
        "overrides": args.overrides,
        "runs": runs,
        "evaluation_seconds": round(seconds, 1),
        "test_macro_f1": mean_sd([r["macro_f1"] for r in runs]),
        "test_accuracy": mean_sd([r["accuracy"] for r in runs]),
    }


def lexical_figures(checkpoint: Path, metadata: dict) -> dict:
    """A fused model's lexical settings and chosen weight, and the macro-F1 of its parts (from its metrics.json)."""
    import json

    if not metadata.get("lexical"):
        return {}
    metrics = json.loads((Path(checkpoint) / "metrics.json").read_text(encoding="utf-8")).get("lexical", {})
    parts = {
        split: {part: values[part]["macro_f1"] for part in ("encoder", "lexical", "fused")}
        for split, values in metrics.get("scores", {}).items()
    }
    size = sum(p.stat().st_size for p in Path(checkpoint).glob("lexical*"))
    return {"lexical": metadata["lexical"], "macro_f1_of_parts": parts, "lexical_files_bytes": size}


# ---- 2./3. the TF-IDF baselines ---------------------------------------------------------------------------------
BASELINES = {
    "svm": "TF-IDF (word 1-2 + char 2-5 grams) + LinearSVC",
    "lr": "TF-IDF (word 1-2 + char 2-5 grams) + logistic regression",
}


def svm_section(docs: dict[str, list], classifier: str = "svm") -> dict:
    from arabic_news.evaluation import evaluate_predictions
    from benchmarks import svm_baseline

    grid = svm_baseline.DEFAULT_C_GRID if classifier == "svm" else svm_baseline.LR_C_GRID
    result = svm_baseline.select_on_dev(docs["train"], docs["dev"], c_grid=grid, classifier=classifier)
    started = time.perf_counter()
    predicted = svm_baseline.predict_documents(result, docs["test"])
    predict_seconds = time.perf_counter() - started
    labels = sorted({d.topic for d in docs["train"]})
    figures = topic_figures(evaluate_predictions("topic", docs["test"], predicted, labels)["topic"])
    return {
        "system": BASELINES[classifier],
        **figures,
        "test_macro_f1": figures["macro_f1"],
        "test_accuracy": figures["accuracy"],
        "chosen": result.best,
        "grid": result.grid,
        "features": result.features,
        "vectorize_seconds": round(result.vectorize_seconds, 1),
        "grid_seconds": round(result.seconds, 1),
        "test_articles_per_second": round(len(docs["test"]) / predict_seconds, 1) if predict_seconds else None,
    }


# ---- report --------------------------------------------------------------------------------------------------
def print_summary(results: dict) -> None:
    model = results.get("model")
    rows, systems = [], []
    if model:
        run = model["runs"][0]
        rows.append(
            [
                model["system"],
                f"{pct(model['test_accuracy']['mean'])}",
                f"{pct(model['test_macro_f1']['mean'])} ± {pct(model['test_macro_f1']['sd'])} "
                f"({model['test_macro_f1']['runs']} seed(s))",
                f"{pct(run['macro_f1_ci95'][0])}–{pct(run['macro_f1_ci95'][1])}",
            ]
        )
        systems.append(("model (first seed)", run))
    for key, short in (("svm", "TF-IDF + SVM"), ("lr", "TF-IDF + LR")):
        baseline = results.get(key)
        if not baseline:
            continue
        rows.append(
            [
                baseline["system"],
                pct(baseline["accuracy"]),
                pct(baseline["macro_f1"]),
                f"{pct(baseline['macro_f1_ci95'][0])}–{pct(baseline['macro_f1_ci95'][1])}",
            ]
        )
        systems.append((short, baseline))
    print_table("ANT test", ["system", "accuracy", "macro-F1", "macro-F1 95% CI"], rows)
    sources = sorted({s for _, figures in systems for s in figures["per_source"]})
    if sources:
        print_table(
            "per source: accuracy / macro-F1",
            ["system", *sources],
            [
                [name]
                + [
                    f"{pct(f['per_source'][s]['accuracy'])} / {pct(f['per_source'][s]['macro_f1'])}"
                    if s in f["per_source"]
                    else "—"
                    for s in sources
                ]
                for name, f in systems
            ],
        )


def main(argv=None) -> int:
    common.setup_logging()
    args = parse_args(argv)
    paths, docs = load_corpus(args.data_dir, args.limit)
    files = {
        s: repo_relative(p) if args.limit is None else f"{args.limit} articles spread over the file"
        for s, p in paths.items()
    }
    sections = {"data": {"files": files, "limit": args.limit, "split": corpus_summary(docs)}}
    for classifier in ("svm", "lr"):
        if classifier in args.systems:
            sections[classifier] = svm_section(docs, classifier)
    if "model" in args.systems:
        sections["model"] = model_section(args, paths)
    headline = {
        "test_macro_f1": sections["model"]["test_macro_f1"]["mean"] if "model" in sections else None,
        "test_accuracy": sections["model"]["test_accuracy"]["mean"] if "model" in sections else None,
        "svm_test_macro_f1": sections["svm"]["test_macro_f1"] if "svm" in sections else None,
        "svm_test_accuracy": sections["svm"]["test_accuracy"] if "svm" in sections else None,
        "lr_test_macro_f1": sections["lr"]["test_macro_f1"] if "lr" in sections else None,
        "lr_test_accuracy": sections["lr"]["test_accuracy"] if "lr" in sections else None,
        **(
            common.seed_figures(sections["model"]["runs"], lambda r: r["macro_f1"], "dev_macro_f1", "macro_f1")
            if "model" in sections
            else {}
        ),
    }
    results = common.write_results(args.out, "ant", sections, headline)
    print_summary(results)
    return 0


if __name__ == "__main__":
    common.run_main(main)
