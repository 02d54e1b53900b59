"""Micro-batching: texts from concurrent requests wait a few milliseconds in one bounded queue and go through the
model together, so one forward pass serves many clients and throughput grows with load.

`MicroBatcher.submit(texts)` enqueues a request's texts (all or none: a request that does not fit raises
`QueueFull` at once, which the app answers with 503 and Retry-After) and awaits their results. One worker task
takes up to `max_batch` texts, waiting at most `max_wait_ms` after the oldest one arrived for more to come, and runs
`predict(texts)` in a single worker thread (`run_in_executor`), so the event loop keeps accepting requests while
the model computes. Results go back to each request's own futures, in its own order.

Nothing here knows HTTP or the model: `predict` is any function from a list of texts to a list of results of the
same length.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


class QueueFull(Exception):
    """The request's texts do not fit in the queue now; the client should retry later."""


@dataclass
class _Item:
    text: str
    future: asyncio.Future
    arrived: float = field(default_factory=time.monotonic)


@dataclass
class BatcherStats:
    batches: int = 0
    texts: int = 0
    largest_batch: int = 0


class MicroBatcher:
    def __init__(
        self,
        predict: Callable[[list[str]], Sequence[Any]],
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 1024,
    ):
        if max_batch < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError("max_batch and max_queue must be at least 1 and max_wait_ms at least 0")
        self.predict = predict
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait_ms / 1000.0, max_queue
        self.stats = BatcherStats()
        self._pending: deque[_Item] = deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._closing = False
        self._executor: ThreadPoolExecutor | None = None

    @property
    def queued(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        """Start the worker on the running loop (the app's startup)."""
        self._wakeup = asyncio.Event()
        self._closing = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arabic-news-model")
        self._worker = asyncio.create_task(self._run(), name="arabic-news-micro-batcher")

    async def stop(self) -> None:
        """Finish every queued text, then stop the worker and its thread (the app's shutdown)."""
        if self._worker is None:
            return
        self._closing = True
        self._wakeup.set()
        await self._worker
        self._worker = None
        self._executor.shutdown(wait=True)

    async def submit(self, texts: Sequence[str]) -> list[Any]:
        """The results for `texts`, in order. Raises QueueFull when they do not all fit in the queue now."""
        if self._worker is None or self._closing:
            raise QueueFull("the server is shutting down")
        if len(self._pending) + len(texts) > self.max_queue:
            raise QueueFull(f"{len(self._pending)} texts are waiting and the queue holds {self.max_queue}")
        loop = asyncio.get_running_loop()
        items = [_Item(text, loop.create_future()) for text in texts]
        self._pending.extend(items)
        self._wakeup.set()
        return list(await asyncio.gather(*(item.future for item in items)))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            # Wait for a fuller batch, but never longer than max_wait after the oldest text arrived.
            deadline = self._pending[0].arrived + self.max_wait
            while len(self._pending) < self.max_batch and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch = [self._pending.popleft() for _ in range(min(self.max_batch, len(self._pending)))]
            live = [item for item in batch if not item.future.done()]  # a client that went away is skipped
            if not live:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self.predict, [item.text for item in live])
                if len(results) != len(live):
                    raise RuntimeError(f"predict returned {len(results)} results for {len(live)} texts")
            except Exception as err:  # every waiting request learns of it; the worker keeps serving
                for item in live:
                    if not item.future.done():
                        item.future.set_exception(err)
                continue
            self.stats.batches += 1
            self.stats.texts += len(live)
            self.stats.largest_batch = max(self.stats.largest_batch, len(live))
            for item, result in zip(live, results):
                if not item.future.done():
                    item.future.set_result(result)
