"""Write what the evaluation harness found: report.json, report.md, plots and prediction files.

Layout: with one checkpoint and one data file everything goes into OUT/. Several data files get OUT/<data name>/;
several checkpoints get OUT/<data name>/<checkpoint name>/ each plus a comparison (paired bootstrap against the
first checkpoint, or mean ± sd when they are seeds of one config) in OUT/<data name>/comparison.{json,md}.
"""
from __future__ import annotations

from pathlib import Path

from .atomic import atomic_write_json, atomic_write_text
from .conll import DOCSTART, document_words
from .document import Document
from .errors import CheckpointError, DataError
from .evaluation import apply_label_map, evaluate, paired_bootstrap, summarize_runs
from .formats import read_documents, write_documents
from .inference import TaskModel
from .metrics import word_tags
from .report_files import save_figure


def run_evaluation(checkpoints: list[Path], data_paths: list[Path], out: Path, label_map: dict[str, str] | None = None,
                   batch_size: int = 32, seeds: bool = False) -> list[Path]:
    models = [TaskModel.load(c) for c in checkpoints]
    if len({m.task for m in models}) > 1:  # a paired comparison of an NER score with a topic score means nothing
        raise CheckpointError("--compare needs checkpoints of one task, got " +
                              ", ".join(f"{m.path.name} ({m.task})" for m in models),
                              hint="compare NER checkpoints and topic checkpoints in separate runs")
    written = []
    data_names, model_names = unique_folder_names(data_paths), unique_folder_names([m.path for m in models])
    for data_path, data_name in zip(data_paths, data_names):
        gold = apply_label_map(read_documents(data_path), label_map or {})
        data_out = out if len(data_paths) == 1 else out / data_name
        results = []
        for model, model_name in zip(models, model_names):
            target = data_out if len(models) == 1 else data_out / model_name
            check_gold_for(model.task, gold, data_path)
            report, pred = evaluate(model, gold, batch_size=batch_size, label_map=label_map)
            report = {"checkpoint": str(model.path), "task": model.task, "data": str(data_path),
                      "label_map": label_map or {}, **report}
            write_report(target, report, gold, pred)
            results.append((model, report, pred))
            written.append(target)
        if len(models) > 1:
            write_comparison(data_out, gold, results, seeds)
    return written


def unique_folder_names(paths: list[Path]) -> list[str]:
    """One report folder name per data file or checkpoint: its stem, or `<parent>-<stem>` where stems repeat (two
    `dev.jsonl`, or `a/model` and `b/model`), numbered if that still repeats."""
    stems = [Path(p).stem if Path(p).is_file() else Path(p).name for p in paths]  # a folder keeps its dots
    names: list[str] = []
    for i, (path, stem) in enumerate(zip(paths, stems)):
        name = stem if stems.count(stem) == 1 else f"{Path(path).resolve().parent.name}-{stem}"
        names.append(name if name not in names else f"{name}-{i + 1}")
    return names


def check_gold_for(task: str, gold: list[Document], data_path: Path) -> None:
    """A topic checkpoint needs gold topics; data with none would give an empty report (or a scikit-learn crash)."""
    if task == "topic" and not any(d.topic is not None for d in gold):
        raise DataError("no document has a topic, so a topic checkpoint cannot be scored on it", path=data_path,
                        hint="pass data with a `topic` (or `label`) field, or an NER checkpoint")


def write_report(target: Path, report: dict, gold: list[Document], pred: list[Document]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    write_documents(pred, target / "predictions.jsonl", "jsonl")
    if report["task"] == "ner":
        write_word_conll(gold, pred, target / "predictions.conll")
        plot_confusion(report["ner"]["errors"]["confusion"], target / "ner_confusion.png", "NER types (rows: gold)")
    else:
        conf = report["topic"]["confusion"]
        matrix = {a: dict(zip(conf["labels"], row)) for a, row in zip(conf["labels"], conf["matrix"])}
        plot_confusion(matrix, target / "topic_confusion.png", "topics (rows: gold)")
    atomic_write_json(target / "report.json", report)
    atomic_write_text(target / "report.md", render_markdown(report))


def write_word_conll(gold: list[Document], pred: list[Document], path: Path) -> None:
    """`token gold predicted` per word, a blank line between sentences, and a `-DOCSTART-` line opening each
    document, so that reading the file back by document gives exactly the tag sequences the report scored (an
    entity may run across a line break)."""
    lines = []
    for g, p, g_tags, p_tags in zip(gold, pred, word_tags(gold), word_tags(pred)):
        lines += [f"{DOCSTART}\tO\tO", ""]
        previous_end = 0
        for (start, end), gt, pt in zip(document_words(g), g_tags, p_tags):
            if "\n" in g.text[previous_end:start] and lines and lines[-1]:
                lines.append("")
            lines.append(f"{g.text[start:end]}\t{gt}\t{pt}")
            previous_end = end
        lines.append("")
    atomic_write_text(path, "\n".join(lines) + "\n")


def plot_confusion(matrix: dict[str, dict[str, int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = list(matrix)
    if not labels:  # no entity on either side: nothing to draw
        return
    values = np.array([[matrix[a].get(b, 0) for b in labels] for a in labels])
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * len(labels), 1 + 0.7 * len(labels)))
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(values[i, j]), ha="center", va="center",
                    color="white" if values[i, j] > values.max() / 2 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    save_figure(fig, path)
    plt.close(fig)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _prf_table(rows: dict[str, dict]) -> list[str]:
    out = ["| | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, s in rows.items():
        out.append(f"| {name} | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} | {s.get('support', '')} |")
    return out


def render_markdown(report: dict) -> str:
    lines = [f"# Evaluation of `{Path(report['checkpoint']).name}`", "",
             f"- data: `{report['data']}` ({report['documents']} documents)", f"- task: {report['task']}"]
    if report.get("label_map"):
        lines.append(f"- label map: {report['label_map']}")
    if report["task"] == "ner":
        lines += ner_markdown(report["ner"])
    else:
        lines += topic_markdown(report["topic"])
    return "\n".join(lines) + "\n"


def ner_markdown(ner: dict) -> list[str]:
    lo, hi = ner["micro"]["ci95"]
    lines = ["", f"**Micro-F1 {_pct(ner['micro']['f1'])}** (95% bootstrap CI {_pct(lo)}–{_pct(hi)}; "
             f"{ner['mode']}). Strict IOB2 micro-F1: {_pct(ner['strict']['micro']['f1'])}.", ""]
    if ner["labels_missing_from_checkpoint"]:
        lines += [f"Types in the data that the checkpoint cannot predict (always missed): "
                  f"{', '.join(ner['labels_missing_from_checkpoint'])}. Map them with --label-map TYPE=O.", ""]
    lines += ["## seqeval, default mode (word level)"] + _prf_table(
        {"micro": ner["micro"], "macro": ner["macro"], **ner["per_type"]})
    lines += ["", "## seqeval, strict IOB2 mode"] + _prf_table(
        {"micro": ner["strict"]["micro"], "macro": ner["strict"]["macro"], **ner["strict"]["per_type"]})
    lines += ["", "## Character spans", "| match | precision | recall | F1 |", "|---|---:|---:|---:|"]
    for name, s in ner["span"].items():
        m = s["micro"]
        lines.append(f"| {name.replace('_', ' ')} | {_pct(m['precision'])} | {_pct(m['recall'])} | {_pct(m['f1'])} |")
    errors = ner["errors"]
    lines += ["", "## Errors", "| class | count |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in errors["counts"].items()]
    labels = list(errors["confusion"])
    lines += ["", "Type confusion (rows: gold, columns: predicted, O: none):", "",
              "| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    lines += [f"| {a} | " + " | ".join(str(errors["confusion"][a][b]) for b in labels) + " |" for a in labels]
    for kind, examples in errors["examples"].items():
        if examples:
            lines += ["", f"### {kind.replace('_', ' ')}: examples"]
            for ex in examples:
                gold = f"{ex['gold']['label']}" if ex["gold"] else "—"
                pred = f"{ex['predicted']['label']} `{ex['predicted'].get('text', '')}`" if ex["predicted"] else "—"
                lines.append(f"- `{ex['doc']}` gold {gold}, predicted {pred}: {ex['context']}")
    return lines


def topic_markdown(topic: dict) -> list[str]:
    lo, hi = topic["macro_f1_ci95"]
    lines = ["", f"**Accuracy {_pct(topic['accuracy'])}, macro-F1 {_pct(topic['macro_f1'])}** "
             f"(95% bootstrap CI of macro-F1 {_pct(lo)}–{_pct(hi)}).", ""]
    if topic["labels_missing_from_checkpoint"]:
        lines += [f"Topics in the data that the checkpoint cannot predict: {', '.join(topic['labels_missing_from_checkpoint'])}.", ""]
    lines += ["## Per class"] + _prf_table(topic["per_class"])
    labels, matrix = topic["confusion"]["labels"], topic["confusion"]["matrix"]
    lines += ["", "## Confusion (rows: gold)", "", "| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    lines += [f"| {a} | " + " | ".join(str(v) for v in row) + " |" for a, row in zip(labels, matrix)]
    if topic["per_source"]:
        lines += ["", "## Per source", "| source | n | accuracy | macro-F1 |", "|---|---:|---:|---:|"]
        lines += [f"| {s} | {v['n']} | {_pct(v['accuracy'])} | {_pct(v['macro_f1'])} |" for s, v in topic["per_source"].items()]
    return lines


def headline_of(report: dict) -> tuple[str, float]:
    if report["task"] == "ner":
        return "micro-F1", report["ner"]["micro"]["f1"]
    return "macro-F1", report["topic"]["macro_f1"]


def write_comparison(out: Path, gold: list[Document], results: list, seeds: bool) -> None:
    first_model, first_report, first_pred = results[0]
    name, _ = headline_of(first_report)
    rows, comparison = [], {"headline": name, "checkpoints": []}
    for model, report, pred in results:
        entry = {"checkpoint": str(model.path), "score": headline_of(report)[1]}
        if model is not first_model:
            labels = sorted(set(first_model.labels) | set(model.labels))
            entry["versus_first"] = paired_bootstrap(report["task"], gold, first_pred, pred, labels)
        comparison["checkpoints"].append(entry)
    if seeds:
        comparison["seeds"] = summarize_runs([e["score"] for e in comparison["checkpoints"]])
    for e in comparison["checkpoints"]:
        vs = e.get("versus_first")
        rows.append(f"| `{Path(e['checkpoint']).name}` | {_pct(e['score'])} | " +
                    (f"{100 * vs['difference']:+.1f} (CI {100 * vs['difference_ci95'][0]:+.1f}…"
                     f"{100 * vs['difference_ci95'][1]:+.1f}), p={vs['p_value']:.3f} |" if vs else "(reference) |"))
    md = [f"# Comparison on `{out.name}`", "", f"| checkpoint | {name} | difference to the first, paired bootstrap |",
          "|---|---:|---|", *rows]
    if seeds:
        s = comparison["seeds"]
        md += ["", f"Seeds of one config: {name} {_pct(s['mean'])} ± {_pct(s['std'])} (mean ± sd over {s['runs']} runs)."]
    atomic_write_json(out / "comparison.json", comparison)
    atomic_write_text(out / "comparison.md", "\n".join(md) + "\n")
