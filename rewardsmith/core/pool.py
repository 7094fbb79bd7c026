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
            index, item = msg
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
        self.index: int | None = None
        self.deadline: float | None = None

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

    def map(self, items: Sequence[T]) -> list[R]:
        results: list[Any] = [None] * len(items)
        pending = deque(enumerate(items))
        remaining = len(items)
        pool = [_Worker(self.ctx, self.fn) for _ in range(min(self.workers, len(items)))]
        try:
            while remaining:
                for w in pool:
                    if w.index is None and pending:
                        w.index, item = pending.popleft()
                        w.deadline = time.monotonic() + self.timeout if self.timeout else None
                        w.conn.send((w.index, item))
                busy = [w for w in pool if w.index is not None]
                deadlines = [w.deadline for w in busy if w.deadline is not None]
                wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = set(wait([w.conn for w in busy], timeout=wait_s))
                for slot, w in enumerate(pool):
                    if w.index is None:
                        continue
                    done: tuple[int, Any] | None = None
                    if w.conn in ready:
                        try:
                            index, (kind, value) = w.conn.recv()
                        except (EOFError, OSError):
                            kind = "crash"
                        if kind == "exc":
                            try:
                                value.sample_index = index
                            except AttributeError:
                                pass
                            raise value
                        if kind == "ok":
                            done = (index, value)
                        else:
                            w.proc.join(timeout=5)
                            code = w.proc.exitcode
                            why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                            done = (w.index, self.on_crash(w.index, WorkerCrash(f"worker process died ({why})")))
                            w.kill()
                            pool[slot] = _Worker(self.ctx, self.fn)
                    elif w.deadline is not None and time.monotonic() >= w.deadline:
                        done = (w.index, self.on_timeout(w.index))
                        w.kill()
                        pool[slot] = _Worker(self.ctx, self.fn)
                    if done is not None:
                        results[done[0]] = done[1]
                        remaining -= 1
                        if pool[slot] is w:
                            w.index = w.deadline = None
                        if self.on_result:
                            self.on_result()
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
