"""Vocabulary trimming (`embedded:e5-small-ar`): the trimmed encoder reads Arabic and English text exactly as the full
one (same pieces, same hidden states), is smaller, and says clearly when a tokenizer cannot be trimmed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoModelForTokenClassification, AutoTokenizer

from arabic_news.errors import CheckpointError, ConfigError
from arabic_news.modeling import (
    EMBEDDED_NAME,
    TRIM_FILE,
    TRIMMED_NAME,
    arabic_or_ascii,
    resolve_model_path,
    trim_vocabulary,
)

TEXTS = [
    "«الخارجية الأذربيجانية» تؤكد على تعزيز قيمة السلام مع “الناتو” في 12 أيار/مايو 2023.",
    "ولفت الوزير إلى أهمية التعاون الثنائي بين كلٍّ من الحلف وأذربيجان، وارتفع المؤشر ٣٫٥٪ إلى ١٢٠٠ نقطة.",
    "The NATO secretary general met the foreign minister in Brussels on Tuesday (Reuters) — 3.5% growth, €12bn.",
    "قال المتحدث باسم «UNICEF» إن برنامج COP30 سيبدأ 🔴 قريبًا",
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The full and the trimmed embedded checkpoints, built once into a private cache."""
    cache = tmp_path_factory.mktemp("arabic-news-cache")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARABIC_NEWS_CACHE", str(cache))
        env.setenv("HF_HUB_OFFLINE", "1")
        yield Path(resolve_model_path(EMBEDDED_NAME)), Path(resolve_model_path(TRIMMED_NAME))
    shutil.rmtree(cache, ignore_errors=True)  # 700 MB


@pytest.fixture(scope="module")
def kept_ids(folders) -> np.ndarray:
    return np.array(json.loads((folders[1] / TRIM_FILE).read_text(encoding="utf-8"))["kept_ids"])


def test_the_trimmed_encoder_keeps_arabic_and_ascii_and_is_half_the_size(folders, kept_ids):
    full, trimmed = folders
    config = json.loads((trimmed / "config.json").read_text(encoding="utf-8"))
    assert config["vocab_size"] == len(kept_ids) < 100_000
    assert list(kept_ids[:4]) == [0, 1, 2, 3]  # <s> <pad> </s> <unk> keep their ids
    assert (trimmed / "model.safetensors").stat().st_size < 0.55 * (full / "model.safetensors").stat().st_size


def test_arabic_and_english_tokenize_to_the_same_pieces_renumbered(folders, kept_ids):
    full, trimmed = (AutoTokenizer.from_pretrained(f) for f in folders)
    for text in TEXTS:
        old, new = full(text), trimmed(text)
        assert [int(kept_ids[i]) for i in new["input_ids"]] == old["input_ids"], text
        assert new["input_ids"] != old["input_ids"]  # renumbered: the test compares through the map, not by luck
        assert full.convert_ids_to_tokens(old["input_ids"]) == trimmed.convert_ids_to_tokens(new["input_ids"])
        assert (
            trimmed(text, return_offsets_mapping=True)["offset_mapping"]
            == full(text, return_offsets_mapping=True)["offset_mapping"]
        )


def test_hidden_states_equal_the_full_model(folders):
    (full_tok, full_model), (trim_tok, trim_model) = (
        (AutoTokenizer.from_pretrained(f), AutoModel.from_pretrained(f).eval()) for f in folders
    )
    with torch.no_grad():
        for text in TEXTS:
            old = full_model(**full_tok(text, return_tensors="pt")).last_hidden_state
            new = trim_model(**trim_tok(text, return_tensors="pt")).last_hidden_state
            torch.testing.assert_close(new, old, rtol=0, atol=1e-5)


def test_other_scripts_become_unk_in_the_trimmed_encoder(folders):
    full, trimmed = (AutoTokenizer.from_pretrained(f) for f in folders)
    text = "Москва 北京"
    assert full.unk_token_id not in full(text)["input_ids"]
    assert trimmed.unk_token_id in trimmed(text)["input_ids"]


def test_a_token_classifier_trains_on_the_trimmed_encoder(folders):
    model = AutoModelForTokenClassification.from_pretrained(folders[1], num_labels=3)
    tokenizer = AutoTokenizer.from_pretrained(folders[1])
    batch = tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    out = model(**batch, labels=torch.zeros_like(batch["input_ids"]))
    out.loss.backward()
    assert model.get_input_embeddings().weight.grad.shape[0] == model.config.vocab_size


def test_the_rule_keeps_arabic_latin_digits_punctuation_and_drops_other_scripts():
    for piece in ["▁الخارجية", "▁NATO", "٣٫٥٪", "«", "“", "€", "▁", "🔴"]:
        assert arabic_or_ascii(piece), piece
    for piece in ["▁Москва", "北京", "▁café", "▁Ελλάδα"]:
        assert not arabic_or_ascii(piece), piece


def test_trimming_a_wordpiece_tokenizer_says_why_not(tmp_path):
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {"type": "WordPiece", "vocab": {}}}))
    (tmp_path / "config.json").write_text("{}")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(CheckpointError, match="Unigram") as caught:
        trim_vocabulary(tmp_path, target, arabic_or_ascii, "test")
    assert "Arabic-only" in str(caught.value)


def test_unknown_embedded_names_list_both_embedded_models():
    with pytest.raises(ConfigError) as caught:
        resolve_model_path("embedded:e5-tiny")
    assert EMBEDDED_NAME in str(caught.value) and TRIMMED_NAME in str(caught.value)
