"""Tag a corpus as a stream: read the input lazily, write JSON lines in fsync'd chunks as they are predicted, resume
after an interruption, tag one shard of the input (`--shard I/N`), and merge shard outputs back into input order.

For an output file OUT the run keeps two files beside it:

- `OUT.partial`: the lines written so far. Only complete lines count: a line cut off by a crash is dropped when
  the run resumes. At the end the file is renamed to OUT in one step, so OUT is always a complete output.
- `OUT.progress.json`, the sidecar: the checkpoints (the sha256 of their `arabic_news.json`), the input (path,
  format, size and modification time; for a folder of .txt, the number and names of its files), the shard, the
  dtype and quantization. A rerun resumes only when all of these are the same; anything else is refused, because
  one output would mix two models or two inputs. When OUT is finished the sidecar gets `"complete": true` and the
  counts; a rerun of the same command then does nothing, and `merge` reads the shard specs from the sidecars.

Shards are by position: shard I of N (0 <= I < N) holds the documents at 0-based positions p with p % N == I, in the
order the reader gives (lines of a JSONL file, names of a folder's .txt files sorted). They are disjoint, cover the
input, differ in size by at most one, and need no coordination: any scheduler can run them. `merge_shards` takes
the N outputs and interleaves them back into input order, checking that they come from one run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_write, atomic_write_json
from ..checkpoint import METADATA_FILE
from ..data import Document, stream_documents
from ..data.txt import txt_files
from ..errors import ConfigError, DataError

PARTIAL_SUFFIX = ".partial"
SIDECAR_SUFFIX = ".progress.json"
SIDECAR_KIND = "arabic-news predict progress"
_REDO_HINT = "rerun with --overwrite to start this output again, or give another --output"


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`, 0-based: the documents at positions p with p % count == index."""

    index: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
        hint = "write the shard as I/N with I from 0 to N-1, e.g. --shard 0/4, 1/4, 2/4 and 3/4"
        if not match:
            raise ConfigError(f"--shard {spec!r} is not of the form I/N", hint=hint)
        index, count = int(match[1]), int(match[2])
        if count < 1:
            raise ConfigError(f"--shard {spec}: the number of shards must be at least 1", hint=hint)
        if index >= count:
            raise ConfigError(
                f"--shard {spec}: shard {index} does not exist among {count} shards (they are numbered from 0)",
                hint=f"use 0/{count} to {count - 1}/{count}",
            )
        return cls(index, count)

    def __call__(self, position: int) -> bool:
        return position % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def partial_path(output: Path) -> Path:
    return output.with_name(output.name + PARTIAL_SUFFIX)


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + SIDECAR_SUFFIX)


# ------------------------------------------------------------------------------------------------ fingerprints


def run_fingerprint(
    checkpoints: Iterable[str | os.PathLike],
    source: str | os.PathLike,
    input_format: str,
    shard: Shard | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """What makes an output this run's output: the models, the input, the shard and the prediction options."""
    return {
        "kind": SIDECAR_KIND,
        "version": 1,
        "output_format": "jsonl",
        "checkpoints": [
            {"path": str(Path(c).resolve()), "metadata_sha256": _sha256(Path(c) / METADATA_FILE)} for c in checkpoints
        ],
        "input": input_fingerprint(source, input_format),
        "shard": str(shard) if shard else None,
        "options": options,
    }


def input_fingerprint(source: str | os.PathLike, input_format: str) -> dict[str, Any]:
    """A file: its size and modification time. A folder of .txt: the number and the names of its files (a file
    whose bytes were fixed, e.g. re-encoded to UTF-8 after a run stopped on it, keeps the run resumable)."""
    target = Path(source).resolve()
    if target.is_dir():
        names = "\n".join(f.name for f in txt_files(target))
        return {
            "path": str(target),
            "format": input_format,
            "files": names.count("\n") + 1,
            "names_sha256": hashlib.sha256(names.encode("utf-8")).hexdigest(),
        }
    stat = target.stat()
    return {"path": str(target), "format": input_format, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # loading the checkpoint says what is wrong with it


def differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two runs, in words; empty when an output of `before` may be continued by `now`."""
    found = []
    if before.get("kind") != SIDECAR_KIND or before.get("version") != now["version"]:
        return ["its progress file is not one this version wrote"]
    if [c.get("metadata_sha256") for c in before.get("checkpoints", [])] != [
        c["metadata_sha256"] for c in now["checkpoints"]
    ]:
        paths = ", ".join(c.get("path", "?") for c in before.get("checkpoints", []))
        found.append(f"it was tagged by other checkpoints ({paths})")
    old_input, new_input = before.get("input", {}), now["input"]
    if old_input != new_input:
        changed = [key for key in new_input if old_input.get(key) != new_input[key]]
        found.append(f"it was made from another input ({old_input.get('path')}; differs in {', '.join(changed)})")
    if before.get("shard") != now["shard"]:
        found.append(f"it holds shard {before.get('shard') or 'none (the whole input)'}, not {now['shard'] or 'all'}")
    if before.get("options") != now["options"]:
        found.append(f"it was predicted with {before.get('options')}, not {now['options']}")
    if before.get("output_format") != now["output_format"]:
        found.append(f"it is {before.get('output_format')}, not {now['output_format']}")
    return found


def read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # unreadable: treated as another run's
    return data if isinstance(data, dict) else {}


# ------------------------------------------------------------------------------------------------ the run


@dataclass
class StreamSummary:
    output: Path
    documents: int  # in the output, resumed ones included
    resumed: int  # written by an earlier, interrupted run of the same command
    entities: int
    seconds: float
    already_complete: bool = False

    def line(self) -> str:
        if self.already_complete:
            return (
                f"{self.output} is already complete ({self.documents} documents, {self.entities} entities); "
                "nothing to do (--overwrite tags it again)"
            )
        new = self.documents - self.resumed
        rate = f", {new / self.seconds:.1f} documents/s" if self.seconds > 0 and new else ""
        resumed = f"; {self.resumed} of them resumed from the earlier run" if self.resumed else ""
        return (
            f"wrote {self.documents} documents ({self.entities} entities) to {self.output} "
            f"in {self.seconds:.1f} s{rate}{resumed}"
        )


class StreamRun:
    """One streaming prediction into `output` (JSON lines). `prepare()` checks the input and any earlier output
    before the models load; `run(tagger)` tags and writes; `written` counts the lines in the partial file so far
    (for a message after Ctrl-C)."""

    def __init__(
        self,
        source: Path,
        output: Path,
        fingerprint: dict[str, Any],
        *,
        input_format: str | None = None,
        shard: Shard | None = None,
        overwrite: bool = False,
    ):
        self.source, self.output, self.fingerprint = Path(source), Path(output), fingerprint
        self.input_format, self.shard, self.overwrite = input_format, shard, overwrite
        self.partial, self.sidecar = partial_path(self.output), sidecar_path(self.output)
        self.total: int | None = None
        self.written = self.resumed = self.resumed_entities = 0
        self.complete: dict[str, Any] | None = None

    def prepare(self) -> StreamRun:
        """Read the input through (checking it), then decide: start, resume, refuse, or nothing to do. Nothing is
        changed on disk here: with --overwrite the earlier partial output is dropped only when writing starts."""
        self.total = self._count()
        earlier = read_sidecar(self.sidecar)
        if self.overwrite:
            return self
        if earlier is None:
            if self.partial.exists():
                raise DataError(
                    f"an unfinished output without its progress file {self.sidecar.name}: which run it belongs to "
                    "cannot be told",
                    path=self.partial,
                    hint=_REDO_HINT,
                )
            return self
        found = differences(earlier, self.fingerprint)
        if found:
            target = self.output if earlier.get("complete") else self.partial
            raise DataError(f"not this command's output: {'; '.join(found)}", path=target, hint=_REDO_HINT)
        if earlier.get("complete") and self.output.is_file():
            self.complete = earlier
        elif not earlier.get("complete") and self.partial.exists():
            self.resumed, self.resumed_entities = _keep_complete_lines(self.partial)
            self.written = self.resumed
        return self  # else: a finished output that was since deleted, or a run stopped before its first line

    def _count(self) -> int:
        """Documents in this run's share of the input, read through once: every record and file is checked before
        the models load, so a bad line or a file that is not UTF-8 fails at once, not hours into the run. The cost
        is small beside tagging (benchmarks/corpus_scale.py measures it)."""
        return sum(1 for _ in stream_documents(self.source, self.input_format, select=self.shard))

    def run(self, tagger, *, batch_size: int = 32, chunk_size: int = 64, progress: bool = True) -> StreamSummary:
        """Tag in this process: `chunk_size` documents at a time through `tagger.predict_documents`."""

        def chunks() -> Iterator[list[str]]:
            docs = self.documents()
            self.skip_written(docs)
            for chunk in _chunks(docs, chunk_size):
                yield [json.dumps(d.to_dict(), ensure_ascii=False) for d in tagger.predict_documents(chunk, batch_size)]

        return self.write(chunks, progress)

    def write(self, chunks: Callable[[], Iterator[list[str]]], progress: bool = True) -> StreamSummary:
        """Append the JSON lines that `chunks()` yields (the predictions of the documents after those already
        written, in input order), fsync'ing each chunk; then rename the partial file to the output and mark the
        sidecar complete. Whoever predicts (this process, or a Ray cluster) only supplies `chunks`."""
        if self.complete is not None:
            return StreamSummary(
                self.output, self.complete.get("documents", 0), 0, self.complete.get("entities", 0), 0.0, True
            )
        if not self.resumed:
            self.partial.unlink(missing_ok=True)  # starting again: nothing of an earlier partial output is kept
        atomic_write_json(self.sidecar, {**self.fingerprint, "complete": False})
        started = time.perf_counter()
        entities = self.resumed_entities
        bar = _progress_bar(self.total, self.resumed, progress)
        try:
            with open(self.partial, "ab") as handle:
                for lines in chunks():
                    handle.write("".join(line + "\n" for line in lines).encode("utf-8"))  # whole lines only
                    handle.flush()
                    os.fsync(handle.fileno())  # before they count as done
                    self.written += len(lines)
                    entities += sum(len(json.loads(line).get("entities") or []) for line in lines)
                    bar.update(len(lines))
                    bar.set_postfix(entities=entities, refresh=False)
        except BaseException:
            if self.written == 0:  # nothing to resume: leave nothing behind
                self.partial.unlink(missing_ok=True)
                self.sidecar.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        os.replace(self.partial, self.output)
        seconds = time.perf_counter() - started
        atomic_write_json(
            self.sidecar,
            {**self.fingerprint, "complete": True, "documents": self.written, "entities": entities},
        )
        return StreamSummary(self.output, self.written, self.resumed, entities, seconds)

    def documents(self) -> Iterator[Document]:
        """This run's share of the input, read lazily."""
        return stream_documents(self.source, self.input_format, select=self.shard)

    def skip_written(self, docs: Iterator[Document]) -> None:
        """Step over the documents the partial file already holds, checking that their ids are the ones there."""
        if not self.resumed:
            return
        with open(self.partial, "rb") as earlier:
            for number in range(1, self.resumed + 1):
                written_id = json.loads(earlier.readline()).get("id")
                doc = next(docs, None)
                if doc is None or doc.id != written_id:
                    raise DataError(
                        f"line {number} holds id {written_id!r} but document {number} of the input is "
                        f"{'missing' if doc is None else repr(doc.id)}",
                        path=self.partial,
                        line=number,
                        hint=_REDO_HINT,
                    )


def _keep_complete_lines(partial: Path) -> tuple[int, int]:
    """Cut a last line that a crash left unfinished; the number of complete lines and of their entities."""
    lines = entities = 0
    good_bytes = 0
    with open(partial, "rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except ValueError:
                raise DataError(
                    "this partial output has a damaged line", path=partial, line=lines + 1, hint=_REDO_HINT
                ) from None
            lines += 1
            entities += len(record.get("entities") or [])
            good_bytes += len(raw)
    if partial.stat().st_size != good_bytes:
        with open(partial, "r+b") as handle:
            handle.truncate(good_bytes)
            handle.flush()
            os.fsync(handle.fileno())
    return lines, entities


def _chunks(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress_bar(total: int | None, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, initial=initial, unit="doc", desc="predict", disable=not enabled, file=sys.stderr, smoothing=0.05
    )


# ------------------------------------------------------------------------------------------------ merge


def merge_shards(output: Path, shard_outputs: list[Path], *, overwrite: bool = False) -> tuple[int, int]:
    """Interleave the outputs of `predict --shard 0/N ... N-1/N` back into input order, into `output` (atomic).

    Each output's sidecar must say it is complete, and all must come from the same models, input and options, with
    every shard present once. The lines are copied as they are. Returns (documents, entities)."""
    sidecars = []
    for path in shard_outputs:
        meta = read_sidecar(sidecar_path(path))
        if not meta or meta.get("kind") != SIDECAR_KIND:
            raise DataError(
                f"no progress file {sidecar_path(path).name} beside it",
                path=path,
                hint="merge takes the outputs of `predict --shard I/N`, each with its .progress.json beside it",
            )
        if not meta.get("complete") or not path.is_file():
            raise DataError(
                f"shard {meta.get('shard')} is not finished",
                path=path,
                hint="rerun its predict command (it resumes), then merge",
            )
        if not meta.get("shard"):
            raise DataError("this output is not a shard", path=path, hint="merge only the outputs of --shard runs")
        sidecars.append(meta)
    first = sidecars[0]
    for path, meta in zip(shard_outputs[1:], sidecars[1:]):
        found = differences(first, {**meta, "shard": first["shard"]})
        if found:
            raise DataError(
                f"not a shard of the same run as {shard_outputs[0]}: {'; '.join(found)}",
                path=path,
                hint="merge the shards of one input tagged by the same checkpoints",
            )
    shards = [Shard.parse(meta["shard"]) for meta in sidecars]
    count = shards[0].count
    by_index: dict[int, Path] = {}
    for path, shard in zip(shard_outputs, shards):
        if shard.count != count:
            raise DataError(f"shard {shard} does not belong to a split into {count}", path=path, hint="merge one split")
        if shard.index in by_index:
            raise DataError(
                f"shard {shard} is given twice (also {by_index[shard.index]})", path=path, hint="give each shard once"
            )
        by_index[shard.index] = path
    missing = [f"{i}/{count}" for i in range(count) if i not in by_index]
    if missing:
        raise DataError(
            f"shard(s) {', '.join(missing)} missing", path=shard_outputs[0], hint=f"give all {count} shard outputs"
        )
    merged = {**first, "shard": None}
    earlier = read_sidecar(sidecar_path(output))
    if earlier and not overwrite and differences(earlier, merged):
        raise DataError(
            f"not this merge's output: {'; '.join(differences(earlier, merged))}",
            path=output,
            hint="rerun with --overwrite, or give another output",
        )
    documents = entities = 0
    seen: dict[str, int] = {}
    handles = [open(by_index[i], "rb") for i in range(count)]  # closed in `finally`
    try:
        with atomic_write(output, "wb") as out:
            ended = False
            while not ended:
                for index, handle in enumerate(handles):
                    raw = handle.readline()
                    if not raw:
                        ended = True
                        continue
                    if ended:  # shard sizes differ by at most one, and the earlier shards are the longer ones
                        raise DataError(
                            "the shard outputs do not fit together (this one has more documents than its place allows)",
                            path=by_index[index],
                            hint="rerun the shards' predict commands with --overwrite",
                        )
                    record = json.loads(raw)
                    if record.get("id") in seen:
                        raise DataError(
                            f"id {record.get('id')!r} appears in two shards",
                            path=by_index[index],
                            hint="give every input record a unique id",
                        )
                    seen[record.get("id")] = index
                    documents += 1
                    entities += len(record.get("entities") or [])
                    out.write(raw if raw.endswith(b"\n") else raw + b"\n")
            longer = [by_index[i] for i, handle in enumerate(handles) if handle.readline()]
            if longer:
                raise DataError(
                    "the shard outputs do not fit together (this one has more documents than its place allows)",
                    path=longer[0],
                    hint="rerun the shards' predict commands with --overwrite",
                )
    finally:
        for handle in handles:
            handle.close()
    atomic_write_json(sidecar_path(output), {**merged, "complete": True, "documents": documents, "entities": entities})
    return documents, entities
