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


def write_model_card(path: Path, config: Config, metadata: CheckpointMetadata) -> None:
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
