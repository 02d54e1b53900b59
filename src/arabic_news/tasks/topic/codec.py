"""Topic classification: from a Document to model inputs, and from logits back to a topic.

Articles are often longer than the encoder's window. Two strategies, stored in the checkpoint:
`head` reads the title and the first tokens (news puts the topic up front; one window, the rest is cut and counted);
`chunks` covers the whole article with overlapping windows and averages their logits.
A checkpoint with a lexical component (lexical.py) fuses the encoder's probabilities with those of a TF-IDF +
logistic regression model over the same input text, with the weight chosen on dev at training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...data import Document
from ...text import (
    NormalizeOptions,
    Window,
    make_windows,
    normalize,
    special_tokens_template,
)
from .lexical import LexicalModel, fuse, log_softmax


@dataclass
class EncodedTopicDocument:
    input_ids: list[int]  # without special tokens
    windows: list[Window]
    truncated_tokens: int  # tokens the `head` strategy leaves out
    text: str = ""  # the input text (title + text, normalized), which the lexical component reads


class TopicCodec:
    def __init__(
        self,
        tokenizer,
        labels: list[str],
        strategy: str = "head",
        max_length: int = 256,
        stride: int = 64,
        normalize_options: NormalizeOptions | None = None,
        use_title: bool = True,
        lexical: LexicalModel | None = None,
        weight: float = 1.0,
        fusion: str = "log",
    ):
        self.tokenizer, self.labels, self.strategy = tokenizer, list(labels), strategy
        self.label2id = {label: i for i, label in enumerate(self.labels)}
        self.max_length, self.stride, self.use_title = max_length, stride, use_title
        self.normalize_options = normalize_options or NormalizeOptions()
        self.prefix, self.suffix = special_tokens_template(tokenizer)
        self.body_length = max_length - len(self.prefix) - len(self.suffix)
        self.lexical, self.weight, self.fusion = lexical, weight, fusion

    def input_text(self, doc: Document) -> str:
        title = doc.meta.get("title") if self.use_title else None
        text = f"{title}\n{doc.text}" if isinstance(title, str) and title.strip() else doc.text
        return normalize(text, self.normalize_options).text

    def encode(self, doc: Document) -> EncodedTopicDocument:
        text = self.input_text(doc)
        ids = self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        if self.strategy == "head":
            kept = ids[: self.body_length]
            windows = make_windows(len(kept), self.body_length, 0)
            return EncodedTopicDocument(kept, windows, len(ids) - len(kept), text)
        return EncodedTopicDocument(ids, make_windows(len(ids), self.body_length, self.stride), 0, text)

    def inference_features(self, encoded: EncodedTopicDocument) -> list[dict]:
        out = []
        for w in encoded.windows:
            input_ids = self.prefix + encoded.input_ids[w.start : w.end] + self.suffix
            out.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids)})
        return out

    def training_features(self, doc: Document, encoded: EncodedTopicDocument | None = None) -> list[dict]:
        label = self.label2id[doc.topic]
        return [dict(features, labels=label) for features in self.inference_features(encoded or self.encode(doc))]

    @staticmethod
    def encoder_log_probs(window_logits: list[np.ndarray]) -> np.ndarray:
        """The encoder's class log-probabilities: softmax of the mean logits over the windows."""
        return log_softmax(np.mean(np.stack(window_logits), axis=0))

    def decode(
        self, window_logits: list[np.ndarray], text: str = "", lexical_log_probs: np.ndarray | None = None
    ) -> tuple[str, float, dict[str, float]]:
        """Mean logits over the windows (fused with the lexical model's view of `text`, or its `lexical_log_probs`
        computed beforehand, when the checkpoint has one) -> (label, probability, all class probabilities)."""
        log_probs = self.encoder_log_probs(window_logits)
        if self.lexical is None:
            probs = np.exp(log_probs)
        else:
            if lexical_log_probs is None:
                lexical_log_probs = self.lexical.log_probs([text])[0]
            probs = fuse(log_probs, lexical_log_probs, self.weight, self.fusion)
        best = int(probs.argmax())
        return self.labels[best], float(probs[best]), {label: float(p) for label, p in zip(self.labels, probs)}

    def decode_into(
        self,
        doc: Document,
        encoded: EncodedTopicDocument,
        window_logits: list[np.ndarray],
        lexical_log_probs: np.ndarray | None = None,
    ) -> Document:
        label, score, probs = self.decode(window_logits, encoded.text or self.input_text(doc), lexical_log_probs)
        return replace(
            doc,
            topic=label,
            topic_score=round(score, 6),
            topic_probabilities={k: round(v, 6) for k, v in probs.items()},
        )

    def decode_documents(
        self, docs: list[Document], encoded: list[EncodedTopicDocument], logits: list[list[np.ndarray]]
    ) -> list[Document]:
        """`decode_into` for many documents; the lexical component vectorizes them together (faster than one by one)."""
        lexical = [None] * len(docs)
        if self.lexical is not None and docs:
            lexical = list(self.lexical.log_probs([e.text or self.input_text(d) for d, e in zip(docs, encoded)]))
        return [self.decode_into(d, e, lg, lx) for d, e, lg, lx in zip(docs, encoded, logits, lexical)]
