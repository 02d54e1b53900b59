"""Time reading and writing a CoNLL corpus: read, write, read again (ANERcorp train by default), median of repeats.

The unit test of the same round trip checks counts and entities only; how long it takes is measured here, on a quiet
machine, rather than asserted in a test that a busy CI machine can fail.

    python -m benchmarks.conll_speed [--data ../shared/data/anercorp/train.conll] [--repeats 3]
        [--out benchmarks/results/conll_speed.json]
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from arabic_news.data.conll import ConllStats, read_conll, write_conll
from arabic_news.errors import DataWarning
from benchmarks import common


def round_trip(path: Path, folder: Path) -> dict[str, float]:
    stats = ConllStats()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        docs, read_s = common.timed(lambda: read_conll(path, stats=stats))
        _, write_s = common.timed(lambda: write_conll(docs, folder / "copy.conll"))
        _, again_s = common.timed(lambda: read_conll(folder / "copy.conll"))
    return {"tokens": stats.tokens, "read_s": read_s, "write_s": write_s, "read_again_s": again_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=common.DEFAULT_DATA_DIR / "anercorp" / "train.conll")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=common.REPO_ROOT / "benchmarks" / "results" / "conll_speed.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [round_trip(args.data, Path(tmp)) for _ in range(args.repeats)]
    figures = {key: common.median(r[key] for r in runs) for key in ("read_s", "write_s", "read_again_s")}
    figures["total_s"] = sum(figures.values())
    figures["tokens_per_s_read"] = runs[0]["tokens"] / figures["read_s"]
    common.print_table(
        "CoNLL round trip, median of repeats (seconds)",
        ["read", "write", "read again", "total"],
        [[f"{figures[k]:.2f}" for k in ("read_s", "write_s", "read_again_s", "total_s")]],
    )
    section = {"data": common.repo_relative(args.data), "tokens": runs[0]["tokens"], "repeats": args.repeats}
    common.write_results(
        args.out, "conll_speed", {"data": section, "round_trip": figures}, {"round_trip_total_s": figures["total_s"]}
    )


if __name__ == "__main__":
    main()
