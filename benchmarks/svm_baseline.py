"""TF-IDF + a linear classifier (LinearSVC, or logistic regression): the strong classic baselines for news topics.

Features: TF-IDF of word 1-2 grams and of character 2-5 grams (within word boundaries), sublinear term frequency,
over the title and the text after the project's default Arabic normalization (the same the fine-tuned model sees).
C is chosen on dev from a small grid by macro-F1; the vectorizers are fitted on train only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from arabic_news.data.document import Document
from arabic_news.text import normalize_text

log = logging.getLogger("benchmarks.svm")

DEFAULT_C_GRID = (0.1, 0.3, 1.0, 3.0)
LR_C_GRID = (100.0, 1000.0)  # logistic regression wants little regularization on these features


def article_text(doc: Document, use_title: bool = True) -> str:
    title = doc.meta.get("title") if use_title else None
    return normalize_text(f"{title}\n{doc.text}" if title else doc.text)


def build_vectorizer(min_df: int = 2):
    """Word 1-2 grams and character 2-5 grams, side by side in one sparse matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    # The token pattern keeps one-letter words (و, ب are separate words in some texts) and any non-space run.
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df, sublinear_tf=True)
    return FeatureUnion([("word_1_2", words), ("char_2_5", chars)])


@dataclass
class SvmResult:
    vectorizer: object
    classifier: object
    best: dict
    grid: list[dict]  # C, dev_macro_f1, fit_seconds for every point
    vectorize_seconds: float
    seconds: float
    features: int


def select_on_dev(
    train: list[Document],
    dev: list[Document],
    c_grid: tuple[float, ...] = DEFAULT_C_GRID,
    use_title: bool = True,
    min_df: int = 2,
    classifier: str = "svm",
) -> SvmResult:
    """Fit the vectorizer on train, one classifier per C (`svm`: LinearSVC; `lr`: multinomial logistic regression),
    keep the best by dev macro-F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.svm import LinearSVC

    def make(c: float):
        return LinearSVC(C=c) if classifier == "svm" else LogisticRegression(C=c, max_iter=1000)

    started = time.perf_counter()
    vectorizer = build_vectorizer(min_df)
    x_train = vectorizer.fit_transform([article_text(d, use_title) for d in train])
    x_dev = vectorizer.transform([article_text(d, use_title) for d in dev])
    vectorize_seconds = time.perf_counter() - started
    log.info("TF-IDF: %d train x %d features (%.0f s)", x_train.shape[0], x_train.shape[1], vectorize_seconds)
    y_train, y_dev = [d.topic for d in train], [d.topic for d in dev]
    grid, best, best_classifier = [], None, None
    for c in c_grid:
        t0 = time.perf_counter()
        model = make(c).fit(x_train, y_train)
        point = {
            "C": c,
            "dev_macro_f1": float(
                f1_score(y_dev, model.predict(x_dev), average="macro", labels=sorted(set(y_dev)), zero_division=0)
            ),
            "fit_seconds": round(time.perf_counter() - t0, 1),
        }
        log.info("%s C=%g: dev macro-F1 %.4f (%.0f s)", classifier, c, point["dev_macro_f1"], point["fit_seconds"])
        grid.append(point)
        if best is None or point["dev_macro_f1"] > best["dev_macro_f1"]:
            best, best_classifier = point, model
    return SvmResult(
        vectorizer, best_classifier, best, grid, vectorize_seconds, time.perf_counter() - started, x_train.shape[1]
    )


def predict_documents(result: SvmResult, docs: list[Document], use_title: bool = True) -> list[Document]:
    """Copies of `docs` with the predicted topic in place of the gold one (the form the project's scorer takes)."""
    topics = result.classifier.predict(result.vectorizer.transform([article_text(d, use_title) for d in docs]))
    return [replace(d, topic=str(t), meta=dict(d.meta)) for d, t in zip(docs, topics)]
