"""`predict --engine ray`: tag a corpus with Ray Data, on a local Ray or across the machines of a Ray cluster.

The input becomes a Ray dataset of pieces: byte ranges of a JSONL file (about `PIECE` documents each, found by one
quick pass over the file) or groups of a folder's .txt files. Ray tasks read the pieces (`flat_map`: one row per
document, with its position in the input), and `map_batches` sends them to a pool of actors, each of which loads
the models once (`load()`, so any backend `load` offers) and tags `--chunk-size` documents at a time. The driver
receives the predicted lines in input order and writes them through the same resumable writer as the local path
(`StreamRun.write`): the same partial file, sidecar, resume, shards and summary, and the same bytes as a local run.

Every node needs the package installed (`pip install "arabic-news[ray]"`, the same version) and must see the
checkpoints and the input at the same paths (a shared file system); the output is written by the driver.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from ..atomic import read_utf8
from ..data import Document
from ..data.jsonl import is_doccano, parse_record
from ..data.records import checked, record_document, trim_spans
from ..data.txt import txt_files
from ..errors import ConfigError
from .stream import Shard, StreamRun, StreamSummary

PIECE = 512  # documents per read task (a piece of the input)
_INSTALL_HINT = 'install it with `pip install -e ".[ray]"` (or `pip install "ray[data]>=2.9"`)'


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is the part needed
    except ImportError as err:
        raise ConfigError(f"--engine ray needs Ray Data, which is not installed ({err})", hint=_INSTALL_HINT) from None
    return ray


def check_address(address: str, timeout: float = 5.0) -> None:
    """Refuse an address where nothing answers, at once (ray.init would wait for its own, long, timeout)."""
    if address == "auto":
        return
    rest = address.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"--address {address!r} is not HOST:PORT",
            hint="give the head node's address, e.g. 10.0.0.5:6379 (or ray://10.0.0.5:10001), or 'auto'",
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise ConfigError(
            f"--address {address}: no Ray cluster answers there ({err.strerror or err})",
            hint="start the head with `ray start --head --port=6379` and pass HOST:6379, "
            "or leave --address out to start a local Ray",
        ) from None


def predict_with_ray(
    stream: StreamRun,
    checkpoints: list[Path],
    load_options: dict[str, Any],
    *,
    batch_size: int,
    chunk_size: int,
    workers: int,
    address: str | None = None,
    progress: bool = True,
) -> StreamSummary:
    """Tag `stream`'s input on Ray and write it through `stream` (prepared: checked, maybe resuming)."""
    if stream.complete is not None:
        return stream.write(lambda: iter(()), progress)
    ray = import_ray()
    if address:
        check_address(address)
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:  # a private Ray on this machine: no dashboard, and no usage report sent anywhere
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, TimeoutError, RuntimeError) as err:
            raise ConfigError(
                f"--address {address}: cannot join the Ray cluster ({str(err).splitlines()[0]})",
                hint="check the address and that the cluster runs the same Ray version",
            ) from None

    def lines():
        return _predicted_lines(ray, stream, checkpoints, load_options, batch_size, chunk_size, workers)

    try:
        return stream.write(lines, progress)
    finally:
        if started_here:
            ray.shutdown()


def _predicted_lines(ray, stream: StreamRun, checkpoints, load_options, batch_size, chunk_size, workers):
    from ray.data import DataContext

    DataContext.get_current().execution_options.preserve_order = True
    # the documents before `first` are in the partial output already (checked against it, as the local path does)
    stream.skip_written(stream.documents())
    shard = stream.shard
    first = (shard.index + stream.resumed * shard.count) if shard else stream.resumed
    pieces = input_pieces(stream.source, stream.input_format, first)
    if not pieces:
        return
    dataset = (
        ray.data.from_items(pieces, override_num_blocks=len(pieces))
        # reading is light; with num_cpus=0 it never waits for the CPUs the actors hold (a 2-CPU Ray with 2 actors)
        .flat_map(_Reader(str(stream.source), str(shard) if shard else None, first), num_cpus=0)
        .map_batches(
            _Tagger,
            fn_constructor_args=([str(c) for c in checkpoints], load_options, batch_size, str(stream.source)),
            batch_size=chunk_size,
            concurrency=workers,
            num_cpus=1,
        )
    )
    last = first - 1
    for batch in dataset.iter_batches(batch_size=chunk_size, batch_format="numpy"):
        positions = [int(p) for p in batch["position"]]
        if positions != sorted(positions) or positions[0] <= last:
            raise RuntimeError("Ray returned the documents out of order; the output would not match the input")
        last = positions[-1]
        yield [str(line) for line in batch["line"]]


def input_pieces(source: Path, input_format: str | None, first: int) -> list[dict[str, Any]]:
    """The input cut into pieces of about PIECE documents, from position `first` on. A JSONL piece is a byte range
    with the line number and position of its first line; a folder piece is a list of file names."""
    if source.is_dir() or input_format == "txt":
        files = [str(f) for f in txt_files(source)]
        return [
            {"files": files[start : start + PIECE], "position": start, "start": 0, "end": 0, "line": 0}
            for start in range(first - first % PIECE, len(files), PIECE)
        ]
    pieces: list[dict[str, Any]] = []
    offset = number = position = 0
    piece_start = piece_line = piece_position = None
    with open(source, "rb") as handle:
        for raw in handle:
            number += 1
            if raw.strip():
                if position >= first and piece_start is None:
                    piece_start, piece_line, piece_position = offset, number, position
                position += 1
                if piece_start is not None and position - piece_position >= PIECE:
                    pieces.append(_piece(piece_start, offset + len(raw), piece_line, piece_position))
                    piece_start = None
            offset += len(raw)
    if piece_start is not None:
        pieces.append(_piece(piece_start, offset, piece_line, piece_position))
    return pieces


def _piece(start: int, end: int, line: int, position: int) -> dict[str, Any]:
    return {"files": [], "position": position, "start": start, "end": end, "line": line}


class _Reader:
    """A Ray task's reading of one piece: one row per document of the shard, from position `first` on."""

    def __init__(self, source: str, shard: str | None, first: int):
        self.source, self.first = source, first
        self.shard = Shard.parse(shard) if shard else None

    def wanted(self, position: int) -> bool:
        return position >= self.first and (self.shard is None or self.shard(position))

    def __call__(self, piece: dict[str, Any]) -> list[dict[str, Any]]:
        if piece["files"]:
            return [
                {"position": piece["position"] + i, "line": 0, "text": "", "file": name}
                for i, name in enumerate(piece["files"])
                if self.wanted(piece["position"] + i)
            ]
        with open(self.source, "rb") as handle:
            handle.seek(piece["start"])
            data = handle.read(piece["end"] - piece["start"])
        rows, number, position = [], piece["line"] - 1, piece["position"]
        pieces = data.split(b"\n")
        if data.endswith(b"\n"):
            pieces.pop()  # the empty piece after the last newline is not a line
        for raw in pieces:
            number += 1
            text = raw.decode("utf-8")  # checked already: the whole input was read through before this run
            if number == 1 and text.startswith("\ufeff"):
                text = text[1:]
            if not text.strip():
                continue
            if self.wanted(position):
                rows.append({"position": position, "line": number, "text": text, "file": ""})
            position += 1
        return rows


class _Tagger:
    """An actor of the pool: loads the models once, then tags batches of rows into JSON lines."""

    def __init__(self, checkpoints: list[str], load_options: dict[str, Any], batch_size: int, source: str):
        from . import load

        self.tagger = load(*checkpoints, **load_options)
        self.batch_size, self.source = batch_size, source
        self.stem = Path(source).stem

    def document(self, line: int, text: str, file: str) -> Document:
        if file:
            return Document(id=Path(file).stem, text=read_utf8(file))
        record = parse_record(text, self.source, line)
        doc = record_document(record, self.source, line, None, default_id=f"{self.stem}:{line}")
        if is_doccano(record):
            doc = trim_spans(doc, [])
        return checked(doc, self.source, line, None)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        docs = [self.document(int(n), str(t), str(f)) for n, t, f in zip(batch["line"], batch["text"], batch["file"])]
        predicted = self.tagger.predict_documents(docs, self.batch_size)
        return {
            "position": [int(p) for p in batch["position"]],
            "line": [json.dumps(d.to_dict(), ensure_ascii=False) for d in predicted],
        }
