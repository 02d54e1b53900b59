"""The optional lexical half of a topic model: TF-IDF (word and character n-grams) + logistic regression, fused with
the encoder's class probabilities.

On news topics a linear model over n-gram counts is a strong rival of a small fine-tuned encoder (on ANT it beats
it), and the two err on different articles, so their fusion beats both. Training fits the vectorizers and the
regression on the train split after the encoder is trained and chooses how to fuse them on dev only
(`training/lexical.py`); this module holds the model itself, its files and the fusion rule.

Stored without pickle: the n-gram vocabulary as JSON, idf vectors and regression weights as safetensors, the settings
and the fusion weight in the checkpoint's metadata. At load, scikit-learn vectorizers are rebuilt from vocabulary + idf
(a test checks that they reproduce the fitted ones exactly).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

VOCABULARY_FILE = "lexical_vocabulary.json"
WEIGHTS_FILE = "lexical.safetensors"
LEXICAL_FILES = (VOCABULARY_FILE, WEIGHTS_FILE)
FUSIONS = ("log", "prob")  # weighted log-probabilities (a product of experts) or weighted probabilities
# Words keep one-letter tokens (و, ب stand alone in some texts); characters n-grams stay inside word boundaries.
WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"
WEIGHT_GRID = tuple(round(i / 20, 2) for i in range(21))  # encoder weights tried on dev: 0, 0.05, ..., 1


@dataclass
class LexicalSettings:
    """The config's `model.lexical` block (`model.lexical: true` takes these defaults)."""

    word_ngrams: int = 2  # word n-grams of 1..N words (0: none)
    char_ngrams_min: int = 2  # character n-grams of char_ngrams_min..char_ngrams_max inside words
    char_ngrams_max: int = 5  # (0: no character n-grams)
    max_features: int = 200_000  # per kind (words, characters): the most frequent n-grams in train
    min_df: int = 2  # n-grams in fewer train articles are dropped
    C: float = 100.0  # inverse L2 strength of the logistic regression
    weight: float | None = None  # the encoder's weight in the fusion; null: chosen on dev
    fusion: str | None = None  # 'log' or 'prob'; null: chosen on dev

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LexicalSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def kinds(self) -> list[str]:
        return [k for k, on in (("word", self.word_ngrams > 0), ("char", self.char_ngrams_max > 0)) if on]


def make_vectorizer(kind: str, settings: LexicalSettings, vocabulary: dict[str, int] | None = None):
    """A scikit-learn TfidfVectorizer of `kind` ('word' or 'char'); with `vocabulary`, one to be given its idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    common: dict[str, Any] = {"sublinear_tf": True, "dtype": np.float32, "vocabulary": vocabulary}
    if vocabulary is None:
        common.update(min_df=settings.min_df, max_features=settings.max_features)
    if kind == "word":
        return TfidfVectorizer(ngram_range=(1, settings.word_ngrams), token_pattern=WORD_TOKEN_PATTERN, **common)
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(settings.char_ngrams_min, settings.char_ngrams_max), **common
    )


def rebuild_vectorizer(kind: str, settings: LexicalSettings, terms: list[str], idf: np.ndarray):
    """The fitted vectorizer again, from its terms (in column order) and idf vector."""
    vectorizer = make_vectorizer(kind, settings, {term: i for i, term in enumerate(terms)})
    vectorizer.idf_ = idf
    return vectorizer


def terms_of(vectorizer) -> list[str]:
    terms = [""] * len(vectorizer.vocabulary_)
    for term, column in vectorizer.vocabulary_.items():
        terms[column] = term
    return terms


class LexicalModel:
    """Vectorizers + a linear classifier whose rows follow the checkpoint's label order."""

    def __init__(self, settings: LexicalSettings, vectorizers: dict[str, Any], coef: np.ndarray, intercept: np.ndarray):
        self.settings, self.vectorizers = settings, vectorizers
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)  # (labels, features)
        self.intercept = np.asarray(intercept, dtype=np.float32)  # (labels,)

    @property
    def num_features(self) -> int:
        return int(self.coef.shape[1])

    def features(self, texts: list[str]):
        from scipy.sparse import hstack

        return hstack([self.vectorizers[k].transform(texts) for k in self.settings.kinds()], format="csr")

    def log_probs(self, texts: list[str]) -> np.ndarray:
        """(texts, labels) log-probabilities of the logistic regression."""
        scores = np.asarray(self.features(texts) @ self.coef.T, dtype=np.float64) + self.intercept
        return log_softmax(scores)

    # ---- fitting ------------------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: list[str], topics: list[str], labels: list[str], settings: LexicalSettings) -> LexicalModel:
        """Vectorizers and a multinomial logistic regression fitted on `texts`; classes in the order of `labels`."""
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression

        vectorizers = {k: make_vectorizer(k, settings) for k in settings.kinds()}
        x = hstack([v.fit_transform(texts) for v in vectorizers.values()], format="csr")
        regression = LogisticRegression(C=settings.C, max_iter=1000).fit(x, topics)
        coef, intercept = regression.coef_, regression.intercept_
        if coef.shape[0] == 1:  # two classes: scikit-learn keeps one row; softmax([0, z]) is its sigmoid(z)
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        rows = [list(regression.classes_).index(label) for label in labels]
        return cls(settings, vectorizers, coef[rows], intercept[rows])

    # ---- files --------------------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        from ...atomic import atomic_write_text

        kinds = self.settings.kinds()
        vocabulary = {k: terms_of(self.vectorizers[k]) for k in kinds}
        atomic_write_text(folder / VOCABULARY_FILE, json.dumps(vocabulary, ensure_ascii=False))
        tensors = {f"{k}.idf": np.asarray(self.vectorizers[k].idf_, dtype=np.float32) for k in kinds}
        tensors.update(coef=self.coef, intercept=self.intercept)
        save_file(tensors, str(folder / WEIGHTS_FILE))

    @classmethod
    def load(cls, folder: Path, settings: LexicalSettings, num_labels: int) -> LexicalModel:
        """Read the two files; ValueError/OSError (from JSON, safetensors or a shape check) when they are unusable."""
        from safetensors.numpy import load_file

        vocabulary = json.loads((folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
        tensors = load_file(str(folder / WEIGHTS_FILE))
        kinds = settings.kinds()
        missing = [k for k in kinds if k not in vocabulary or f"{k}.idf" not in tensors]
        missing += [name for name in ("coef", "intercept") if name not in tensors]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        vectorizers = {}
        for k in kinds:
            idf = tensors[f"{k}.idf"]
            if not isinstance(vocabulary[k], list) or len(vocabulary[k]) != len(idf):
                raise ValueError(f"{k}: {len(vocabulary[k])} terms but {len(idf)} idf values")
            vectorizers[k] = rebuild_vectorizer(k, settings, vocabulary[k], idf)
        coef, intercept = tensors["coef"], tensors["intercept"]
        width = sum(len(vocabulary[k]) for k in kinds)
        if coef.shape != (num_labels, width) or intercept.shape != (num_labels,):
            raise ValueError(
                f"weights of shape {coef.shape} and {intercept.shape} for {num_labels} labels and {width} features"
            )
        return cls(settings, vectorizers, coef, intercept)


def log_softmax(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def fuse(encoder_log_probs: np.ndarray, lexical_log_probs: np.ndarray, weight: float, fusion: str) -> np.ndarray:
    """Class probabilities of the fused model: 'log' normalizes exp(w·log p_enc + (1−w)·log p_lex), 'prob' takes
    w·p_enc + (1−w)·p_lex. Weight 1 gives the encoder alone, 0 the lexical model alone."""
    if fusion == "log":
        return np.exp(log_softmax(weight * encoder_log_probs + (1 - weight) * lexical_log_probs))
    if fusion == "prob":
        probs = weight * np.exp(encoder_log_probs) + (1 - weight) * np.exp(lexical_log_probs)
        return probs / probs.sum(axis=-1, keepdims=True)
    raise ValueError(f"unknown fusion {fusion!r}; use one of {FUSIONS}")
