"""`model.lexical`: a topic model fused with TF-IDF + logistic regression (tasks/topic/lexical.py, training/lexical.py).

What must hold: the vectorizers rebuilt from the stored vocabulary and idf transform exactly as the fitted ones; the
stored regression gives scikit-learn's probabilities; fusion weight 1 is the encoder alone and 0 the regression alone;
a tiny config with the switch writes the files (no pickle), chooses the weight on dev, and every way of loading the
folder (load(), an ONNX export) predicts with the fusion while the Auto class still loads the encoder alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from arabic_news import load
from arabic_news.checkpoint import METADATA_FILE, read_metadata
from arabic_news.tasks.topic.lexical import (
    LEXICAL_FILES,
    VOCABULARY_FILE,
    WEIGHTS_FILE,
    LexicalModel,
    LexicalSettings,
    fuse,
    log_softmax,
    make_vectorizer,
)
from arabic_news.text import normalize_text
from arabic_news.training import train
from arabic_news.training.config import config_from_dict

from .conftest import ROOT, read_json, sample_documents

TRAINING_RULE = "best dev macro-F1"  # the rule of training/lexical.py, as benchmarks/fusion_rules.py names it

DOCS = sample_documents()
TEXTS = [normalize_text(d.text) for d in DOCS]
TOPICS = [d.topic for d in DOCS]
LABELS = sorted(set(TOPICS))
UNSEEN = [
    normalize_text((ROOT / "seeds" / "000_d551d2ad5a0e191b.txt").read_text(encoding="utf-8")),
    "نص لا يشبه شيئا مما سبق",
    "",
]
SMALL = LexicalSettings(min_df=1, max_features=300, C=10.0)


def test_rebuilt_vectorizers_and_weights_equal_the_fitted_ones(tmp_path):
    fitted = LexicalModel.fit(TEXTS, TOPICS, LABELS, SMALL)
    fitted.save(tmp_path)
    loaded = LexicalModel.load(tmp_path, SMALL, len(LABELS))
    for texts in (TEXTS, UNSEEN):
        a, b = fitted.features(texts), loaded.features(texts)
        assert a.shape == b.shape and a.dtype == b.dtype
        assert (a != b).nnz == 0  # bit for bit
        np.testing.assert_array_equal(fitted.log_probs(texts), loaded.log_probs(texts))
    for kind in ("word", "char"):
        reference = make_vectorizer(kind, SMALL)
        x = reference.fit_transform(TEXTS)
        assert len(reference.vocabulary_) <= SMALL.max_features
        assert (reference.transform(UNSEEN) != loaded.vectorizers[kind].transform(UNSEEN)).nnz == 0
        assert x.shape[1] == len(loaded.vectorizers[kind].vocabulary_)


def test_the_stored_regression_gives_scikit_learns_probabilities():
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    vectorizers = [make_vectorizer(kind, SMALL) for kind in ("word", "char")]
    x = hstack([v.fit_transform(TEXTS) for v in vectorizers], format="csr")
    regression = LogisticRegression(C=SMALL.C, max_iter=1000).fit(x, TOPICS)
    expected = regression.predict_proba(hstack([v.transform(UNSEEN + TEXTS) for v in vectorizers], format="csr"))
    order = [list(regression.classes_).index(label) for label in LABELS]
    lexical = LexicalModel.fit(TEXTS, TOPICS, LABELS, SMALL)
    np.testing.assert_allclose(np.exp(lexical.log_probs(UNSEEN + TEXTS)), expected[:, order], atol=1e-5)


def test_two_topics_keep_scikit_learns_binary_probabilities():
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    keep = [i for i, t in enumerate(TOPICS) if t in ("sport", "economy")]
    texts, topics = [TEXTS[i] for i in keep], [TOPICS[i] for i in keep]
    lexical = LexicalModel.fit(texts, topics, ["sport", "economy"], SMALL)
    vectorizers = [make_vectorizer(kind, SMALL) for kind in ("word", "char")]
    x = hstack([v.fit_transform(texts) for v in vectorizers], format="csr")
    regression = LogisticRegression(C=SMALL.C, max_iter=1000).fit(x, topics)  # classes_: economy, sport
    expected = regression.predict_proba(hstack([v.transform(UNSEEN) for v in vectorizers], format="csr"))
    np.testing.assert_allclose(np.exp(lexical.log_probs(UNSEEN)), expected[:, ::-1], atol=1e-5)


@pytest.mark.parametrize("fusion", ["log", "prob"])
def test_weight_one_is_the_encoder_alone_and_zero_the_regression_alone(fusion):
    rng = np.random.default_rng(0)
    encoder, lexical = log_softmax(rng.normal(size=(5, 4)) * 3), log_softmax(rng.normal(size=(5, 4)) * 3)
    np.testing.assert_allclose(fuse(encoder, lexical, 1.0, fusion), np.exp(encoder), atol=1e-12)
    np.testing.assert_allclose(fuse(encoder, lexical, 0.0, fusion), np.exp(lexical), atol=1e-12)
    middle = fuse(encoder, lexical, 0.5, fusion)
    np.testing.assert_allclose(middle.sum(axis=1), 1.0)


# ---------------------------------------------------------------------------------------------- a trained model
@pytest.fixture(scope="module")
def fused_ckpt(tiny_encoder, tiny_corpus, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt-lexical")
    raw = {
        "task": "topic",
        "model": {"name_or_path": str(tiny_encoder), "lexical": {"min_df": 1, "max_features": 500, "C": 10}},
        "data": {"train": str(tiny_corpus["train"]), "dev": str(tiny_corpus["dev"]), "test": str(tiny_corpus["dev"])},
        "preprocessing": {"max_length": 32, "stride": 8},
        "training": {
            "output_dir": str(folder / "model"),
            "num_train_epochs": 2,
            "learning_rate": 1e-2,
            "per_device_train_batch_size": 8,
            "seed": 7,
            "logging_strategy": "no",
            "eval_strategy": "no",
            "save_strategy": "no",
            "load_best_model_at_end": False,
        },
    }
    return train(config_from_dict(raw))


def test_training_with_the_switch_writes_the_files_and_chooses_on_dev(fused_ckpt):
    assert all((fused_ckpt / name).is_file() for name in LEXICAL_FILES)
    metadata = read_metadata(fused_ckpt)
    lex = metadata.lexical
    assert lex["fusion"] in ("log", "prob") and 0 <= lex["weight"] <= 1 and lex["features"] > 0
    assert lex["min_df"] == 1 and lex["C"] == 10
    metrics = read_json(fused_ckpt / "metrics.json")["lexical"]
    assert {g["fusion"] for g in metrics["grid"]} == {"log", "prob"} and len(metrics["grid"]) == 42
    best = max(g["dev_macro_f1"] for g in metrics["grid"])
    chosen = next(g for g in metrics["grid"] if (g["fusion"], g["weight"]) == (lex["fusion"], lex["weight"]))
    assert chosen["dev_macro_f1"] == best
    for split in ("dev", "test"):
        assert set(metrics["scores"][split]) == {"encoder", "lexical", "fused"}
        assert metrics["scores"][split]["fused"] == metadata.scores[split]
    vocabulary = json.loads((fused_ckpt / VOCABULARY_FILE).read_text(encoding="utf-8"))
    assert 0 < len(vocabulary["word"]) <= 500 and 0 < len(vocabulary["char"]) <= 500
    card = (fused_ckpt / "README.md").read_text(encoding="utf-8")
    assert "fused" in card and f"w = {lex['weight']:g}" in card


def test_no_pickle_anywhere(fused_ckpt):
    names = [p.name for p in fused_ckpt.iterdir()]
    assert not [n for n in names if n.endswith((".bin", ".pkl", ".pickle", ".joblib", ".pt"))], names
    for module in ("tasks/topic/lexical.py", "training/lexical.py"):
        source = (ROOT / "src" / "arabic_news" / module).read_text(encoding="utf-8")
        assert "import pickle" not in source and "joblib" not in source


def test_load_predicts_with_the_fusion(fused_ckpt):
    tagger = load(fused_ckpt, dtype="fp32")
    model = tagger.topic
    assert model.lexical is not None and "fused with TF-IDF" in tagger.describe()[0]
    settings = model.lexical.settings
    docs = [d.unlabeled() for d in DOCS]
    encoded, logits = model.forward(docs)
    encoder = np.stack([model.codec.encoder_log_probs(lg) for lg in logits])
    lexical = model.lexical.log_probs([e.text for e in encoded])
    expected = fuse(encoder, lexical, settings.weight, settings.fusion)
    for doc, want in zip(model.predict_documents(docs), expected):
        assert [doc.topic_probabilities[label] for label in model.labels] == pytest.approx(want, abs=2e-6)
        assert doc.topic == model.labels[int(want.argmax())]


def test_weight_one_in_the_folder_predicts_like_the_encoder_alone(fused_ckpt, tmp_path):
    import shutil

    folder = tmp_path / "w1"
    shutil.copytree(fused_ckpt, folder)
    meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    encoder_only = dict(meta)
    encoder_only.pop("lexical")
    meta["lexical"]["weight"] = 1.0
    (folder / METADATA_FILE).write_text(json.dumps(meta), encoding="utf-8")
    plain = tmp_path / "plain"
    shutil.copytree(fused_ckpt, plain)
    (plain / METADATA_FILE).write_text(json.dumps(encoder_only), encoding="utf-8")
    texts = [d.text for d in DOCS]
    fused, alone = list(load(folder, dtype="fp32").pipe(texts)), list(load(plain, dtype="fp32").pipe(texts))
    assert load(plain, dtype="fp32").topic.lexical is None
    for a, b in zip(fused, alone):
        assert a.topic.label == b.topic.label
        assert a.topic.probabilities == pytest.approx(b.topic.probabilities, abs=2e-6)


def test_the_auto_class_still_loads_the_encoder_and_classifier(fused_ckpt):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(fused_ckpt, use_safetensors=True)
    assert model.config.num_labels == len(read_metadata(fused_ckpt).labels)


def test_an_onnx_export_carries_the_fusion(fused_ckpt, tmp_path):
    pytest.importorskip("onnxruntime")
    from arabic_news.export import ExportRequest, export_checkpoint

    out = tmp_path / "onnx"
    card = export_checkpoint(ExportRequest(fused_ckpt, out))
    assert all((out / name).is_file() for name in LEXICAL_FILES)
    assert card["lexical"]["weight"] == read_metadata(fused_ckpt).lexical["weight"]
    assert "fused topic model" in (out / "README.md").read_text(encoding="utf-8")
    texts = [d.text for d in DOCS]
    onnx_tagger = load(out)
    assert onnx_tagger.topic.lexical is not None
    for want, have in zip(load(fused_ckpt, dtype="fp32").pipe(texts), onnx_tagger.pipe(texts)):
        assert have.topic.label == want.topic.label
        assert have.topic.probabilities == pytest.approx(want.topic.probabilities, abs=1e-4)


def test_serve_tags_with_the_fusion_and_says_so(fused_ckpt):
    pytest.importorskip("fastapi")
    from arabic_news.serve.app import ServeSettings, create_app

    from .test_serve import LiveServer, call, tag

    tagger = load(fused_ckpt, dtype="fp32")
    texts = [d.text for d in DOCS]
    expected = {text: r for text, r in zip(texts, tagger.pipe(texts))}
    with LiveServer(create_app(tagger, ServeSettings(max_batch=4, max_wait_ms=5))) as live:
        _, _, info = call(live.url, "/v1/model")
        assert info["tasks"][0]["lexical"]["weight"] == read_metadata(fused_ckpt).lexical["weight"]
        for record in tag(live.url, {"texts": texts}):
            want = expected[record["text"]].topic
            assert record["topic"] == want.label
            assert record["topic_probabilities"] == pytest.approx(want.probabilities, abs=1e-4)


def test_the_weights_file_is_safetensors(fused_ckpt):
    from safetensors.numpy import load_file

    tensors = load_file(str(fused_ckpt / WEIGHTS_FILE))
    assert {"word.idf", "char.idf", "coef", "intercept"} == set(tensors)
    assert tensors["coef"].dtype == np.float32


# ---------------------------------------------------------------------------------------------- bad inputs
# Rows of docs/bad-inputs.md ("Fused topic models"), through the command line as a user meets them.
def lexical_config(tmp_path: Path, tiny_encoder: Path, tiny_corpus: dict, task: str = "topic", **model) -> Path:
    from .conftest import write_config

    return write_config(
        tmp_path / "config.yaml",
        task=task,
        model={"name_or_path": str(tiny_encoder), **model},
        data={"train": str(tiny_corpus["train"])},
        preprocessing={"max_length": 24, "stride": 6},
        training={"output_dir": str(tmp_path / "run"), "num_train_epochs": 1},
    )


def test_the_lexical_switch_on_an_ner_config(tmp_path, capsys, tiny_encoder, tiny_corpus):
    from .test_bad_inputs import fails

    config = lexical_config(tmp_path, tiny_encoder, tiny_corpus, task="ner", lexical=True)
    fails(capsys, ["train", config], f"{config}:", "model.lexical is for topic classification", "set task: topic")
    assert not (tmp_path / "run").exists()


def test_the_lexical_switch_without_dev_data(tmp_path, capsys, tiny_encoder, tiny_corpus):
    from .test_bad_inputs import fails

    config = lexical_config(tmp_path, tiny_encoder, tiny_corpus, lexical=True)
    fails(capsys, ["train", config], f"{config}:", "chooses its fusion weight on dev", "data.dev")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "block, fragments",
    [
        ({"max_feature": 10}, ["unknown key 'model.lexical.max_feature'", "did you mean model.lexical.max_features"]),
        ({"weight": 1.5}, ["model.lexical.weight must be between 0 and 1"]),
        ({"fusion": "mean"}, ["model.lexical.fusion must be one of log, prob"]),
        ("tfidf", ["model.lexical must be bool or dict", "model.lexical: true"]),
    ],
    ids=["typo", "weight", "fusion", "not-a-block"],
)
def test_a_bad_lexical_block(tmp_path, capsys, tiny_encoder, tiny_corpus, block, fragments):
    from .test_bad_inputs import fails

    config = lexical_config(tmp_path, tiny_encoder, tiny_corpus, lexical=block)
    fails(capsys, ["train", config], f"{config}:", *fragments)


@pytest.mark.parametrize("missing", LEXICAL_FILES)
def test_a_fused_checkpoint_missing_a_lexical_file(tmp_path, capsys, fused_ckpt, missing):
    import shutil

    from .test_bad_inputs import fails, predict, text_file

    model = Path(shutil.copytree(fused_ckpt, tmp_path / "checkpoint"))
    (model / missing).unlink()
    source = text_file(tmp_path / "a.txt", "فاز الأهلي على الزمالك")
    fails(
        capsys,
        predict(model, source, tmp_path / "out.jsonl"),
        str(model),
        f"{missing} is missing",
        "copy the lexical_* files",
        keep=tmp_path / "out.jsonl",
    )


def test_a_fused_checkpoint_with_a_damaged_lexical_file(tmp_path, capsys, fused_ckpt):
    import shutil

    from .test_bad_inputs import fails, predict, text_file

    model = Path(shutil.copytree(fused_ckpt, tmp_path / "checkpoint"))
    weights = (model / WEIGHTS_FILE).read_bytes()
    (model / WEIGHTS_FILE).write_bytes(weights[: len(weights) // 2])
    source = text_file(tmp_path / "a.txt", "فاز الأهلي على الزمالك")
    fails(capsys, predict(model, source, tmp_path / "out.jsonl"), "cannot load the lexical component", "retrain")


def test_the_ant_benchmark_records_the_parts_of_a_fused_model(fused_ckpt):
    from benchmarks.ant import lexical_figures

    figures = lexical_figures(fused_ckpt, read_metadata(fused_ckpt).to_dict())
    assert set(figures["macro_f1_of_parts"]) == {"dev", "test"}
    assert set(figures["macro_f1_of_parts"]["test"]) == {"encoder", "lexical", "fused"}
    assert figures["lexical"]["weight"] == read_metadata(fused_ckpt).lexical["weight"]
    assert figures["lexical_files_bytes"] == sum((fused_ckpt / name).stat().st_size for name in LEXICAL_FILES)
    assert lexical_figures(fused_ckpt, {"lexical": {}}) == {}


def test_fusion_rules_benchmark_scores_each_rule_on_dev_and_its_pick_on_test(fused_ckpt, tiny_corpus, tmp_path):
    """benchmarks/fusion_rules.py on the tiny fused checkpoint: the grid equals training's own (same rule, same pick),
    each rule picks its optimum, out-of-fold figures are proper F1s, and the results file and plot are written."""
    from benchmarks import fusion_rules

    ant = tmp_path / "data" / "ant"
    ant.mkdir(parents=True)
    for split in ("dev", "test"):
        shutil.copy(tiny_corpus["dev"], ant / f"{split}.jsonl")
    out = tmp_path / "fusion_rules.json"
    argv = ["--checkpoints", str(fused_ckpt), "--data-dir", str(tmp_path / "data"), "--out", str(out)]
    assert fusion_rules.main(argv) == 0
    section = read_json(out)["fusion"]["checkpoints"][0]
    grid, rules = section["grid"], section["rules"]
    lex = read_metadata(fused_ckpt).lexical
    trained = next(g for g in grid if (g["fusion"], g["weight"]) == (lex["fusion"], lex["weight"]))
    assert trained == {k: v for k, v in rules[TRAINING_RULE].items() if k != "dev_out_of_fold_macro_f1"}
    assert rules["best dev macro-F1"]["dev_macro_f1"] == max(g["dev_macro_f1"] for g in grid)
    assert rules["lowest dev log-loss"]["dev_log_loss"] == min(g["dev_log_loss"] for g in grid)
    assert all(0 <= r["dev_out_of_fold_macro_f1"] <= 1 for r in rules.values())
    assert all(g["test_macro_f1"] == g["dev_macro_f1"] for g in grid), "test is dev here: the same scores"
    assert out.with_suffix(".png").stat().st_size > 0
    assert section["topic_input"] == read_metadata(fused_ckpt).preprocessing.topic_input == "head"
    assert fusion_rules.main([*argv, "--topic-input", "chunks"]) == 0
    assert read_json(out)["fusion"]["checkpoints"][0]["topic_input"] == "chunks"  # the override reached the codec


def test_the_grids_macro_f1_is_sklearns_including_labels_the_model_does_not_know():
    from sklearn.metrics import f1_score

    from arabic_news.training.lexical import macro_f1

    gold, predicted = np.array([0, 0, 1, 2, 2, 2, -1, -1]), np.array([0, 1, 1, 2, 2, 0, 3, 0])
    for n in (len(gold), 6):  # -1: a dev label the model doesn't know; class 3 is never gold
        expected = f1_score(gold[:n], predicted[:n], labels=range(4), average="macro", zero_division=0)
        assert macro_f1(gold[:n], predicted[:n], 4) == pytest.approx(expected)


def test_lexical_variants_benchmark_refits_the_regression_as_training_does(fused_ckpt, tiny_corpus, tmp_path):
    """benchmarks/lexical_variants.py on the tiny fused checkpoint: the committed row reproduces training's own pick
    (same fit, same grid, same rule), a variant reaches the fit (fewer features without word n-grams), and a
    malformed variant is refused with the expected form."""
    from benchmarks import lexical_variants

    ant = tmp_path / "data" / "ant"
    ant.mkdir(parents=True)
    for split, source in (("train", "train"), ("dev", "dev"), ("test", "dev")):
        shutil.copy(tiny_corpus[source], ant / f"{split}.jsonl")
    out = tmp_path / "lexical_variants.json"
    argv = ["--checkpoint", str(fused_ckpt), "--data-dir", str(tmp_path / "data"), "--out", str(out)]
    assert lexical_variants.main([*argv, "--variant", "chars-only=word_ngrams=0"]) == 0
    rows = read_json(out)["lexical_variants"]["variants"]
    lex = read_metadata(fused_ckpt).lexical
    assert rows["committed"]["pick"] == f"{lex['fusion']} {lex['weight']:g}"
    assert rows["chars-only"]["settings"]["word_ngrams"] == 0
    assert 0 < rows["chars-only"]["features"] < rows["committed"]["features"]
    for row in rows.values():
        # (out of fold may beat the grid's best: each fold uses its own pick, so no order between the two holds)
        assert 0 <= row["fused_dev_out_of_fold_macro_f1"] <= 1 and 0 <= row["fused_dev_best_of_grid"] <= 1
        assert row["test_macro_f1_at_pick"] == row["fused_dev_best_of_grid"]  # test is dev here; the pick is its best
    assert lexical_variants.parse_variant("C-3=C=3,min_df=1") == ("C-3", {"C": 3, "min_df": 1})
    for bad in ("C-3", "C-3=C"):
        with pytest.raises(argparse.ArgumentTypeError, match="write"):
            lexical_variants.parse_variant(bad)
    for unknown in ("x=Cc=3", "w=weight=0.5"):  # a typo, and a setting every variant re-picks on dev
        with pytest.raises(argparse.ArgumentTypeError, match="is not a setting; use one of"):
            lexical_variants.parse_variant(unknown)
