"""Files people read beside a checkpoint: the training-curve plot and the model card."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..atomic import atomic_write_text, save_figure
from ..checkpoint import CheckpointMetadata
from .config import Config


def plot_training_curve(log_history: list[dict], path: Path, metadata: CheckpointMetadata) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = f"eval_{metadata.task_type.headline_metric}"
    train = [(h["epoch"], h["loss"]) for h in log_history if "loss" in h and "epoch" in h]
    dev_loss = [(h["epoch"], h["eval_loss"]) for h in log_history if "eval_loss" in h]
    dev_score = [(h["epoch"], h[metric]) for h in log_history if metric in h]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for points, label, style in ((train, "train loss", "-o"), (dev_loss, "dev loss", "--o")):
        if points:
            ax.plot(*zip(*points), style, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if dev_score:
        twin = ax.twinx()
        twin.plot(*zip(*dev_score), "-s", color="tab:green", label=f"dev {metric[5:]}")
        twin.set_ylabel(f"dev {metric[5:]}")
        twin.set_ylim(0, 1)
        twin.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.set_title(f"{metadata.task} training ({metadata.encoder})")
    save_figure(fig, path)
    plt.close(fig)


def lexical_section(metadata: CheckpointMetadata, report: dict | None = None) -> str:
    """The card's paragraph on a lexical component (empty without one)."""
    lex = metadata.lexical
    if not lex:
        return ""
    kinds = []
    if lex.get("word_ngrams"):
        kinds.append(f"word 1-{lex['word_ngrams']} grams")
    if lex.get("char_ngrams_max"):
        kinds.append(f"character {lex['char_ngrams_min']}-{lex['char_ngrams_max']} grams")
    rule = "w·log p_encoder + (1−w)·log p_lexical" if lex["fusion"] == "log" else "w·p_encoder + (1−w)·p_lexical"
    text = f"""
## Lexical component (fused)
This topic model is **fused**: its probabilities combine the encoder's with those of TF-IDF ({", ".join(kinds)};
{lex.get("features", "?")} features) + logistic regression (C={lex["C"]:g}) fitted on the train split, as
{rule} with encoder weight **w = {lex["weight"]:g}** (chosen on dev). The vectorizers' vocabulary is in
`lexical_vocabulary.json`, idf and regression weights in `lexical.safetensors`. `arabic_news.load` applies the fusion;
the transformers Auto classes load the encoder and its classifier alone.
"""
    components = (report or {}).get("scores")
    if components:
        rows = [
            f"| {split} | "
            + " | ".join(f"{100 * values[k]['macro_f1']:.2f}" for k in ("encoder", "lexical", "fused"))
            + " |"
            for split, values in components.items()
        ]
        text += "\n| split | encoder alone | lexical alone | fused |\n|---|---:|---:|---:|\n" + "\n".join(rows) + "\n"
        text += "\nmacro-F1 of each part.\n"
    return text


def write_model_card(path: Path, config: Config, metadata: CheckpointMetadata, lexical: dict | None = None) -> None:
    task = metadata.task_type
    scores = metadata.scores
    rows = (
        "\n".join(
            f"| {split} | " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()) + " |"
            for split, values in scores.items()
        )
        or "| (no dev or test data) | |"
    )
    labels = ", ".join(metadata.labels)
    crf_note = (
        "\n\nThe model has a CRF output layer: its transition, start and end scores are in `crf.safetensors`, not in "
        "`model.safetensors`. Plain transformers loads the encoder and its emission layer and decodes each token by "
        "argmax; `load()` decodes with the CRF (constrained Viterbi)."
        if metadata.crf
        else ""
    )
    card = f"""# Arabic news {task.title} model

Fine-tuned by `arabic-news` from `{metadata.encoder}`.

## Use
```python
from arabic_news import load
tagger = load("{path.parent.name}")
print(tagger("نص الخبر هنا"))
```
or without this project: `transformers.{task.auto_class_name}.from_pretrained(folder)` (labels in `config.json`), or
`transformers.pipeline("{task.pipeline_task}", model=folder)` — note that
this project's own inference also applies the normalization and windowing listed below, which a bare pipeline does not.{crf_note}

## Labels
{labels}

## Scores
| split | scores |
|---|---|
{rows}

NER scores are seqeval micro averages at word level (default mode); topic scores are accuracy and macro-F1.
{lexical_section(metadata, lexical)}
## Data
{chr(10).join(f"- {k}: `{v['path']}` (sha256 `{v['sha256'][:16]}…`)" for k, v in metadata.data.items())}

## Preprocessing
```yaml
{yaml.safe_dump(metadata.preprocessing.to_dict(), allow_unicode=True, sort_keys=False).strip()}
```

## Config
```yaml
{yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False).strip()}
```

## Intended use and limits
Tagging Modern Standard Arabic news. Scores hold for data like the data above; dialectal text, social media, other
annotation guidelines or other topic sets will score lower. A model trained on a small sample corpus is a demonstration,
not a production tagger.
"""
    atomic_write_text(path, card)
