"""ONNX export on tiny checkpoints trained here: the exported folder predicts what the PyTorch checkpoint predicts
(fp32), int8 stays close on the model's own data, the quality gate refuses a quantization that loses too much, and
broken export folders give located errors. The speed of the variants is measured in benchmarks/inference_speed.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from arabic_news import cli, load
from arabic_news.checkpoint import EXPORT_CARD, METADATA_FILE, ONNX_FILE
from arabic_news.data.formats import write_documents
from arabic_news.errors import CheckpointError, ConfigError
from arabic_news.export import ExportError, ExportRequest, export_checkpoint
from arabic_news.hardware import cpu_has_native_bf16
from arabic_news.inference.model import resolve_dtype

from .conftest import sample_documents, unmark
from .test_inference import CLITIC_SENTENCES, SEED_TEXT

pytest.importorskip("onnxruntime")

TEXTS = [SEED_TEXT] + [unmark(s)[0] for s in CLITIC_SENTENCES] + [d.text for d in sample_documents()]


@pytest.fixture(scope="module")
def own_data(tmp_path_factory) -> Path:
    """The tiny models' own annotated sample documents (what they were trained on): their 'dev' data here."""
    path = tmp_path_factory.mktemp("export-data") / "dev.jsonl"
    write_documents(sample_documents(), path)
    return path


@pytest.fixture(scope="module")
def ner_fp32(ner_ckpt, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export-fp32") / "ner-onnx"
    export_checkpoint(ExportRequest(ner_ckpt, out))
    return out


def spans(prediction) -> list[tuple]:
    return [(e.start, e.end, e.label, e.text) for e in prediction.entities]


def test_the_fp32_export_tags_like_the_pytorch_checkpoint(ner_ckpt, ner_fp32):
    torch_tagger, onnx_tagger = load(ner_ckpt, dtype="fp32"), load(ner_fp32)
    assert "onnxruntime fp32" in onnx_tagger.describe()[0]
    expected, got = list(torch_tagger.pipe(TEXTS, batch_size=4)), list(onnx_tagger.pipe(TEXTS, batch_size=4))
    assert sum(len(p.entities) for p in expected) > 0  # the comparison must have entities to compare
    for want, have in zip(expected, got):
        assert spans(have) == spans(want)
        assert [e.score for e in have.entities] == pytest.approx([e.score for e in want.entities], abs=1e-4)


def test_the_export_folder_holds_graph_tokenizer_metadata_and_card(ner_ckpt, ner_fp32):
    names = {p.name for p in ner_fp32.iterdir()}
    assert {ONNX_FILE, EXPORT_CARD, METADATA_FILE, "README.md", "config.json", "tokenizer.json"} <= names
    assert not any(name.endswith(".safetensors") for name in names)
    card = json.loads((ner_fp32 / EXPORT_CARD).read_text(encoding="utf-8"))
    assert card["precision"] == "fp32" and card["max_abs_logit_difference_vs_torch"] < 1e-3
    source = json.loads((ner_ckpt / METADATA_FILE).read_text(encoding="utf-8"))
    exported = json.loads((ner_fp32 / METADATA_FILE).read_text(encoding="utf-8"))
    assert exported["labels"] == source["labels"] and exported["preprocessing"] == source["preprocessing"]
    assert not list(ner_fp32.parent.glob(".*partial*"))  # the staging folder was renamed, not left behind


def test_a_topic_export_gives_the_same_topics_and_probabilities(topic_ckpt, tmp_path):
    out = tmp_path / "topic-onnx"
    export_checkpoint(ExportRequest(topic_ckpt, out))
    expected = list(load(topic_ckpt, dtype="fp32").pipe(TEXTS))
    got = list(load(out).pipe(TEXTS))
    for want, have in zip(expected, got):
        assert have.topic.label == want.topic.label
        labels = sorted(want.topic.probabilities)
        assert [have.topic.probabilities[k] for k in labels] == pytest.approx(
            [want.topic.probabilities[k] for k in labels], abs=1e-4
        )


def test_int8_passes_the_gate_on_the_models_own_data_and_stays_close(ner_ckpt, own_data, tmp_path):
    out = tmp_path / "ner-int8"
    card = export_checkpoint(ExportRequest(ner_ckpt, out, quantize="int8", eval_data=own_data, max_f1_loss=5.0))
    evaluation = card["evaluation"]
    assert card["precision"] == "int8" and card["quantization"]["kept_fp32"]  # the classifier stays fp32
    assert evaluation["scores"]["fp32"]["f1"] > 0.3  # a model that finds entities, so the loss means something
    assert evaluation["f1_loss_points"] <= 5.0
    tagger = load(out)
    assert "onnxruntime int8" in tagger.describe()[0]
    for prediction in tagger.pipe(TEXTS):
        assert all(prediction.text[e.start : e.end] == e.text for e in prediction.entities)


def test_static_int8_is_calibrated_on_the_given_texts_and_passes_the_gate(ner_ckpt, own_data, tmp_path):
    out = tmp_path / "ner-static"
    request = ExportRequest(ner_ckpt, out, quantize="int8", calibration=own_data, eval_data=own_data, max_f1_loss=5.0)
    card = export_checkpoint(request)
    assert card["quantization"]["method"].startswith("static")
    assert "calibration windows" in card["quantization"]["activations"]
    assert card["evaluation"]["f1_loss_points"] <= 5.0
    with pytest.raises(ConfigError, match="--calibration calibrates int8"):
        export_checkpoint(ExportRequest(ner_ckpt, tmp_path / "fp32", calibration=own_data))
    for prediction in load(out).pipe(TEXTS):
        assert all(prediction.text[e.start : e.end] == e.text for e in prediction.entities)


def _outlier_copy(checkpoint: Path, target: Path, factor: float = 1000.0) -> Path:
    """A copy of `checkpoint` that computes the same function in fp32 but whose classifier input has outlier
    channels, as trained encoders do: the last layer norm's scale and shift of a few channels are `factor` times
    larger and the classifier's weights for them `factor` times smaller (that layer norm feeds only the classifier).
    Dynamic int8 quantizes an activation tensor with one scale, so a quantized classifier sees only the outliers."""
    folder = Path(shutil.copytree(checkpoint, target))
    weights = load_file(folder / "model.safetensors")
    last = max(int(k.split(".layer.")[1].split(".")[0]) for k in weights if ".encoder.layer." in k)
    norm = next(k.rsplit(".", 1)[0] for k in weights if f".layer.{last}.output.LayerNorm.weight" in k)
    for channel in range(3):
        weights[f"{norm}.weight"][channel] *= factor
        weights[f"{norm}.bias"][channel] *= factor
        weights["classifier.weight"][:, channel] /= factor
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


def test_the_gate_refuses_an_int8_model_that_loses_too_much_and_writes_nothing(ner_ckpt, own_data, tmp_path):
    outliers = _outlier_copy(ner_ckpt, tmp_path / "outliers")
    same = [spans(p) for p in load(outliers, dtype="fp32").pipe(TEXTS)]
    assert same == [spans(p) for p in load(ner_ckpt, dtype="fp32").pipe(TEXTS)]  # fp32: the same model
    out = tmp_path / "exports" / "outliers-int8"
    crushed = ExportRequest(outliers, out, quantize="int8", eval_data=own_data, keep_classifier_fp32=False)
    with pytest.raises(ExportError, match=r"int8 loses .* more than --max-f1-loss 0.5; nothing was written"):
        export_checkpoint(crushed)
    assert not out.exists() and not list(out.parent.iterdir())  # no export, no staging folder
    # The default keeps the classifier in fp32, which is what makes int8 safe on such a model: the crushed export
    # loses tens of points, this one at most a token or two. On this tiny dev set one flipped token moves F1 by ~0.9
    # points, and which token flips depends on how the session's tiny checkpoint came out, so allow 2 points.
    card = export_checkpoint(ExportRequest(outliers, out, quantize="int8", eval_data=own_data, max_f1_loss=2.0))
    assert card["evaluation"]["f1_loss_points"] <= 2.0 and out.is_dir()


def test_the_cli_reports_a_refused_export_in_one_line(ner_ckpt, own_data, tmp_path, capsys):
    out = tmp_path / "int8"
    argv = ["export", str(ner_ckpt), str(out), "--quantize", "int8", "--eval", str(own_data), "--max-f1-loss", "-1"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --max-f1-loss must be 0 or more") and "Traceback" not in err and not out.exists()


def test_export_refuses_to_overwrite_or_to_write_into_the_checkpoint(ner_ckpt, ner_fp32):
    with pytest.raises(ConfigError, match="already holds an ONNX export"):
        export_checkpoint(ExportRequest(ner_ckpt, ner_fp32))
    with pytest.raises(ConfigError, match="already holds"):
        export_checkpoint(ExportRequest(ner_ckpt, ner_ckpt))
    with pytest.raises(ConfigError, match="is the checkpoint folder"):  # --overwrite must not delete the checkpoint
        export_checkpoint(ExportRequest(ner_ckpt, ner_ckpt, overwrite=True))
    assert (ner_ckpt / "model.safetensors").is_file()


@pytest.mark.parametrize(
    "damage, fragments",
    [
        ("truncate-graph", ["ONNX Runtime cannot load model.onnx", "re-export"]),
        ("remove-graph", ["has no model.onnx"]),
        ("remove-metadata", ["not a finished model"]),
        ("bad-card", ["export.json is not valid JSON"]),
        ("labels", ["gives", "labels", "different runs"]),
        ("no-tokenizer", ["no tokenizer files"]),
    ],
)
def test_a_damaged_export_folder_gives_a_located_error(ner_fp32, tmp_path, capsys, damage, fragments):
    folder = Path(shutil.copytree(ner_fp32, tmp_path / "export"))
    if damage == "truncate-graph":
        graph = folder / ONNX_FILE
        graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 3])
    elif damage == "remove-graph":
        (folder / ONNX_FILE).unlink()
    elif damage == "remove-metadata":
        (folder / METADATA_FILE).unlink()
    elif damage == "bad-card":
        (folder / EXPORT_CARD).write_text("{not json", encoding="utf-8")
    elif damage == "labels":
        meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        meta["labels"] = meta["labels"][:-2]
        (folder / METADATA_FILE).write_text(json.dumps(meta), encoding="utf-8")
    elif damage == "no-tokenizer":
        for name in ("tokenizer.json", "vocab.txt"):
            (folder / name).unlink(missing_ok=True)
    with pytest.raises(CheckpointError) as caught:
        load(folder)
    message = str(caught.value)
    assert str(folder) in message and "Fix:" in message
    for fragment in fragments:
        assert fragment in message
    source = tmp_path / "in.txt"
    source.write_text(SEED_TEXT, encoding="utf-8")
    argv = ["predict", "--checkpoint", str(folder), "--input", str(source), "--output", str(tmp_path / "o.jsonl")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and not (tmp_path / "o.jsonl").exists()


def test_precision_options_are_refused_for_an_export(ner_fp32):
    with pytest.raises(CheckpointError, match="fixed when a model is exported"):
        load(ner_fp32, dtype="bf16")
    with pytest.raises(CheckpointError, match="fixed when a model is exported"):
        load(ner_fp32, quantize="int8")


def test_predict_and_evaluate_accept_the_export_and_say_which_engine_runs(
    ner_ckpt, ner_fp32, own_data, tmp_path, capsys
):
    source = tmp_path / "seed.txt"
    source.write_text(SEED_TEXT, encoding="utf-8")
    outputs = {}
    for name, folder in (("torch", ner_ckpt), ("onnx", ner_fp32)):
        out = tmp_path / f"{name}.jsonl"
        argv = ["predict", "--checkpoint", str(folder), "--input", str(source), "--output", str(out)]
        argv += ["--dtype", "fp32"] if name == "torch" else ["--threads", "1"]
        assert cli.main(argv) == 0
        err = capsys.readouterr().err
        assert ("onnxruntime fp32" if name == "onnx" else "torch fp32 on cpu (asked for)") in err
        outputs[name] = [(e["start"], e["end"], e["label"]) for e in json.loads(out.read_text("utf-8"))["entities"]]
    assert outputs["onnx"] == outputs["torch"]
    reports = {}
    for name, folder in (("torch", ner_ckpt), ("onnx", ner_fp32)):
        assert (
            cli.main(["evaluate", "--checkpoint", str(folder), "--data", str(own_data), "--out", str(tmp_path / name)])
            == 0
        )
        reports[name] = json.loads((tmp_path / name / "report.json").read_text(encoding="utf-8"))
    assert reports["onnx"]["ner"]["micro"] == reports["torch"]["ner"]["micro"]


def test_dtype_auto_takes_bf16_only_where_the_hardware_computes_it():
    precision, why = resolve_dtype("auto", "cpu", None)
    assert precision == ("bf16" if cpu_has_native_bf16() else "fp32") and why.startswith("auto:")
    assert resolve_dtype("fp32", "cpu", None) == ("fp32", "asked for")
    assert resolve_dtype("auto", "cpu", "int8")[0] == "fp32"


def test_the_graph_logits_match_torch_on_padded_batches(ner_ckpt, ner_fp32):
    """Padding must not leak into real tokens: the graph's logits on a padded batch equal the unpadded ones."""
    from arabic_news.inference import OnnxBackend

    backend = OnnxBackend(ner_fp32 / ONNX_FILE)
    ids = np.array([[2, 40, 41, 42, 3, 0, 0], [2, 50, 51, 52, 53, 54, 3]], dtype=np.int64)
    mask = (np.arange(7) < np.array([[5], [7]])).astype(np.int64)
    batched = backend(ids, mask)
    alone = backend(ids[:1, :5], mask[:1, :5])
    np.testing.assert_allclose(batched[0, :5], alone[0], atol=1e-4)


def test_without_onnxruntime_the_error_names_the_extra(ner_ckpt, ner_fp32, own_data, tmp_path):
    """A Python without ONNX Runtime (simulated by blocking the import in a fresh interpreter) gets one line that
    says which extra to install, for export and for loading an export."""
    import subprocess
    import sys

    for argv in (
        ["export", str(ner_ckpt), str(tmp_path / "x")],
        ["evaluate", "--checkpoint", str(ner_fp32), "--data", str(own_data), "--out", str(tmp_path / "r")],
    ):
        code = (
            f"import sys; sys.modules['onnxruntime'] = None; from arabic_news import cli; sys.exit(cli.main({argv!r}))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        assert 'pip install -e ".[onnx]"' in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists()
