"""Character-span scores and the error breakdown on crafted cases whose every figure is known in advance."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arabic_news.data.document import Document, Span
from arabic_news.tasks.ner.spans import (
    ERROR_CLASSES,
    clitic_equivalent,
    document_counts,
    error_breakdown,
    span_scores,
)

TEXT = "زار محمد صلاح القاهرة ثم وأذربيجان مع وفد منظمة الصحة العالمية أمس"


def span(phrase: str, label: str, text: str = TEXT) -> Span:
    """The span of the first occurrence of `phrase` as a whole (offsets counted, not typed by hand)."""
    start = text.index(phrase)
    return Span(start, start + len(phrase), label)


def doc(*spans: Span, text: str = TEXT, doc_id: str = "d") -> Document:
    return Document(doc_id, text, None, list(spans))


GOLD = doc(
    span("محمد صلاح", "PERS"), span("القاهرة", "LOC"), span("أذربيجان", "LOC"), span("منظمة الصحة العالمية", "ORG")
)


def prf(scores: dict) -> tuple[float, float, float]:
    return scores["precision"], scores["recall"], scores["f1"]


# ---- clitic-tolerant matching ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, gold, predicted, expected",
    [
        ("ثم وأذربيجان", "أذربيجان", "وأذربيجان", True),  # wa- glued to the name
        ("ثم بالقاهرة", "القاهرة", "بالقاهرة", True),  # bi-
        ("ثم فلبيروت", "بيروت", "فلبيروت", True),  # fa- + li-: two proclitics
        ("ثم وـأذربيجان", "أذربيجان", "وـأذربيجان", True),  # wa- with a tatweel
        ("ثم القاهرة", "القاهرة", "قاهرة", False),  # the article al- is not a proclitic
        ("ثم وأذربيجان", "أذربيجان", "وأذربيج", False),  # different end: never forgiven
        ("ثم القاهرة", "القاهرة", "القاهرة", True),  # identical spans
    ],
)
def test_clitic_equivalence_forgives_only_leading_proclitics(text, gold, predicted, expected):
    g = Span(text.rindex(gold), text.rindex(gold) + len(gold), "LOC")
    p = Span(text.index(predicted), text.index(predicted) + len(predicted), "LOC")
    assert clitic_equivalent(text, g, p) is expected
    assert clitic_equivalent(text, p, g) is expected  # symmetric: either side may carry the clitic


# ---- scores ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tolerant", [False, True])
def test_perfect_predictions_score_one_everywhere(tolerant):
    scores = span_scores([GOLD], [GOLD], tolerant=tolerant)
    assert prf(scores["micro"]) == (1.0, 1.0, 1.0) and scores["micro"]["support"] == 4
    assert prf(scores["macro"]) == (1.0, 1.0, 1.0)
    assert {t: s["support"] for t, s in scores["per_type"].items()} == {"LOC": 2, "ORG": 1, "PERS": 1}


def test_all_missed_scores_zero_with_full_support():
    scores = span_scores([GOLD], [doc()])
    assert prf(scores["micro"]) == (0.0, 0.0, 0.0) and scores["micro"]["support"] == 4
    assert all(prf(s) == (0.0, 0.0, 0.0) for s in scores["per_type"].values())
    counts = document_counts(GOLD, doc())[""]
    assert (counts.tp, counts.fp, counts.fn) == (0, 0, 4)


def test_spurious_only_has_zero_precision_and_no_support():
    pred = doc(span("وفد", "ORG"), span("أمس", "MISC"))
    scores = span_scores([doc()], [pred])
    assert prf(scores["micro"]) == (0.0, 0.0, 0.0) and scores["micro"]["support"] == 0
    assert set(scores["per_type"]) == {"MISC", "ORG"}
    assert error_breakdown([doc()], [pred])["counts"]["spurious"] == 2


def test_clitic_boundary_is_forgiven_only_by_the_tolerant_match():
    pred = doc(
        span("محمد صلاح", "PERS"), span("القاهرة", "LOC"), span("وأذربيجان", "LOC"), span("منظمة الصحة العالمية", "ORG")
    )
    exact, tolerant = span_scores([GOLD], [pred]), span_scores([GOLD], [pred], tolerant=True)
    assert prf(exact["micro"]) == (0.75, 0.75, 0.75)
    assert prf(exact["per_type"]["LOC"]) == (0.5, 0.5, 0.5)
    assert prf(tolerant["micro"]) == (1.0, 1.0, 1.0)


def test_other_boundary_errors_and_type_errors_are_not_forgiven():
    pred = doc(
        span("محمد", "PERS"),  # a name cut short: end differs
        span("القاهرة", "ORG"),  # right span, wrong type
        span("أذربيجان", "LOC"),
        span("الصحة العالمية", "ORG"),
    )  # a non-clitic word dropped at the start
    for tolerant in (False, True):
        scores = span_scores([GOLD], [pred], tolerant=tolerant)
        assert prf(scores["micro"]) == (0.25, 0.25, 0.25)
        assert scores["per_type"]["LOC"]["recall"] == 0.5 and scores["per_type"]["LOC"]["precision"] == 1.0


def test_per_type_micro_and_macro_figures():
    # PERS right, LOC right, the second LOC missed, the ORG predicted as LOC.
    pred = doc(span("محمد صلاح", "PERS"), span("القاهرة", "LOC"), span("منظمة الصحة العالمية", "LOC"))
    scores = span_scores([GOLD], [pred])
    assert prf(scores["per_type"]["PERS"]) == (1.0, 1.0, 1.0)
    assert prf(scores["per_type"]["LOC"]) == (0.5, 0.5, 0.5)  # tp 1, fp 1, fn 1
    assert prf(scores["per_type"]["ORG"]) == (0.0, 0.0, 0.0)
    micro = scores["micro"]  # tp 2, fp 1, fn 2
    assert micro["precision"] == pytest.approx(2 / 3) and micro["recall"] == 0.5
    assert micro["f1"] == pytest.approx(4 / 7)
    assert scores["macro"]["f1"] == pytest.approx(0.5)  # (1 + 0.5 + 0) / 3
    assert scores["macro"]["precision"] == pytest.approx(0.5)


def test_scores_add_up_over_documents():
    other_text = "وصل الوفد إلى بيروت"
    other = doc(span("بيروت", "LOC", other_text), text=other_text, doc_id="e")
    scores = span_scores([GOLD, other], [GOLD, doc(text=other_text, doc_id="e")])
    assert scores["micro"]["support"] == 5 and scores["micro"]["recall"] == pytest.approx(0.8)
    assert scores["micro"]["precision"] == 1.0


# ---- error breakdown ---------------------------------------------------------------------------------------------
def test_every_error_class_is_counted_once_with_a_confusion_matrix_and_examples():
    gold = doc(
        span("محمد صلاح", "PERS"),
        span("القاهرة", "LOC"),
        span("أذربيجان", "LOC"),
        span("منظمة الصحة العالمية", "ORG"),
        span("أمس", "MISC"),
    )
    pred = doc(
        span("محمد صلاح", "PERS"),  # correct
        span("القاهرة", "ORG"),  # wrong type
        span("وأذربيجان", "LOC"),  # boundary (same type, overlapping)
        span("منظمة الصحة", "LOC"),  # boundary and type
        span("وفد", "ORG"),
    )  # spurious; MISC `أمس` is missed
    result = error_breakdown([gold], [pred])
    assert result["counts"] == {
        "correct": 1,
        "wrong_type": 1,
        "boundary": 1,
        "boundary_and_type": 1,
        "missed": 1,
        "spurious": 1,
    }
    assert list(result["counts"]) == list(ERROR_CLASSES)
    confusion = result["confusion"]
    assert set(confusion) == {"LOC", "MISC", "O", "ORG", "PERS"}
    expected_cells = {
        ("PERS", "PERS"): 1,
        ("LOC", "ORG"): 1,
        ("LOC", "LOC"): 1,
        ("ORG", "LOC"): 1,
        ("MISC", "O"): 1,
        ("O", "ORG"): 1,
    }
    for a in confusion:
        for b in confusion[a]:
            assert confusion[a][b] == expected_cells.get((a, b), 0), (a, b)
    examples = result["examples"]
    assert examples["correct"] == []  # only errors get examples
    (boundary,) = examples["boundary"]
    assert boundary["gold"]["text"] == "أذربيجان" and boundary["predicted"]["text"] == "وأذربيجان"
    assert "[أذربيجان]" in boundary["context"] and boundary["doc"] == "d"
    (spurious,) = examples["spurious"]
    assert spurious["gold"] is None and spurious["predicted"]["label"] == "ORG" and "[وفد]" in spurious["context"]
    (missed,) = examples["missed"]
    assert missed["predicted"] is None and missed["gold"]["label"] == "MISC"


def test_a_prediction_spanning_two_gold_entities_is_used_once():
    gold = doc(span("محمد صلاح", "PERS"), span("القاهرة", "LOC"))
    pred = doc(span("محمد صلاح القاهرة", "PERS"))
    counts = error_breakdown([gold], [pred])["counts"]
    assert counts["boundary"] == 1 and counts["missed"] == 1 and counts["spurious"] == 0


def test_examples_are_limited_and_context_is_clipped():
    gold = doc(span("محمد صلاح", "PERS"), span("القاهرة", "LOC"), span("أذربيجان", "LOC"))
    result = error_breakdown([gold], [doc()], examples=2, context=4)
    assert result["counts"]["missed"] == 3
    assert len(result["examples"]["missed"]) == 2
    assert result["examples"]["missed"][0]["context"] == "…زار [محمد صلاح] الق…"


# ---- invariants on arbitrary predictions ---------------------------------------------------------------------------
WORDS = TEXT.split(" ")
WORD_STARTS = [sum(len(w) + 1 for w in WORDS[:i]) for i in range(len(WORDS))]


@st.composite
def flat_spans(draw) -> list[Span]:
    """Non-overlapping spans of whole words (with an optional one-letter clitic cut) and random types."""
    cuts = sorted(draw(st.sets(st.integers(0, len(WORDS)), max_size=8)))
    spans = []
    for a, b in zip(cuts, cuts[1:]):
        if draw(st.booleans()):
            start = WORD_STARTS[a] + draw(st.integers(0, 1))
            end = WORD_STARTS[b - 1] + len(WORDS[b - 1])
            if start < end:
                spans.append(Span(start, end, draw(st.sampled_from(["PERS", "LOC", "ORG"]))))
    return spans


@settings(max_examples=60, deadline=None)
@given(flat_spans(), flat_spans())
def test_breakdown_and_scores_agree_on_any_predictions(gold_spans, pred_spans):
    gold, pred = doc(*gold_spans), doc(*pred_spans)
    counts = error_breakdown([gold], [pred])["counts"]
    exact, tolerant = span_scores([gold], [pred]), span_scores([gold], [pred], tolerant=True)
    matched = len(gold_spans) - counts["missed"]
    assert sum(counts[k] for k in ERROR_CLASSES if k != "spurious") == len(gold_spans)
    assert counts["spurious"] == len(pred_spans) - matched
    assert exact["micro"]["recall"] * len(gold_spans) == pytest.approx(counts["correct"])
    assert tolerant["micro"]["f1"] >= exact["micro"]["f1"]
    assert span_scores([gold], [gold])["micro"]["f1"] == (1.0 if gold_spans else 0.0)
