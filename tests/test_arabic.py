"""Tests for the Arabic text layer: normalization and its offset map, word tokens, sentence spans.

Property tests (hypothesis) prove, on arbitrary Unicode text mixed with the characters that matter here, that:
- every normalized character i comes from the original chunk [starts[i], ends[i]): the chunk normalizes to exactly
  that character, chunks are disjoint and in order, and whatever lies between chunks normalizes to nothing;
- for every normalized span [s, e), `to_original` gives [a, b) with normalize(original[a:b]) == text[s:e] exactly
  (the same options), original[a] is a kept character, neither original[a] nor original[b-1] is a removed control,
  and `to_normalized(a, b) == (s, e)`;
- for every original span, `to_normalized` returns exactly the normalized characters whose chunks overlap it;
- normalization is idempotent; tokens and sentences cover every non-whitespace character exactly once, in order.
"""

from __future__ import annotations

import json
import time
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arabic_news.text import (
    ARABIC_PROCLITICS,
    CONTROLS,
    TASHKEEL,
    TATWEEL,
    NormalizeOptions,
    Token,
    normalize,
    normalize_text,
    split_sentences,
    tokenize_words,
)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"

# Groups of characters that exercise every rule; arbitrary Unicode (st.characters()) is drawn alongside them.
CHARACTER_GROUPS = [
    "ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآٱؤئىة",  # letters, hamza and alef forms
    "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0653\u0654\u0670\u0610\u06d6\u08f0\u0640",  # marks, tatweel
    "\u200e\u200f\u061c\u200b\u200c\u200d\ufeff\u202a\u202b\u202c\u202e\u2066\u2069\u00ad",  # controls
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳٫٬0123456789",  # digits and number separators
    "ﺍﺃﺇﻯﺓﻻیکھaZ_",  # presentation forms, a ligature, Persian and Latin letters
    "،؛؟.,:!()[]«»“”\"'-‘’…?;/%❤\ufe0f",  # punctuation and symbols
    " \n\t\u00a0\u2028",  # whitespace
]
MARKS, CONTROLS_SEEN = CHARACTER_GROUPS[1], CHARACTER_GROUPS[2]
any_character = st.one_of(*(st.sampled_from(group) for group in CHARACTER_GROUPS), st.characters())
# A text is a list of clusters: any character, then maybe marks, a control and more marks (as in real pointed
# text with bidi marks), so that the attachment rules are exercised in most examples.
cluster = st.tuples(
    any_character, st.text(MARKS, max_size=2), st.text(CONTROLS_SEEN, max_size=1), st.text(MARKS, max_size=1)
).map("".join)
texts = st.lists(cluster, max_size=12).map("".join)
# Half the examples use the default options, the configuration that matters most.
options_strategy = st.one_of(
    st.just(NormalizeOptions()),
    st.builds(NormalizeOptions, **{f.name: st.booleans() for f in fields(NormalizeOptions)}),
)
FAST = settings(max_examples=100, deadline=None)


def removed_controls(options: NormalizeOptions) -> frozenset[str]:
    return CONTROLS if options.remove_controls else frozenset()


def removed_attached(options: NormalizeOptions) -> frozenset[str]:
    return (TASHKEEL if options.remove_tashkeel else frozenset()) | (
        frozenset(TATWEEL) if options.remove_tatweel else frozenset()
    )


# ------------------------------------------------------------------------------------- normalization examples


def test_tashkeel_is_removed_and_the_letters_keep_their_diacritics_in_the_map():
    result = normalize("مُحَمَّد")
    assert result.text == "محمد"
    assert result.to_original(0, 4) == (0, 8)
    assert result.to_original(1, 2) == (2, 4)  # ح with its fatha
    assert result.to_original(2, 3) == (4, 7)  # م with shadda and fatha


def test_tanween_sukun_dagger_alef_and_quranic_marks_are_removed():
    assert normalize("كلًا").text == "كلا"
    assert normalize("مِنْ").text == "من"
    assert normalize("هٰذا").text == "هذا"
    assert normalize("الرَّحِيمِ ۖ").text == "الرحيم "


def test_alef_forms_are_unified():
    assert normalize("أحمد إبراهيم آمال ٱلله").text == "احمد ابراهيم امال الله"
    keep = NormalizeOptions(unify_alef=False)
    assert normalize("أحمد إبراهيم", keep).text == "أحمد إبراهيم"


def test_alef_maqsura_and_taa_marbuta():
    assert normalize("مصطفى في المدينة").text == "مصطفي في المدينة"  # taa marbuta kept by default
    assert normalize("المدينة", NormalizeOptions(taa_marbuta_to_ha=True)).text == "المدينه"
    assert normalize("مصطفى", NormalizeOptions(alef_maqsura_to_ya=False)).text == "مصطفى"


def test_arabic_indic_and_persian_digits_become_ascii():
    assert normalize("عام ٢٠٢٤").text == "عام 2024"
    assert normalize("۱۴۰۳").text == "1403"
    assert normalize("٣٫٥ و١٬٢٠٠").text == "3.5 و1,200"
    assert normalize("٢٠٢٤", NormalizeOptions(ascii_digits=False)).text == "٢٠٢٤"


def test_tatweel_is_removed_and_belongs_to_the_letter_before_it():
    result = normalize("لـ “الحلف”")
    assert result.text == "ل “الحلف”"
    assert result.to_original(0, 1) == (0, 2)


def test_bidi_marks_are_removed_and_never_become_part_of_an_entity():
    original = "\u200fالناتو\u200e \u202bحلف\u202c"
    result = normalize(original)
    assert result.text == "الناتو حلف"
    assert result.to_original(0, 6) == (1, 7)
    assert original[slice(*result.to_original(7, 10))] == "حلف"


def test_a_control_after_diacritics_is_not_part_of_the_letter():
    original = "بَّ\u200fج\u200eُ"  # the damma after the LRM still belongs to ج
    result = normalize(original)
    assert result.text == "بج"
    assert result.to_original(0, 1) == (0, 3)
    assert result.to_original(1, 2) == (4, 7)


def test_presentation_forms_and_persian_letters_are_folded_one_to_one():
    assert normalize("ﺍﻟﺴﻼﻡ").text == "السﻼم"  # the lam-alef ligature would need two letters: kept
    assert normalize("الرئیسیة إلی الاستھلاکي").text == "الرئيسية الي الاستهلاكي"
    off = NormalizeOptions(fold_presentation_forms=False, persian_letters_to_arabic=False)
    assert normalize("ﺍیک", off).text == "ﺍیک"


def test_clitic_entity_maps_back_through_diacritics_and_tatweel():
    original = "زار وَأَذْرَبِيـجَانُ أمس"
    result = normalize(original)
    assert result.text == "زار واذربيجان امس"
    start = result.text.index("اذربيجان")
    a, b = result.to_original(start, start + len("اذربيجان"))
    assert original[a:b] == "أَذْرَبِيـجَانُ"  # includes the tatweel inside and the final damma
    gold_start = original.index("أ")
    assert result.to_normalized(gold_start, b) == (start, start + 8)
    # A gold span that stops before the last letter's damma still covers the whole normalized word.
    assert result.to_normalized(gold_start, b - 1) == (start, start + 8)
    # Without alef unification the normalized entity reads as written.
    plain = normalize(original, NormalizeOptions(unify_alef=False))
    start = plain.text.index("أذربيجان")
    assert original[slice(*plain.to_original(start, start + 8))] == "أَذْرَبِيـجَانُ"


def test_no_normalization_is_the_identity():
    original = "مُحَمَّد\u200f ٢٠٢٤ أحمد"
    result = normalize(original, NormalizeOptions.none())
    assert result.text == original
    assert result.starts == tuple(range(len(original)))
    assert all(value is False for value in NormalizeOptions.none().to_dict().values())


def test_empty_spans_and_bad_spans():
    result = normalize("\u200fاَب\u200e")  # normalized "اب"
    assert result.to_original(0, 0) == (1, 1)
    assert result.to_original(1, 1) == (3, 3)  # after the fatha of the first letter
    assert result.to_original(2, 2) == (5, 5)  # end of the original
    assert result.to_normalized(0, 1) == (0, 0)  # only a control: nothing normalized
    assert result.to_normalized(2, 3) == (0, 1)  # a span starting on a diacritic takes in its letter
    with pytest.raises(ValueError, match="not a valid span of the normalized text"):
        result.to_original(1, 3)
    with pytest.raises(ValueError, match="0 <= start <= end"):
        result.to_normalized(3, 2)


def test_normalize_of_empty_text_and_wrong_type():
    empty = normalize("")
    assert (empty.text, empty.starts, empty.to_original(0, 0)) == ("", (), (0, 0))
    with pytest.raises(TypeError, match="needs a str"):
        normalize(None)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------- options


def test_options_from_dict_round_trip_and_defaults():
    options = NormalizeOptions(taa_marbuta_to_ha=True, ascii_digits=False)
    assert NormalizeOptions.from_dict(options.to_dict()) == options
    assert NormalizeOptions.from_dict(None) == NormalizeOptions()
    assert NormalizeOptions.from_dict({"remove_tatweel": False}) == NormalizeOptions(remove_tatweel=False)


def test_unknown_option_names_the_key_and_the_valid_keys():
    with pytest.raises(ValueError) as caught:
        NormalizeOptions.from_dict({"remove_diacritics": True})
    message = str(caught.value)
    assert "'remove_diacritics'" in message and "remove_tashkeel" in message and "taa_marbuta_to_ha" in message


def test_option_values_must_be_booleans():
    with pytest.raises(ValueError, match="'unify_alef' must be true or false"):
        NormalizeOptions.from_dict({"unify_alef": "yes"})
    with pytest.raises(ValueError, match="must be a mapping"):
        NormalizeOptions.from_dict(["unify_alef"])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ normalization properties


@FAST
@given(text=texts, options=options_strategy)
def test_every_normalized_character_comes_from_its_chunk(text: str, options: NormalizeOptions):
    result = normalize(text, options)
    assert len(result.starts) == len(result.ends) == len(result.text)
    attached, controls = removed_attached(options), removed_controls(options)
    previous_end = 0
    for i, (start, end) in enumerate(zip(result.starts, result.ends)):
        assert previous_end <= start < end
        assert normalize(text[previous_end:start], options).text == ""  # gaps hold only deletions
        assert normalize(text[start:end], options).text == result.text[i]
        assert text[start] not in attached | controls
        assert all(ch in attached | controls for ch in text[start + 1 : end])
        assert text[end - 1] not in controls
        previous_end = end
    assert normalize(text[previous_end:], options).text == ""


@FAST
@given(data=st.data(), text=texts, options=options_strategy)
def test_to_original_round_trips_any_normalized_span(data, text: str, options: NormalizeOptions):
    result = normalize(text, options)
    n = len(result.text)
    start = data.draw(st.integers(0, n), label="start")
    end = data.draw(st.integers(start, n), label="end")
    a, b = result.to_original(start, end)
    assert 0 <= a <= b <= len(text)
    assert normalize(text[a:b], options).text == result.text[start:end]
    assert result.to_normalized(a, b) == (start, end)
    if start < end:
        controls = removed_controls(options)
        assert text[a] not in controls | removed_attached(options)
        assert text[b - 1] not in controls


@FAST
@given(data=st.data(), text=texts, options=options_strategy)
def test_to_normalized_returns_exactly_the_overlapping_characters(data, text: str, options: NormalizeOptions):
    result = normalize(text, options)
    a = data.draw(st.integers(0, len(text)), label="a")
    b = data.draw(st.integers(a + 1, len(text)), label="b") if a < len(text) else a
    s, e = result.to_normalized(a, b)
    overlapping = [i for i, (start, end) in enumerate(zip(result.starts, result.ends)) if start < b and a < end]
    if a < b:
        assert list(range(s, e)) == overlapping
    else:
        assert s == e


@FAST
@given(text=texts, options=options_strategy)
def test_normalization_is_idempotent_and_normalize_text_agrees(text: str, options: NormalizeOptions):
    once = normalize(text, options)
    twice = normalize(once.text, options)
    assert twice.text == once.text
    assert twice.starts == tuple(range(len(once.text)))
    assert normalize_text(text, options) == once.text


# -------------------------------------------------------------------------------------------------- tokenizer


def texts_of(text: str) -> list[str]:
    return [token.text for token in tokenize_words(text)]


def test_quotation_marks_are_separated_from_words():
    assert texts_of("«الخارجية الأذربيجانية» تؤكد مع “الناتو”") == [
        "«",
        "الخارجية",
        "الأذربيجانية",
        "»",
        "تؤكد",
        "مع",
        "“",
        "الناتو",
        "”",
    ]
    assert texts_of("لـ‘الحلف’") == ["لـ", "‘", "الحلف", "’"]


@pytest.mark.parametrize("mark", list("،؛؟.,:!()[]«»“”\"'-‘’…?;/%"))
def test_each_punctuation_mark_is_its_own_token(mark: str):
    assert texts_of(f"كلمة{mark}أخرى") == ["كلمة", mark, "أخرى"]


def test_numbers_stay_whole():
    text = "عام 2024، و3.5 مليون و1,200 جندي و٢٠٢٤ و٣٫٥ في 2024."
    assert texts_of(text) == ["عام", "2024", "،", "و3.5", "مليون", "و1,200", "جندي", "و٢٠٢٤", "و٣٫٥", "في", "2024", "."]


def test_latin_words_stay_whole_and_hyphens_split():
    assert texts_of("حلف NATO عبر e-mail") == ["حلف", "NATO", "عبر", "e", "-", "mail"]


def test_clitics_and_diacritics_stay_in_the_word():
    assert texts_of("وأذربيجان") == ["وأذربيجان"]
    assert texts_of("وَأَذْرَبِيـجَانُ، مُحَمَّد") == ["وَأَذْرَبِيـجَانُ", "،", "مُحَمَّد"]
    assert set(ARABIC_PROCLITICS) == set("وفبلك")


def test_runs_of_one_mark_are_one_token_but_different_marks_are_not():
    assert texts_of("السلام.. وزيادة...!?") == ["السلام", "..", "وزيادة", "...", "!", "?"]


def test_format_characters_inside_a_word_stay_and_at_its_edge_split():
    assert texts_of("\u200bكشفت") == ["\u200b", "كشفت"]
    assert texts_of("می\u200cخواهم") == ["می\u200cخواهم"]
    assert texts_of("❤\ufe0f") == ["❤\ufe0f"]  # the variation selector stays on its symbol


def test_token_offsets_index_the_given_text():
    text = "  قال\tوزير  الخارجية،\n"
    tokens = tokenize_words(text)
    assert tokens[0] == Token(2, 5, "قال")
    assert all(text[t.start : t.end] == t.text for t in tokens)


@FAST
@given(text=texts)
def test_tokens_cover_every_non_space_character_once_in_order(text: str):
    tokens = tokenize_words(text)
    position = 0
    for token in tokens:
        assert position <= token.start < token.end
        assert text[token.start : token.end] == token.text
        assert not any(ch.isspace() for ch in token.text)
        assert text[position : token.start].isspace() or position == token.start
        position = token.end
    assert text[position:].strip() == ""
    assert "".join(t.text for t in tokens) == "".join(ch for ch in text if not ch.isspace())


# -------------------------------------------------------------------------------------------------- sentences


def sentences_of(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_sentences_end_at_terminators_and_newlines_but_not_inside_numbers():
    text = "قال: «انتهى.» ثم ارتفع 3.5 بالمئة.. وزار example.com اليوم!\nسطر جديد؟ نعم… حسنا"
    assert sentences_of(text) == [
        "قال: «انتهى.»",
        "ثم ارتفع 3.5 بالمئة..",
        "وزار example.com اليوم!",
        "سطر جديد؟",
        "نعم…",
        "حسنا",
    ]


def test_sentences_are_stripped_and_blank_lines_vanish():
    text = "  أولا.  \n\n  ثانيا  "
    assert split_sentences(text) == [(2, 7), (13, 18)]
    assert split_sentences("   \n ") == []


@FAST
@given(text=texts)
def test_sentences_cover_every_non_space_character_once_in_order(text: str):
    spans = split_sentences(text)
    position = 0
    for start, end in spans:
        assert position <= start < end
        assert text[position:start].strip() == ""
        assert not text[start].isspace() and not text[end - 1].isspace()
        position = end
    assert text[position:].strip() == ""


# --------------------------------------------------------------------------------------------- real articles


def test_seed_article_keeps_its_entities_reachable():
    seed = next((REPO / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    result = normalize(seed)
    start = result.text.index("اذربيجان")
    assert seed[slice(*result.to_original(start, start + 8))] == "أذربيجان"
    tokens = tokenize_words(seed)
    assert "“" in {t.text for t in tokens} and "الناتو" in {t.text for t in tokens}
    assert "".join(t.text for t in tokens) == "".join(seed.split())


def test_long_article_is_processed_in_linear_time():
    paragraph = "أكَّد وزيرُ الخارجيـة\u200f «جيهون بيراموف»، عام ٢٠٢٤، أن 3.5% من التعاون مع “الناتو”... "
    article = paragraph * (200_000 // len(paragraph) + 1)
    began = time.perf_counter()
    result = normalize(article)
    tokens = tokenize_words(article)
    sentences = split_sentences(article)
    elapsed = time.perf_counter() - began
    assert len(article) >= 200_000 and len(result.text) < len(article)
    assert len(tokens) > 30_000 and len(sentences) > 2_000
    assert elapsed < 5.0, f"200k characters took {elapsed:.2f}s"  # about 0.3 s here; generous for shared CPUs


@pytest.mark.skipif(not (SHARED_DATA / "ant" / "dev.jsonl").exists(), reason="benchmark corpora not present")
def test_real_news_articles_keep_the_offset_and_token_invariants():
    with open(SHARED_DATA / "ant" / "dev.jsonl", encoding="utf-8") as lines:
        articles = [json.loads(line)["text"] for _, line in zip(range(200), lines)]
    for article in articles:
        result = normalize(article)
        assert normalize(result.text).text == result.text
        for i in range(0, len(result.text), 97):  # spot-check spans across the article
            a, b = result.to_original(i, min(i + 20, len(result.text)))
            assert normalize(article[a:b]).text == result.text[i : i + 20]
        assert "".join(t.text for t in tokenize_words(article)) == "".join(article.split())
