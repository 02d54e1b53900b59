"""What every benchmark script shares: its command-line basics, where the corpora are, how results are saved.

Results are JSON files in `benchmarks/results/`: the command line, the date, the machine (CPU model, cores, library
versions) and the figures. Paths inside them are written relative to the repository root, so a results file never
holds a path of the machine it ran on. Corpora are read where they are (`--data-dir`) and never copied into the
repository; the small subsets that `--limit` runs train on go to a temporary folder.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import logging
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"

log = logging.getLogger("benchmarks")


class BenchmarkError(Exception):
    """A problem the person running the benchmark can fix (missing corpus, bad flag); printed as one line."""


# ---- command line ----------------------------------------------------------------------------------------------
def benchmark_parser(
    description: str,
    default_out: str,
    config_name: str,
    config_help: str,
    systems: tuple[str, ...] = (),
    corpora: bool = True,
) -> argparse.ArgumentParser:
    """A parser with the options the benchmark scripts share, so that a script adds only its own: --data-dir (unless
    it reads no public corpus: `corpora=False`), --out (default `results/<default_out>`), --set and --config (default
    `configs/<config_name>`). Given the `systems` it compares (the project's model, trained once per seed, against
    baselines), also --limit, the training options (--seeds, --skip-train, --overwrite, --runs-dir) and --systems,
    all of them by default."""
    compares = bool(systems)
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    if corpora:
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=Path(os.path.relpath(DEFAULT_DATA_DIR)),
            help="folder holding the corpora (anercorp/, ant/); see its README",
        )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.path.relpath(RESULTS_DIR / default_out)),
        help="JSON file the figures are written to",
    )
    if compares:
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            metavar="N",
            help="use only N records of each split (a quick check of the script, not a benchmark)",
        )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="extra config override passed to the project (e.g. training.num_train_epochs=3); repeatable",
    )
    parser.add_argument(
        "--config", type=Path, default=Path(os.path.relpath(REPO_ROOT / "configs" / config_name)), help=config_help
    )
    if compares:
        add_training_options(parser)
        parser.add_argument(
            "--systems",
            nargs="+",
            choices=systems,
            default=list(systems),
            help="which systems to run (the others keep their figures in --out)",
        )
    return parser


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """--seeds, --skip-train, --overwrite and --runs-dir: how a benchmark trains its model (see `train_seeds`)."""
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="one model per seed")
    parser.add_argument("--skip-train", action="store_true", help="evaluate the existing checkpoints only")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="retrain seeds that already have a finished model (otherwise they are reused)",
    )
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=Path(os.path.relpath(REPO_ROOT / "runs")),
        help="where checkpoints and evaluation reports go (ignored by git)",
    )


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the embedded encoder needs no network; never wait for one


def run_main(main: Callable[[], int]) -> None:
    """Run a benchmark's main; problems the user can fix print as one line and exit 1 instead of a traceback."""
    from arabic_news.errors import ArabicNewsError

    try:
        sys.exit(main())
    except (BenchmarkError, ArabicNewsError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


# ---- corpora -----------------------------------------------------------------------------------------------------
def corpus_file(data_dir: Path, relative: str) -> Path:
    """A corpus file under --data-dir, or a clear error that says where it was looked for."""
    path = data_dir / relative
    if not path.is_file():
        raise BenchmarkError(
            f"{path} not found. Fix: pass --data-dir FOLDER where FOLDER/{relative} exists "
            "(the shared benchmark data; see data/README.md)"
        )
    return path


def sequential_dev_split(docs: list, dev_fraction: float) -> tuple[list, list]:
    """First part train, LAST `dev_fraction` dev: the same cut as the project's `data.dev_fraction`."""
    cut = len(docs) - max(1, round(len(docs) * dev_fraction))
    return docs[:cut], docs[cut:]


def scratch_dir(prefix: str) -> Path:
    """A temporary folder outside the repository for corpus subsets, so nothing of a corpus lands in the repo;
    removed when the script exits."""
    folder = Path(tempfile.mkdtemp(prefix=f"arabic-news-{prefix}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def limited(docs: list, limit: int | None, spread: bool = False) -> list:
    """The first `limit` records, or with `spread` every k-th record (for files sorted by label or source, whose
    first records would all share one)."""
    if limit is None or limit >= len(docs):
        return docs
    if not spread:
        return docs[:limit]
    step = len(docs) / limit
    return [docs[int(i * step)] for i in range(limit)]


# ---- the project's models -------------------------------------------------------------------------------------
def train_seeds(
    config_path: Path,
    overrides: list[str],
    name: str,
    runs_dir: Path,
    seeds: list[int],
    skip_train: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """One finished checkpoint per seed in RUNS_DIR/<name>-seed<N>, trained through the project API. A seed that
    already has a finished model is reused unless `overwrite`, and an interrupted one resumes, so rerunning the same
    command after an interruption continues where it stopped; `skip_train` never trains."""
    from arabic_news.checkpoint import METADATA_FILE
    from arabic_news.training import train
    from arabic_news.training.config import load_config

    checkpoints = []
    for seed in seeds:
        out = runs_dir / f"{name}-seed{seed}"
        finished = (out / METADATA_FILE).is_file()
        if skip_train and not finished:
            raise BenchmarkError(f"{out} holds no finished model. Fix: drop --skip-train to train seed {seed}")
        if finished and (skip_train or not overwrite):
            log.info("seed %d: reusing the finished model in %s (--overwrite retrains it)", seed, out)
        else:
            config = load_config(config_path, [f"training.output_dir={out}", f"training.seed={seed}", *overrides])
            log.info("training %s seed %d -> %s", config.task, seed, config.output_dir)
            out = Path(train(config, overwrite=overwrite))
        checkpoints.append(out)
    return checkpoints


def run_name(base: str, limit: int | None) -> str:
    """Checkpoints of --limit checks get their own folders, so a quick check never stands in for the benchmark."""
    return base if limit is None else f"{base}-limit{limit}"


def evaluate_checkpoints(
    checkpoints: list[Path], test_path: Path, out: Path, sentences_per_document: int | None = None
) -> tuple[list[dict], float]:
    """Score the checkpoints on `test_path` with the project's evaluation harness (reports, with predictions, go
    to `out`; `sentences_per_document` as the training config's data section); returns, per checkpoint, its
    report.json, its training metadata and the folder of its report, and the seconds it took."""
    from arabic_news.checkpoint import read_metadata
    from arabic_news.evaluation import run_evaluation

    log.info("evaluating %d checkpoint(s) on %s -> %s", len(checkpoints), test_path, out)
    folders, seconds = timed(
        lambda: run_evaluation(
            checkpoints, [test_path], out, seeds=len(checkpoints) > 1, sentences_per_document=sentences_per_document
        )
    )
    results = []
    for checkpoint, folder in zip(checkpoints, folders):
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        results.append({"report": report, "metadata": read_metadata(checkpoint).to_dict(), "folder": folder})
    return results, seconds


# ---- results -----------------------------------------------------------------------------------------------------
def repo_relative(path: Path | str) -> str:
    """`path` relative to the repository root when it lies under its parent folder, else just its name."""
    resolved = Path(os.path.abspath(path))  # not resolve(): a symlinked ../shared stays under the repository's parent
    try:
        return os.path.relpath(resolved, REPO_ROOT) if resolved.is_relative_to(REPO_ROOT.parent) else resolved.name
    except ValueError:  # another drive on Windows
        return resolved.name


def command_line() -> str:
    """The command as typed: `python -m benchmarks.NAME ...`, or `python benchmarks/NAME.py ...` with the script path
    made repository-relative."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:  # run with `python -m`
        return shlex.join(["python", "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]])
    script = repo_relative(sys.argv[0]) if sys.argv and sys.argv[0].endswith(".py") else sys.argv[0]
    return shlex.join(["python", script, *sys.argv[1:]])


def machine_info() -> dict[str, Any]:
    """The machine a result was measured on: CPU model and instruction sets (arabic_news.hardware), cores, threads,
    library versions; the ratios between variants differ from one CPU to another."""
    import torch

    from arabic_news.hardware import machine_info as cpu_and_libraries

    info = cpu_and_libraries()
    info["platform"] = platform.platform()
    info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    for name in ("sklearn", "sklearn_crfsuite", "seqeval", "datasets"):
        info[name] = _version_of(name)
    return info


def _version_of(module: str) -> str | None:
    from importlib import metadata

    dist = {"sklearn": "scikit-learn", "sklearn_crfsuite": "sklearn-crfsuite"}.get(module, module)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def write_results(path: Path, benchmark: str, sections: dict[str, Any], headline: dict[str, Any]) -> dict:
    """Write (or update) a results file. Sections given here replace those of an earlier run of the same benchmark
    and keep the others, so long parts (model training, baselines) can be run one at a time."""
    from arabic_news.atomic import atomic_write_json

    previous = read_results(path)
    merged = previous if previous.get("benchmark") == benchmark else {}
    if merged and "data" in sections and _without_stamp(merged.get("data")) != sections["data"]:
        log.warning("%s was measured on other data (or another --limit); its earlier sections are dropped", path)
        merged = {}
    stamp = {"command": command_line(), "date": now_iso()}
    for name, section in sections.items():
        merged[name] = {**section, "measured": stamp}
    result = {
        "benchmark": benchmark,
        **stamp,
        "machine": machine_info(),
        **{k: v for k, v in merged.items() if k not in ("benchmark", "command", "date", "machine")},
    }
    result.update(headline_figures(result, headline))
    atomic_write_json(path, result)
    log.info("results written to %s", path)
    return result


def _without_stamp(section: dict | None) -> dict | None:
    return None if section is None else {k: v for k, v in section.items() if k != "measured"}


def headline_figures(result: dict, headline: dict[str, Any]) -> dict:
    """Top-level figures (e.g. test_micro_f1) from the sections; a `None` value keeps the earlier one."""
    return {key: value for key, value in headline.items() if value is not None or key not in result}


def read_results(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ---- timing and statistics -----------------------------------------------------------------------------------
def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def mean_sd(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return {
        "mean": float(statistics.fmean(values)),
        "sd": float(statistics.stdev(values)) if len(values) > 1 else 0.0,
        "runs": len(values),
    }


def median_step_seconds(model, inputs: dict, steps: int, bf16: bool) -> float:
    """Median seconds of `steps` AdamW training steps of `model` on the batch `inputs` (input_ids, labels, ...),
    under bf16 autocast when `bf16`; a first, untimed step allocates the optimizer state."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    times = []
    for step in range(steps + 1):
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def seed_figures(runs: list[dict], test_f1: Callable[[dict], float], dev_key: str, metric: str) -> dict[str, Any]:
    """The headline of a multi-seed results file: each seed's test and dev figure and training minutes, and the
    mean training minutes (what a reader checks first: how the mean came about and what it cost)."""
    seeds = [
        {
            "seed": run["seed"],
            f"test_{metric}": test_f1(run),
            f"dev_{metric}": run.get(dev_key),
            "training_minutes": round(run.get("training", {}).get("seconds", 0.0) / 60, 1),
        }
        for run in runs
    ]
    minutes = [s["training_minutes"] for s in seeds]
    return {"seeds": seeds, "training_minutes": round(statistics.fmean(minutes), 1) if minutes else None}


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    """A small markdown table on stdout, the form the figures take in docs/benchmarks.md."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(flush=True)
