"""The data a config names: train, dev (a file, or the last `dev_fraction` of train) and test, checked for the
annotation the task learns from, and fingerprinted for the checkpoint's metadata."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..data import Document, join_documents, read_documents
from ..errors import ConfigError, DataError
from .config import Config


def load_splits(config: Config) -> tuple[list[Document], list[Document], list[Document]]:
    data = config.data
    train_docs = _read(data.train, "data.train", config)
    dev_docs = _read(data.dev, "data.dev", config) if data.dev else []
    if not dev_docs and data.dev_fraction:
        train_docs, dev_docs = split_off_dev(train_docs, data.dev_fraction)
    test_docs = _read(data.test, "data.test", config) if data.test else []
    if data.sentences_per_document:  # after the dev split, so dev holds the same sentences either way
        n = data.sentences_per_document
        train_docs, dev_docs, test_docs = (
            join_documents(docs, n, path)
            for docs, path in ((train_docs, data.train), (dev_docs, data.dev or data.train), (test_docs, data.test))
        )
    for name, docs in (("train", train_docs), ("dev", dev_docs), ("test", test_docs)):
        if name == "train" or docs:
            config.task_type.check_documents(docs, name, getattr(config.data, name))
    return train_docs, dev_docs, test_docs


def _read(path: str, key: str, config: Config) -> list[Document]:
    if not Path(path).exists():
        raise ConfigError(
            f"{key}: {path!r} does not exist (relative paths are read from the folder you run in)",
            path=config.source,
            hint=f"fix {key} or pass --set {key}=PATH",
        )
    docs = read_documents(path)
    if not docs:
        raise DataError(f"{key}: {path} holds no documents", path=path, hint="check the file's format and content")
    return docs


def split_off_dev(docs: list[Document], fraction: float) -> tuple[list[Document], list[Document]]:
    """The last `fraction` of `docs` (at least one document) as dev, the rest as train: files keep their order, so
    the split is the same on every run."""
    cut = len(docs) - max(1, round(len(docs) * fraction))
    return docs[:cut], docs[cut:]


def fingerprints(config: Config) -> dict[str, dict[str, str]]:
    return {
        key: _fingerprint(getattr(config.data, key)) for key in ("train", "dev", "test") if getattr(config.data, key)
    }


def _fingerprint(path: str) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": path, "sha256": digest.hexdigest()}
