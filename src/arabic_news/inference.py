"""Load a finished checkpoint and predict: entities with offsets into the original text, and topics.

The checkpoint's metadata says how its inputs were made (normalization, granularity, windows), so inference repeats
training's preprocessing exactly. Batches are sorted by length and padded per batch; weights load from safetensors
only, and remote code is never run.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from safetensors import SafetensorError

from .arabic import NormalizeOptions
from .document import Document, Span
from .errors import CheckpointError
from .ner_encoding import NerCodec
from .topic_encoding import TopicCodec

METADATA_FILE = "arabic_news.json"  # written last by training: its presence marks a finished model
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def read_metadata(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint folder {str(path)!r} does not exist or is not a folder",
                              hint="pass the training.output_dir of a finished training run")
    meta_file = path / METADATA_FILE
    if not meta_file.is_file():
        raise CheckpointError(f"{path} has no {METADATA_FILE}: it is not a finished model (training failed, was "
                              "interrupted or is still running)", path=path,
                              hint="rerun the same train.py command: it resumes from the last saved step")
    try:
        metadata = json.loads(meta_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{METADATA_FILE} is not valid JSON ({err})", path=meta_file,
                              hint="retrain, or restore the file from a backup") from None
    _check_metadata(metadata, meta_file)
    return metadata


def _check_metadata(metadata: object, meta_file: Path) -> None:
    """The keys inference needs, so a hand-edited or foreign file fails here rather than as a KeyError later."""
    hint = "retrain, or restore the file from a backup"
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{METADATA_FILE} must hold a JSON object", path=meta_file, hint=hint)
    missing = [key for key in ("task", "labels", "preprocessing") if key not in metadata]
    if missing:
        raise CheckpointError(f"{METADATA_FILE} lacks {', '.join(missing)}", path=meta_file, hint=hint)
    if metadata["task"] not in ("ner", "topic"):
        raise CheckpointError(f"unknown task {metadata['task']!r} in {METADATA_FILE}", path=meta_file,
                              hint="task must be 'ner' or 'topic'")
    if not isinstance(metadata["labels"], list) or not metadata["labels"]:
        raise CheckpointError(f"{METADATA_FILE}: labels must be a non-empty list", path=meta_file, hint=hint)


def check_weights(path: Path) -> None:
    if (path / "model.safetensors").is_file() or (path / "model.safetensors.index.json").is_file():
        return
    pickled = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
    if pickled:
        raise CheckpointError(f"{path} holds only pickle weights ({', '.join(pickled)}); they can run arbitrary code "
                              "when loaded and are refused", path=path,
                              hint="convert them to safetensors in a trusted environment (model.save_pretrained)")
    raise CheckpointError(f"{path} has no model.safetensors", path=path, hint="the folder is incomplete: retrain")


# A fast tokenizer's own file, or the vocabulary a slow one is built from. Without any of them AutoTokenizer still
# "succeeds" with a 5-entry vocabulary that turns every word into [UNK], so their absence is an error here.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model", "spm.model")


def check_tokenizer_files(path: Path) -> None:
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise CheckpointError(f"the folder has no tokenizer files (none of {', '.join(TOKENIZER_FILES)})", path=path,
                              hint="copy the tokenizer files of the training run into the folder, or retrain")


def check_consistency(model, tokenizer, metadata: dict, path: Path) -> None:
    """Refuse a folder whose parts do not belong together: predictions from it would be silently wrong."""
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if names != list(metadata["labels"]):
        raise CheckpointError(f"the model's labels {names} differ from {METADATA_FILE}'s {metadata['labels']}",
                              path=path, hint="config.json and arabic_news.json come from different runs: retrain")
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise CheckpointError(f"the tokenizer has {len(tokenizer)} entries but the model only {rows} embeddings",
                              path=path, hint="the tokenizer files come from another model: copy the training run's")


def _load_hint(path: Path) -> str:
    for name in ("config.json", "tokenizer_config.json"):
        try:
            asks_for_code = "auto_map" in json.loads((path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            continue
        if asks_for_code:
            return (f"its {name} has an auto_map pointing at Python code, and checkpoints' own code is never run "
                    "(trust_remote_code stays off): use a checkpoint of a standard transformers architecture")
    return "the folder is incomplete or from another library version: retrain"


@dataclass
class TopicPrediction:
    label: str
    score: float
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass
class Prediction:
    text: str
    entities: list[Span] = field(default_factory=list)
    topic: TopicPrediction | None = None

    def to_document(self, doc_id: str = "") -> Document:
        meta = {"topic_score": round(self.topic.score, 6),
                "topic_probabilities": {k: round(v, 6) for k, v in self.topic.probabilities.items()}} if self.topic else {}
        return Document(doc_id, self.text, self.topic.label if self.topic else None, list(self.entities), meta)


class TaskModel:
    """One model (NER or topic) with its tokenizer and codec, ready to predict. `TaskModel.load(path)` reads a checkpoint;
    training builds one around the model it is training, so dev scores come from this very inference path."""

    def __init__(self, model, tokenizer, metadata: dict, path: Path | None = None):
        self.model, self.tokenizer, self.metadata, self.path = model, tokenizer, metadata, path
        self.task = metadata["task"]
        self.codec = make_codec(tokenizer, metadata)

    @classmethod
    def load(cls, path: str | Path, device: str | None = None, dtype: str = "fp32",
             quantize: str | None = None) -> "TaskModel":
        from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

        path = Path(path)
        metadata = read_metadata(path)
        check_weights(path)
        check_tokenizer_files(path)
        auto = AutoModelForTokenClassification if metadata["task"] == "ner" else AutoModelForSequenceClassification
        try:
            # trust_remote_code=False said explicitly: left unset, transformers asks on a terminal whether to run
            # the Python files an `auto_map` in the folder points at.
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
            model, info = auto.from_pretrained(path, use_safetensors=True, output_loading_info=True,
                                               trust_remote_code=False)
        except (OSError, ValueError, RuntimeError, SafetensorError) as err:
            raise CheckpointError(f"cannot load the model: {str(err).splitlines()[0]}", path=path,
                                  hint=_load_hint(path)) from None
        missing = sorted(info["missing_keys"]) + sorted(str(k) for k in info["mismatched_keys"])
        if missing:  # transformers would fill them with random values and predict garbage
            raise CheckpointError(f"model.safetensors lacks {len(missing)} of the model's weights "
                                  f"({', '.join(missing[:3])})", path=path,
                                  hint="the weights come from another model or task: retrain, or copy the training "
                                       "run's model.safetensors")
        check_consistency(model, tokenizer, metadata, path)
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        return cls(_prepare(model, device, dtype, quantize), tokenizer, metadata, path)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    def predict_documents(self, docs: list[Document], batch_size: int = 32, progress: bool = False) -> list[Document]:
        """Copies of `docs` with this model's entities (NER) or topic (topic) in place of the gold ones."""
        if self.task == "ner":
            encoded = [self.codec.encode(d) for d in docs]
            logits = self._run([self.codec.inference_features(e) for e in encoded], batch_size, progress)
            return [self._with_entities(d, e, lg) for d, e, lg in zip(docs, encoded, logits)]
        features = [self.codec.window_inputs(self.codec.encode(d)) for d in docs]
        out = []
        for doc, lg in zip(docs, self._run(features, batch_size, progress)):
            label, score, probs = self.codec.decode(lg)
            meta = dict(doc.meta, topic_score=round(score, 6),
                        topic_probabilities={k: round(v, 6) for k, v in probs.items()})
            out.append(replace(doc, topic=label, meta=meta))
        return out

    def _with_entities(self, doc: Document, encoded, logits) -> Document:
        tags, confidence = self.codec.predicted_tags(encoded, logits)
        meta = {k: v for k, v in doc.meta.items() if k != "tags"}  # never let gold tags ride along
        if self.codec.granularity == "word":  # one tag per word: kept so strict seqeval sees what was predicted
            meta["tags"] = tags
        return replace(doc, entities=self.codec.spans_from_tags(encoded, tags, confidence), meta=meta)

    @torch.inference_mode()
    def _run(self, per_doc: list[list[dict]], batch_size: int, progress: bool) -> list[list[np.ndarray]]:
        """Forward every window of every document in length-sorted batches; logits come back per document."""
        flat = [(d, w, f["input_ids"]) for d, windows in enumerate(per_doc) for w, f in enumerate(windows)]
        order = sorted(range(len(flat)), key=lambda i: len(flat[i][2]))
        results: list[list] = [[None] * len(windows) for windows in per_doc]
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        if progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"predict ({self.task})", unit="batch")
        pad = self.tokenizer.pad_token_id or 0
        device = self.device
        was_training = self.model.training
        self.model.eval()
        for batch in batches:
            width = max(len(flat[i][2]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                seq = flat[i][2]
                ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            logits = logits.float().cpu().numpy()
            for row, i in enumerate(batch):
                d, w, seq = flat[i]
                results[d][w] = logits[row, :len(seq)] if self.task == "ner" else logits[row]
        self.model.train(was_training)
        return results


def make_codec(tokenizer, metadata: dict) -> NerCodec | TopicCodec:
    """The codec a checkpoint was trained with, from its metadata (task, labels, preprocessing)."""
    p, labels = metadata["preprocessing"], metadata["labels"]
    options = NormalizeOptions.from_dict(p.get("normalize") or {})
    if metadata["task"] == "ner":
        return NerCodec(tokenizer, labels, p["granularity"], p["max_length"], p["stride"], options)
    return TopicCodec(tokenizer, labels, p["topic_input"], p["max_length"], p["stride"], options, p.get("use_title", True))


def _prepare(model, device: torch.device, dtype: str, quantize: str | None):
    model.eval()
    if quantize == "int8":
        if device.type != "cpu":
            raise CheckpointError("int8 dynamic quantization runs on CPU only", hint="drop --quantize or use --device cpu")
        with warnings.catch_warnings():  # torch.ao announces its move to torchao; the API still works in torch 2.x
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
            return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    if quantize is not None:
        raise CheckpointError(f"unknown quantization {quantize!r}", hint="use int8 or leave it out")
    if dtype not in DTYPES:
        raise CheckpointError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}")
    return model.to(device=device, dtype=DTYPES[dtype])


class NewsTagger:
    """The Python API: an NER model, a topic model, or both; call it on a text or `pipe` many texts."""

    def __init__(self, ner: TaskModel | None = None, topic: TaskModel | None = None):
        if ner is None and topic is None:
            raise CheckpointError("give at least one checkpoint (an NER one, a topic one, or both)")
        self.ner, self.topic = ner, topic

    def __call__(self, text: str) -> Prediction:
        return next(iter(self.pipe([text])))

    def pipe(self, texts: Iterable[str], batch_size: int = 32, chunk: int = 256) -> Iterator[Prediction]:
        """Predict many texts, streaming: `chunk` texts at a time are batched by length and yielded in input order."""
        buffer: list[str] = []
        for text in texts:
            buffer.append(text)
            if len(buffer) == chunk:
                yield from self._predict(buffer, batch_size)
                buffer = []
        if buffer:
            yield from self._predict(buffer, batch_size)

    def predict_documents(self, docs: list[Document], batch_size: int = 32, progress: bool = False) -> list[Document]:
        out = [replace(d, entities=[], topic=None, meta={k: v for k, v in d.meta.items() if k != "tags"}) for d in docs]
        for model in (self.ner, self.topic):
            if model is not None:
                out = model.predict_documents(out, batch_size, progress)
        return out

    def _predict(self, texts: list[str], batch_size: int) -> list[Prediction]:
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"NewsTagger takes str texts, got {type(t).__name__}; decode bytes first")
        docs = self.predict_documents([Document(str(i), t) for i, t in enumerate(texts)], batch_size)
        return [Prediction(d.text, d.entities, _topic_of(d) if self.topic else None) for d in docs]


def _topic_of(doc: Document) -> TopicPrediction:
    return TopicPrediction(doc.topic, doc.meta["topic_score"], doc.meta["topic_probabilities"])


def load(*checkpoints: str | Path, **options) -> NewsTagger:
    """`load("runs/sample-ner", "runs/sample-topic")`: a NewsTagger; each checkpoint's task is read from its metadata.
    Options: device ('cpu', 'cuda'), dtype ('fp32', 'bf16'), quantize ('int8')."""
    models: dict[str, TaskModel] = {}
    for path in checkpoints:
        model = TaskModel.load(path, **options)
        if model.task in models:
            raise CheckpointError(f"two {model.task} checkpoints given ({models[model.task].path} and {path})",
                                  hint="give at most one NER and one topic checkpoint")
        models[model.task] = model
    return NewsTagger(models.get("ner"), models.get("topic"))
