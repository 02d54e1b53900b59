"""The catalogue of bad inputs (docs/bad-inputs.md): one test per row, each through the command line as a user meets it.

Every test runs `cli.main([...])` and checks three things: the exit status (1 where the command must stop, 0 where
the input is usable), the one-line message on stderr (it names the file and line or the config key, and says how to
fix it), and that nothing was lost: an output file that existed before a failing command is byte-for-byte the
same afterwards, and no half-written output appears.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from arabic_news import cli
from arabic_news.checkpoint import METADATA_FILE

from .conftest import read_json, write_config

TEXT = "التقى ماكرون في باريس بوفد من الأمم المتحدة."
PREVIOUS = "an earlier result that a failing command must leave alone\n"


# ----------------------------------------------------------------------------------------------- helpers


def fails(capsys, argv: list, *fragments: str, keep: Path | None = None) -> str:
    """Run the command; it must exit 1 with one `error:` line holding every fragment, leaving `keep` unchanged."""
    before = keep.read_bytes() if keep is not None and keep.is_file() else None
    capsys.readouterr()
    assert cli.main([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    assert "Fix: " in errors[0], "every message says how to fix it"
    if keep is not None:
        if before is None:
            assert not keep.exists(), f"{keep} was created by a failing command"
        else:
            assert keep.read_bytes() == before, f"{keep} was changed by a failing command"
    return errors[0]


def succeeds(capsys, argv: list) -> str:
    capsys.readouterr()
    assert cli.main([str(a) for a in argv]) == 0
    return capsys.readouterr().err


def previous_output(path: Path) -> Path:
    path.write_text(PREVIOUS, encoding="utf-8")
    return path


def jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def entity(whole: str, part: str, label: str, **extra) -> dict:
    start = whole.index(part)
    return {"start": start, "end": start + len(part), "label": label, **extra}


def convert(tmp_path: Path, source: Path) -> list:
    out = previous_output(tmp_path / "converted.jsonl")
    return ["convert", source, out]


def config_file(tmp_path: Path, tiny_encoder: Path, tiny_corpus: dict, **changes) -> Path:
    """A valid tiny NER config; `changes` replace whole sections."""
    sections = {
        "task": "ner",
        "model": {"name_or_path": str(tiny_encoder)},
        "data": {"train": str(tiny_corpus["train"]), "dev": str(tiny_corpus["dev"])},
        "preprocessing": {"max_length": 24, "stride": 6},
        "training": {"output_dir": str(tmp_path / "run"), "num_train_epochs": 1, "per_device_train_batch_size": 8},
    }
    sections.update(changes)
    return write_config(tmp_path / "config.yaml", **sections)


@pytest.fixture(scope="module")
def checkpoint(tiny_encoder, tiny_corpus, tmp_path_factory) -> Path:
    """A finished NER checkpoint, trained long enough on the tiny corpus to find entities."""
    folder = tmp_path_factory.mktemp("bad-inputs-checkpoint")
    config = write_config(
        folder / "ner.yaml",
        task="ner",
        model={"name_or_path": str(tiny_encoder)},
        data={"train": str(tiny_corpus["train"])},
        preprocessing={"max_length": 24, "stride": 6},
        training={
            "output_dir": str(folder / "model"),
            "num_train_epochs": 30,
            "learning_rate": 5e-3,
            "per_device_train_batch_size": 8,
            "seed": 5,
            "save_strategy": "no",
        },
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert cli.main(["train", str(config)]) == 0
    finally:
        torch.set_num_threads(threads)
    return folder / "model"


def copy_of(checkpoint: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(checkpoint, tmp_path / "checkpoint"))


def predict(checkpoint: Path, source: Path, out: Path) -> list:
    return ["predict", "--checkpoint", checkpoint, "--input", source, "--output", out]


def predicted(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def predicted_record(capsys, checkpoint: Path, source: Path) -> dict:
    """Predict a one-text file with the checkpoint into out.jsonl beside it (the command must succeed); its record."""
    out = source.with_name("out.jsonl")
    succeeds(capsys, predict(checkpoint, source, out))
    return predicted(out)[0]


def text_file(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8", newline="")
    return path


# ----------------------------------------------------------------------------------------------- data files


def refused(test: str, name: str, content: str | bytes | list[dict], *fragments: str):
    """A data file that `convert` must refuse: its name, its content (text as it is, bytes, or JSON-lines records)
    and the fragments its error line must hold. The id is the test's name in docs/bad-inputs.md."""
    return pytest.param(name, content, fragments, id=test)


def write_source(path: Path, content: str | bytes | list[dict]) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
        return path
    return text_file(path, content) if isinstance(content, str) else jsonl(path, *content)


def shifted(span: dict, by: int) -> dict:
    return {**span, "start": span["start"] + by, "end": span["end"] + by}


def document_d(*entities) -> dict:
    """The record of document 'd': TEXT with these entities."""
    return {"id": "d", "text": TEXT, "entities": list(entities)}


CONVERT_REFUSALS = [
    # CoNLL
    refused("test_conll_line_with_one_column", "train.conll", "التقى\tO\nماكرون\n", "train.conll:2:", "one column"),
    refused(
        "test_conll_tag_not_in_the_last_column",
        "train.conll",
        "باريس B-LOC NNP\n",
        "train.conll:1:",
        "'NNP' is not a tag",
        "last column",
    ),
    refused(
        "test_conll_tag_with_an_unknown_prefix",
        "train.conll",
        "التقى\tO\n\nباريس\tX-LOC\n",
        "train.conll:3:",
        "unknown prefix 'X'",
        "B-, I-, E-, S-",
    ),
    refused(
        "test_conll_tag_with_a_lower_case_prefix",
        "train.conll",
        "باريس\tb-LOC\n",
        "train.conll:1:",
        "lower-case prefix",
        "B-LOC",
    ),
    refused("test_conll_empty_file", "empty.conll", "\n\n", "empty.conll:1:", "empty"),
    # JSON lines
    refused(
        "test_overlapping_spans",
        "a.jsonl",
        [
            {"id": "ok", "text": "فاز الأهلي"},
            document_d(entity(TEXT, "الأمم المتحدة", "ORG"), entity(TEXT, "الأمم", "LOC")),
        ],
        "a.jsonl:2:",
        "overlap",
        "'الأمم'",
        "keep the outer or the inner",
    ),
    refused(
        "test_span_outside_the_text",
        "a.jsonl",
        [document_d([40, 60, "ORG"])],
        "a.jsonl:1:",
        "outside the text",
        f"length {len(TEXT)}",
    ),
    refused(
        "test_span_that_ends_before_it_starts",
        "a.jsonl",
        [document_d([12, 6, "PERS"])],
        "a.jsonl:1:",
        "start must be smaller than end",
        "end is exclusive",
    ),
    refused(
        "test_span_text_not_matching_its_offsets",
        "a.jsonl",
        [document_d(shifted(entity(TEXT, "ماكرون", "PERS", text="ماكرون"), 1))],
        "a.jsonl:1:",
        "differs from text[7:13]",
        "recompute the offsets",
    ),
    refused(
        "test_span_with_whitespace_at_an_edge",
        "a.jsonl",
        [document_d(entity(TEXT, "ماكرون ", "PERS"))],
        "a.jsonl:1:",
        "whitespace",
        "trim the span",
    ),
    refused("test_jsonl_empty_file", "empty.jsonl", "", "empty.jsonl:1:", "no records"),
    refused(
        "test_jsonl_line_that_is_not_json",
        "a.jsonl",
        '{"text": "فاز الأهلي"}\n{"text": "ناقص"\n',
        "a.jsonl:2:",
        "invalid JSON at column",
        "one complete JSON object",
    ),
    refused(
        "test_duplicate_document_ids",
        "a.jsonl",
        [{"id": "x", "text": "أ"}, {"id": "y", "text": "ب"}, {"id": "x", "text": "ج"}],
        "a.jsonl:3:",
        "already used on line 1",
        "unique id",
    ),
    refused(
        "test_non_utf8_bytes",
        "legacy.jsonl",
        b'{"text": "ok"}\n' + '{"text": "القاهرة"}\n'.encode("cp1256"),
        "legacy.jsonl:2:",
        "not valid UTF-8",
        "byte offset 25",
        "iconv",
    ),
    # other formats
    refused(
        "test_label_studio_export_cut_short",
        "export.json",
        '[\n  {"data": {"text": "فاز الأهلي"}},\n  {"data": {"text": "ب"}}',
        "export.json:",
        "not closed",
        "export it again",
    ),
    refused(
        "test_unknown_file_extension", "data.xml", "<doc/>", "data.xml", "cannot tell the format", "name the format"
    ),
]


@pytest.mark.parametrize("name, content, fragments", CONVERT_REFUSALS)
def test_convert_refuses_the_file(tmp_path, capsys, name, content, fragments):
    source = write_source(tmp_path / name, content)
    fails(capsys, convert(tmp_path, source), *fragments, keep=tmp_path / "converted.jsonl")


# ----------------------------------------------------------------------------------------------- CoNLL


def test_conll_mixed_schemes_are_read_and_reported(tmp_path, capsys):
    # IOBES in one sentence, IOB2 in the next: the file is judged as IOBES, where an entity must close with E-,
    # so the IOB2 entity's last tag (line 5) is reported; it is still read as seqeval reads it.
    source = text_file(tmp_path / "mixed.conll", "ماكرون\tS-PERS\nفي\tO\n\nالأمم\tB-ORG\nالمتحدة\tI-ORG\n")
    out = tmp_path / "mixed.jsonl"
    err = succeeds(capsys, ["convert", source, out])
    assert "warning: " in err and "break the IOBES scheme" in err and f"{source}:5" in err
    entities = [[(e["text"], e["label"]) for e in r["entities"]] for r in predicted(out)]
    assert entities == [[("ماكرون", "PERS")], [("الأمم المتحدة", "ORG")]]


def test_conll_i_tag_after_o_starts_an_entity_with_a_warning(tmp_path, capsys):
    # The B- of the first sentence makes the file IOB2 (a file of I- openings only would be IOB1, where this is valid).
    source = text_file(tmp_path / "repair.conll", "ماكرون\tB-PERS\n\nفي\tO\nباريس\tI-LOC\n")
    out = tmp_path / "repair.jsonl"
    err = succeeds(capsys, ["convert", source, out])
    assert "break the IOB2 scheme" in err and f"{source}:4" in err and "seqeval" in err
    record = predicted(out)[1]
    assert [(e["start"], e["end"], e["label"]) for e in record["entities"]] == [(3, 8, "LOC")]


def test_conll_crlf_line_ends_read_like_lf(tmp_path, capsys):
    lines = ["التقى\tO", "ماكرون\tB-PERS", "في\tO", "باريس\tB-LOC", "", "فاز\tO", "الأهلي\tB-ORG", ""]
    lf = text_file(tmp_path / "lf.conll", "\n".join(lines))
    crlf = text_file(tmp_path / "crlf.conll", "\r\n".join(lines))
    succeeds(capsys, ["convert", lf, tmp_path / "lf.jsonl"])
    succeeds(capsys, ["convert", crlf, tmp_path / "crlf.jsonl"])
    strip_ids = lambda records: [(r["text"], r["entities"]) for r in records]  # noqa: E731
    assert strip_ids(predicted(tmp_path / "crlf.jsonl")) == strip_ids(predicted(tmp_path / "lf.jsonl"))
    assert "\r" not in (tmp_path / "crlf.jsonl").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------------------------- JSON lines


def test_byte_order_mark_is_dropped_and_offsets_hold(tmp_path, capsys):
    source = tmp_path / "bom.jsonl"
    record = {"id": "d", "text": TEXT, "entities": [entity(TEXT, "باريس", "LOC")]}
    source.write_text("\ufeff" + json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    succeeds(capsys, ["convert", source, out])
    written = predicted(out)[0]
    assert written["id"] == "d" and written["text"] == TEXT
    assert TEXT[written["entities"][0]["start"] : written["entities"][0]["end"]] == "باريس"


def test_ten_megabyte_single_line(tmp_path, capsys):
    text = "نص طويل جدا عن الاقتصاد " * 240_000 + "في القاهرة"  # 10.3 MB of UTF-8 on one line
    record = {"id": "long", "text": text, "entities": [entity(text, "القاهرة", "LOC")]}
    source = jsonl(tmp_path / "long.jsonl", record)
    assert source.stat().st_size > 10 * 10**6 and source.read_bytes().count(b"\n") == 1
    out = tmp_path / "out.jsonl"
    succeeds(capsys, ["convert", source, out])
    written = predicted(out)[0]
    start, end = written["entities"][0]["start"], written["entities"][0]["end"]
    assert written["text"] == text and text[start:end] == "القاهرة"


# ----------------------------------------------------------------------------------------------- configs


def test_unknown_config_key(tmp_path, capsys, tiny_encoder, tiny_corpus):
    config = config_file(tmp_path, tiny_encoder, tiny_corpus, preprocessing={"max_lenght": 24})
    fails(
        capsys,
        ["train", config],
        f"{config}:",
        "unknown key 'preprocessing.max_lenght'",
        "did you mean preprocessing.max_length",
    )
    assert not (tmp_path / "run").exists()


def test_unknown_training_option(tmp_path, capsys, tiny_encoder, tiny_corpus):
    config = config_file(
        tmp_path, tiny_encoder, tiny_corpus, training={"output_dir": str(tmp_path / "run"), "learning_rat": 1e-3}
    )
    fails(capsys, ["train", config], f"{config}:", "'training.learning_rat'", "did you mean training.learning_rate")


def test_wrong_value_type(tmp_path, capsys, tiny_encoder, tiny_corpus):
    config = config_file(tmp_path, tiny_encoder, tiny_corpus, preprocessing={"max_length": "long"})
    fails(
        capsys,
        ["train", config],
        f"{config}:",
        "preprocessing.max_length must be int",
        "'long'",
        "preprocessing.max_length: 128",
    )


def test_wrong_training_value(tmp_path, capsys, tiny_encoder, tiny_corpus):
    config = config_file(
        tmp_path,
        tiny_encoder,
        tiny_corpus,
        training={"output_dir": str(tmp_path / "run"), "lr_scheduler_type": "sideways"},
    )
    fails(capsys, ["train", config], f"{config}:", "training:", "sideways", "TrainingArguments")


def test_invalid_yaml(tmp_path, capsys):
    config = text_file(tmp_path / "broken.yaml", "task: ner\ndata:\n  train: [a.jsonl\n")
    fails(capsys, ["train", config], f"{config}:", "invalid YAML", "indentation and quoting")


def test_malformed_set_override(tmp_path, capsys, tiny_encoder, tiny_corpus):
    config = config_file(tmp_path, tiny_encoder, tiny_corpus)
    fails(capsys, ["train", config, "--set", "training.num_train_epochs"], "--set", "section.key=value")


def test_missing_config_file(tmp_path, capsys):
    fails(capsys, ["train", tmp_path / "nope.yaml"], "nope.yaml", "does not exist", "configs/sample-ner.yaml")


def test_missing_data_file(tmp_path, capsys, tiny_encoder, tiny_corpus):
    config = config_file(tmp_path, tiny_encoder, tiny_corpus, data={"train": str(tmp_path / "absent.jsonl")})
    fails(
        capsys, ["train", config], f"{config}:", "data.train", "absent.jsonl", "does not exist", "--set data.train=PATH"
    )
    assert not (tmp_path / "run").exists()


def test_output_dir_is_a_file(tmp_path, capsys, tiny_encoder, tiny_corpus):
    occupied = previous_output(tmp_path / "run")
    config = config_file(tmp_path, tiny_encoder, tiny_corpus)
    fails(capsys, ["train", config], "training.output_dir", "is a file", "choose a folder path", keep=occupied)


def test_hub_id_while_offline(tmp_path, capsys, monkeypatch, tiny_corpus):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = config_file(tmp_path, Path("arabic-news-tests/no-such-encoder"), tiny_corpus)
    fails(
        capsys,
        ["train", config],
        f"{config}:",
        "model.name_or_path",
        "'arabic-news-tests/no-such-encoder'",
        "hub cannot be reached",
        "HF_HUB_OFFLINE",
        "embedded:e5-small",
    )
    assert not (tmp_path / "run").exists()


def test_encoder_folder_that_needs_its_own_code_is_not_run(tmp_path, capsys, tiny_encoder, tiny_corpus):
    encoder = Path(shutil.copytree(tiny_encoder, tmp_path / "custom-encoder"))
    sentinel = plant_remote_code(encoder, model_type="custom-bert")
    config = config_file(tmp_path, encoder, tiny_corpus)
    fails(capsys, ["train", config], f"{config}:", "model.name_or_path", "custom code", "auto_map")
    assert not sentinel.exists(), "the encoder folder's code ran"


def test_ner_training_data_without_entities(tmp_path, capsys, tiny_encoder, tiny_corpus):
    plain = jsonl(tmp_path / "plain.jsonl", {"id": "a", "text": TEXT}, {"id": "b", "text": "فاز الأهلي"})
    config = config_file(tmp_path, tiny_encoder, tiny_corpus, data={"train": str(plain)})
    fails(capsys, ["train", config], "plain.jsonl", "no entities", "task: topic")


def test_crf_for_a_topic_model(tmp_path, capsys, tiny_encoder, tiny_corpus):
    model = {"name_or_path": str(tiny_encoder), "crf": True}
    config = config_file(tmp_path, tiny_encoder, tiny_corpus, task="topic", model=model)
    fails(capsys, ["train", config], f"{config}:", "model.crf is for NER", "drop model.crf")
    assert not (tmp_path / "run").exists()


def test_topic_training_data_with_one_topic(tmp_path, capsys, tiny_encoder, tiny_corpus):
    one = jsonl(
        tmp_path / "one.jsonl",
        {"id": "a", "text": TEXT, "topic": "sport"},
        {"id": "b", "text": "فاز الأهلي", "topic": "sport"},
    )
    config = config_file(tmp_path, tiny_encoder, tiny_corpus, task="topic", data={"train": str(one)})
    fails(capsys, ["train", config], "one.jsonl", "at least two topics", "two or more topics")


# ----------------------------------------------------------------------------------------------- checkpoints


def plant_remote_code(folder: Path, model_type: str | None = None) -> Path:
    """Make `folder` ask for its own Python code (an auto_map in config.json) and return the file that code would
    create if it ever ran."""
    sentinel = folder / "remote-code-ran"
    (folder / "custom_model.py").write_text(
        f"open({str(sentinel)!r}, 'w').write('ran')\n"
        "from transformers import BertConfig as CustomConfig, BertForTokenClassification as CustomModel\n",
        encoding="utf-8",
    )
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {
        "AutoConfig": "custom_model.CustomConfig",
        "AutoModel": "custom_model.CustomModel",
        "AutoModelForTokenClassification": "custom_model.CustomModel",
    }
    if model_type:
        config["model_type"] = model_type
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return sentinel


def test_checkpoint_whose_labels_differ_from_the_data(tmp_path, capsys, checkpoint):
    text = "التقى ماكرون في باريس"
    gold = jsonl(
        tmp_path / "other-guidelines.jsonl",
        {"id": "g", "text": text, "entities": [entity(text, "ماكرون", "PER"), entity(text, "باريس", "GPE")]},
    )
    out = tmp_path / "report"
    succeeds(capsys, ["evaluate", "--checkpoint", checkpoint, "--data", gold, "--out", out])
    report = read_json(out / "report.json")
    assert report["ner"]["labels_missing_from_checkpoint"] == ["GPE", "PER"]
    assert report["ner"]["micro"]["recall"] == 0.0
    assert "--label-map" in (out / "report.md").read_text(encoding="utf-8")


def test_checkpoint_that_does_not_exist(tmp_path, capsys):
    source = text_file(tmp_path / "a.txt", TEXT)
    fails(
        capsys,
        predict(tmp_path / "no-model", source, tmp_path / "out.jsonl"),
        "no-model",
        "does not exist",
        "training.output_dir",
        keep=tmp_path / "out.jsonl",
    )


def without(*names: str):
    """Damage that deletes these files from the checkpoint's folder."""

    def damage(model: Path) -> None:
        for name in names:
            (model / name).unlink()

    return damage


def truncated_weights(model: Path) -> None:
    weights = (model / "model.safetensors").read_bytes()
    (model / "model.safetensors").write_bytes(weights[: len(weights) // 2])


def pickled_weights_only(model: Path) -> None:
    from safetensors.torch import load_file

    torch.save(load_file(model / "model.safetensors"), model / "pytorch_model.bin")
    (model / "model.safetensors").unlink()


def said_to_have_a_crf(model: Path, crf_labels: int | None = None) -> None:
    """Metadata that says `crf: true`; with `crf_labels`, a crf.safetensors sized for that many labels."""
    from safetensors.numpy import save_file

    from arabic_news.checkpoint import CRF_FILE
    from arabic_news.tasks import CrfParams

    meta = read_json(model / METADATA_FILE)
    (model / METADATA_FILE).write_text(json.dumps({**meta, "crf": True}), encoding="utf-8")
    if crf_labels is not None:
        save_file(CrfParams.zeros(crf_labels).tensors(), str(model / CRF_FILE))


def damaged(test: str, damage, *fragments: str):
    """A copy of the checkpoint, damaged by `damage(folder)`, that `predict` must refuse with an error line holding
    the fragments ("{model}" stands for the copy's folder). The id is the test's name in docs/bad-inputs.md."""
    return pytest.param(damage, fragments, id=test)


DAMAGED_CHECKPOINTS = [
    damaged(
        "test_checkpoint_of_an_unfinished_run",
        without(METADATA_FILE),
        "{model}",
        "not a finished model",
        "rerun the same train.py command",
    ),
    damaged(
        "test_checkpoint_missing_its_weights",
        without("model.safetensors"),
        "{model}",
        "no model.safetensors",
        "retrain",
    ),
    damaged(
        "test_checkpoint_missing_its_tokenizer",
        without("tokenizer.json", "tokenizer_config.json"),
        "{model}",
        "no tokenizer files",
    ),
    damaged("test_checkpoint_with_truncated_weights", truncated_weights, "{model}", "cannot load the model", "retrain"),
    damaged(
        "test_pickle_only_checkpoint_is_refused",
        pickled_weights_only,
        "pytorch_model.bin",
        "pickle",
        "refused",
        "safetensors",
    ),
    damaged(
        "test_checkpoint_missing_its_crf_file",
        said_to_have_a_crf,
        "{model}",
        "has a CRF output layer but the folder has no crf.safetensors",
        "copy crf.safetensors",
    ),
    damaged(
        "test_checkpoint_whose_crf_file_does_not_fit",
        lambda model: said_to_have_a_crf(model, crf_labels=3),
        "crf.safetensors",
        "does not fit the",
        "come from different runs",
    ),
]


@pytest.mark.parametrize("damage, fragments", DAMAGED_CHECKPOINTS)
def test_predict_refuses_the_damaged_checkpoint(tmp_path, capsys, checkpoint, damage, fragments):
    model = copy_of(checkpoint, tmp_path)
    damage(model)
    source = text_file(tmp_path / "a.txt", TEXT)
    fails(
        capsys,
        predict(model, source, tmp_path / "out.jsonl"),
        *(fragment.replace("{model}", str(model)) for fragment in fragments),
        keep=tmp_path / "out.jsonl",
    )


def test_checkpoint_with_remote_code_of_a_known_architecture_loads_without_running_it(tmp_path, capsys, checkpoint):
    model = copy_of(checkpoint, tmp_path)
    sentinel = plant_remote_code(model)  # model_type stays "bert": the built-in class is used
    source = text_file(tmp_path / "a.txt", TEXT)
    assert predicted_record(capsys, model, source)["text"] == TEXT
    assert not sentinel.exists(), "the checkpoint's own code ran"


def test_checkpoint_that_needs_remote_code_is_refused(tmp_path, capsys, checkpoint, monkeypatch):
    model = copy_of(checkpoint, tmp_path)
    sentinel = plant_remote_code(model, model_type="custom-bert")
    # A user who would answer "y" if asked: nothing may ask.
    monkeypatch.setattr("sys.stdin", _Answering("y\n"))
    source = text_file(tmp_path / "a.txt", TEXT)
    fails(
        capsys,
        predict(model, source, tmp_path / "out.jsonl"),
        f"{model}",
        "auto_map",
        "never run",
        keep=tmp_path / "out.jsonl",
    )
    assert not sentinel.exists(), "the checkpoint's own code ran"


class _Answering:
    """A terminal-like stdin that answers every question."""

    def __init__(self, answer: str):
        self.answer = answer

    def readline(self, *args) -> str:
        return self.answer

    def isatty(self) -> bool:
        return True


# ----------------------------------------------------------------------------------------------- prediction input


def test_predict_empty_text(tmp_path, capsys, checkpoint):
    source = jsonl(
        tmp_path / "in.jsonl",
        {"id": "empty", "text": ""},
        {"id": "blank", "text": " \n\t "},
        {"id": "real", "text": TEXT},
    )
    out = tmp_path / "out.jsonl"
    succeeds(capsys, predict(checkpoint, source, out))
    records = predicted(out)
    assert [r["id"] for r in records] == ["empty", "blank", "real"]
    assert records[0]["entities"] == [] and records[1]["entities"] == []


def test_predict_text_with_no_arabic(tmp_path, capsys, checkpoint):
    text = "Macron met Guterres in Paris on 3 May 2024."
    record = predicted_record(capsys, checkpoint, text_file(tmp_path / "english.txt", text))
    assert record["text"] == text
    assert all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])


def test_predict_control_and_bidi_characters(tmp_path, capsys, checkpoint):
    text = "\u202bالتقى الرئيس \u200fماكرون\u200f في\x00 باريس\u200b بوفد من الأمم المتحدة\x07.\u202c"
    record = predicted_record(capsys, checkpoint, text_file(tmp_path / "controls.txt", text))
    assert record["text"] == text, "the original text, controls included, is kept"
    assert record["entities"], "the model still finds entities around the controls"
    controls = "\u202b\u202c\u200f\u200b\x00\x07"
    for e in record["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["text"][0] not in controls and e["text"][-1] not in controls, e


def test_predict_invalid_utf8(tmp_path, capsys, checkpoint):
    source = tmp_path / "legacy.txt"
    source.write_bytes("سطر سليم\n".encode() + "القاهرة".encode("cp1256"))
    out = previous_output(tmp_path / "out.jsonl")
    fails(capsys, predict(checkpoint, source, out), "legacy.txt:2:", "not valid UTF-8", "iconv", keep=out)


def test_predict_output_is_a_folder(tmp_path, capsys, checkpoint):
    source = text_file(tmp_path / "a.txt", TEXT)
    folder = tmp_path / "results"
    folder.mkdir()
    kept = previous_output(folder / "earlier.jsonl")
    fails(capsys, predict(checkpoint, source, folder), f"{folder}", "folder", "file", keep=kept)
    assert sorted(p.name for p in folder.iterdir()) == ["earlier.jsonl"]


def test_evaluate_out_is_a_file(tmp_path, capsys, checkpoint, tiny_corpus):
    occupied = previous_output(tmp_path / "report")
    fails(
        capsys,
        ["evaluate", "--checkpoint", checkpoint, "--data", tiny_corpus["dev"], "--out", occupied],
        f"{occupied}",
        "file",
        "folder",
        keep=occupied,
    )


def test_predict_with_two_checkpoints_of_one_task(tmp_path, capsys, checkpoint):
    source = text_file(tmp_path / "a.txt", TEXT)
    fails(
        capsys,
        [
            "predict",
            "--checkpoint",
            checkpoint,
            "--topic-checkpoint",
            checkpoint,
            "--input",
            source,
            "--output",
            tmp_path / "out.jsonl",
        ],
        "two ner checkpoints",
        "at most one NER",
        keep=tmp_path / "out.jsonl",
    )
