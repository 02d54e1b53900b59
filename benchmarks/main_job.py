"""The main job (README command 1) over several seeds: its dev scores and how it tags the seed article.

    python -m benchmarks.main_job [--config configs/sample-ner.yaml] [--seeds 42 43 44] [--set KEY=VALUE ...]
    python -m benchmarks.main_job --config configs/sample-topic.yaml --seeds 42 43 44

Trains the config through the project API once per seed (runs/main-<config name>[-<digest of the --set
overrides>]-seed<N>; a finished seed is reused, an interrupted one resumes), then scores every checkpoint with
the evaluation harness on the config's dev set (where recipes are chosen) and on `data/seed.jsonl`, the seed
article's gold annotation (a test: nothing is chosen on it). With `--cross-corpus`, every checkpoint is also
scored on the dev split of a public corpus of real news that the main job never trains on, to see how far its model
carries beyond the sample corpus: NER on ANERcorp's (the last 10% of `<data-dir>/anercorp/train.conll`, read as
`configs/anercorp.yaml` reads it), topic on ANT's (`<data-dir>/ant/dev.jsonl`, each headline put first as in the
sample corpus). The split is written to a scratch folder outside the repository.
One run of the main job is noisy (12 dev articles, 28 seed entities), so the figures are per seed and mean ± sd.

Writes `results/main_job.json`, one section per task: NER — dev micro-F1, the seed article's exact-span precision,
recall and F1, per type, error counts and the mentions it gets wrong; topic — dev accuracy and macro-F1, the seed
article's predicted topic and its probability. Running the other config keeps the first one's section.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common
from benchmarks.common import mean_sd, pct, print_table, repo_relative

log = logging.getLogger("benchmarks.main_job")

SEED_GOLD = common.REPO_ROOT / "data" / "seed.jsonl"
# Per task: the figures averaged over seeds (with their column titles), and those the results file leads with.
FIGURES = {
    "ner": {
        "dev_micro_f1": "dev micro-F1",
        "seed_span_f1": "seed span F1",
        "seed_span_precision": "P",
        "seed_span_recall": "R",
    },
    "topic": {
        "dev_accuracy": "dev accuracy",
        "dev_macro_f1": "dev macro-F1",
        "seed_topic_accuracy": "seed topic correct",
    },
}
HEADLINE = {"ner": ("seed_span_f1", "dev_micro_f1"), "topic": ("seed_topic_accuracy", "dev_macro_f1")}


def parse_args(argv=None):
    parser = common.benchmark_parser(
        __doc__.splitlines()[0],
        "main_job.json",
        "sample-ner.yaml",
        "the main job's config to train: configs/sample-ner.yaml or configs/sample-topic.yaml",
    )
    parser.add_argument(
        "--cross-corpus",
        action="store_true",
        help="also score every seed on a public corpus's dev split (under --data-dir) that it never trained on: "
        "ANERcorp for NER, ANT for topic",
    )
    parser.add_argument("--seed-gold", type=Path, default=Path(repo_relative(SEED_GOLD)), help="the seed's gold")
    common.add_training_options(parser)
    return parser.parse_args(argv)


def run_name(config: Path, overrides: list[str]) -> str:
    """`main-<config name>`, plus a digest of the overrides: a recipe never reuses another recipe's checkpoints."""
    if not overrides:
        return f"main-{config.stem}"
    return f"main-{config.stem}-{hashlib.sha256(' '.join(overrides).encode()).hexdigest()[:8]}"


def ner_run(dev: dict, seed: dict) -> dict:
    span = seed["ner"]["span"]["exact"]
    return {
        "dev_micro_f1": dev["ner"]["micro"]["f1"],
        "seed_span_f1": span["micro"]["f1"],
        "seed_span_precision": span["micro"]["precision"],
        "seed_span_recall": span["micro"]["recall"],
        "seed_span_per_type_f1": {t: s["f1"] for t, s in sorted(span["per_type"].items())},
        "seed_errors": seed["ner"]["errors"]["counts"],
        "seed_error_examples": seed_error_examples(seed["ner"]["errors"]["examples"]),
    }


def seed_error_examples(examples: dict[str, list[dict]]) -> list[str]:
    """The harness's error examples as one line each, e.g. 'wrong_type PERS -> LOC: …لـ “الحلف” [ينس ستولتنبرج]، حيث…',
    so which mentions a seed gets wrong can be read from the results file (up to the harness's five per class)."""
    lines = []
    for kind, shown in examples.items():
        for e in shown:
            gold, predicted = (e[side]["label"] if e[side] else "O" for side in ("gold", "predicted"))
            lines.append(f"{kind} {gold} -> {predicted}: {e['context']}")
    return lines


def topic_run(dev: dict, seed: dict, seed_folder: Path) -> dict:
    predicted = [json.loads(line) for line in (seed_folder / "predictions.jsonl").read_text("utf-8").splitlines()]
    return {
        "dev_accuracy": dev["topic"]["accuracy"],
        "dev_macro_f1": dev["topic"]["macro_f1"],
        "seed_topic_accuracy": seed["topic"]["accuracy"],
        "seed_topics": [{"topic": p["topic"], "probability": p["topic_score"]} for p in predicted],
    }


def model_section(args) -> tuple[str, dict]:
    from arabic_news.training.config import load_config

    config = load_config(args.config, args.overrides)
    task = config.task
    if not config.data.dev:  # checked before any training, not after it
        raise common.BenchmarkError(f"{args.config} has no data.dev. Fix: give the config a dev file")
    dev_path = Path(config.data.dev)
    cross = CROSS_CORPUS[task]
    corpus = common.corpus_file(args.data_dir, cross.file) if args.cross_corpus else None  # found before training
    name = run_name(args.config, args.overrides)
    checkpoints = common.train_seeds(
        args.config, args.overrides, name, args.runs_dir, args.seeds, args.skip_train, args.overwrite
    )
    on_dev, _ = common.evaluate_checkpoints(checkpoints, dev_path, args.runs_dir / f"{name}-eval" / "dev")
    on_seed, _ = common.evaluate_checkpoints(checkpoints, args.seed_gold, args.runs_dir / f"{name}-eval" / "seed")
    foreign = (
        cross.score(corpus, checkpoints, args.runs_dir / f"{name}-eval" / cross.name)
        if corpus
        else [{} for _ in checkpoints]
    )
    runs = []
    for seed, checkpoint, dev, gold, elsewhere in zip(args.seeds, checkpoints, on_dev, on_seed, foreign):
        figures = (
            ner_run(dev["report"], gold["report"])
            if task == "ner"
            else topic_run(dev["report"], gold["report"], gold["folder"])
        )
        figures.update(elsewhere)
        training = dev["metadata"].get("training", {})
        runs.append({"seed": seed, "checkpoint": repo_relative(checkpoint), **figures, "training": training})
    section = {
        "config": repo_relative(args.config),
        "overrides": args.overrides,
        "dev": repo_relative(dev_path),
        "seed_gold": repo_relative(args.seed_gold),
        "runs": runs,
        **{key: mean_sd([r[key] for r in runs]) for key in figures_of(task, runs)},
    }
    return task, section


def figures_of(task: str, runs: list[dict]) -> dict[str, str]:
    """The figures averaged over seeds: the task's own, and the cross-corpus one where it was measured."""
    figures = dict(FIGURES[task])
    cross = CROSS_CORPUS[task]
    if runs and cross.figure in runs[0]:
        figures[cross.figure] = cross.title
    return figures


def anercorp_dev_figures(train_file: Path, checkpoints: list[Path], out: Path) -> list[dict]:
    """Each checkpoint's micro-F1 and per-type F1 on ANERcorp's dev split, cut and joined as its config does."""
    from arabic_news.data import read_documents, write_documents
    from arabic_news.training.config import load_config

    data = load_config(common.REPO_ROOT / "configs" / "anercorp.yaml").data
    _, dev = common.sequential_dev_split(read_documents(train_file), data.dev_fraction)
    path = common.scratch_dir("anercorp-dev") / "dev.conll"  # outside the repository: no corpus text lands in it
    write_documents(dev, path)
    scored, _ = common.evaluate_checkpoints(checkpoints, path, out, data.sentences_per_document)
    return [
        {
            "anercorp_dev_micro_f1": s["report"]["ner"]["micro"]["f1"],
            "anercorp_dev_per_type_f1": {t: v["f1"] for t, v in sorted(s["report"]["ner"]["per_type"].items())},
        }
        for s in scored
    ]


def ant_dev_figures(dev_file: Path, checkpoints: list[Path], out: Path) -> list[dict]:
    """Each checkpoint's macro-F1 and accuracy on ANT's dev split, each article's title as its first line (the
    sample corpus's articles start with their headline)."""
    from arabic_news.data import Document, read_documents, write_documents

    docs = read_documents(dev_file)
    headed = [Document(d.id, f"{d.meta['title']}\n{d.text}", d.topic) if d.meta.get("title") else d for d in docs]
    path = common.scratch_dir("ant-dev") / "dev.jsonl"  # outside the repository: no corpus text lands in it
    write_documents(headed, path)
    scored, _ = common.evaluate_checkpoints(checkpoints, path, out)
    return [
        {"ant_dev_macro_f1": s["report"]["topic"]["macro_f1"], "ant_dev_accuracy": s["report"]["topic"]["accuracy"]}
        for s in scored
    ]


@dataclass(frozen=True)
class CrossCorpus:
    """A public corpus that a task's main-job models are also scored on (--cross-corpus)."""

    name: str  # its report folder: <runs-dir>/<run>-eval/<name>
    file: str  # under --data-dir
    figure: str  # averaged over seeds
    title: str  # the figure's column title
    score: Callable[[Path, list[Path], Path], list[dict]]  # (corpus file, checkpoints, report folder) -> per seed


CROSS_CORPUS = {
    "ner": CrossCorpus(
        "anercorp-dev", "anercorp/train.conll", "anercorp_dev_micro_f1", "ANERcorp dev micro-F1", anercorp_dev_figures
    ),
    "topic": CrossCorpus("ant-dev", "ant/dev.jsonl", "ant_dev_macro_f1", "ANT dev macro-F1", ant_dev_figures),
}


def print_summary(task: str, section: dict) -> None:
    figures = figures_of(task, section["runs"])
    rows = [
        [r["seed"], *(pct(r[k]) for k in figures), round(r["training"].get("seconds", 0.0))] for r in section["runs"]
    ]
    rows.append(["mean ± sd", *(f"{pct(section[k]['mean'])} ± {pct(section[k]['sd'])}" for k in figures), ""])
    print_table(f"main job, {task} ({section['config']})", ["seed", *figures.values(), "training s"], rows)


def main(argv=None) -> int:
    common.setup_logging()
    args = parse_args(argv)
    task, section = model_section(args)
    headline = {f"{task}_{key}": section[key]["mean"] for key in HEADLINE[task]}
    common.write_results(args.out, "main_job", {task: section}, headline)
    print_summary(task, section)
    return 0


if __name__ == "__main__":
    common.run_main(main)
