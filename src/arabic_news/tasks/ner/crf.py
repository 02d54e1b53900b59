"""Constrained BIO decoding: which tag may follow which, and Viterbi over a document's units (numpy only).

The rule is IOB2's: `I-X` continues an entity of type X, so it may only follow `B-X`, `Ck-X` (an entity that starts
inside its token) or `I-X`, and never opens a document. Every other pair is allowed. A CRF output layer
(`model.crf: true`, trained in `training/crf.py`) adds learnt scores for each pair and for the first and last tag;
without one (`CrfParams.zeros`) Viterbi still gives the best sequence that obeys the rule, so the decoder never
emits an `I-X` after `O` or after another type.

Emissions are per-unit log-probabilities. Per position they differ from the logits by a constant (the log of the
softmax's normaliser), so the best path over them is the best path over the logits a CRF was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A disallowed transition's score: finite, so that sums stay free of inf - inf, yet far below any learnt score.
FORBIDDEN = -1e4


def _kind(label: str) -> tuple[str, str]:
    """('I', 'LOC') for I-LOC, ('B', 'LOC') for B-LOC and Ck-LOC, ('O', '') for O."""
    if "-" not in label:
        return "O", ""
    prefix, kind = label.split("-", 1)
    return ("I" if prefix == "I" else "B"), kind


def allowed_transitions(labels: list[str]) -> np.ndarray:
    """(n, n) booleans: [i, j] says whether labels[j] may follow labels[i]."""
    kinds = [_kind(label) for label in labels]
    allowed = np.ones((len(labels), len(labels)), dtype=bool)
    for j, (prefix, kind) in enumerate(kinds):
        if prefix == "I":
            allowed[:, j] = [p != "O" and k == kind for p, k in kinds]
    return allowed


def allowed_starts(labels: list[str]) -> np.ndarray:
    """(n,) booleans: which labels may open a document (all but I-)."""
    return np.array([_kind(label)[0] != "I" for label in labels], dtype=bool)


def is_valid(tags: list[str]) -> bool:
    """Whether a tag sequence obeys the rule (each I-X right after B-X, Ck-X or I-X)."""
    previous = "O"
    for tag in tags:
        prefix, kind = _kind(tag)
        if prefix == "I" and (_kind(previous)[0] == "O" or _kind(previous)[1] != kind):
            return False
        previous = tag
    return True


@dataclass
class CrfParams:
    """A CRF's scores: transitions[i, j] for labels[j] right after labels[i], start[j] for the first unit, end[i]
    for the last. All zeros: BIO constraints only."""

    transitions: np.ndarray  # (n, n) float32
    start: np.ndarray  # (n,)
    end: np.ndarray  # (n,)

    @classmethod
    def zeros(cls, n: int) -> CrfParams:
        return cls(np.zeros((n, n), np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32))

    @property
    def num_labels(self) -> int:
        return int(self.start.shape[0])

    def tensors(self) -> dict[str, np.ndarray]:
        """The arrays under the names crf.safetensors stores them with."""
        return {"transitions": self.transitions, "start": self.start, "end": self.end}


def viterbi(emissions: np.ndarray, params: CrfParams, allowed: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The best label index per position of (T, n) `emissions` under `params`, among the sequences that open with an
    allowed start and take only allowed transitions."""
    length = emissions.shape[0]
    if length == 0:
        return np.zeros(0, dtype=np.int64)
    transitions = np.where(allowed, params.transitions, FORBIDDEN).astype(np.float64)
    score = np.where(starts, params.start, FORBIDDEN) + emissions[0].astype(np.float64)
    back = np.zeros((length, emissions.shape[1]), dtype=np.int64)
    for t in range(1, length):
        candidates = score[:, None] + transitions  # [previous, next]
        back[t] = candidates.argmax(axis=0)
        score = candidates[back[t], np.arange(len(score))] + emissions[t]
    best = np.zeros(length, dtype=np.int64)
    best[-1] = int((score + params.end).argmax())
    for t in range(length - 1, 0, -1):
        best[t - 1] = back[t, best[t]]
    return best
