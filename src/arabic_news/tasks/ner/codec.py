"""NER: from character spans to subword labels and back.

Training and inference share this code, so what the model learns is exactly what inference decodes.
Labels are IOB2 over *units*: every subword token (granularity 'subword'), or the first subword of each word
(granularity 'word', the CoNLL convention; the other subwords get -100). Texts are normalized first; offsets are
mapped back to the original text at the end.

Multilingual vocabularies glue proclitics to the next letters (`وأذربيجان` -> `▁وأ` `ذر` `بي` `جان`), so an
entity often starts INSIDE a subword. Subword granularity therefore has two more tags per type: `C1-X` and `C2-X`
say "the entity X starts 1 (or 2) characters into this token" (`و` or `وب` stay outside), so the decoded span is
exactly `أذربيجان`. Starts deeper inside a token cannot be expressed and are counted as misaligned.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace

import numpy as np
from seqeval.metrics.sequence_labeling import get_entities

from ...data import Document, Span
from ...text import (
    PROCLITIC_CHARS,
    Normalized,
    NormalizeOptions,
    Window,
    make_windows,
    normalize,
    special_tokens_template,
    tokenize_words,
)
from .crf import CrfParams, allowed_starts, allowed_transitions, viterbi

IGNORE = -100
MAX_INSIDE = 2  # longest proclitic run kept outside an entity inside one token (و, وب, ول, فل, ...)


def ner_labels(entity_types: list[str], granularity: str) -> list[str]:
    prefixes = ("B", "I") + (tuple(f"C{k}" for k in range(1, MAX_INSIDE + 1)) if granularity == "subword" else ())
    return ["O"] + [f"{prefix}-{t}" for t in sorted(entity_types) for prefix in prefixes]


def entity_type(label: str) -> str:
    return label.split("-", 1)[1] if "-" in label else label


def inside_offset(tag: str) -> int:
    """How many characters of the token precede the entity: 0 for B-/I-, k for Ck-."""
    return int(tag[1 : tag.index("-")]) if tag.startswith("C") else 0


def as_iob2(tag: str) -> str:
    return "B" + tag[tag.index("-") :] if tag.startswith("C") else tag


@dataclass
class EncodedDocument:
    normalized: Normalized
    input_ids: list[int]  # without special tokens
    token_offsets: list[tuple[int, int]]  # into the normalized text
    units: list[tuple[int, int]]  # char ranges (normalized) of the labelled units
    unit_tokens: list[int]  # token index that carries each unit's label
    windows: list[Window]
    truncated_tokens: int = 0  # NER never truncates (windows cover every token); kept for a common interface


class NerCodec:
    """Turns Documents into model inputs with aligned labels, and model outputs back into Spans."""

    def __init__(
        self,
        tokenizer,
        labels: list[str],
        granularity: str = "subword",
        max_length: int = 256,
        stride: int = 64,
        normalize_options: NormalizeOptions | None = None,
    ):
        self.tokenizer, self.labels, self.granularity = tokenizer, list(labels), granularity
        self.label2id = {label: i for i, label in enumerate(self.labels)}
        self.max_length, self.stride = max_length, stride
        self.normalize_options = normalize_options or NormalizeOptions()
        self.prefix, self.suffix = special_tokens_template(tokenizer)
        self.body_length = max_length - len(self.prefix) - len(self.suffix)
        self.crf: CrfParams | None = None  # None: each unit's most probable tag; else constrained Viterbi (crf.py)

    def use_crf(self, params: CrfParams | None) -> None:
        """Decode with constrained Viterbi under `params` (a trained CRF's scores, or `CrfParams.zeros` for the BIO
        constraints alone); None goes back to each unit's most probable tag."""
        if params is not None and params.num_labels != len(self.labels):
            raise ValueError(f"the CRF scores {params.num_labels} labels, the model {len(self.labels)}")
        self.crf = params
        if params is not None:
            self._allowed, self._starts = allowed_transitions(self.labels), allowed_starts(self.labels)

    # ---- encoding -------------------------------------------------------------------------------------------
    def encode(self, doc: Document) -> EncodedDocument:
        normalized = normalize(doc.text, self.normalize_options)
        enc = self.tokenizer(normalized.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = [tuple(o) for o in enc["offset_mapping"]]
        units, unit_tokens = self._units(doc, normalized, offsets)
        windows = make_windows(len(enc["input_ids"]), self.body_length, self.stride)
        return EncodedDocument(normalized, list(enc["input_ids"]), offsets, units, unit_tokens, windows)

    def _units(self, doc: Document, normalized: Normalized, offsets) -> tuple[list[tuple[int, int]], list[int]]:
        if self.granularity == "subword":
            kept = [i for i, (s, e) in enumerate(offsets) if e > s]
            return [offsets[i] for i in kept], kept
        units, unit_tokens, t = [], [], 0
        for ws, we in doc.words():
            s, e = normalized.to_normalized(ws, we)
            while t < len(offsets) and offsets[t][1] <= s:
                t += 1
            if e > s and t < len(offsets) and offsets[t][0] < e:
                units.append((s, e))
                unit_tokens.append(t)
        return units, unit_tokens

    def unit_tags(self, doc: Document, encoded: EncodedDocument) -> list[str]:
        """The tag of every unit from the document's gold spans (a unit touching a span belongs to it)."""
        tags = ["O"] * len(encoded.units)
        spans = [encoded.normalized.to_normalized(s.start, s.end) + (s.label,) for s in doc.entities]
        u = 0
        for start, end, label in spans:
            while u < len(encoded.units) and encoded.units[u][1] <= start:
                u += 1
            first = True
            while u < len(encoded.units) and encoded.units[u][0] < end:
                if tags[u] == "O":
                    tags[u] = f"{self._first_prefix(start - encoded.units[u][0]) if first else 'I'}-{label}"
                    first = False
                u += 1
        return tags

    def _first_prefix(self, inside: int) -> str:
        if self.granularity == "subword" and 0 < inside <= MAX_INSIDE:
            return f"C{inside}"
        return "B"

    def misaligned(self, doc: Document, encoded: EncodedDocument) -> int:
        """Gold spans whose boundaries the units cannot express exactly (they decode wider than annotated)."""
        decoded = self.spans_from_tags(encoded, self.unit_tags(doc, encoded))
        return len(set(doc.entities) - set(decoded))

    def training_features(self, doc: Document, encoded: EncodedDocument | None = None) -> list[dict]:
        encoded = encoded or self.encode(doc)
        token_labels = [IGNORE] * len(encoded.input_ids)
        for token, tag in zip(encoded.unit_tokens, self.unit_tags(doc, encoded)):
            token_labels[token] = self.label2id.get(tag, self.label2id["O"])
        return [self._window_inputs(encoded, w, token_labels) for w in encoded.windows]

    def inference_features(self, encoded: EncodedDocument) -> list[dict]:
        return [self._window_inputs(encoded, w) for w in encoded.windows]

    def _window_inputs(self, encoded: EncodedDocument, window: Window, token_labels=None) -> dict:
        body = encoded.input_ids[window.start : window.end]
        input_ids = self.prefix + body + self.suffix
        features = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids)}
        if token_labels is not None:
            labels = [IGNORE] * len(input_ids)
            labels[len(self.prefix) : len(self.prefix) + len(body)] = token_labels[window.start : window.end]
            features["labels"] = labels
        return features

    # ---- decoding -------------------------------------------------------------------------------------------
    def token_probabilities(self, encoded: EncodedDocument, window_logits: list[np.ndarray]) -> np.ndarray:
        """(n_tokens, n_labels) probabilities, each token taken from the window where it is most central."""
        n = len(encoded.input_ids)
        probs = np.zeros((n, len(self.labels)), dtype=np.float32)
        for window, logits in zip(encoded.windows, window_logits):
            body = logits[len(self.prefix) : len(self.prefix) + window.end - window.start]
            own = slice(window.own_start - window.start, window.own_end - window.start)
            probs[window.own_start : window.own_end] = _softmax(body[own])
        return probs

    def decode(self, encoded: EncodedDocument, window_logits: list[np.ndarray]) -> list[Span]:
        return self.spans_from_tags(encoded, *self.predicted_tags(encoded, window_logits))

    def decode_into(self, doc: Document, encoded: EncodedDocument, window_logits: list[np.ndarray]) -> Document:
        """`doc` with the predicted entities; word-level models also keep their one tag per word, so that strict
        seqeval scores what was predicted (gold tags never ride along)."""
        tags, confidence = self.predicted_tags(encoded, window_logits)
        kept_tags = tags if self.granularity == "word" else None
        return replace(doc, entities=self.spans_from_tags(encoded, tags, confidence), tags=kept_tags)

    def decode_documents(self, docs: list[Document], encoded: list, logits: list) -> list[Document]:
        return [self.decode_into(d, e, lg) for d, e, lg in zip(docs, encoded, logits)]

    def predicted_tags(self, encoded: EncodedDocument, window_logits: list[np.ndarray]) -> tuple[list[str], np.ndarray]:
        """The tag of every unit and its probability: the most probable tag per unit, or with a CRF (`use_crf`) the
        best sequence under the BIO constraints and the CRF's transition scores."""
        probs = self.token_probabilities(encoded, window_logits)[encoded.unit_tokens]
        if self.crf is not None:
            emissions = np.log(np.maximum(probs, np.finfo(np.float32).tiny))
            best = viterbi(emissions, self.crf, self._allowed, self._starts)
        else:
            best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
        confidence = probs[np.arange(len(best)), best] if len(best) else np.zeros(0)
        return [self.labels[i] for i in best], confidence

    def spans_from_tags(self, encoded: EncodedDocument, tags: list[str], confidence=None) -> list[Span]:
        """Unit tags -> Spans in the original text (seqeval's default reading: an I- after O starts an entity)."""
        spans = []
        original = encoded.normalized.original
        words = WordBounds(original) if self.granularity == "subword" else None
        for label, first, last in get_entities([as_iob2(t) for t in tags]):
            # A model may put a clitic tag Ck- on a unit shorter than k characters: the entity then starts no later
            # than where that unit ends (and a span left empty is dropped below).
            unit_start, unit_end = encoded.units[first]
            inside = min(inside_offset(tags[first]), unit_end - unit_start)
            start, end = encoded.normalized.to_original(unit_start + inside, encoded.units[last][1])
            if words is not None:
                start, end = words.snap(start, end)
            start, end = _trim(original, start, end)
            if end > start:
                score = float(confidence[first : last + 1].mean()) if confidence is not None else None
                spans.append(Span(start, end, label, original[start:end], score))
        return _drop_overlaps(spans)


class WordBounds:
    """Subword predictions can start or end mid-word (`الأ` + `ذربيجاني`). Names are whole words, less a leading
    proclitic run, so a span's start moves back to its word's start unless only proclitics precede it there, and its
    end moves forward to its word's end."""

    def __init__(self, text: str):
        from bisect import bisect_right

        self.text, self._bisect = text, bisect_right
        tokens = tokenize_words(text)
        self.starts = [t.start for t in tokens]
        self.ends = [t.end for t in tokens]

    def _word(self, position: int) -> int | None:
        i = self._bisect(self.starts, position) - 1
        return i if i >= 0 and position < self.ends[i] else None

    def snap(self, start: int, end: int) -> tuple[int, int]:
        first = self._word(start)
        if first is not None and start > self.starts[first]:
            # Marks that normalization deletes (bidi and zero-width controls, diacritics) are no letters: `ب\u200b`
            # and `وَ` are one proclitic each, as the model saw them.
            prefix = [ch for ch in self.text[self.starts[first] : start] if not _unlettered(ch)]
            if not (len(prefix) <= MAX_INSIDE and all(ch in PROCLITIC_CHARS for ch in prefix)):
                start = self.starts[first]
        last = self._word(end - 1) if end > start else None
        if last is not None:
            end = max(end, self.ends[last])
        return start, end


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


OPENING = set("([{«“‘\"'")  # quotes and brackets stay outside entities (annotation guidelines)
CLOSING = set(")]}»”’\"',،;؛")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop spaces, quotes, brackets and commas that a subword glued to the entity's edge (`COP30)` -> `COP30`), and
    invisible control and format characters (bidi marks, NUL, zero-width spaces) that a token took in."""
    while start < end and (_invisible(text[start]) or text[start] in OPENING):
        start += 1
    while end > start and (_invisible(text[end - 1]) or text[end - 1] in CLOSING):
        end -= 1
    return start, end


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def _unlettered(char: str) -> bool:
    """Invisible, or a combining mark (a diacritic): nothing that makes a clitic longer."""
    return _invisible(char) or unicodedata.category(char) == "Mn"


def _drop_overlaps(spans: list[Span]) -> list[Span]:
    """Flat NER allows one label per character: where spans overlap (after snapping to words, or through
    normalization), the more confident one stays."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: -(s.score if s.score is not None else 1.0)):
        if all(span.end <= k.start or k.end <= span.start for k in kept):
            kept.append(span)
    return sorted(kept)
