"""Vocabulary trimming: a smaller encoder that reads the same scripts exactly as the full one.

A multilingual encoder spends most of its parameters on its word-embedding matrix (e5-small: 250,002 pieces x 384 =
96M of 118M), most of it on scripts an Arabic news model never sees. Trimming keeps only the pieces made entirely of
characters from a chosen set, with their rows of every vocabulary-sized tensor, and renumbers them in their old
order.

Why a character rule rather than a frequency list: a Unigram tokenizer segments each word by the best-scoring path
through pieces that are substrings of that word. Every substring of a word made of kept characters is itself made of
kept characters, so every piece the full tokenizer could choose for such a word is still there, with its score: the
segmentation, and therefore the hidden states, are exactly the full model's. Text with other characters (Cyrillic,
CJK, accented Latin letters) is where the trimmed model differs: those characters become `<unk>`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CheckpointError

TRIM_FILE = "vocabulary_trim.json"

_ARABIC_BLOCKS = (
    (0x0600, 0x06FF),  # Arabic (letters, harakat, Arabic-Indic digits, ، ؛ ؟ ٪)
    (0x0750, 0x077F),  # Arabic Supplement
    (0x08A0, 0x08FF),  # Arabic Extended-A
    (0xFB50, 0xFDFF),  # Arabic Presentation Forms-A
    (0xFE70, 0xFEFF),  # Arabic Presentation Forms-B
)
_SYMBOL_BLOCKS = (
    (0x0000, 0x007F),  # ASCII: Latin letters, digits, punctuation
    (0x00A0, 0x00BF),  # Latin-1 punctuation and symbols: « » ° £ § ·
    (0x00D7, 0x00D7),  # ×
    (0x00F7, 0x00F7),  # ÷
    (0x2000, 0x206F),  # General Punctuation: “ ” ‘ ’ – — … and the invisible marks
    (0x20A0, 0x20CF),  # currency signs: €
    (0x2100, 0x2BFF),  # letterlike symbols, arrows, maths, shapes, dingbats (and SentencePiece's word mark U+2581)
    (0xFE00, 0xFE0F),  # variation selectors (emoji presentation)
    (0x1F000, 0x1FAFF),  # emoji, which social-media quotes in news carry
)
ARABIC_AND_ASCII = "arabic+ascii+symbols-v2"  # the rule's name, recorded in the trimmed folder (and its cache key)


def arabic_or_ascii(piece: str) -> bool:
    """Keep a piece made only of Arabic-script, ASCII, punctuation and symbol (emoji included) characters."""
    return all(_in_blocks(ord(ch), _ARABIC_BLOCKS) or _in_blocks(ord(ch), _SYMBOL_BLOCKS) for ch in piece)


def _in_blocks(code_point: int, blocks: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code_point <= high for low, high in blocks)


@dataclass(frozen=True)
class TrimResult:
    kept_ids: np.ndarray  # old ids of the kept pieces, ascending: new id i is old id kept_ids[i]
    old_size: int  # the model's vocab_size (e5-small's matrix has 35 rows past its 250,002 pieces, never used)

    @property
    def new_size(self) -> int:
        return len(self.kept_ids)

    def new_id(self, old_id: int) -> int:
        i = int(np.searchsorted(self.kept_ids, old_id))
        if i == len(self.kept_ids) or self.kept_ids[i] != old_id:
            raise KeyError(f"piece {old_id} was trimmed away")
        return i


def trim_vocabulary(source: Path, target: Path, keep_piece: Callable[[str], bool], rule: str) -> TrimResult:
    """Write into `target` (an existing empty folder) the checkpoint in `source` with only the pieces `keep_piece`
    accepts (special tokens always stay). `source` needs a Unigram tokenizer.json, config.json and
    model.safetensors; every tensor whose first dimension is the vocabulary size is cut to the kept rows."""
    tokenizer = _read_json(source / "tokenizer.json")
    config = _read_json(source / "config.json")
    model = tokenizer.get("model", {})
    if model.get("type") != "Unigram":
        raise CheckpointError(
            f"vocabulary trimming needs a Unigram (SentencePiece) tokenizer; this one is {model.get('type')!r}",
            path=source / "tokenizer.json",
            hint="trim XLM-R-style multilingual encoders; WordPiece models such as AraBERT are already Arabic-only",
        )
    pieces = [piece for piece, _ in model["vocab"]]
    specials = {token["id"] for token in tokenizer.get("added_tokens", [])} | {model.get("unk_id")}
    kept = np.array([i for i, p in enumerate(pieces) if i in specials or keep_piece(p)], dtype=np.int64)
    result = TrimResult(kept, int(config.get("vocab_size", len(pieces))))
    _write_weights(source / "model.safetensors", target / "model.safetensors", result)
    _write_json(target / "tokenizer.json", _trimmed_tokenizer(tokenizer, result))
    _write_json(target / "config.json", _trimmed_config(config, result))
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)
    _write_json(
        target / TRIM_FILE,
        {"rule": rule, "old_vocab_size": result.old_size, "new_vocab_size": result.new_size, "kept_ids": kept.tolist()},
    )
    return result


def _trimmed_tokenizer(tokenizer: dict, trim: TrimResult) -> dict:
    out = json.loads(json.dumps(tokenizer))  # a deep copy
    model = out["model"]
    model["vocab"] = [tokenizer["model"]["vocab"][i] for i in trim.kept_ids]
    if model.get("unk_id") is not None:
        model["unk_id"] = trim.new_id(model["unk_id"])
    for token in out.get("added_tokens", []):
        token["id"] = trim.new_id(token["id"])
    for special in (out.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [trim.new_id(i) for i in special["ids"]]
    return out


def _trimmed_config(config: dict, trim: TrimResult) -> dict:
    out = dict(config, vocab_size=trim.new_size)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "unk_token_id", "sep_token_id", "cls_token_id"):
        if isinstance(out.get(key), int):
            out[key] = trim.new_id(out[key])
    return out


def _write_weights(source: Path, target: Path, trim: TrimResult) -> None:
    from safetensors import safe_open
    from safetensors.numpy import save_file

    tensors = {}
    with safe_open(str(source), framework="np") as weights:
        for name in weights.keys():  # noqa: SIM118 - safe_open has keys(), not iteration
            tensor = weights.get_tensor(name)
            tensors[name] = tensor[trim.kept_ids] if tensor.shape and tensor.shape[0] == trim.old_size else tensor
    save_file(tensors, str(target), metadata={"format": "pt"})


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"cannot read {path.name}: {err}", path=path) from None


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
