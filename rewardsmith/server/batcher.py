"""Merge concurrent requests into engine batches.

OpenRLHF sends one HTTP request per sample, hundreds at a time; scoring each alone would pay the
engine's per-batch cost once per sample and leave the worker pool mostly idle. The batcher queues
the samples of waiting requests and, whenever one of its `max_batches` slots is free, scores
everything queued (up to `max_batch` samples) as one batch, then hands each request its own Scores
in order. A batch that raises (a reward bug such as a wrong return type) is rescored request by
request, so one request's error is not another's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardsmith.core.backends import Backend
    from rewardsmith.core.reward import Reward
    from rewardsmith.core.sample import Sample
    from rewardsmith.core.score import Score


class Busy(Exception):
    """More requests are waiting than the server admits (`max_pending`): try again shortly."""


@dataclass
class _Request:
    samples: list[Sample]
    future: asyncio.Future[list[Score]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher:
    """Scores the samples of concurrent requests in shared batches (see the module docstring)."""

    def __init__(
        self,
        reward: Reward,
        *,
        backend: Backend | None = None,
        options: dict[str, Any] | None = None,
        max_batch: int = 512,
        max_batches: int = 2,
        max_pending: int = 1024,
    ) -> None:
        self.reward = reward
        self.backend = backend
        self.options = dict(options or {})
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.pending = 0  # requests admitted and not yet answered
        self.batches = 0  # engine batches run
        self._queue: asyncio.Queue[_Request] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._max_batches = max_batches
        self._dispatcher: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._slots = asyncio.Semaphore(self._max_batches)
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch(), name="rewardsmith-batcher")

    async def stop(self) -> None:
        """Finish the batches being scored, then stop (requests still queued are cancelled)."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        while self._queue is not None and not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    async def score(self, samples: list[Sample]) -> list[Score]:
        if not samples:
            return []
        if self.pending >= self.max_pending:
            raise Busy(f"{self.pending} requests are already waiting (--max-pending {self.max_pending})")
        assert self._queue is not None, "Batcher.start() was not called"
        request = _Request(samples)
        self.pending += 1
        try:
            await self._queue.put(request)
            return await request.future
        finally:
            self.pending -= 1

    async def _dispatch(self) -> None:
        assert self._queue is not None and self._slots is not None
        while True:
            await self._slots.acquire()
            batch = [await self._queue.get()]
            size = len(batch[0].samples)
            while size < self.max_batch and not self._queue.empty():
                request = self._queue.get_nowait()
                batch.append(request)
                size += len(request.samples)
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[_Request]) -> None:
        assert self._slots is not None
        try:
            live = [r for r in batch if not r.future.done()]  # a client that went away
            if not live:
                return
            samples = [s for r in live for s in r.samples]
            try:
                scores = await self._score(samples)
            except Exception as exc:
                if len(live) == 1:
                    live[0].future.set_exception(exc)
                    return
                for request in live:  # one request's bad sample must not fail the others
                    try:
                        result = await self._score(request.samples)
                    except Exception as one:
                        if not request.future.done():
                            request.future.set_exception(one)
                    else:
                        if not request.future.done():
                            request.future.set_result(result)
                return
            start = 0
            for request in live:
                stop = start + len(request.samples)
                if not request.future.done():
                    request.future.set_result(scores[start:stop])
                start = stop
        finally:
            self._slots.release()

    async def _score(self, samples: list[Sample]) -> list[Score]:
        self.batches += 1
        return await self.reward.ascore_batch(samples, backend=self.backend, **self.options)
