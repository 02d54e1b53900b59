"""A frozen encoder as a topic model's neural half: logistic regression on its mean-pooled hidden states, alone and
fused with the TF-IDF + logistic regression half, and as a third view beside a fine-tuned checkpoint's two halves.

Fine-tuning the topic encoder of `configs/ant.yaml` takes 90 minutes a seed on a 2-core CPU without native bf16; a
frozen encoder needs one forward pass per article (about 16 minutes for ANT there) and a regression fitted in seconds.
Does its view serve the fusion as well as the fine-tuned one? The encoder is the config's own (`model.name_or_path`),
reading what the config's codec makes of each article (title + first tokens), mean-pooled over the window's tokens
at each of `--layers`; the regression's C is chosen on dev. The lexical half is the config's `model.lexical`.

Each pair of views is fused by training's own rule (training/lexical.py: the best dev macro-F1 on the grid of fusions
× weights) and judged out of fold on dev (benchmarks/fusion_rules.py: the pick made on 4/5 of dev predicts the other
1/5, 5 folds × 4 shuffles). With `--checkpoint` (a fused topic checkpoint trained from the same config), its encoder
and regression are scored the same way, and all three views are fused log-linearly with weights on a 0.05 grid
(the best dev macro-F1; ties: the point nearest equal weights), also out of fold. Test figures are reported at the
point picked on the whole dev set; they choose nothing.

    python -m benchmarks.frozen_view [--config configs/ant.yaml] [--layers 6 8 12] \\
        [--checkpoint runs/ant-e5-lexical-seed42] [--data-dir ../shared/data] [--out benchmarks/results/frozen_view.json]
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks import common
from benchmarks.fusion_rules import component_arrays, out_of_fold_splits, training_rule_figures

C_GRID = (0.003, 0.01, 0.03, 0.1)  # the regression on 384 standardized features wants strong regularization
BATCH = 32
SPLITS = ("train", "dev", "test")


def mean_pooled(encoder, codec, docs, layers: list[int]) -> dict[int, np.ndarray]:
    """Per layer, (documents, hidden size): each article's window (the codec's first one) mean-pooled over its tokens."""
    import torch
    from tqdm.auto import tqdm

    rows = [codec.inference_features(codec.encode(d))[0]["input_ids"] for d in docs]
    pooled = {layer: np.zeros((len(rows), encoder.config.hidden_size), np.float32) for layer in layers}
    order = np.argsort([len(r) for r in rows], kind="stable")  # similar lengths together: little padding
    pad = codec.tokenizer.pad_token_id
    with torch.inference_mode(), tqdm(total=len(rows), desc="frozen encoder", unit="doc") as bar:
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            width = max(len(rows[i]) for i in batch)
            ids = torch.tensor([rows[i] + [pad] * (width - len(rows[i])) for i in batch])
            mask = torch.tensor([[1] * len(rows[i]) + [0] * (width - len(rows[i])) for i in batch])
            states = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            weights = mask.unsqueeze(-1).float() / mask.sum(1, keepdim=True).unsqueeze(-1)
            for layer in layers:
                pooled[layer][batch] = (states[layer] * weights).sum(1).numpy()
            bar.update(len(batch))
    return pooled


def fit_view(x: dict[str, np.ndarray], gold: dict[str, np.ndarray], n: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Standardize, fit a logistic regression per C, keep the best on dev: (its figures, log-probs per split)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from arabic_news.training.lexical import macro_f1

    scaler = StandardScaler().fit(x["train"])
    z = {split: scaler.transform(values) for split, values in x.items()}
    fits = [LogisticRegression(C=c, max_iter=3000).fit(z["train"], gold["train"]) for c in C_GRID]
    dev_f1 = [macro_f1(gold["dev"], f.predict(z["dev"]), n) for f in fits]
    best = int(np.argmax(dev_f1))
    log_probs = {split: fits[best].predict_log_proba(z[split]) for split in ("dev", "test")}
    return {"C": C_GRID[best], "dev_macro_f1": dev_f1[best]}, log_probs


def two_views(a: dict[str, np.ndarray], b: dict[str, np.ndarray], gold: dict[str, np.ndarray], n: int) -> dict:
    """Views a (as the encoder) and b (as the regression) fused by training's rule: out of fold on dev, and test at
    the pick on the whole dev set."""
    return training_rule_figures((a["dev"], b["dev"]), (a["test"], b["test"]), gold["dev"], gold["test"], n)


THREE_WAY_GRID = [(i / 20, j / 20) for i in range(21) for j in range(21 - i)]  # (first, second); the third: the rest


def _three_way(views: list[np.ndarray], point: tuple[float, float]) -> np.ndarray:
    first, second = point
    return (first * views[0] + second * views[1] + (1 - first - second) * views[2]).argmax(1)


def _best_point(views: list[np.ndarray], gold: np.ndarray, n: int) -> tuple[float, float]:
    from arabic_news.training.lexical import macro_f1

    def key(p):
        return macro_f1(gold, _three_way(views, p), n), -abs(p[0] - 1 / 3) - abs(p[1] - 1 / 3)

    return max(THREE_WAY_GRID, key=key)


def three_views(views: list[dict[str, np.ndarray]], gold: dict[str, np.ndarray], n: int) -> dict:
    """Log-linear fusion of three views (weights on THREE_WAY_GRID, best dev macro-F1), judged out of fold as the
    two-view rules are."""
    from arabic_news.training.lexical import macro_f1

    dev = [v["dev"] for v in views]
    scores = []
    for splits in out_of_fold_splits(len(gold["dev"])):
        predicted = np.empty_like(gold["dev"])
        for rest, fold in splits:
            point = _best_point([d[rest] for d in dev], gold["dev"][rest], n)
            predicted[fold] = _three_way([d[fold] for d in dev], point)
        scores.append(macro_f1(gold["dev"], predicted, n))
    pick = _best_point(dev, gold["dev"], n)
    return {
        "dev_out_of_fold_macro_f1": statistics.mean(scores),
        "pick": {"fine-tuned encoder": pick[0], "frozen view": pick[1], "regression": round(1 - sum(pick), 2)},
        "test_macro_f1_at_pick": macro_f1(gold["test"], _three_way([v["test"] for v in views], pick), n),
    }


def checkpoint_views(checkpoint: Path, docs: dict, gold: dict) -> dict[str, dict[str, np.ndarray]]:
    """A fused checkpoint's own halves (fine-tuned encoder, regression), log-probs on dev and test."""
    from arabic_news.inference import load

    model = load(checkpoint, dtype="fp32").topic
    if model is None or model.lexical is None:
        raise common.BenchmarkError(f"{checkpoint}: not a fused topic checkpoint (no model.lexical)")
    arrays = {split: component_arrays(model, docs[split]) for split in ("dev", "test")}
    for split, (_, _, ids) in arrays.items():
        if not np.array_equal(ids, gold[split]):
            raise common.BenchmarkError(f"{checkpoint}: its labels are not the config's ({model.labels})")
    return {name: {split: arrays[split][i] for split in arrays} for i, name in enumerate(("encoder", "regression"))}


def parse_args(argv=None):
    parser = common.benchmark_parser(
        __doc__.split("\n\n")[0], "frozen_view.json", "ant.yaml", "a fused topic config: its encoder and lexical half"
    )
    parser.add_argument(
        "--layers", type=int, nargs="+", default=[6, 8, 12], help="hidden states to pool (0: embeddings)"
    )
    parser.add_argument("--checkpoint", type=Path, help="a fused topic checkpoint of the same config: a third view")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.setup_logging()
    from transformers import AutoModel

    from arabic_news.data.formats import read_documents
    from arabic_news.modeling import load_tokenizer, resolve_model_path
    from arabic_news.tasks import TASKS
    from arabic_news.tasks.topic.lexical import LexicalModel
    from arabic_news.training import load_config

    config = load_config(args.config, args.overrides)
    if config.task != "topic" or config.lexical is None:
        raise common.BenchmarkError(f"{args.config}: not a fused topic config (task: topic with model.lexical)")
    files = {split: common.corpus_file(args.data_dir, f"ant/{split}.jsonl") for split in SPLITS}  # checked first
    docs = {split: read_documents(path) for split, path in files.items()}
    labels = TASKS["topic"].labels(docs["train"], config.preprocessing, files["train"])
    n = len(labels)
    gold = {split: np.array([labels.index(d.topic) for d in docs[split]]) for split in SPLITS}
    path = resolve_model_path(config.model.name_or_path)
    codec = TASKS["topic"].codec(load_tokenizer(path), labels, config.preprocessing)
    encoder = AutoModel.from_pretrained(path).eval()

    started = time.perf_counter()
    pooled = {split: mean_pooled(encoder, codec, docs[split], args.layers) for split in SPLITS}
    encode_seconds = time.perf_counter() - started
    settings = dataclasses.replace(config.lexical, weight=None, fusion=None)
    texts = {split: [codec.input_text(d) for d in docs[split]] for split in SPLITS}
    regression = LexicalModel.fit(texts["train"], [d.topic for d in docs["train"]], labels, settings)
    views = {"regression": {split: regression.log_probs(texts[split]) for split in ("dev", "test")}}
    own = checkpoint_views(args.checkpoint, docs, gold) if args.checkpoint else {}

    rows = {}
    for layer in args.layers:
        figures, frozen = fit_view({s: pooled[s][layer] for s in SPLITS}, gold, n)
        row = {**figures, "fused with the regression": two_views(frozen, views["regression"], gold, n)}
        if own:
            row["three views"] = three_views([own["encoder"], frozen, own["regression"]], gold, n)
        rows[f"layer {layer}"] = row
        fused = row["fused with the regression"]
        print(
            f"layer {layer:2d}: alone dev {100 * figures['dev_macro_f1']:.2f} (C {figures['C']:g}); fused with the "
            f"regression: out of fold {100 * fused['dev_out_of_fold_macro_f1']:.2f}, test "
            f"{100 * fused['test_macro_f1_at_pick']:.2f}"
            + (
                f"; three views: out of fold {100 * row['three views']['dev_out_of_fold_macro_f1']:.2f}, test "
                f"{100 * row['three views']['test_macro_f1_at_pick']:.2f}"
                if own
                else ""
            ),
            flush=True,
        )
    section = {
        "config": common.repo_relative(args.config),
        "encoder": config.model.name_or_path,
        "encode_seconds": round(encode_seconds, 1),
        "frozen_views": rows,
    }
    if own:
        section["checkpoint"] = {
            "path": common.repo_relative(args.checkpoint),
            "fine-tuned encoder fused with the regression": two_views(own["encoder"], own["regression"], gold, n),
        }
        ref = section["checkpoint"]["fine-tuned encoder fused with the regression"]
        print(f"the checkpoint's own two halves: out of fold {100 * ref['dev_out_of_fold_macro_f1']:.2f}")
    common.write_results(args.out, "frozen_view", {"frozen_view": section}, {})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    common.run_main(main)
