"""Settings of the lexical half of a fused ANT topic model, compared on dev with the encoder half held fixed.

For each variant of `model.lexical` (n-gram ranges, vocabulary size, regression strength), the TF-IDF + logistic
regression is fitted on the train split and fused with one trained checkpoint's encoder, exactly as training does
(training/lexical.py). Reported per variant: the regression alone on dev, the fused model out of fold on dev (the
weight chosen by training's rule on 4/5 of dev, predicting the other 1/5; 5 folds × 4 shuffles, benchmarks/
fusion_rules.py), the best point of the dev grid, and, for the record only, test macro-F1 at the weight picked on the
whole dev set. Variants are ranked by the out-of-fold figure; test chooses nothing.

    python -m benchmarks.lexical_variants --checkpoint runs/ant-e5-lexical-seed42 \\
        --variant words-1-3=word_ngrams=3 --variant C-3000=C=3000 [--data-dir ../shared/data]

The committed settings (the checkpoint's own) are always the first row.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from benchmarks import common
from benchmarks.fusion_rules import encoder_outputs, training_rule_figures


def parse_variant(text: str) -> tuple[str, dict]:
    """'NAME=key=value,key=value' -> (NAME, {key: value}); values parsed as YAML, as `train.py --set` parses them."""
    from arabic_news.tasks.topic.lexical import LexicalSettings
    from arabic_news.training.config import parse_yaml

    # Only the regression's own settings: the fusion rule and weight are what every variant re-picks on dev.
    known = {f.name for f in dataclasses.fields(LexicalSettings)} - {"fusion", "weight"}
    name, _, assignments = text.partition("=")
    if not name or not assignments:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=key=value[,key=value]")
    changes = {}
    for item in assignments.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise argparse.ArgumentTypeError(f"{item!r} in {text!r}: write key=value")
        if key not in known:
            raise argparse.ArgumentTypeError(f"{key!r} in {text!r} is not a setting; use one of {sorted(known)}")
        changes[key] = parse_yaml(value)
    return name, changes


def score_variant(settings, model, train, dev, test) -> dict:
    """Fit the regression with `settings` on `train` (texts, topics), fuse it with the fixed encoder on `dev` and
    `test` (encoded, window logits, gold ids) as training does, and score both."""
    from arabic_news.tasks.topic.lexical import LexicalModel
    from arabic_news.training.lexical import component_log_probs, macro_f1

    started = time.perf_counter()
    lexical = LexicalModel.fit(*train, model.labels, settings)
    fit_seconds = time.perf_counter() - started
    n = len(model.labels)
    (dev_encoded, dev_logits, gold), (test_encoded, test_logits, test_gold) = dev, test
    dev_views = component_log_probs(model, lexical, dev_encoded, dev_logits)
    test_views = component_log_probs(model, lexical, test_encoded, test_logits)
    fused = training_rule_figures(dev_views, test_views, gold, test_gold, n)
    return {
        "settings": settings.to_dict(),
        "features": lexical.num_features,
        "fit_seconds": round(fit_seconds, 1),
        "lexical_dev_macro_f1": macro_f1(gold, dev_views[1].argmax(1), n),
        "fused_dev_out_of_fold_macro_f1": fused["dev_out_of_fold_macro_f1"],
        "fused_dev_best_of_grid": fused["dev_best_of_grid"],
        "pick": fused["pick"],
        "test_macro_f1_at_pick": round(fused["test_macro_f1_at_pick"], 6),  # rounded as the grid is
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a fused topic checkpoint (model.lexical)")
    parser.add_argument(
        "--variant", type=parse_variant, action="append", default=[], help="NAME=key=value[,key=value] (repeatable)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=common.DEFAULT_DATA_DIR, help="holds ant/{train,dev,test}.jsonl"
    )
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR / "lexical_variants.json")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.setup_logging()
    from arabic_news.data.formats import read_documents
    from arabic_news.inference import load

    model = load(args.checkpoint, dtype="fp32").topic
    if model is None or model.lexical is None:
        raise common.BenchmarkError(f"{args.checkpoint}: not a fused topic checkpoint (no model.lexical)")
    folder = args.data_dir / "ant"
    docs = {split: read_documents(folder / f"{split}.jsonl") for split in ("train", "dev", "test")}
    # the encoder's outputs are computed once and shared by every variant
    dev, test = encoder_outputs(model, docs["dev"]), encoder_outputs(model, docs["test"])
    train = [model.codec.input_text(d) for d in docs["train"]], [d.topic for d in docs["train"]]
    committed = dataclasses.replace(model.lexical.settings, weight=None, fusion=None)
    rows = {}
    for name, changes in [("committed", {}), *args.variant]:
        settings = dataclasses.replace(committed, **changes)
        rows[name] = score_variant(settings, model, train, dev, test)
        r = rows[name]
        print(
            f"{name:24s} lexical dev {100 * r['lexical_dev_macro_f1']:.2f}  fused out of fold "
            f"{100 * r['fused_dev_out_of_fold_macro_f1']:.2f}  best of grid {100 * r['fused_dev_best_of_grid']:.2f}  "
            f"pick {r['pick']}  test {100 * r['test_macro_f1_at_pick']:.2f}  ({r['features']} features, "
            f"{r['fit_seconds']:.0f} s)",
            flush=True,
        )
    section = {"checkpoint": common.repo_relative(args.checkpoint), "variants": rows}
    common.write_results(args.out, "lexical_variants", {"lexical_variants": section}, {})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    common.run_main(main)
