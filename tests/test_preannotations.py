"""Pre-annotations: `predict --format label-studio` and `--format doccano` write the model's output in the form
those tools import, and what a person exports after correcting it reads back with `read_documents` as training
data (the round trip).

Label Studio keeps a pre-annotation as the task's `predictions`; when an annotator accepts or edits it, the export
holds the result as an `annotations` entry beside the prediction. The test builds that export from the written file
exactly so (once accepted as it is, once with a correction). doccano imports the `label` span lists as the
annotations to correct and exports them in the same shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arabic_news.cli import main
from arabic_news.data.formats import detect_format, read_documents

from .conftest import ROOT, sample_documents

SEED = sorted((ROOT / "seeds").glob("*.txt"))[0]


@pytest.fixture(scope="module")
def articles(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("articles")
    (folder / "seed.txt").write_bytes(SEED.read_bytes())
    for doc in sample_documents()[:4]:
        (folder / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")
    return folder


def predict(ner_ckpt: Path, topic_ckpt: Path, articles: Path, out: Path, fmt: str) -> Path:
    argv = ["predict", "--checkpoint", ner_ckpt, "--topic-checkpoint", topic_ckpt, "--input", articles]
    assert main([str(a) for a in [*argv, "--output", out, "--format", fmt]]) == 0
    return out


@pytest.fixture(scope="module")
def predicted(ner_ckpt, topic_ckpt, articles, tmp_path_factory) -> dict:
    """The model's Documents by id, as `predict --format jsonl` writes them."""
    out = predict(ner_ckpt, topic_ckpt, articles, tmp_path_factory.mktemp("jsonl") / "tagged.jsonl", "jsonl")
    docs = {d.id: d for d in read_documents(out)}
    assert docs["seed"].entities, "the tiny model finds entities in the seed article"
    return docs


def labelstudio_export(tasks: list[dict]) -> list[dict]:
    """What Label Studio exports once an annotator has submitted each pre-annotated task unchanged."""
    return [
        {
            "id": n,
            "data": task["data"],
            "annotations": [
                {"id": n, "completed_by": 1, "was_cancelled": False, "result": task["predictions"][0]["result"]}
            ],
            "predictions": task["predictions"],
        }
        for n, task in enumerate(tasks, start=1)
    ]


def test_label_studio_preannotations_round_trip(ner_ckpt, topic_ckpt, articles, predicted, tmp_path):
    out = predict(ner_ckpt, topic_ckpt, articles, tmp_path / "preannotations.json", "label-studio")
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["id"] for t in tasks] == list(predicted)
    for task in tasks:
        assert "annotations" not in task  # nothing is marked as done by a person
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == f"{ner_ckpt.resolve().name}+{topic_ckpt.resolve().name}"
        regions = [r for r in prediction["result"] if r["type"] == "labels"]
        doc = predicted[task["data"]["id"]]
        assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"]) for r in regions] == [
            (s.start, s.end, [s.label]) for s in doc.entities
        ]
        assert [r["score"] for r in regions] == pytest.approx([s.score for s in doc.entities], abs=1e-6)
        (choice,) = [r for r in prediction["result"] if r["type"] == "choices"]
        assert choice["value"]["choices"] == [doc.topic] and choice["score"] == pytest.approx(doc.topic_score)
        assert 0 <= prediction["score"] <= 1

    export = tmp_path / "export.json"
    export.write_text(json.dumps(labelstudio_export(tasks), ensure_ascii=False), encoding="utf-8")
    back = read_documents(export)
    assert [d.id for d in back] == list(predicted)
    for doc in back:
        assert doc.entities == predicted[doc.id].entities and doc.topic == predicted[doc.id].topic
        assert doc.entity_texts() == predicted[doc.id].entity_texts()

    # The annotator removes the first entity and relabels the second: the corrected export is the training data.
    corrected = labelstudio_export(tasks)
    seed_task = next(t for t in corrected if t["data"]["id"] == "seed")
    result = [dict(r, value=dict(r["value"])) for r in seed_task["annotations"][0]["result"]]
    removed, relabelled = result.pop(0), result[0]
    relabelled["value"]["labels"] = ["MISC"]
    seed_task["annotations"][0]["result"] = result
    export.write_text(json.dumps(corrected, ensure_ascii=False), encoding="utf-8")
    seed = next(d for d in read_documents(export) if d.id == "seed")
    want = [(s.start, s.end, s.label) for s in predicted["seed"].entities[1:]]
    want[0] = (want[0][0], want[0][1], "MISC")
    assert [(s.start, s.end, s.label) for s in seed.entities] == want
    assert removed["value"]["start"] not in [s.start for s in seed.entities]


def test_doccano_preannotations_round_trip(ner_ckpt, topic_ckpt, articles, predicted, tmp_path):
    out = predict(ner_ckpt, topic_ckpt, articles, tmp_path / "preannotations.jsonl", "doccano")
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for record in records:
        doc = predicted[record["id"]]
        assert record["label"] == [[s.start, s.end, s.label] for s in doc.entities]
        assert record["cats"] == [doc.topic]
    assert detect_format(out) == "doccano"  # told apart from native records by its span lists
    back = read_documents(out)  # what doccano exports after the (unchanged) review has the same shape
    assert [d.id for d in back] == list(predicted)
    for doc in back:
        assert doc.entities == predicted[doc.id].entities and doc.topic == predicted[doc.id].topic
