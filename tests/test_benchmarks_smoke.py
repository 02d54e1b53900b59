"""The pure parts of the benchmark scripts, on the project's own sample data (never the benchmark corpora).

The full benchmarks train for tens of minutes on ../shared/data; here the CRF features, the CRF and SVM baselines,
the throughput meter and the results file are checked on data/sample in a few seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from arabic_news.data.formats import read_documents
from arabic_news.evaluation import evaluate_predictions
from benchmarks import common, crf_baseline, main_job, svm_baseline
from benchmarks.anercorp import ner_figures
from benchmarks.ant import topic_figures

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def sample_docs() -> dict[str, list]:
    return {split: read_documents(SAMPLE / f"{split}.jsonl") for split in ("train", "dev")}


# ---- CRF features --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "word, expected",
    [
        ("وبالمدينة", ("وبال", "مدينة")),  # conjunction + preposition + article
        ("للكتاب", ("لل", "كتاب")),  # ل + ال is written لل
        ("فالحكومة", ("فال", "حكومة")),
        ("الناتو", ("ال", "ناتو")),
        ("لي", ("", "لي")),  # too short to split: the stem must keep two letters
        ("COVID", ("", "COVID")),
    ],
)
def test_split_proclitics(word, expected):
    assert crf_baseline.split_proclitics(crf_baseline.normalized(word)) == expected


def test_word_shape_and_normalization_features():
    assert crf_baseline.word_shape("COVID-19") == "X-d"
    assert crf_baseline.word_shape("بغداد") == "a"
    assert crf_baseline.word_shape("٢٠٢٤") == "d"  # Arabic-Indic digits are digits
    features = crf_baseline.word_features("أذربيجان")
    assert features["norm"] == "اذربيجان" and features["changed_by_normalization"]
    assert (features["pre3"], features["suf3"]) == ("اذر", "جان")


def test_sentence_features_cover_a_two_word_window():
    rows = crf_baseline.sentence_features(["زار", "الوزير", "بغداد"])
    assert rows[0]["-1:edge"] and "-2:edge" not in rows[0]  # only the first position past the edge is marked
    assert rows[0]["+2:norm"] == "بغداد" and rows[0]["+1:clitic"] == "ال"
    assert rows[2]["+1:edge"] and rows[2]["-2:norm"] == "زار"
    assert rows[1]["-1:norm|norm"] == "زار|الوزير"


def test_tags_round_trip_through_documents(sample_docs):
    docs = sample_docs["dev"]
    sentences = crf_baseline.sentences_of(docs)
    rebuilt = crf_baseline.predicted_documents(docs, [s.tags for s in sentences])
    report = evaluate_predictions("ner", docs, rebuilt, ["O"])
    assert report["ner"]["micro"]["f1"] == pytest.approx(1.0)  # gold tags decoded back give the gold entities


# ---- baselines -------------------------------------------------------------------------------------------------
def test_crf_baseline_learns_the_sample_corpus(sample_docs):
    pytest.importorskip("sklearn_crfsuite", reason="the CRF baseline needs the bench extra: pip install -e '.[bench]'")
    train = crf_baseline.sentences_of(sample_docs["train"][:16])  # a third of the sample keeps this to seconds
    dev = crf_baseline.sentences_of(sample_docs["dev"])
    result = crf_baseline.select_on_dev(train, dev, grid={"c1": (0.05,), "c2": (0.01, 0.1)}, max_iterations=25)
    assert len(result.grid) == 2 and result.best in result.grid
    assert result.best["dev_micro_f1"] == max(p["dev_micro_f1"] for p in result.grid)
    tags = crf_baseline.predict_tags(result.crf, [s.tokens for s in train])
    assert crf_baseline.micro_f1([s.tags for s in train], tags) > 0.8  # it fits what it was trained on
    predicted = crf_baseline.predicted_documents(
        sample_docs["dev"], crf_baseline.predict_tags(result.crf, [s.tokens for s in dev])
    )
    figures = ner_figures(evaluate_predictions("ner", sample_docs["dev"], predicted, ["O"])["ner"])
    assert 0 < figures["micro"]["f1"] <= 1 and figures["micro"]["ci95"][0] <= figures["micro"]["f1"]
    assert set(figures["per_type"]) <= {"LOC", "MISC", "ORG", "PERS"}
    assert "examples" not in json.dumps(figures)  # no corpus text in the figures


@pytest.mark.parametrize("classifier, grid", [("svm", (0.3, 1.0)), ("lr", (100.0, 1000.0))])
def test_svm_baseline_on_the_sample_topics(sample_docs, classifier, grid):
    train, dev = sample_docs["train"], sample_docs["dev"]
    result = svm_baseline.select_on_dev(train, dev, c_grid=grid, min_df=1, classifier=classifier)
    assert [p["C"] for p in result.grid] == list(grid) and result.features > 1000
    on_train = svm_baseline.predict_documents(result, train)
    assert sum(p.topic == g.topic for p, g in zip(on_train, train)) / len(train) > 0.9
    predicted = svm_baseline.predict_documents(result, dev)
    assert [d.id for d in predicted] == [d.id for d in dev]
    assert all(d.topic in {t.topic for t in train} for d in predicted)
    figures = topic_figures(evaluate_predictions("topic", dev, predicted, sorted({d.topic for d in train}))["topic"])
    assert 0 <= figures["macro_f1"] <= 1 and set(figures["per_class"]) == {d.topic for d in train}


def test_article_text_prepends_the_title_and_normalizes():
    from arabic_news.data.document import Document

    doc = Document("a", "أعلنت الوزارة", meta={"title": "عنوان"})
    assert svm_baseline.article_text(doc) == "عنوان\nاعلنت الوزارة"
    assert svm_baseline.article_text(doc, use_title=False) == "اعلنت الوزارة"


# ---- shared helpers -----------------------------------------------------------------------------------------
def test_dev_split_is_the_projects_cut():
    from arabic_news.training import load_splits
    from arabic_news.training.config import config_from_dict

    config = config_from_dict(
        {
            "task": "ner",
            "data": {"train": str(SAMPLE / "train.jsonl"), "dev_fraction": 0.1},
            "training": {"output_dir": "unused"},
        }
    )
    train, dev, _ = load_splits(config)
    mine_train, mine_dev = common.sequential_dev_split(read_documents(SAMPLE / "train.jsonl"), 0.1)
    assert [d.id for d in mine_dev] == [d.id for d in dev] and len(mine_train) == len(train)


def test_limited_spreads_over_sorted_files():
    records = [f"{topic}-{i}" for topic in "abcd" for i in range(10)]
    assert common.limited(records, 4) == records[:4]
    assert {r[0] for r in common.limited(records, 4, spread=True)} == set("abcd")
    assert common.limited(records, None) is records and common.limited(records, 100) == records


def test_results_file_merges_sections_and_keeps_earlier_headlines(tmp_path):
    out = tmp_path / "bench.json"
    common.write_results(out, "demo", {"crf": {"f1": 0.5}}, {"test_micro_f1": None, "crf_test_micro_f1": 0.5})
    common.write_results(out, "demo", {"model": {"f1": 0.8}}, {"test_micro_f1": 0.8, "crf_test_micro_f1": None})
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["crf"]["f1"] == 0.5 and saved["model"]["f1"] == 0.8
    assert saved["test_micro_f1"] == 0.8 and saved["crf_test_micro_f1"] == 0.5
    assert {"cpu", "cores", "torch", "transformers"} <= set(saved["machine"]) and saved["date"]
    assert saved["command"].startswith("python ")
    common.write_results(out, "other", {"x": {}}, {})
    assert "crf" not in json.loads(out.read_text(encoding="utf-8"))  # another benchmark's file is replaced


def test_results_measured_on_other_data_are_not_mixed(tmp_path):
    out = tmp_path / "bench.json"
    common.write_results(out, "demo", {"data": {"limit": None}, "crf": {"f1": 0.6}}, {"crf_test_micro_f1": 0.6})
    common.write_results(out, "demo", {"data": {"limit": None}, "model": {"f1": 0.8}}, {"test_micro_f1": 0.8})
    assert json.loads(out.read_text(encoding="utf-8"))["crf"]["f1"] == 0.6  # same data: kept
    common.write_results(out, "demo", {"data": {"limit": 200}, "model": {"f1": 0.1}}, {"test_micro_f1": 0.1})
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert "crf" not in saved and "crf_test_micro_f1" not in saved and saved["model"]["f1"] == 0.1


def test_repo_relative_paths_are_never_absolute(tmp_path):
    assert common.repo_relative(common.REPO_ROOT / "configs" / "anercorp.yaml") == str(Path("configs/anercorp.yaml"))
    assert common.repo_relative(common.DEFAULT_DATA_DIR / "x.conll") == str(Path("../shared/data/x.conll"))
    assert not Path(common.repo_relative(tmp_path / "a.json")).is_absolute()


def test_missing_corpus_says_how_to_fix(tmp_path):
    with pytest.raises(common.BenchmarkError, match="--data-dir"):
        common.corpus_file(tmp_path, "anercorp/train.conll")


# ---- the main job over seeds ------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["ner", "topic"])
def test_main_job_trains_each_seed_and_scores_dev_and_the_seed_article(task, tiny_encoder, tiny_corpus, tmp_path):
    from tests.conftest import write_config

    config = write_config(
        tmp_path / f"tiny-{task}.yaml",
        task=task,
        model={"name_or_path": str(tiny_encoder)},
        data={"train": str(tiny_corpus["train"]), "dev": str(tiny_corpus["dev"])},
        preprocessing={"max_length": 32, "stride": 8},
        training={"output_dir": str(tmp_path / "unused"), "num_train_epochs": 1, "per_device_train_batch_size": 8},
    )
    out, runs = tmp_path / "main_job.json", tmp_path / "runs"
    common_args = ["--config", str(config), "--seed-gold", str(tiny_corpus["dev"]), "--out", str(out)]
    assert main_job.main([*common_args, "--seeds", "1", "2", "--runs-dir", str(runs)]) == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    section = saved[task]
    assert [r["seed"] for r in section["runs"]] == [1, 2]
    assert {p.name for p in runs.iterdir()} >= {f"main-tiny-{task}-seed1", f"main-tiny-{task}-seed2"}
    key = "seed_span_f1" if task == "ner" else "seed_topic_accuracy"
    values = [r[key] for r in section["runs"]]
    assert all(0.0 <= v <= 1.0 for v in values) and section[key]["runs"] == 2
    assert section[key]["mean"] == pytest.approx(sum(values) / 2) and saved[f"{task}_{key}"] == section[key]["mean"]
    assert all(r["training"]["seconds"] > 0 for r in section["runs"])
    if task == "ner":  # every error class shows up to the harness's five examples, each naming its labels
        for run in section["runs"]:
            wrong = {kind: n for kind, n in run["seed_errors"].items() if kind != "correct"}
            assert len(run["seed_error_examples"]) == sum(min(n, 5) for n in wrong.values())
            assert all(line.split(" ")[0] in wrong and " -> " in line for line in run["seed_error_examples"])
    # the same checkpoints scored on another corpus's dev split (NER: the last 10% of its train file)
    from arabic_news.data import Document, read_documents, write_documents

    corpus, tiny = tmp_path / "corpora", read_documents(tiny_corpus["dev"])
    (corpus / "anercorp").mkdir(parents=True)
    (corpus / "ant").mkdir()
    write_documents(tiny * 2, corpus / "anercorp" / "train.conll")
    write_documents(
        [Document(d.id, d.text, d.topic, meta={"title": "عنوان"}) for d in tiny], corpus / "ant" / "dev.jsonl"
    )
    again = [*common_args, "--seeds", "1", "2", "--runs-dir", str(runs), "--skip-train", "--cross-corpus"]
    assert main_job.main([*again, "--data-dir", str(corpus)]) == 0
    section = json.loads(out.read_text(encoding="utf-8"))[task]
    key, folder = {"ner": ("anercorp_dev_micro_f1", "anercorp-dev"), "topic": ("ant_dev_macro_f1", "ant-dev")}[task]
    assert all(0.0 <= r[key] <= 1.0 for r in section["runs"]) and section[key]["runs"] == 2
    assert (runs / f"main-tiny-{task}-eval" / folder).is_dir()
    with pytest.raises(common.BenchmarkError, match="--data-dir"):  # a missing corpus stops it before training
        main_job.main([*common_args, "--runs-dir", str(tmp_path / "r2"), "--cross-corpus", "--data-dir", str(tmp_path)])
    assert not (tmp_path / "r2").exists()
    if task == "topic":  # the seed gold here is the 6 dev articles: one predicted topic each
        assert all(len(r["seed_topics"]) == 6 for r in section["runs"])
    # another recipe (a --set override) trains its own checkpoints instead of reusing these
    assert main_job.run_name(config, ["training.num_train_epochs=2"]) != main_job.run_name(config, [])


# ---- throughput meter ---------------------------------------------------------------------------------------
def test_throughput_meter_counts_real_tokens_after_warmup():
    import torch

    from benchmarks.training_speed import ThroughputMeter, matmul_gflops

    class Echo(torch.nn.Module):
        def forward(self, input_ids=None, attention_mask=None):
            return input_ids

    model, meter = Echo(), ThroughputMeter(warmup_steps=1)
    meter.on_train_begin(None, None, None, model=model)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    for _ in range(3):
        model(input_ids=torch.zeros_like(mask), attention_mask=mask)
        meter.on_step_end(None, None, None)
    model.eval()
    model(input_ids=torch.zeros_like(mask), attention_mask=mask)  # evaluation passes are not training work
    meter.on_train_end(None, None, None)
    result = meter.result()
    assert result["total_tokens"] == 15 and result["timed_tokens"] == 10 and result["timed_steps"] == 2
    assert result["padding_share"] == pytest.approx(3 / 8) and result["tokens_per_second"] > 0
    assert matmul_gflops(torch.float32, 64, repeats=2) > 0


@pytest.mark.parametrize("variant", ["default", "trim"])
def test_train_memory_traces_every_step_of_a_real_run(variant, tiny_encoder, tmp_path):
    """benchmarks/train_memory.py on a tiny CoNLL corpus: one RSS record per optimizer step, a peak no lower than
    any RSS it saw, and the figures merged into one results file per variant."""
    from arabic_news.data.conll import write_conll
    from benchmarks import train_memory
    from tests.conftest import read_json, sample_documents, write_config

    anercorp = tmp_path / "data" / "anercorp"
    anercorp.mkdir(parents=True)
    for split in ("train", "test"):
        write_conll(sample_documents(), anercorp / f"{split}.conll")
    config = write_config(
        tmp_path / "tiny.yaml",
        task="ner",
        model={"name_or_path": str(tiny_encoder)},
        data={"train": "x", "dev_fraction": 0.2},
        preprocessing={"granularity": "word", "max_length": 32, "stride": 8},
        training={"output_dir": "x", "per_device_train_batch_size": 8, "learning_rate": 1e-3},
    )
    out = tmp_path / "memory.json"
    argv = ["--config", str(config), "--data-dir", str(tmp_path / "data"), "--out", str(out), "--variant", variant]
    assert train_memory.main([*argv, "--runs-dir", str(tmp_path / "runs")]) == 0
    figures = read_json(out)[variant]
    steps = [t for t in figures["trace"] if t["event"] == "step"]
    assert [t["step"] for t in steps] == list(range(1, len(steps) + 1)) and len(steps) >= 2
    assert figures["peak_mb"] >= max(t["rss_mb"] for t in figures["trace"]) > 100
    assert any(t["event"] == "evaluate" for t in figures["trace"]), "the epoch's evaluation is traced"
    assert figures["preloaded"] == os.environ.get("LD_PRELOAD"), "which allocator ran is on record"


def test_serve_load_measures_the_model_alone_one_text_and_a_batch_at_a_time(ner_ckpt):
    """benchmarks/serve_load.py's model-alone figures: the same texts, one a call and all in one call, through the real tagger;
    the figures are words/s over the words of the texts, and their ratio is the speedup."""
    from benchmarks import serve_load

    args = serve_load.parse_args(["--checkpoint", str(ner_ckpt), "--rounds", "1", "--threads", "1"])
    pools = {"short": ["قال الرئيس إن الوفد وصل إلى باريس.", "التقى الوزير بنظيره في عمّان أمس."]}
    figures = serve_load.model_alone(args, pools, batch=3)
    short = figures["texts"]["short"]
    assert short["texts"] == 3 and short["words"] == 7 + 6 + 7, "the pool is cycled to one full batch"
    rates = short["words_per_s"]
    assert rates["one_at_a_time"] > 0 and rates["batched"] > 0
    assert short["speedup"] == pytest.approx(rates["batched"] / rates["one_at_a_time"], abs=0.01)
    assert figures["threads"] == 1 and figures["batch"] == 3


# ---- a frozen encoder's view of topics ----------------------------------------------------------------------
def test_frozen_view_fits_each_layer_and_fuses_it_with_both_halves_of_a_checkpoint(tiny_encoder, tiny_corpus, tmp_path):
    from arabic_news.data import Document, read_documents, write_documents
    from arabic_news.training import load_config, train
    from benchmarks import frozen_view
    from tests.conftest import write_config

    corpus = tmp_path / "corpora"
    (corpus / "ant").mkdir(parents=True)
    docs = [Document(d.id, d.text, d.topic, meta={"title": "عنوان"}) for d in read_documents(tiny_corpus["train"])]
    for split in ("train", "dev", "test"):
        write_documents(docs, corpus / "ant" / f"{split}.jsonl")
    config = write_config(
        tmp_path / "tiny-topic.yaml",
        task="topic",
        model={"name_or_path": str(tiny_encoder), "lexical": {"min_df": 1}},
        data={k: str(corpus / "ant" / f"{k}.jsonl") for k in ("train", "dev")},
        preprocessing={"max_length": 32, "stride": 8},
        training={"output_dir": str(tmp_path / "ckpt"), "num_train_epochs": 1, "per_device_train_batch_size": 8},
    )
    checkpoint = train(load_config(config))
    out = tmp_path / "frozen_view.json"
    args = ["--config", str(config), "--data-dir", str(corpus), "--layers", "1", "2", "--out", str(out)]
    assert frozen_view.main([*args, "--checkpoint", str(checkpoint)]) == 0
    section = json.loads(out.read_text(encoding="utf-8"))["frozen_view"]
    assert set(section["frozen_views"]) == {"layer 1", "layer 2"}
    for row in section["frozen_views"].values():
        assert row["C"] in frozen_view.C_GRID and 0.0 <= row["dev_macro_f1"] <= 1.0
        for fused in (row["fused with the regression"], row["three views"]):
            assert 0.0 <= fused["dev_out_of_fold_macro_f1"] <= 1.0 and 0.0 <= fused["test_macro_f1_at_pick"] <= 1.0
        assert sum(row["three views"]["pick"].values()) == pytest.approx(1.0)
    assert "fine-tuned encoder fused with the regression" in section["checkpoint"]
    with pytest.raises(common.BenchmarkError, match="--data-dir"):  # a missing corpus is named before any work
        frozen_view.main([*args[:2], "--data-dir", str(tmp_path / "nowhere"), "--out", str(out)])
