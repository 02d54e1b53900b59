"""The checkpoint folder, owned here: what training writes into it, how it is read back and validated.

A finished folder holds the weights (safetensors only), config.json and the tokenizer files that the transformers
Auto classes load with no project code, plus `arabic_news.json`: the project's metadata (task, labels,
preprocessing, encoder, data fingerprints, scores). A model trained with a CRF output layer (`model.crf: true`) also
has `crf.safetensors`: the CRF's transition, start and end scores, kept out of model.safetensors so that the Auto
classes load the encoder and its emission layer with no unexpected keys. Training writes `arabic_news.json` LAST, so its presence marks a
finished model; `checkpoint-N` subfolders are the Trainer's resumable snapshots of an unfinished run.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import SafetensorError

from .atomic import atomic_write_json
from .errors import CheckpointError, ConfigError
from .tasks import TASKS, CrfParams, Preprocessing, Task
from .tasks.topic.lexical import LEXICAL_FILES, LexicalModel, LexicalSettings

METADATA_FILE = "arabic_news.json"
# An ONNX export (arabic-news export) holds the same metadata and tokenizer files, with the graph in place of the
# safetensors weights and a card saying how it was made.
ONNX_FILE = "model.onnx"
EXPORT_CARD = "export.json"
CRF_FILE = "crf.safetensors"  # transitions (n, n), start (n,), end (n,), float32; only when the metadata says crf
FORMAT_VERSION = 1
# A fast tokenizer's own file, or the vocabulary a slow one is built from. Without any of them AutoTokenizer still
# "succeeds" with a 5-entry vocabulary that turns every word into [UNK], so their absence is an error here.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model", "spm.model")
_RESTORE = "retrain, or restore the file from a backup"
log = logging.getLogger("arabic_news.checkpoint")


@dataclass
class CheckpointMetadata:
    """`arabic_news.json`. Field order is the file's key order."""

    task: str
    labels: list[str]
    preprocessing: Preprocessing
    encoder: str = ""  # the config's model.name_or_path
    encoder_path_at_training: str = ""  # what it resolved to
    data: dict[str, dict[str, str]] = field(default_factory=dict)  # split -> {"path", "sha256"}
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> headline scores
    training: dict[str, Any] = field(default_factory=dict)  # seconds, global_step, best_checkpoint
    crf: bool = False  # NER with a CRF output layer: its scores are in crf.safetensors and decoding uses them
    # A topic model's lexical component: its settings with the chosen fusion weight (empty: the encoder alone)
    lexical: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def task_type(self) -> Task:
        return TASKS[self.task]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "task": self.task,
            "labels": list(self.labels),
            "encoder": self.encoder,
            "encoder_path_at_training": self.encoder_path_at_training,
            "preprocessing": self.preprocessing.to_dict(),
            "data": self.data,
        }
        if self.crf:
            out["crf"] = True
        if self.lexical:
            out["lexical"] = self.lexical
        if self.scores or self.training:  # a finished model; training's own dev scoring runs without them
            out.update(scores=self.scores, training=self.training)
        return out

    @classmethod
    def from_dict(cls, raw: object, source: Path) -> CheckpointMetadata:
        """Check the keys inference needs, so a hand-edited or foreign file fails here rather than as a KeyError
        later; older files (fewer keys) load with defaults."""
        if not isinstance(raw, dict):
            raise CheckpointError(f"{METADATA_FILE} must hold a JSON object", path=source, hint=_RESTORE)
        missing = [key for key in ("task", "labels", "preprocessing") if key not in raw]
        if missing:
            raise CheckpointError(f"{METADATA_FILE} lacks {', '.join(missing)}", path=source, hint=_RESTORE)
        if raw["task"] not in TASKS:
            raise CheckpointError(
                f"unknown task {raw['task']!r} in {METADATA_FILE}",
                path=source,
                hint=f"task must be one of {', '.join(repr(t) for t in TASKS)}",
            )
        if not isinstance(raw["labels"], list) or not raw["labels"]:
            raise CheckpointError(f"{METADATA_FILE}: labels must be a non-empty list", path=source, hint=_RESTORE)
        if not isinstance(raw["preprocessing"], dict):
            raise CheckpointError(f"{METADATA_FILE}: preprocessing must be an object", path=source, hint=_RESTORE)
        if not isinstance(raw.get("lexical") or {}, dict):
            raise CheckpointError(f"{METADATA_FILE}: lexical must be an object", path=source, hint=_RESTORE)
        return cls(
            task=raw["task"],
            labels=list(raw["labels"]),
            preprocessing=Preprocessing.from_dict(raw["preprocessing"]),
            encoder=str(raw.get("encoder", "")),
            encoder_path_at_training=str(raw.get("encoder_path_at_training", "")),
            data=dict(raw.get("data") or {}),
            scores=dict(raw.get("scores") or {}),
            training=dict(raw.get("training") or {}),
            crf=raw.get("crf") is True,
            lexical=dict(raw.get("lexical") or {}),
            format_version=int(raw.get("format_version", 1)),
        )


# ---- reading ----------------------------------------------------------------------------------------------------
def read_metadata(path: str | Path) -> CheckpointMetadata:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(
            f"checkpoint folder {str(path)!r} does not exist or is not a folder",
            hint="pass the training.output_dir of a finished training run",
        )
    meta_file = path / METADATA_FILE
    if not meta_file.is_file():
        raise CheckpointError(
            f"{path} has no {METADATA_FILE}: it is not a finished model (training failed, was "
            "interrupted or is still running)",
            path=path,
            hint="rerun the same train.py command: it resumes from the last saved step",
        )
    try:
        raw = json.loads(meta_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{METADATA_FILE} is not valid JSON ({err})", path=meta_file, hint=_RESTORE) from None
    return CheckpointMetadata.from_dict(raw, meta_file)


def load_checkpoint(path: str | Path):
    """(model, tokenizer, metadata) of a finished folder, every part checked against the others. Weights come
    from safetensors only and the folder's own code is never run."""
    from transformers import AutoTokenizer

    path = Path(path)
    metadata = read_metadata(path)
    check_weights(path)
    check_tokenizer_files(path)
    try:
        # trust_remote_code=False said explicitly: left unset, transformers asks on a terminal whether to run
        # the Python files an `auto_map` in the folder points at.
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        model, info = metadata.task_type.auto_model_class().from_pretrained(
            path, use_safetensors=True, output_loading_info=True, trust_remote_code=False
        )
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:
        raise CheckpointError(
            f"cannot load the model: {str(err).splitlines()[0]}", path=path, hint=_load_hint(path)
        ) from None
    missing = sorted(info["missing_keys"]) + sorted(str(k) for k in info["mismatched_keys"])
    if missing:  # transformers would fill them with random values and predict garbage
        raise CheckpointError(
            f"model.safetensors lacks {len(missing)} of the model's weights ({', '.join(missing[:3])})",
            path=path,
            hint="the weights come from another model or task: retrain, or copy the training run's model.safetensors",
        )
    check_consistency(model, tokenizer, metadata, path)
    return model, tokenizer, metadata


def read_crf(path: str | Path, metadata: CheckpointMetadata) -> CrfParams | None:
    """The CRF scores of a folder whose metadata says `crf: true` (None otherwise), checked against the labels."""
    if not metadata.crf:
        return None
    from safetensors.numpy import load_file

    file, n = Path(path) / CRF_FILE, len(metadata.labels)
    if not file.is_file():
        raise CheckpointError(
            f"{METADATA_FILE} says the model has a CRF output layer but the folder has no {CRF_FILE}",
            path=path,
            hint=f"copy {CRF_FILE} from the training run's folder, or retrain",
        )
    try:
        tensors = load_file(file)
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"cannot read {CRF_FILE}: {err}", path=file, hint=_RESTORE) from None
    shapes = {"transitions": (n, n), "start": (n,), "end": (n,)}
    wrong = [
        f"{k} {tuple(tensors[k].shape) if k in tensors else 'missing'}"
        for k in shapes
        if k not in tensors or tensors[k].shape != shapes[k]
    ]
    if wrong:
        raise CheckpointError(
            f"{CRF_FILE} does not fit the {n} labels (wants transitions ({n}, {n}), start and end ({n},); has "
            f"{', '.join(wrong)})",
            path=file,
            hint=f"{CRF_FILE} and {METADATA_FILE} come from different runs: {_RESTORE}",
        )
    return CrfParams(*(tensors[k].astype("float32") for k in shapes))


def write_crf(out: Path, params: CrfParams) -> None:
    from safetensors.numpy import save_file

    save_file({k: v.astype("float32") for k, v in params.tensors().items()}, str(out / CRF_FILE))


def load_lexical(path: str | Path, metadata: CheckpointMetadata) -> LexicalModel | None:
    """The lexical component the metadata announces (None when it announces none), checked against the labels."""
    if not metadata.lexical:
        return None
    path = Path(path)
    if metadata.task != "topic":
        raise CheckpointError(
            f"{METADATA_FILE} gives a {metadata.task} model a lexical component; only topic models have one",
            path=path / METADATA_FILE,
            hint=_RESTORE,
        )
    missing = [name for name in LEXICAL_FILES if not (path / name).is_file()]
    if missing:
        raise CheckpointError(
            f"{METADATA_FILE} says the topic model is fused with a lexical model, but {', '.join(missing)} is missing",
            path=path,
            hint="copy the lexical_* files of the training run into the folder, or retrain",
        )
    settings = LexicalSettings.from_dict(metadata.lexical)
    try:
        if settings.fusion not in ("log", "prob") or not 0 <= float(settings.weight) <= 1:
            raise ValueError(f"fusion {settings.fusion!r} with weight {settings.weight!r}")
        return LexicalModel.load(path, settings, len(metadata.labels))
    except (OSError, ValueError, TypeError, SafetensorError) as err:
        raise CheckpointError(
            f"cannot load the lexical component: {str(err).splitlines()[0][:300]}", path=path, hint=_RESTORE
        ) from None


def is_onnx_export(path: str | Path) -> bool:
    """Whether `path` is an ONNX export rather than a training run's folder (it has an export card or a graph)."""
    path = Path(path)
    return (path / EXPORT_CARD).is_file() or (path / ONNX_FILE).is_file()


def load_exported(path: str | Path):
    """(tokenizer, metadata) of a finished ONNX export, checked like a training folder's; the graph itself is
    loaded, and checked against the labels, by the ONNX backend."""
    from transformers import AutoTokenizer

    path = Path(path)
    metadata = read_metadata(path)
    if not (path / ONNX_FILE).is_file():
        raise CheckpointError(
            f"the ONNX export has no {ONNX_FILE}",
            path=path,
            hint="the folder is incomplete: re-export it with arabic-news export CHECKPOINT OUT --format onnx",
        )
    check_tokenizer_files(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise CheckpointError(
            f"cannot load the tokenizer: {str(err).splitlines()[0]}", path=path, hint="re-export the folder"
        ) from None
    return tokenizer, metadata


def check_weights(path: Path) -> None:
    if (path / "model.safetensors").is_file() or (path / "model.safetensors.index.json").is_file():
        return
    pickled = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
    if pickled:
        raise CheckpointError(
            f"{path} holds only pickle weights ({', '.join(pickled)}); they can run arbitrary code "
            "when loaded and are refused",
            path=path,
            hint="convert them to safetensors in a trusted environment (model.save_pretrained)",
        )
    raise CheckpointError(f"{path} has no model.safetensors", path=path, hint="the folder is incomplete: retrain")


def check_tokenizer_files(path: Path) -> None:
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise CheckpointError(
            f"the folder has no tokenizer files (none of {', '.join(TOKENIZER_FILES)})",
            path=path,
            hint="copy the tokenizer files of the training run into the folder, or retrain",
        )


def check_consistency(model, tokenizer, metadata: CheckpointMetadata, path: Path) -> None:
    """Refuse a folder whose parts do not belong together: predictions from it would be silently wrong."""
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if names != list(metadata.labels):
        raise CheckpointError(
            f"the model's labels {names} differ from {METADATA_FILE}'s {metadata.labels}",
            path=path,
            hint="config.json and arabic_news.json come from different runs: retrain",
        )
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise CheckpointError(
            f"the tokenizer has {len(tokenizer)} entries but the model only {rows} embeddings",
            path=path,
            hint="the tokenizer files come from another model: copy the training run's",
        )


def _load_hint(path: Path) -> str:
    for name in ("config.json", "tokenizer_config.json"):
        try:
            asks_for_code = "auto_map" in json.loads((path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            continue
        if asks_for_code:
            return (
                f"its {name} has an auto_map pointing at Python code, and checkpoints' own code is never run "
                "(trust_remote_code stays off): use a checkpoint of a standard transformers architecture"
            )
    return "the folder is incomplete or from another library version: retrain"


# ---- writing ----------------------------------------------------------------------------------------------------
def is_finished(out: Path) -> bool:
    return (out / METADATA_FILE).is_file()


def write_metadata(out: Path, metadata: CheckpointMetadata) -> None:
    """Write `arabic_news.json`: call it after everything else, since it marks the folder as a finished model."""
    atomic_write_json(out / METADATA_FILE, metadata.to_dict())


def prepare_output_dir(out: Path, overwrite: bool) -> str | None:
    """Refuse to clobber a finished model; return the snapshot to resume from, if a run was interrupted."""
    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"training.output_dir {str(out)!r} is a file, not a folder",
            hint="choose a folder path for training.output_dir",
        )
    if is_finished(out):
        if not overwrite:
            raise ConfigError(
                f"{out} already holds a finished model",
                hint="pass --overwrite to replace it, or choose another folder with --set training.output_dir=...",
            )
        (out / METADATA_FILE).unlink(missing_ok=True)  # first: a crash below never leaves a "finished" folder
        remove_snapshots(out)
        return None
    return last_complete_snapshot(out) if out.is_dir() else None


def last_complete_snapshot(out: Path) -> str | None:
    """The newest `checkpoint-N` saved completely. The Trainer writes trainer_state.json last, so a folder without a
    readable one was cut off by a crash while saving: it is deleted (resuming from it would fail, and the Trainer's
    checkpoint rotation would take it for the newest) and the one before it is used."""
    numbered = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-", 1)[1].isdigit()]
    for folder in sorted(numbered, key=lambda p: int(p.name.split("-", 1)[1]), reverse=True):
        try:
            json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
            return str(folder)
        except (OSError, ValueError):
            log.warning("removing %s: it was only partly saved when the run stopped", folder)
            shutil.rmtree(folder, ignore_errors=True)  # every torchrun process may do this: ignore the losers' errors
    return None


EPOCH_WEIGHTS_FOLDER = "epoch-weights"  # training.average_last_epochs' saved epochs (training/averaging.py)


def remove_snapshots(out: Path) -> None:
    """Delete the Trainer's `checkpoint-N` folders and the saved epochs' weights (missing_ok, ignore_errors: each
    torchrun process does this)."""
    for stale in [*out.glob("checkpoint-*"), out / EPOCH_WEIGHTS_FOLDER]:
        shutil.rmtree(stale, ignore_errors=True)
