import time
import pytest
from arabic_news.config import config_from_dict
from arabic_news.training import train
from arabic_news.inference import load
from arabic_news.formats import read_documents, write_documents
from .conftest import ROOT, sample_documents

def test_explore(tmp_path, tiny_encoder):
    seed = read_documents(ROOT / "data" / "seed.jsonl")
    docs = sample_documents() + seed
    write_documents(docs, tmp_path / "train.jsonl")
    t = time.time()
    out = train(config_from_dict({
        "task": "ner", "model": {"name_or_path": str(tiny_encoder)},
        "data": {"train": str(tmp_path / "train.jsonl")},
        "preprocessing": {"granularity": "subword", "max_length": 64, "stride": 16},
        "training": {"output_dir": str(tmp_path / "ner"), "num_train_epochs": 40, "learning_rate": 5e-3,
                     "per_device_train_batch_size": 8, "seed": 7, "logging_strategy": "no", "save_strategy": "no"}}))
    print("train s", time.time() - t)
    tagger = load(out)
    p = tagger(seed[0].text)
    gold = set(seed[0].entities)
    pred = set(p.entities)
    print(len(gold), len(pred), len(gold & pred))
    print("missed", sorted(gold - pred))
    print("extra", sorted(pred - gold))
    print(tagger.ner.tokenizer.tokenize("وأذربيجان وحلف"))
    for t in ["وصل الوفد إلى أذربيجان وأذربيجان أمس", "قال ماكرون في باريس"]:
        print(tagger(t).entities)
