"""A linear-chain CRF baseline for Arabic NER: the classic feature-engineered tagger the neural models must beat.

Features per word (sklearn-crfsuite dicts): the word and its normalized form, prefixes and suffixes of 1-3
characters, its proclitics split off (conjunction و ف, preposition ب ل ك, article ال, and their combinations such as
وبال or لل) with the remaining stem, the word's shape, and the same for the words within two positions. c1/c2 are
chosen on dev from a small grid; scores come from the project's own scorer (the harness), so they compare directly
with the fine-tuned model's.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
import unicodedata
from dataclasses import dataclass, replace

from arabic_news.data.document import Document
from arabic_news.data.schemes import spans_to_tags, tags_to_spans
from arabic_news.text import normalize_text

log = logging.getLogger("benchmarks.crf")

CONJUNCTIONS = ("", "و", "ف")
PREPOSITIONS = ("", "ب", "ل", "ك")
MIN_STEM = 2  # a clitic is only split off when at least this many letters remain (so لي, بي stay whole)
# Every proclitic sequence, longest first; ل + ال is written لل (للكتاب), so that form is listed too.
PROCLITICS = sorted(
    {c + p + a for c in CONJUNCTIONS for p in PREPOSITIONS for a in ("", "ال") if not (p == "ل" and a)}
    | {c + "لل" for c in CONJUNCTIONS},
    key=len,
    reverse=True,
)
WINDOW = 2
DEFAULT_GRID = {"c1": (0.05, 0.25), "c2": (0.01, 0.1)}


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]


# ---- features ------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=200_000)
def normalized(word: str) -> str:
    return normalize_text(word)


@functools.lru_cache(maxsize=200_000)
def split_proclitics(word: str) -> tuple[str, str]:
    """(proclitics, stem) of a normalized word, longest proclitic sequence first: 'وبالمدينة' -> ('وبال', 'مدينة').

    Greedy on purpose: 'وزير' also yields ('و', 'زير'); the CRF learns how much to trust each split."""
    for clitic in PROCLITICS:
        if clitic and word.startswith(clitic) and len(word) - len(clitic) >= MIN_STEM:
            return clitic, word[len(clitic) :]
    return "", word


def word_shape(word: str) -> str:
    """Arabic letters -> a, Latin -> X/x, digits -> d, other characters kept; runs collapsed ('COVID-19' -> X-d)."""
    classes = []
    for ch in word:
        if "0" <= ch <= "9" or unicodedata.category(ch) == "Nd":
            cls = "d"
        elif "\u0600" <= ch <= "\u06ff" and unicodedata.category(ch).startswith("L"):
            cls = "a"
        elif ch.isalpha():
            cls = "X" if ch.isupper() else "x"
        else:
            cls = ch
        if not classes or classes[-1] != cls:
            classes.append(cls)
    return "".join(classes)


def _length_bucket(word: str) -> str:
    n = len(word)
    return str(n) if n <= 3 else "4-5" if n <= 5 else "6-8" if n <= 8 else "9+"


@functools.lru_cache(maxsize=200_000)
def word_features(word: str) -> dict[str, str | bool]:
    """The features of one word by itself (no context)."""
    norm = normalized(word)
    clitic, stem = split_proclitics(norm)
    shape = word_shape(word)
    features: dict[str, str | bool] = {
        "word": word.lower(),
        "norm": norm,
        "shape": shape,
        "len": _length_bucket(norm),
        "clitic": clitic or "-",
        "stem": stem,
        "stem_pre2": stem[:2],
        "stem_suf2": stem[-2:],
        "is_digit": norm.isdigit(),
        "has_digit": "d" in shape,
        "is_latin": "X" in shape or "x" in shape,
        "is_punct": all(unicodedata.category(ch).startswith("P") for ch in word),
        "changed_by_normalization": norm != word,
    }
    for k in (1, 2, 3):
        if len(norm) > k:
            features[f"pre{k}"], features[f"suf{k}"] = norm[:k], norm[-k:]
    return features


CONTEXT_KEYS = ("norm", "clitic", "stem", "shape")  # what a word tells its neighbours


def sentence_features(tokens: list[str]) -> list[dict[str, str | bool | float]]:
    """Features of every word in a sentence: its own, and the context keys of the words within +-WINDOW."""
    own = [word_features(t) for t in tokens]
    out = []
    for i, features in enumerate(own):
        row: dict[str, str | bool | float] = {"bias": 1.0, **features}
        for offset in itertools.chain(range(-WINDOW, 0), range(1, WINDOW + 1)):
            j = i + offset
            if 0 <= j < len(tokens):
                row.update({f"{offset:+d}:{key}": own[j][key] for key in CONTEXT_KEYS})
            elif j in (-1, len(tokens)):
                row[f"{offset:+d}:edge"] = True  # the sentence starts or ends here
        if i > 0:
            row["-1:norm|norm"] = f"{own[i - 1]['norm']}|{features['norm']}"
        out.append(row)
    return out


# ---- documents <-> tagged sentences --------------------------------------------------------------------------
def sentences_of(docs: list[Document]) -> list[Sentence]:
    """Each document's words and IOB2 word tags, exactly as the project's scorer reads them."""
    out = []
    for doc in docs:
        words = doc.words()
        out.append(Sentence([doc.text[s:e] for s, e in words], spans_to_tags(words, doc.entities)))
    return out


def predicted_documents(docs: list[Document], tag_sequences: list[list[str]]) -> list[Document]:
    return [
        replace(doc, entities=tags_to_spans(doc.words(), tags), meta=dict(doc.meta))
        for doc, tags in zip(docs, tag_sequences)
    ]


# ---- training and prediction ---------------------------------------------------------------------------------
def train_crf(train: list[Sentence], c1: float, c2: float, max_iterations: int = 100):
    import sklearn_crfsuite

    crf = sklearn_crfsuite.CRF(
        algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations, all_possible_transitions=True
    )
    crf.fit([sentence_features(s.tokens) for s in train], [s.tags for s in train])
    return crf


def predict_tags(crf, sentences: list[list[str]]) -> list[list[str]]:
    return [list(tags) for tags in crf.predict([sentence_features(tokens) for tokens in sentences])]


def micro_f1(gold: list[list[str]], pred: list[list[str]]) -> float:
    from seqeval.metrics import f1_score

    return float(f1_score(gold, pred, zero_division=0))


@dataclass
class GridResult:
    crf: object
    best: dict[str, float]
    grid: list[dict[str, float]]  # c1, c2, dev_micro_f1, train_seconds for every point
    seconds: float


def select_on_dev(
    train: list[Sentence],
    dev: list[Sentence],
    grid: dict[str, tuple[float, ...]] = DEFAULT_GRID,
    max_iterations: int = 100,
) -> GridResult:
    """Train one CRF per (c1, c2), keep the one with the best dev micro-F1 (seqeval default mode)."""
    started = time.perf_counter()
    points, best_crf, best = [], None, None
    for c1, c2 in itertools.product(grid["c1"], grid["c2"]):
        t0 = time.perf_counter()
        crf = train_crf(train, c1, c2, max_iterations)
        point = {
            "c1": c1,
            "c2": c2,
            "dev_micro_f1": micro_f1([s.tags for s in dev], predict_tags(crf, [s.tokens for s in dev])),
            "train_seconds": round(time.perf_counter() - t0, 1),
        }
        log.info("CRF c1=%g c2=%g: dev micro-F1 %.4f (%.0f s)", c1, c2, point["dev_micro_f1"], point["train_seconds"])
        points.append(point)
        if best is None or point["dev_micro_f1"] > best["dev_micro_f1"]:
            best_crf, best = crf, point
    return GridResult(best_crf, best, points, time.perf_counter() - started)
