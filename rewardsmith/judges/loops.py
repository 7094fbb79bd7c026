"""Per-event-loop resources: HTTP clients and in-flight limiters, closed when their loop ends.

An `openai.AsyncOpenAI` client (its connection pool) and an asyncio waiter belong to the loop
that first used them. The batch engine may run judges on one long-lived loop, on a fresh
`asyncio.run` loop per batch, or on the caller's own loop (TRL's async rewards), so nothing
here is bound at import or construction: each running loop gets its own set on first use.
The set is closed on that loop when the loop shuts down: a parked async generator is
registered with the loop, and `loop.shutdown_asyncgens()` (which `asyncio.run` and
`asyncio.Runner` call before closing) finalizes it, so clients are awaited closed on a live
loop instead of leaking sockets into a closed one.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

_bounds_lock = threading.Lock()
_bounds: dict[str, weakref.WeakKeyDictionary[Any, int]] = {}


def state_bound(endpoint: str, owner: Any, limit: int | None) -> None:
    """Record that `owner` (a judge) wants at most `limit` requests in flight to `endpoint`.

    The statement lives as long as the judge: the bound of an endpoint is the smallest
    stated by the judges alive that use it, so a short-lived strict judge does not throttle
    the endpoint for the rest of the process.
    """
    if limit is None:
        return
    if limit < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {limit}")
    with _bounds_lock:
        _bounds.setdefault(endpoint, weakref.WeakKeyDictionary())[owner] = limit


def bound(endpoint: str, default: int) -> int:
    with _bounds_lock:
        stated = list((_bounds.get(endpoint) or {}).values())
    return min(stated) if stated else default


class Limiter:
    """The bound on requests in flight to one endpoint, shared by every judge that uses it.

    Each judge may state the most requests it wants in flight there (`max_concurrency`,
    see `state_bound`); the limiter enforces the smallest stated bound, from the moment the
    judge is built, so a server sized for 8 concurrent requests is never sent 16 because
    two judges each sent 8. With no statement it holds `default`.
    """

    def __init__(self, endpoint: str, default: int) -> None:
        self.endpoint = endpoint
        self.default = default
        self.in_flight = 0
        self.peak = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def limit(self) -> int:
        return bound(self.endpoint, self.default)

    async def __aenter__(self) -> Limiter:
        while self.in_flight >= self.limit:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # we were handed a free slot: pass it on
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class LoopResources:
    """What one running loop holds: clients and limiters by endpoint key."""

    def __init__(self) -> None:
        self.clients: dict[Any, Any] = {}
        self.limiters: dict[Any, Limiter] = {}
        self._closer: Any = None

    async def aclose(self) -> None:
        clients, self.clients = list(self.clients.values()), {}
        for client in clients:
            try:
                await client.close()
            except Exception:  # closing is best effort; the loop is going away
                pass


_lock = threading.Lock()
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopResources] = weakref.WeakKeyDictionary()


async def _close_at_shutdown(resources: LoopResources) -> AsyncIterator[None]:
    try:
        yield
    finally:
        # The generator holds its loop's finalizer hook, so dropping it lets the loop (and this
        # entry of the weak table) be collected once the loop is gone.
        resources._closer = None
        resources.limiters.clear()
        await resources.aclose()


async def loop_resources() -> LoopResources:
    """The resources of the running loop, created (and registered for closing) on first use."""
    loop = asyncio.get_running_loop()
    with _lock:
        resources = _by_loop.get(loop)
        fresh = resources is None
        if resources is None:
            resources = _by_loop[loop] = LoopResources()
    if fresh:
        closer = _close_at_shutdown(resources)
        resources._closer = closer  # the loop keeps only a weak reference to it
        await closer.__anext__()  # first iteration registers it with the loop's asyncgen hooks
    return resources


async def get_or_create(table: Callable[[LoopResources], dict[Any, Any]], key: Any, create: Callable[[], Any]) -> Any:
    resources = await loop_resources()
    items = table(resources)
    if key not in items:
        items[key] = create()
    return items[key]


async def aclose_all() -> None:
    """Close the clients of the running loop now (e.g. before a long-lived loop stops)."""
    loop = asyncio.get_running_loop()
    with _lock:
        resources = _by_loop.get(loop)
    if resources is not None:
        await resources.aclose()
