"""The CRF output layer (`model.crf`) and constrained BIO decoding.

Viterbi never emits an I-X after O, after another type or at the start (hypothesis, over random emissions and
scores) and finds the best valid path (brute force); the CRF's negative log-likelihood equals a brute-force one over
the labelled positions; training with `model.crf: true` writes crf.safetensors beside a model.safetensors that plain
transformers loads with no missing or unexpected keys; `load()` decodes with the CRF's scores, the ONNX export keeps
them, and a folder whose CRF file is missing or does not fit is refused."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file
from safetensors.torch import load_file
from transformers import AutoModelForTokenClassification, TrainerCallback

from arabic_news import cli, load
from arabic_news.checkpoint import CRF_FILE, METADATA_FILE
from arabic_news.errors import CheckpointError, ConfigError
from arabic_news.tasks.ner.codec import ner_labels
from arabic_news.tasks.ner.crf import CrfParams, allowed_starts, allowed_transitions, is_valid, viterbi
from arabic_news.training import train
from arabic_news.training.crf import CrfLayer

from .conftest import read_json, sample_documents
from .test_inference import SEED_TEXT
from .test_training import make_config

LABELS = ner_labels(["LOC", "PERS"], "subword")  # O, B-/I-/C1-/C2- of each type: 9 labels
SMALL = ["O", "B-LOC", "I-LOC", "C1-LOC", "B-PERS", "I-PERS"]


def test_the_allowed_transitions_follow_iob2():
    allowed, starts = allowed_transitions(SMALL), allowed_starts(SMALL)
    i = SMALL.index
    assert allowed[i("B-LOC"), i("I-LOC")] and allowed[i("C1-LOC"), i("I-LOC")] and allowed[i("I-LOC"), i("I-LOC")]
    assert not allowed[i("O"), i("I-LOC")] and not allowed[i("B-PERS"), i("I-LOC")]
    assert not allowed[i("I-PERS"), i("I-LOC")]
    assert allowed[i("O"), i("B-LOC")] and allowed[i("I-LOC"), i("B-PERS")] and allowed[i("I-PERS"), i("O")]
    assert list(starts) == [True, True, False, True, True, False]
    assert is_valid(["O", "B-LOC", "I-LOC", "C1-LOC", "I-LOC", "B-PERS"])
    assert not is_valid(["I-LOC"]) and not is_valid(["B-PERS", "I-LOC"]) and not is_valid(["O", "I-PERS"])


def _params(rng: np.random.Generator, n: int, scale: float) -> CrfParams:
    return CrfParams(*(scale * rng.standard_normal(shape).astype(np.float32) for shape in ((n, n), (n,), (n,))))


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(0, 40),
    scale=st.sampled_from([0.0, 1.0, 10.0]),
    sharp=st.sampled_from([1.0, 10.0, 100.0]),
)
def test_viterbi_never_emits_an_invalid_sequence(seed, length, scale, sharp):
    """Random emissions (from flat to very peaked, where argmax alone often gives I-X after O) and random scores."""
    rng = np.random.default_rng(seed)
    params = _params(rng, len(LABELS), scale)
    emissions = sharp * rng.standard_normal((length, len(LABELS)))
    best = viterbi(emissions, params, allowed_transitions(LABELS), allowed_starts(LABELS))
    assert len(best) == length
    assert is_valid([LABELS[i] for i in best])


def _path_score(path, emissions, params: CrfParams) -> float:
    score = params.start[path[0]] + params.end[path[-1]] + sum(emissions[t, k] for t, k in enumerate(path))
    return float(score + sum(params.transitions[a, b] for a, b in zip(path, path[1:])))


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_finds_the_best_valid_path(seed):
    rng = np.random.default_rng(seed)
    emissions, params = rng.standard_normal((4, len(SMALL))), _params(rng, len(SMALL), 1.0)
    valid = [p for p in itertools.product(range(len(SMALL)), repeat=4) if is_valid([SMALL[k] for k in p])]
    expected = max(valid, key=lambda p: _path_score(p, emissions, params))
    assert tuple(viterbi(emissions, params, allowed_transitions(SMALL), allowed_starts(SMALL))) == expected


def test_crf_nll_equals_the_brute_force_one_over_labelled_positions():
    """Rows with -100 gaps (special tokens, non-first subwords) and an empty row; the partition sums over sequences
    with allowed transitions (a window may open inside an entity, so any first tag)."""
    torch.manual_seed(0)
    layer = CrfLayer(SMALL)
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_()
    emissions = torch.randn(3, 6, len(SMALL), requires_grad=True)
    tags = torch.tensor([[-100, 0, 1, 2, -100, 4], [-100, 2, 2, 3, 0, -100], [-100] * 6])
    nll = layer.nll(emissions, tags)
    params, allowed = layer.params(), allowed_transitions(SMALL)
    for row in range(2):
        kept = [t for t in range(6) if tags[row, t] != -100]
        e = emissions[row, kept].detach().numpy().astype(np.float64)
        paths = [
            p
            for p in itertools.product(range(len(SMALL)), repeat=len(kept))
            if all(allowed[a, b] for a, b in zip(p, p[1:]))
        ]
        log_z = np.logaddexp.reduce([_path_score(p, e, params) for p in paths])
        gold = _path_score([int(tags[row, t]) for t in kept], e, params)
        assert float(nll[row].detach()) == pytest.approx(log_z - gold, abs=1e-4)
    assert float(nll[2]) == 0.0
    nll.sum().backward()
    assert torch.isfinite(emissions.grad).all() and torch.isfinite(layer.transitions.grad).all()


# ---- training, loading, exporting ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crf_ckpt(tiny_encoder, tiny_corpus, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crf")
    config = make_config(tmp, tiny_encoder, tiny_corpus, num_train_epochs=12, learning_rate=1e-2)
    config.model.crf, config.model.crf_learning_rate = True, 0.1
    seen = {}

    class Capture(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
            seen["rates"] = {
                name: group["lr"]
                for group in optimizer.param_groups
                for name, p in model.named_parameters()
                if any(p is q for q in group["params"])
            }

    return train(config, callbacks=[Capture()]), seen


@pytest.mark.slow
def test_crf_training_keeps_the_crf_out_of_model_safetensors(crf_ckpt):
    out, seen = crf_ckpt
    assert seen["rates"]["crf.transitions"] == 0.1 and seen["rates"]["classifier.weight"] == 1e-2
    assert read_json(out / METADATA_FILE)["crf"] is True
    crf = load_file(out / CRF_FILE)
    assert set(crf) == {"transitions", "start", "end"} and crf["transitions"].abs().sum() > 0  # it learnt
    assert not any(k.startswith("crf") for k in load_file(out / "model.safetensors"))
    model, info = AutoModelForTokenClassification.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert "CRF Viterbi" in load(out).describe()[0]


@pytest.mark.slow
def test_load_decodes_with_the_crf_scores(crf_ckpt, tmp_path):
    """Scores that make every unit O whatever the emissions: load() follows them, argmax decoding does not."""
    out = tmp_path / "forced"
    shutil.copytree(crf_ckpt[0], out)
    n = len(read_json(out / METADATA_FILE)["labels"])
    params = CrfParams.zeros(n)
    params.start[0] = params.transitions[:, 0] = 1e3
    save_file(params.tensors(), str(out / CRF_FILE))
    texts = [SEED_TEXT] + [d.text for d in sample_documents()]
    assert sum(len(p.entities) for p in load(out, decoding="argmax").pipe(texts)) > 0
    assert sum(len(p.entities) for p in load(out).pipe(texts)) == 0
    source = tmp_path / "texts.jsonl"  # the command line's --decoding reaches load()
    source.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)), "utf-8")
    for decoding, found in (("auto", False), ("argmax", True)):
        target = tmp_path / f"{decoding}.jsonl"
        argv = ["predict", "--checkpoint", str(out), "--input", str(source), "--output", str(target)]
        assert cli.main([*argv, "--decoding", decoding]) == 0
        assert any(json.loads(line)["entities"] for line in target.read_text("utf-8").splitlines()) == found


@pytest.mark.slow
def test_constrained_decoding_of_a_model_without_crf(ner_ckpt):
    tagger = load(ner_ckpt, decoding="constrained")
    assert "constrained BIO decoding" in tagger.describe()[0] and tagger.ner.crf.transitions.sum() == 0
    docs = [d.unlabeled() for d in sample_documents()]
    encoded = [tagger.ner.codec.encode(d) for d in docs]
    logits = tagger.ner._run([tagger.ner.codec.inference_features(e) for e in encoded], 8, False)
    for e, lg in zip(encoded, logits):
        assert is_valid(tagger.ner.codec.predicted_tags(e, lg)[0])
    assert load(ner_ckpt).ner.crf is None  # auto: a model trained without a CRF keeps argmax decoding


@pytest.mark.slow
def test_a_missing_or_misfit_crf_file_is_refused(crf_ckpt, tmp_path):
    out = tmp_path / "broken"
    shutil.copytree(crf_ckpt[0], out)
    (out / CRF_FILE).unlink()
    with pytest.raises(CheckpointError, match="no crf.safetensors"):
        load(out)
    save_file(CrfParams.zeros(3).tensors(), str(out / CRF_FILE))
    with pytest.raises(CheckpointError, match="does not fit the"):
        load(out)


@pytest.mark.slow
def test_the_onnx_export_keeps_the_crf(crf_ckpt, tmp_path):
    pytest.importorskip("onnxruntime")
    from arabic_news.export import ExportRequest, export_checkpoint

    out = tmp_path / "crf-onnx"
    export_checkpoint(ExportRequest(crf_ckpt[0], out))
    assert load_file(out / CRF_FILE)["transitions"].equal(load_file(crf_ckpt[0] / CRF_FILE)["transitions"])
    texts = [SEED_TEXT] + [d.text for d in sample_documents()]
    torch_spans = [[(e.start, e.end, e.label) for e in p.entities] for p in load(crf_ckpt[0], dtype="fp32").pipe(texts)]
    onnx_tagger = load(out)
    assert "CRF Viterbi" in onnx_tagger.describe()[0]
    assert [[(e.start, e.end, e.label) for e in p.entities] for p in onnx_tagger.pipe(texts)] == torch_spans


def test_crf_config_errors(tmp_path, tiny_encoder, tiny_corpus):
    raw = make_config(tmp_path, tiny_encoder, tiny_corpus).to_dict()
    from arabic_news.training.config import config_from_dict

    with pytest.raises(ConfigError, match="model.crf is for NER"):
        config_from_dict({**raw, "task": "topic", "model": {**raw["model"], "crf": True}})
    with pytest.raises(ConfigError, match="crf_learning_rate is set but model.crf is off"):
        config_from_dict({**raw, "model": {**raw["model"], "crf_learning_rate": 0.1}})
    with pytest.raises(ConfigError, match="no class weights or label smoothing"):
        config_from_dict(
            {
                **raw,
                "model": {**raw["model"], "crf": True},
                "training": {**raw["training"], "class_weights": "balanced"},
            }
        )


@pytest.mark.slow
def test_an_interrupted_crf_run_resumes_with_its_crf_scores(tmp_path, tiny_encoder, tiny_corpus):
    """The Trainer's snapshots hold the CRF's scores (it is a submodule), and resuming restores them."""
    from .test_training import StopAfter

    config = make_config(tmp_path, tiny_encoder, tiny_corpus, num_train_epochs=4, early_stopping_patience=None)
    config.model.crf, config.model.crf_learning_rate = True, 0.1
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[StopAfter(6)])
    (snapshot,) = sorted(config.output_dir.glob("checkpoint-*"))[-1:]
    saved = load_file(snapshot / "model.safetensors")["crf.transitions"]
    assert saved.abs().sum() > 0
    seen = {}

    class FirstStep(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, **kwargs):
            seen.setdefault("transitions", model.crf.transitions.detach().clone())

    train(config, callbacks=[FirstStep()])
    assert torch.equal(seen["transitions"], saved)
    assert read_json(config.output_dir / METADATA_FILE)["training"]["global_step"] == 12
    assert not load_file(config.output_dir / CRF_FILE)["transitions"].equal(saved)  # and it trained on
