"""Data diagnostics before training: what is in the files and what will go wrong with them.

For each file: documents, words, entities per type, topics per label, entity length in words, spans that do
not fall on word boundaries, repaired BIO sequences (CoNLL), invalid or overlapping spans, duplicate texts
(with conflicting labels called out); across files: texts shared between files (train/test leakage); and with
a tokenizer, how many documents exceed the model's length and how many entities truncation would lose.
Problems are reported, not raised, wherever the rest of the file can still be read.
"""

from __future__ import annotations

import bisect
import hashlib
import statistics
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from ..errors import ArabicNewsError, DataError, DataWarning
from .conll import ConllStats, read_conll
from .document import Document
from .formats import detect_format, read_documents

_EXAMPLES = 5
_LONGEST_LENGTH_BUCKET = 6  # entity lengths of 6 words and more share one bucket ("6+")


def inspect_files(
    paths: Sequence[str | Path],
    *,
    tokenizer: Any = None,
    tokenizer_name: str | None = None,
    max_length: int = 512,
    label_field_hint: str | None = None,
) -> dict[str, Any]:
    """The full report as a JSON-ready dict: {"files": [...], "shared": [...], "tokenizer": ..., "ok": bool}.
    `tokenizer` (a loaded Hugging Face tokenizer, named `tokenizer_name` in the report) adds subword lengths."""
    loaded = [_load_file(path, label_field_hint) for path in paths]
    files = []
    for report, docs in loaded:
        if docs is not None:
            report.update(_document_stats(docs))
            if tokenizer is not None:
                report["subwords"] = _subword_stats(docs, tokenizer, max_length)
        files.append(report)
    return {
        "files": files,
        "shared": _shared_between_files(loaded),
        "tokenizer": tokenizer_name,
        "max_length": max_length if tokenizer is not None else None,
        "ok": all(f.get("error") is None for f in files),
    }


def _load_file(path: str | Path, label_field_hint: str | None) -> tuple[dict[str, Any], list[Document] | None]:
    report: dict[str, Any] = {"path": str(path), "format": None, "error": None, "issues": [], "repairs": None}
    issues: list[DataError] = []
    try:
        report["format"] = detect_format(path)
        if report["format"] == "conll":
            stats = ConllStats()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)  # the report lists the repairs itself
                docs = read_conll(path, stats=stats)
            report["repairs"] = {
                "count": stats.repairs,
                "scheme": stats.schemes.get(str(path)),
                "examples": stats.repair_places[:_EXAMPLES],
            }
        else:
            docs = read_documents(path, label_field_hint=label_field_hint, issues=issues)
    except ArabicNewsError as err:
        report["error"] = str(err)
        return report, None
    report["issues"] = [str(issue) for issue in issues]
    return report, docs


def _document_stats(docs: list[Document]) -> dict[str, Any]:
    words_total = 0
    lengths: Counter[str] = Counter()
    off_boundary: list[str] = []
    for doc in docs:
        words = doc.words()
        words_total += len(words)
        starts, ends = [w[0] for w in words], [w[1] for w in words]
        for span in doc.entities:
            covered = bisect.bisect_left(starts, span.end) - bisect.bisect_right(ends, span.start)
            lengths[_length_bucket(covered)] += 1
            if not (_contains(starts, span.start) and _contains(ends, span.end)):
                off_boundary.append(f"{doc.id}: {span!r}")
    entity_types = Counter(s.label for d in docs for s in d.entities)
    return {
        "documents": len(docs),
        "words": words_total,
        "empty_documents": sum(1 for d in docs if not d.text.strip()),
        "entities": sum(entity_types.values()),
        "entity_types": dict(entity_types.most_common()),
        "documents_without_entities": sum(1 for d in docs if not d.entities) if entity_types else None,
        "topics": dict(Counter(d.topic for d in docs if d.topic is not None).most_common()),
        "unlabeled_topics": sum(1 for d in docs if d.topic is None),
        "entity_length_words": {k: lengths[k] for k in sorted(lengths, key=_bucket_order)},
        "spans_off_word_boundaries": {"count": len(off_boundary), "examples": off_boundary[:_EXAMPLES]},
        "duplicates": _duplicates(docs),
    }


def _length_bucket(words: int) -> str:
    return f"{_LONGEST_LENGTH_BUCKET}+" if words >= _LONGEST_LENGTH_BUCKET else str(words)


def _bucket_order(bucket: str) -> int:
    return int(bucket.rstrip("+"))


def _contains(sorted_values: list[int], value: int) -> bool:
    index = bisect.bisect_left(sorted_values, value)
    return index < len(sorted_values) and sorted_values[index] == value


def text_key(text: str) -> str:
    """Hash used to find the same article twice; surrounding whitespace does not make two texts different."""
    return hashlib.sha1(text.strip().encode("utf-8")).hexdigest()


def _duplicates(docs: list[Document]) -> dict[str, Any]:
    groups: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        groups[text_key(doc.text)].append(doc)
    repeated = [group for group in groups.values() if len(group) > 1]
    conflicting: list[list[Document]] = []
    agreeing: list[list[Document]] = []
    for group in repeated:
        labels = {(d.topic, tuple(d.entities)) for d in group}
        (conflicting if len(labels) > 1 else agreeing).append(group)
    return {
        "groups": len(repeated),
        "extra_copies": sum(len(g) - 1 for g in repeated),
        "conflicting_labels": len(conflicting),
        "examples": [[d.id for d in g[:3]] for g in (conflicting + agreeing)[:_EXAMPLES]],  # conflicts first
    }


def _shared_between_files(loaded: list[tuple[dict[str, Any], list[Document] | None]]) -> list[dict[str, Any]]:
    keyed = [(report["path"], _first_id_per_text(docs)) for report, docs in loaded if docs is not None]
    shared = []
    for (path_a, keys_a), (path_b, keys_b) in combinations(keyed, 2):
        common = [k for k in keys_a if k in keys_b]
        if common:
            shared.append(
                {
                    "files": [path_a, path_b],
                    "documents": len(common),
                    "examples": [[keys_a[k], keys_b[k]] for k in common[:_EXAMPLES]],
                }
            )
    return shared


def _first_id_per_text(docs: list[Document]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for doc in docs:
        ids.setdefault(text_key(doc.text), doc.id)
    return ids


# ----------------------------------------------------------------------------------------------- subwords


def _subword_stats(docs: list[Document], tokenizer, max_length: int, batch: int = 256) -> dict[str, Any]:
    """Lengths in subword tokens (special tokens included) and what truncation at `max_length` would drop."""
    lengths: list[int] = []
    cut_entities = 0
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    fast = getattr(tokenizer, "is_fast", False)
    for first in range(0, len(docs), batch):
        chunk = docs[first : first + batch]
        encoded = tokenizer(
            [d.text for d in chunk],
            add_special_tokens=True,
            truncation=False,
            verbose=False,
            return_offsets_mapping=fast,
            return_special_tokens_mask=fast,
        )
        for i, doc in enumerate(chunk):
            lengths.append(len(encoded["input_ids"][i]))
            if fast and doc.entities:
                cut_entities += _entities_beyond(
                    doc, encoded["offset_mapping"][i], encoded["special_tokens_mask"][i], budget
                )
    over = sum(1 for n in lengths if n > max_length)
    return {
        "median": statistics.median(lengths) if lengths else 0,
        "p95": _percentile(lengths, 0.95),
        "max": max(lengths, default=0),
        "over_max_length": over,
        "over_max_length_share": round(over / len(lengths), 4) if lengths else 0.0,
        "entities_beyond_max_length": cut_entities if fast else None,
    }


def _entities_beyond(doc: Document, offsets: list, special_mask: list[int], budget: int) -> int:
    content = [offset for offset, special in zip(offsets, special_mask) if not special]
    if len(content) <= budget:
        return 0
    cut = content[budget - 1][1] if budget > 0 else 0  # text after this character would be truncated away
    return sum(1 for span in doc.entities if span.end > cut)


def _percentile(values: list[int], q: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ----------------------------------------------------------------------------------------------- text report


def format_report(report: dict[str, Any]) -> str:
    """The report as plain text for a terminal."""
    lines: list[str] = []
    for file in report["files"]:
        lines.extend(_file_lines(file, report))
        lines.append("")
    lines.append("== documents shared between files (same text)")
    if report["shared"]:
        for item in report["shared"]:
            a, b = item["files"]
            examples = "; ".join(f"{x} = {y}" for x, y in item["examples"][:3])
            lines.append(f"  {a} & {b}: {item['documents']:,} (e.g. {examples})")
    else:
        lines.append("  none")
    return "\n".join(lines) + "\n"


def _file_lines(file: dict[str, Any], report: dict[str, Any]) -> list[str]:
    title = f"== {file['path']} ({file['format'] or 'unknown format'})"
    if file["error"]:
        return [title, f"  ERROR {file['error']}"]
    lines = [
        title,
        f"  documents {file['documents']:,}   words {file['words']:,}   entities {file['entities']:,}"
        + (f"   empty documents {file['empty_documents']:,}" if file["empty_documents"] else ""),
    ]
    if file["entities"]:
        lines.append("  entities per type: " + _counts(file["entity_types"], file["entities"]))
        lines.append(
            "  entity length in words: " + "  ".join(f"{k}: {v:,}" for k, v in file["entity_length_words"].items())
        )
        lines.append(f"  documents without entities: {file['documents_without_entities']:,}")
    if file["topics"]:
        lines.append(
            "  topics: "
            + _counts(file["topics"], sum(file["topics"].values()))
            + (f"   no topic: {file['unlabeled_topics']:,}" if file["unlabeled_topics"] else "")
        )
    if file["repairs"] is not None:
        repairs = file["repairs"]
        shown = f" (e.g. {', '.join(repairs['examples'][:3])})" if repairs["count"] else ""
        lines.append(f"  tags breaking {repairs['scheme']}, read the seqeval way: {repairs['count']:,}{shown}")
    off = file["spans_off_word_boundaries"]
    if off["count"]:
        lines.append(f"  spans not on word boundaries: {off['count']:,} (e.g. {'; '.join(off['examples'][:2])})")
    lines.append(f"  invalid or overlapping spans, duplicate ids: {len(file['issues']):,}")
    lines.extend(f"    {issue}" for issue in file["issues"][:_EXAMPLES])
    lines.append(_duplicate_line(file["duplicates"]))
    if "subwords" in file:
        lines.append(_subword_line(file["subwords"], report))
    return lines


def _counts(counts: dict[str, int], total: int) -> str:
    return "  ".join(f"{key} {value:,} ({value / total:.1%})" for key, value in counts.items())


def _duplicate_line(dup: dict[str, Any]) -> str:
    if not dup["groups"]:
        return "  duplicate documents (same text): none"
    examples = "; ".join(" = ".join(ids) for ids in dup["examples"][:3])
    return (
        f"  duplicate documents (same text): {dup['groups']:,} texts repeated, {dup['extra_copies']:,} extra "
        f"copies, {dup['conflicting_labels']:,} with conflicting labels (e.g. {examples})"
    )


def _subword_line(sub: dict[str, Any], report: dict[str, Any]) -> str:
    beyond = sub["entities_beyond_max_length"]
    lost = f"; {beyond:,} entities lie beyond the limit (truncation would drop them)" if beyond else ""
    return (
        f"  subword tokens: median {sub['median']:,}, 95th percentile {sub['p95']:,}, max {sub['max']:,}; "
        f"{sub['over_max_length']:,} documents ({sub['over_max_length_share']:.1%}) exceed "
        f"{report['max_length']}{lost}"
    )
