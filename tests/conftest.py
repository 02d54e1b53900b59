"""Shared fixtures: a tiny randomly initialised BERT with a real WordPiece tokenizer built here, and small corpora.

Nothing is downloaded: the tokenizer is trained on Arabic text written in this file, the model is built from a config.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# Short original news sentences with their entities: (text with [name](TYPE) markup, topic).
MARKED = [
    (
        "أكد وزير الخارجية [جيهون بيراموف](PERS) أن [أذربيجان](LOC) تتعاون مع [الناتو](ORG) في ملفات الأمن.",
        "internationalNews",
    ),
    (
        "التقى الرئيس [إيمانويل ماكرون](PERS) في [باريس](LOC) بوفد من [الأمم المتحدة](ORG) لبحث المناخ.",
        "internationalNews",
    ),
    ("أعلنت [وزارة المالية](ORG) في [القاهرة](LOC) أن التضخم تراجع إلى 12 بالمئة خلال مارس.", "economy"),
    ("قال المحافظ [طارق عامر](PERS) إن [البنك المركزي](ORG) سيرفع الفائدة وفق وكالة «[رويترز](ORG)».", "economy"),
    ("فاز نادي [الأهلي](ORG) على [الزمالك](ORG) بهدفين في [القاهرة](LOC) وسجل [محمد صلاح](PERS) هدفا.", "sport"),
    ("يستعد المنتخب للسفر إلى [الدوحة](LOC) للمشاركة في [كأس العالم](MISC) بقيادة المدرب [حسام حسن](PERS).", "sport"),
    ("أطلقت شركة [سامسونج](ORG) هاتفها الجديد في [سيول](LOC) بحضور [لي جاي يونغ](PERS).", "technology"),
    ("كشفت [جوجل](ORG) عن نموذج ذكاء اصطناعي جديد في مؤتمرها بمدينة [سان فرانسيسكو](LOC).", "technology"),
    ("وصل وزير الخارجية إلى [عمان](LOC) حيث التقى [أيمن الصفدي](PERS) لبحث الأوضاع في [غزة](LOC).", "middleEast"),
    (
        "دعت [جامعة الدول العربية](ORG) إلى وقف التصعيد في [لبنان](LOC) وقال [أحمد أبو الغيط](PERS) إن الحل سياسي.",
        "middleEast",
    ),
    ("افتتح [معرض القاهرة الدولي للكتاب](MISC) دورته الجديدة بمشاركة [دار الشروق](ORG) في [القاهرة](LOC).", "culture"),
    ("فازت الروائية [هدى بركات](PERS) بجائزة أدبية في [بيروت](LOC) عن روايتها الأخيرة.", "culture"),
]


def unmark(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    """`[name](TYPE)` markup -> plain text and (start, end, TYPE) spans."""
    import re

    text, spans, pos = [], [], 0
    out_len = 0
    for m in re.finditer(r"\[([^\]]+)\]\(([A-Z]+)\)", marked):
        before = marked[pos : m.start()]
        text.append(before)
        out_len += len(before)
        spans.append((out_len, out_len + len(m.group(1)), m.group(2)))
        text.append(m.group(1))
        out_len += len(m.group(1))
        pos = m.end()
    text.append(marked[pos:])
    return "".join(text), spans


def sample_documents():
    from arabic_news.data.document import Document, Span

    docs = []
    for i, (marked, topic) in enumerate(MARKED):
        text, spans = unmark(marked)
        docs.append(Document(f"t{i}", text, topic, [Span(s, e, label) for s, e, label in spans]))
    return docs


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> dict[str, Path]:
    """train.jsonl (all sentences, clitic-glued variants added) and dev.jsonl written in the project's native format."""
    from arabic_news.data.formats import write_documents

    folder = tmp_path_factory.mktemp("corpus")
    docs = sample_documents()
    write_documents(docs, folder / "train.jsonl")
    write_documents(docs[:6], folder / "dev.jsonl")
    return {"train": folder / "train.jsonl", "dev": folder / "dev.jsonl", "folder": folder}


def wordpiece_vocabulary(texts: list[str], size: int, specials: list[str]) -> dict[str, int]:
    """A WordPiece vocabulary built deterministically: the special tokens, every character (as a word start and as
    a `##` continuation, so that any word tokenizes), then the most frequent words and word endings (2-4 characters)
    up to `size`, ties broken by the piece itself. `tokenizers`' WordPieceTrainer breaks ties between equally frequent
    merges in hash-map order, which changes from one process to the next: its vocabularies differed by 48 pieces
    between runs, so the tiny models trained on them, and the figures tests check, changed from run to run."""
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers

    nfc, split = normalizers.NFC(), pre_tokenizers.BertPreTokenizer()
    words = Counter(w for t in texts for w, _ in split.pre_tokenize_str(nfc.normalize_str(t)))
    chars = sorted({c for w in words for c in w})
    pieces: Counter[str] = Counter()
    for word, count in words.items():
        pieces[word] += count
        for k in range(2, 5):
            if len(word) > k:
                pieces["##" + word[-k:]] += count
    vocabulary = list(dict.fromkeys(specials + chars + ["##" + c for c in chars]))
    taken = set(vocabulary)
    ranked = [p for p in sorted(pieces, key=lambda p: (-pieces[p], p)) if p not in taken]
    vocabulary += ranked[: max(0, size - len(vocabulary))]
    return {piece: i for i, piece in enumerate(vocabulary)}


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with a WordPiece tokenizer built from the sentences above, saved as a HF folder."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-encoder")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    texts = [unmark(m)[0] for m, _ in MARKED] + [
        (ROOT / "seeds" / name).read_text(encoding="utf-8") for name in sorted(os.listdir(ROOT / "seeds"))
    ]
    tok = Tokenizer(models.WordPiece(wordpiece_vocabulary(texts, 600, specials), unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def ner_ckpt(tiny_encoder, tmp_path_factory) -> Path:
    """The tiny subword NER checkpoint of tests/test_inference.py (trained once a session, see `tiny_checkpoint`)."""
    from .test_inference import tiny_checkpoint

    return tiny_checkpoint("subword", tiny_encoder, tmp_path_factory)


@pytest.fixture(scope="session")
def topic_ckpt(tiny_encoder, tmp_path_factory) -> Path:
    """The tiny topic checkpoint of tests/test_inference.py (trained once a session)."""
    from .test_inference import tiny_checkpoint

    return tiny_checkpoint("topic", tiny_encoder, tmp_path_factory)


def write_config(path: Path, **sections) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(sections, allow_unicode=True), encoding="utf-8")
    return path


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from a second thread; on a busy machine two spinning OpenMP threads made their steps
    about 20 times slower, and one thread also makes in-process and subprocess runs sum in the same order."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
