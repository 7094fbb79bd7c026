"""One long-lived event loop per process for async rewards (judges), on a daemon thread.

`asyncio.run` per batch closes its loop when the batch ends, and every object bound to that loop
(an `openai.AsyncOpenAI` client, an aiohttp session, a semaphore) breaks on the next batch. So
async work from sync code, and async rewards from any caller, run on this one loop, the way TRL
runs its async reward functions: `run_coroutine_threadsafe` onto a loop thread that lives until
interpreter exit. A forked child starts its own loop on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_SHUTDOWN_GRACE_S = 5.0


class Escaped(Exception):
    """Carries a SystemExit or KeyboardInterrupt out of a task on the shared loop.

    asyncio re-raises those two out of the loop itself, which would kill the loop's thread and
    leave every waiter hanging; wrapped, they travel like any exception and are unwrapped (raised
    as themselves) in the thread that waits for the result.
    """

    def __init__(self, exc: BaseException) -> None:
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.exc = exc


def escape(exc: BaseException) -> BaseException:
    """What to raise inside a task for `exc`: `Escaped` for the two exceptions asyncio must not see."""
    return Escaped(exc) if isinstance(exc, (SystemExit, KeyboardInterrupt)) else exc


class _LoopThread:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), name="rewardsmith-loop", daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def stop(self) -> None:
        """Cancel what is still running, let it clean up (close clients), then stop the loop."""
        if not self.thread.is_alive():
            return

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(drain(), self.loop).result(_SHUTDOWN_GRACE_S)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(_SHUTDOWN_GRACE_S)


_current: _LoopThread | None = None
_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The process's rewardsmith event loop (started on first use)."""
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid() or not _current.thread.is_alive():
            _current = _LoopThread()
        return _current.loop


def on_shared_loop() -> bool:
    """True when the calling code runs on the shared loop's thread."""
    current = _current
    return current is not None and current.pid == os.getpid() and threading.current_thread() is current.thread


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the shared loop and wait for it, from any thread but the loop's own.

    Called from the loop's own thread (sync code inside an async reward), waiting would deadlock,
    so the coroutine runs on a private loop in a helper thread instead.
    """
    if on_shared_loop():
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rewardsmith-nested") as ex:
            return ex.submit(asyncio.run, coro).result()
    future = asyncio.run_coroutine_threadsafe(coro, shared_loop())
    try:
        return future.result()
    except Escaped as wrapped:
        raise wrapped.exc from None
    except BaseException:
        future.cancel()  # Ctrl-C or an error while waiting: do not leave the work running
        raise


async def await_on_shared_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Await a coroutine that must run on the shared loop, from whatever loop the caller runs."""
    if on_shared_loop():
        return await coro
    future = asyncio.run_coroutine_threadsafe(coro, shared_loop())
    try:
        return await asyncio.wrap_future(future)
    except Escaped as wrapped:
        raise wrapped.exc from None
    except asyncio.CancelledError:
        future.cancel()
        raise


def _stop_at_exit() -> None:
    current = _current
    if current is not None and current.pid == os.getpid():
        current.stop()


def _after_fork_in_child() -> None:
    global _current, _lock
    _current = None  # the loop thread does not exist in the child
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_stop_at_exit)
