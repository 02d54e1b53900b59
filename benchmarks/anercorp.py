"""ANERcorp (CAMeL Lab split): the project's NER model against a CRF baseline and the published figures.

    python -m benchmarks.anercorp [--data-dir ../shared/data] [--seeds 1 2 3] [--set training.num_train_epochs=5]

1. model: trains `configs/anercorp.yaml` through the project API once per seed (runs/anercorp-e5-seed<N>; rerunning
   an interrupted command resumes it), then scores the test set with the evaluation harness: seqeval micro-F1 in
   default and strict IOB2 mode, per type, bootstrap 95% CI; mean ± sd over seeds.
2. crf: a feature CRF (benchmarks/crf_baseline.py) on the same split, c1/c2 chosen on dev.
3. the published figures on this split, as constants with their sources.

Dev is the LAST 10% of the train sentences for both systems; test is never used for a choice. The harness writes
its reports (with predictions, i.e. corpus text) under runs/, which git ignores; only figures go to --out.
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

log = logging.getLogger("benchmarks.anercorp")

DEV_FRACTION = 0.1
ENTITY_TYPES = ("LOC", "MISC", "ORG", "PERS")
INOUE_2021 = (
    'Inoue, Alhafni, Baimukan, Bouamor & Habash (2021), "The Interplay of Variant, Size, and Task Type in '
    'Arabic Pre-trained Language Models", WANLP 2021 (arXiv:2103.06678), ANERcorp results on the CAMeL '
    "Lab split"
)
# Micro-F1 on the CAMeL Lab ANERcorp test split, as published. BERT-family models were fine-tuned by the cited
# authors with the full 110M-parameter (or larger) encoders and GPU budgets, so they are anchors, not rivals run here.
PUBLISHED = [
    {
        "system": "mBERT",
        "test_micro_f1": 0.784,
        "source": INOUE_2021,
        "note": "from the paper's comparison with existing pre-trained models",
    },
    {
        "system": "AraBERTv0.1",
        "test_micro_f1": 0.831,
        "source": INOUE_2021,
        "note": "from the paper's comparison with existing pre-trained models",
    },
    {"system": "CAMeLBERT-MSA", "test_micro_f1": 0.824, "source": INOUE_2021, "note": "the paper's own MSA model"},
    {
        "system": "BiLSTM-CRF",
        "test_micro_f1": 0.817,
        "source": "as listed with the shared benchmark data (../shared/data/README.md); the original publication was "
        "not verified here",
        "note": "uncertain source: a pre-BERT neural baseline quoted for this split; treat as approximate",
    },
]


def parse_args(argv=None):
    parser = common.benchmark_parser(
        __doc__.splitlines()[0],
        "anercorp.json",
        "anercorp.yaml",
        "the project's NER config to train",
        systems=("model", "crf"),
    )
    parser.add_argument("--crf-max-iterations", type=int, default=100, help="L-BFGS iterations per CRF fit")
    return parser.parse_args(argv)


# ---- data ----------------------------------------------------------------------------------------------------
def load_corpus(data_dir: Path, limit: int | None):
    """(train path, test path, train docs, test docs); with --limit, paths to subsets written outside the repo."""
    from arabic_news.data.conll import read_conll, write_conll

    train_path = common.corpus_file(data_dir, "anercorp/train.conll")
    test_path = common.corpus_file(data_dir, "anercorp/test.conll")
    train_docs, test_docs = read_conll(train_path), read_conll(test_path)
    if limit is not None:
        train_docs, test_docs = common.limited(train_docs, limit), common.limited(test_docs, limit)
        folder = common.scratch_dir("anercorp")
        train_path, test_path = folder / "train.conll", folder / "test.conll"
        write_conll(train_docs, train_path)
        write_conll(test_docs, test_path)
        log.info("--limit %d: subsets written to %s", limit, folder)
    return train_path, test_path, train_docs, test_docs


def corpus_summary(train_docs, test_docs) -> dict:
    train, dev = common.sequential_dev_split(train_docs, DEV_FRACTION)
    return {
        name: {"sentences": len(docs), "entities": sum(len(d.entities) for d in docs)}
        for name, docs in (("train", train), ("dev", dev), ("test", test_docs))
    }


# ---- figures from a harness report ----------------------------------------------------------------------------
def ner_figures(ner: dict) -> dict:
    """The figures worth keeping from the harness's `ner` section (no examples: they quote corpus text)."""

    def prf(s: dict) -> dict:
        return {k: s[k] for k in ("precision", "recall", "f1", "support") if k in s}

    return {
        "micro": {**prf(ner["micro"]), "ci95": ner["micro"].get("ci95")},
        "strict_micro": prf(ner["strict"]["micro"]),
        "macro_f1": ner["macro"]["f1"],
        "per_type": {t: prf(s) for t, s in sorted(ner["per_type"].items())},
        "strict_per_type": {t: prf(s) for t, s in sorted(ner["strict"]["per_type"].items())},
        "span_exact_micro_f1": ner["span"]["exact"]["micro"]["f1"],
        "span_clitic_tolerant_micro_f1": ner["span"]["clitic_tolerant"]["micro"]["f1"],
        "errors": ner["errors"]["counts"],
    }


# ---- 1. the project's model --------------------------------------------------------------------------------------
def model_section(args, train_path: Path, test_path: Path) -> dict:
    from arabic_news.training.config import load_config

    overrides = [f"data.train={train_path}", f"data.test={test_path}", *args.overrides]
    name = common.run_name("anercorp-e5", args.limit)
    checkpoints = common.train_seeds(
        args.config, overrides, name, args.runs_dir, args.seeds, args.skip_train, args.overwrite
    )
    joined = load_config(args.config, overrides).data.sentences_per_document  # evaluate as the model was trained
    evaluated, seconds = common.evaluate_checkpoints(checkpoints, test_path, args.runs_dir / f"{name}-eval", joined)
    runs = [
        {
            "seed": seed,
            "checkpoint": repo_relative(checkpoint),
            **ner_figures(e["report"]["ner"]),
            "dev_micro_f1": e["metadata"].get("scores", {}).get("dev", {}).get("f1"),
            "training": e["metadata"].get("training", {}),
        }
        for seed, checkpoint, e in zip(args.seeds, checkpoints, evaluated)
    ]
    return {
        "system": "this project, embedded e5-small (word level)",
        "config": repo_relative(args.config),
        "overrides": args.overrides,
        "runs": runs,
        "evaluation_seconds": round(seconds, 1),
        "test_micro_f1": mean_sd([r["micro"]["f1"] for r in runs]),
        "test_micro_f1_strict": mean_sd([r["strict_micro"]["f1"] for r in runs]),
        "per_type_f1": {t: mean_sd([r["per_type"].get(t, {}).get("f1", 0.0) for r in runs]) for t in ENTITY_TYPES},
    }


# ---- 2. the CRF baseline --------------------------------------------------------------------------------------
def crf_section(args, train_docs, test_docs) -> dict:
    from arabic_news.evaluation import evaluate_predictions
    from benchmarks import crf_baseline

    train_part, dev_part = common.sequential_dev_split(train_docs, DEV_FRACTION)
    train, dev = crf_baseline.sentences_of(train_part), crf_baseline.sentences_of(dev_part)
    log.info("CRF: %d train / %d dev sentences, grid %s", len(train), len(dev), crf_baseline.DEFAULT_GRID)
    result = crf_baseline.select_on_dev(train, dev, max_iterations=args.crf_max_iterations)
    test_tokens = [s.tokens for s in crf_baseline.sentences_of(test_docs)]
    started = time.perf_counter()
    tags = crf_baseline.predict_tags(result.crf, test_tokens)
    predict_seconds = time.perf_counter() - started
    predicted = crf_baseline.predicted_documents(test_docs, tags)
    labels = ["O"] + sorted(
        {label for seq in tags for label in seq if label != "O"} | {f"{p}-{t}" for t in ENTITY_TYPES for p in "BI"}
    )
    report = evaluate_predictions("ner", test_docs, predicted, labels)
    figures = ner_figures(report["ner"])
    words = sum(len(t) for t in test_tokens)
    return {
        "system": "CRF (word, affix, clitic-prefix, shape features, +-2 window; sklearn-crfsuite L-BFGS)",
        **figures,
        "test_micro_f1": figures["micro"]["f1"],
        "test_micro_f1_strict": figures["strict_micro"]["f1"],
        "chosen": {"c1": result.best["c1"], "c2": result.best["c2"], "dev_micro_f1": result.best["dev_micro_f1"]},
        "grid": result.grid,
        "max_iterations": args.crf_max_iterations,
        "grid_seconds": round(result.seconds, 1),
        "test_words_per_second": round(words / predict_seconds) if predict_seconds else None,
    }


# ---- report --------------------------------------------------------------------------------------------------
def print_summary(results: dict) -> None:
    rows = []
    model, crf = results.get("model"), results.get("crf")
    if model:
        m, s = model["test_micro_f1"], model["test_micro_f1_strict"]
        lo = [r["micro"]["ci95"] for r in model["runs"]]
        ci = f"{pct(lo[0][0])}–{pct(lo[0][1])}" if len(lo) == 1 else "see runs"
        rows.append(
            [model["system"], f"{pct(m['mean'])} ± {pct(m['sd'])} ({m['runs']} seed(s))", f"{pct(s['mean'])}", ci]
        )
    if crf:
        rows.append(
            [
                "CRF baseline",
                pct(crf["test_micro_f1"]),
                pct(crf["test_micro_f1_strict"]),
                f"{pct(crf['micro']['ci95'][0])}–{pct(crf['micro']['ci95'][1])}",
            ]
        )
    rows += [[f"{p['system']} (published)", pct(p["test_micro_f1"]), "—", "—"] for p in PUBLISHED]
    print_table("ANERcorp test, micro-F1 (seqeval)", ["system", "default", "strict IOB2", "95% CI"], rows)
    type_rows = []
    if model:
        type_rows.append(["model"] + [pct(model["per_type_f1"][t]["mean"]) for t in ENTITY_TYPES])
    if crf:
        type_rows.append(["CRF"] + [pct(crf["per_type"].get(t, {}).get("f1", 0.0)) for t in ENTITY_TYPES])
    if type_rows:
        print_table("per type F1 (default mode)", ["system", *ENTITY_TYPES], type_rows)


def main(argv=None) -> int:
    common.setup_logging()
    args = parse_args(argv)
    train_path, test_path, train_docs, test_docs = load_corpus(args.data_dir, args.limit)
    sections = {
        "data": {
            "train": repo_relative(train_path) if args.limit is None else f"first {args.limit} sentences",
            "test": repo_relative(test_path) if args.limit is None else f"first {args.limit} sentences",
            "dev": f"last {DEV_FRACTION:.0%} of the train sentences",
            "limit": args.limit,
            "split": corpus_summary(train_docs, test_docs),
        },
        "published": {"figures": PUBLISHED},
    }
    if "crf" in args.systems:
        sections["crf"] = crf_section(args, train_docs, test_docs)
    if "model" in args.systems:
        sections["model"] = model_section(args, train_path, test_path)
    model, crf = sections.get("model"), sections.get("crf")
    headline = {
        "test_micro_f1": model["test_micro_f1"]["mean"] if model else None,
        "test_micro_f1_strict": model["test_micro_f1_strict"]["mean"] if model else None,
        "crf_test_micro_f1": crf["test_micro_f1"] if crf else None,
        **(common.seed_figures(model["runs"], lambda r: r["micro"]["f1"], "dev_micro_f1", "micro_f1") if model else {}),
    }
    results = common.write_results(args.out, "anercorp", sections, headline)
    print_summary(results)
    return 0


if __name__ == "__main__":
    common.run_main(main)
