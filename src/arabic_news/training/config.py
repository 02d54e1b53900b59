"""Experiment configs: small YAML files with sections task, model, data, preprocessing, training.

`training` is handed to `transformers.TrainingArguments` as it is (every Trainer option works without being
re-declared here); the other sections are typed dataclasses, checked key by key so that a typo names the file, the
key and the closest valid key. Relative data paths resolve against the current working directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..data.records import is_int
from ..errors import ConfigError
from ..tasks import TASKS, Preprocessing, Task
from ..tasks.topic.lexical import FUSIONS, LexicalSettings
from ..text import NormalizeOptions

GRANULARITIES = ("word", "subword")
TOPIC_INPUTS = ("head", "chunks")
# Keys of the `training` section that the project reads itself rather than TrainingArguments.
PROJECT_TRAINING_KEYS = {
    "early_stopping_patience",
    "class_weights",
    "overwrite_output_dir",
    "layerwise_lr_decay",
    "average_last_epochs",
}


@dataclass
class ModelConfig:
    name_or_path: str = "embedded:e5-small"
    freeze_embeddings: bool = False  # freeze the word embeddings (most of a multilingual encoder's parameters)
    freeze_layers: int = 0  # also freeze the whole embeddings block and the bottom N encoder layers
    cache_frozen_layers: bool = False  # compute the frozen layers' output once per window; epochs run the top only
    attention_dropout: float | None = None  # None: the encoder's own; 0 lets PyTorch's fused attention kernel run
    crf: bool = False  # NER: a CRF output layer (constrained BIO transitions, Viterbi decoding), crf.safetensors
    crf_learning_rate: float | None = None  # the CRF's scores' own learning rate (null: training.learning_rate)
    # topic: also fit TF-IDF + logistic regression and fuse it with the encoder (true, or a block of LexicalSettings)
    lexical: bool | dict = False


@dataclass
class DataConfig:
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    dev_fraction: float | None = None  # take the LAST fraction of train as dev when no dev file is given
    # one-sentence documents (CoNLL without -DOCSTART-): read N consecutive ones as one, so that each sentence is
    # seen with its neighbours (data/context.py); evaluate with the same `evaluate.py --sentences-per-document N`
    sentences_per_document: int | None = None
    features_cache: bool | str = True  # encoded features cached on disk: true (default folder), a folder, or false


@dataclass
class Config:
    task: str = "ner"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)  # stored in the checkpoint as it is
    training: dict[str, Any] = field(default_factory=dict)
    source: str = "<config>"  # where it was read from, for messages

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("source")
        return out

    @property
    def task_type(self) -> Task:
        return TASKS[self.task]

    @property
    def lexical(self) -> LexicalSettings | None:
        """The lexical component's settings, or None when the config has none."""
        return LexicalSettings.from_dict(self.model.lexical) if self.model.lexical else None

    @property
    def output_dir(self) -> Path:
        return Path(self.training["output_dir"])


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads `5e-5` as a string (it wants `5.0e-5`); learning rates are written that way, so accept it."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$|^[-+]?(?:\d+\.\d*|\.\d+)$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str):
    return yaml.load(text, Loader=_Loader)


SECTIONS = {"model": ModelConfig, "data": DataConfig, "preprocessing": Preprocessing}
TOP_KEYS = ("extends", "task", "model", "data", "preprocessing", "training")


def load_config(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read a YAML config (and the config it `extends`), apply `section.key=value` overrides, validate."""
    raw = _read_yaml(Path(path))
    for item in overrides:
        apply_override(raw, item)
    return config_from_dict(raw, source=str(path))


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """One config file as a dict; `extends: base.yaml` (relative to this file) is merged underneath it."""
    if not path.is_file():
        raise ConfigError(
            f"config file {str(path)!r} does not exist",
            hint="pass the path of a YAML file, e.g. configs/sample-ner.yaml",
        )
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConfigError(
            f"invalid YAML: {getattr(err, 'problem', err)}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint="check indentation and quoting",
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(
            "a config must be a mapping of sections", path=path, hint=f"use the sections {', '.join(TOP_KEYS)}"
        )
    base = raw.pop("extends", None)
    if base is None:
        return raw
    base_path = (path.parent / str(base)).resolve()
    if base_path in seen:
        raise ConfigError(f"configs extend each other in a loop ({base})", path=path, hint="remove one `extends`")
    return _merge(_read_yaml(base_path, seen + (base_path,)), raw)


def _merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def apply_override(raw: dict, item: str) -> None:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"override {item!r} is not of the form section.key=value",
            path="--set",
            hint="write e.g. --set training.num_train_epochs=3",
        )
    *parents, leaf = key.strip().split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part!r} is not a section", path="--set")
    node[leaf] = parse_yaml(value) if value.strip() else None


def config_from_dict(raw: dict[str, Any], source: str = "<config>") -> Config:
    _check_keys(raw, TOP_KEYS, source, "")
    task = raw.get("task", "ner")
    if task not in TASKS:
        raise ConfigError(
            f"task must be one of {tuple(TASKS)}, got {task!r}", path=source, hint="set task: ner or task: topic"
        )
    sections = {name: _build_section(cls, raw.get(name) or {}, source, name) for name, cls in SECTIONS.items()}
    training = dict(raw.get("training") or {})
    _check_training(training, source)
    config = Config(task=task, training=training, source=source, **sections)
    _check_values(config)
    _check_lexical(config)
    return config


def _check_keys(given: dict, valid: typing.Iterable[str], source: str, section: str) -> None:
    valid = list(valid)
    for key in given:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            name = f"{section}.{key}" if section else str(key)
            hint = (
                f"did you mean {section + '.' if section else ''}{close[0]}?"
                if close
                else f"valid keys: {', '.join(valid)}"
            )
            raise ConfigError(f"unknown key {name!r}", path=source, hint=hint)


def _build_section(cls: type, values: Any, source: str, section: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"section {section!r} must be a mapping, got {type(values).__name__}", path=source)
    hints = typing.get_type_hints(cls)
    _check_keys(values, hints, source, section)
    for key, value in values.items():
        if not _matches(value, hints[key]):
            raise ConfigError(
                f"{section}.{key} must be {_type_name(hints[key])}, got {value!r} ({type(value).__name__})",
                path=source,
                hint=f"write e.g. {section}.{key}: {_example(hints[key])}",
            )
    return cls(**values)


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return is_int(value)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    return "null" if hint is type(None) else getattr(hint, "__name__", str(hint))


def _example(hint: Any) -> str:
    names = _type_name(hint)
    for name, example in (("bool", "true"), ("int", "128"), ("float", "0.1"), ("dict", "{}"), ("str", "value")):
        if name in names:
            return example
    return "null"


def _check_training(training: dict[str, Any], source: str) -> None:
    from transformers import TrainingArguments

    valid = {f.name for f in dataclasses.fields(TrainingArguments)} | PROJECT_TRAINING_KEYS
    _check_keys(training, sorted(valid), source, "training")
    if not training.get("output_dir"):
        raise ConfigError("training.output_dir is required", path=source, hint="add training.output_dir: runs/my-model")


def _is_whole_number(value: Any, at_least: int) -> bool:
    """An int (not a bool, which YAML's `true` gives) no smaller than `at_least`."""
    return is_int(value) and value >= at_least


def _check_values(config: Config) -> None:
    p, source = config.preprocessing, config.source
    if p.granularity not in GRANULARITIES:
        raise ConfigError(
            f"preprocessing.granularity must be one of {GRANULARITIES}, got {p.granularity!r}", path=source
        )
    if p.topic_input not in TOPIC_INPUTS:
        raise ConfigError(
            f"preprocessing.topic_input must be one of {TOPIC_INPUTS}, got {p.topic_input!r}", path=source
        )
    if p.max_length < 8:
        raise ConfigError(f"preprocessing.max_length must be at least 8, got {p.max_length}", path=source)
    if not 0 <= p.stride <= (p.max_length - 2) // 2:
        raise ConfigError(
            f"preprocessing.stride must be between 0 and half the window ({(p.max_length - 2) // 2}), got {p.stride}",
            path=source,
            hint="use about a quarter of max_length",
        )
    try:
        NormalizeOptions.from_dict(p.normalize)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"preprocessing.normalize: {err}", path=source) from None
    if config.data.train is None:
        raise ConfigError("data.train is required", path=source, hint="set data.train: path/to/train.jsonl (or .conll)")
    joined = config.data.sentences_per_document
    if joined is not None and not _is_whole_number(joined, at_least=1):
        raise ConfigError(
            f"data.sentences_per_document must be a whole number >= 1, got {joined!r}",
            path=source,
            hint="e.g. 4 reads four consecutive sentences as one document; null reads each as it is",
        )
    decay = config.training.get("layerwise_lr_decay")
    if decay is not None and (isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1):
        raise ConfigError(
            f"training.layerwise_lr_decay must be a number in (0, 1], got {decay!r}",
            path=source,
            hint="e.g. 0.9: each layer learns at 0.9 times the rate of the layer above; null switches it off",
        )
    average = config.training.get("average_last_epochs")
    if average is not None and not _is_whole_number(average, at_least=2):
        raise ConfigError(
            f"training.average_last_epochs must be a whole number >= 2, got {average!r}",
            path=source,
            hint="e.g. 3 averages the weights of the last three epochs and keeps the average if it is as good on dev;"
            " null switches it off",
        )
    dropout = config.model.attention_dropout
    if dropout is not None and not 0 <= dropout < 1:
        raise ConfigError(
            f"model.attention_dropout must be in [0, 1), got {dropout!r}",
            path=source,
            hint="0.0 trains faster on a CPU (fused attention); null keeps the encoder's own",
        )
    if config.model.cache_frozen_layers and not config.model.freeze_layers:
        raise ConfigError(
            "model.cache_frozen_layers is set but no layer is frozen (model.freeze_layers is 0)",
            path=source,
            hint="add e.g. model.freeze_layers: 6, or drop model.cache_frozen_layers",
        )
    _check_crf(config)
    weights = config.training.get("class_weights")
    if weights not in (None, "balanced"):
        raise ConfigError(f"training.class_weights must be null or 'balanced', got {weights!r}", path=source)


def _check_crf(config: Config) -> None:
    model, source = config.model, config.source
    if model.crf_learning_rate is not None and not model.crf_learning_rate > 0:
        raise ConfigError(
            f"model.crf_learning_rate must be a positive number, got {model.crf_learning_rate!r}",
            path=source,
            hint="e.g. 0.01, or null for training.learning_rate",
        )
    if not model.crf:
        if model.crf_learning_rate is not None:
            raise ConfigError(
                "model.crf_learning_rate is set but model.crf is off", path=source, hint="add model.crf: true"
            )
        return
    if not config.task_type.sequence_decoding:
        raise ConfigError(
            f"model.crf is for NER (a CRF scores label sequences); task {config.task!r} predicts one label per text",
            path=source,
            hint="drop model.crf, or use task: ner",
        )
    if config.training.get("class_weights") is not None or config.training.get("label_smoothing_factor"):
        raise ConfigError(
            "model.crf trains with the CRF's sequence likelihood, which takes no class weights or label smoothing",
            path=source,
            hint="drop training.class_weights / training.label_smoothing_factor, or model.crf",
        )


def _check_lexical(config: Config) -> None:
    """`model.lexical`: true, false or a block of LexicalSettings keys; stored spelled out, every key with its value."""
    value, source = config.model.lexical, config.source
    if value is False or value is None:
        config.model.lexical = False
        return
    if config.task != "topic":
        raise ConfigError(
            f"model.lexical is for topic classification, not task {config.task!r}",
            path=source,
            hint="remove model.lexical, or set task: topic",
        )
    settings = _build_section(LexicalSettings, {} if value is True else value, source, "model.lexical")
    problems = []  # (key, what it must be, an example)
    if settings.word_ngrams < 0 or settings.char_ngrams_max < 0 or not settings.kinds():
        problems.append(("word_ngrams and char_ngrams_max", "at least one of them above 0", "word_ngrams: 2"))
    if settings.char_ngrams_max and not 1 <= settings.char_ngrams_min <= settings.char_ngrams_max:
        problems.append(("char_ngrams_min", "between 1 and char_ngrams_max", "char_ngrams_min: 2"))
    if settings.max_features < 1 or settings.min_df < 1:
        problems.append(("max_features and min_df", "1 or more", "max_features: 200000"))
    if not settings.C > 0:
        problems.append(("C", "above 0", "C: 100"))
    if settings.weight is not None and not 0 <= settings.weight <= 1:
        problems.append(("weight", "between 0 and 1, or null to choose it on dev", "weight: null"))
    if settings.fusion not in (None, *FUSIONS):
        problems.append(("fusion", f"one of {', '.join(FUSIONS)}, or null to choose it on dev", "fusion: null"))
    if problems:
        key, want, example = problems[0]
        raise ConfigError(f"model.lexical.{key} must be {want}", path=source, hint=f"write e.g. {example}")
    if (settings.weight is None or settings.fusion is None) and not (config.data.dev or config.data.dev_fraction):
        raise ConfigError(
            "model.lexical chooses its fusion weight on dev, but the config has no dev data",
            path=source,
            hint="set data.dev (or data.dev_fraction), or fix model.lexical.weight and model.lexical.fusion",
        )
    config.model.lexical = settings.to_dict()


def save_config(config: Config, path: Path) -> None:
    from ..atomic import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False))
