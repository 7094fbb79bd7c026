"""A pool of forked worker processes with a hard per-item deadline.

Signal-based timeouts (`signal.alarm`) only work on the main thread and cannot stop a
C call; threads cannot be killed at all. A worker process can: when an item runs past
its deadline, its worker (and anything the worker started in its process group) gets
SIGKILL and a fresh worker takes its place. The dispatcher is plain blocking code, so it
runs the same from the main thread, a worker thread, or under a running asyncio loop.

Workers are forked, so the function and whatever it closes over are inherited, not
pickled; only items and results cross the pipe.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from rewardsmith.core.errors import tag_sample

T = TypeVar("T")
R = TypeVar("R")

_IN_WORKER = False


def in_worker() -> bool:
    """True inside a pool worker: code there is already under a hard deadline."""
    return _IN_WORKER


class WorkerCrash(Exception):
    """The worker died while running an item (segfault, OOM kill, os._exit)."""


class _RemoteError(Exception):
    """An exception raised in a worker that could not be pickled back."""


def _worker_main(conn: Connection, fn: Callable[[Any], Any]) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    try:
        os.setpgrp()  # so a timeout kill also takes down subprocesses the item started
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            for index, item in msg:  # a chunk: results go back one by one as they finish
                try:
                    outcome: tuple[str, Any] = ("ok", fn(item))
                except BaseException as exc:  # reported, re-raised by the parent if strict
                    outcome = ("exc", exc)
                try:
                    conn.send((index, outcome))
                except Exception:
                    tb = "".join(traceback.format_exception(outcome[1])) if outcome[0] == "exc" else ""
                    conn.send((index, ("exc", _RemoteError(f"unpicklable result or exception: {outcome[1]!r}\n{tb}"))))
    finally:
        os._exit(0)


class _Worker:
    def __init__(self, ctx: Any, fn: Callable[[Any], Any]) -> None:
        self.conn, child = ctx.Pipe()
        # not a daemon: a reward running in a worker may itself start a pool
        self.proc = ctx.Process(target=_worker_main, args=(child, fn), daemon=False)
        self.proc.start()
        child.close()
        self.queue: deque[int] = deque()  # indices sent to this worker; the head is running
        self.deadline: float | None = None
        self.finished = 0  # results collected since the dispatcher last counted

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        try:
            self.proc.kill()
        except Exception:
            pass
        self.proc.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass


class ProcessPool(Generic[T, R]):
    """Run `fn` over items in forked workers; `on_timeout(i)` / `on_crash(i, exc)` fill the gaps."""

    def __init__(
        self,
        fn: Callable[[T], R],
        *,
        workers: int,
        timeout: float | None,
        on_timeout: Callable[[int], R],
        on_crash: Callable[[int, BaseException], R],
        on_result: Callable[[], None] | None = None,
    ) -> None:
        self.fn, self.workers, self.timeout = fn, max(1, workers), timeout
        self.on_timeout, self.on_crash, self.on_result = on_timeout, on_crash, on_result
        self.ctx = mp.get_context("fork")
        self.max_chunk = 16

    def _drain(self, w: _Worker, results: list[Any]) -> R | None:
        """Collect every result the worker has sent; the crash result if it died mid-item."""
        while w.queue:
            try:
                index, (kind, value) = w.conn.recv()
            except (EOFError, OSError):
                w.proc.join(timeout=5)
                code = w.proc.exitcode
                why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                return self.on_crash(w.queue[0], WorkerCrash(f"worker process died ({why})"))
            if kind == "exc":
                tag_sample(value, index)
                raise value
            results[index] = value
            w.queue.popleft()
            w.finished += 1
            w.deadline = time.monotonic() + self.timeout if self.timeout else None
            if not w.conn.poll():
                break
        return None

    def map(self, items: Sequence[T]) -> list[R]:
        results: list[Any] = [None] * len(items)
        pending = deque(range(len(items)))
        remaining = len(items)
        pool = [_Worker(self.ctx, self.fn) for _ in range(min(self.workers, len(items)))]
        # Chunks save a round trip per item; the deadline still applies to each item, because
        # the worker reports every result as it finishes and the clock restarts on each.
        chunk = max(1, min(self.max_chunk, len(items) // (4 * len(pool) or 1)))
        try:
            while remaining:
                now = time.monotonic()
                for w in pool:
                    if not w.queue and pending:
                        batch = [pending.popleft() for _ in range(min(chunk, len(pending)))]
                        w.queue.extend(batch)
                        w.deadline = now + self.timeout if self.timeout else None
                        w.conn.send([(i, items[i]) for i in batch])
                busy = [w for w in pool if w.queue]
                deadlines = [w.deadline for w in busy if w.deadline is not None]
                wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = set(wait([w.conn for w in busy], timeout=wait_s))
                for slot, w in enumerate(pool):
                    if not w.queue:
                        continue
                    if w.conn in ready:
                        failure = self._drain(w, results)
                    elif w.deadline is not None and time.monotonic() >= w.deadline:
                        failure = self.on_timeout(w.queue[0])
                    else:
                        continue
                    if failure is not None:  # the head item timed out or crashed its worker
                        results[w.queue.popleft()] = failure
                        w.finished += 1
                        pending.extendleft(reversed(w.queue))  # the rest of its chunk goes back
                        w.queue.clear()
                        w.kill()
                        pool[slot] = _Worker(self.ctx, self.fn)
                    remaining -= w.finished
                    if self.on_result:
                        for _ in range(w.finished):
                            self.on_result()
                    w.finished = 0
            return results
        finally:
            for w in pool:
                w.stop()
            for w in pool:
                w.proc.join(timeout=1)
                if w.proc.is_alive():
                    w.kill()
                else:
                    w.conn.close()
