"""A persistent pool of forked worker processes with a hard per-item deadline.

Signal-based timeouts (`signal.alarm`) only work on the main thread and cannot stop a C call;
threads cannot be killed at all. A worker process can: when an item runs past its deadline, the
worker and everything it started get SIGKILL and a fresh worker takes its place.

How a worker is laid out, and why:

    caller ── supervisor (our direct child; a subreaper; runs no user code)
                  └── worker (runs `fn(item)`; its own process group; a subreaper too)
                          └── whatever an item starts (reaped when the item ends)

- Workers are forked with `os.fork`, not `multiprocessing.Process`, so a pool works inside a daemonic
  process (a `multiprocessing.Pool` worker, TRL's async rollout worker) as well as anywhere else.
  The function and what it closes over are inherited; only items and results cross the socket.
- The pool lives across `map` calls: forking a large training process costs 0.1-0.5 s, once.
- A worker dies with its caller: each process holds the read end of a "lifeline" pipe whose write
  end only the caller has, so the caller's death (even SIGKILL) is EOF for the supervisor, which
  kills the worker; the worker also has a parent-death signal on the (single-threaded) supervisor.
- Workers hold none of the caller's pipes or sockets: their stdout/stderr go through a relay pipe
  to the caller's stderr, so a caller reading our stdout through a pipe sees EOF when we exit.
- A worker's death is seen from its supervisor's pid (pidfd), not from EOF, which a grandchild
  holding the socket would hide; the supervisor reaps every orphan the worker leaves behind.
- A worker is recycled after `max_items` items or `max_memory_growth_mb` of RSS growth (a leaking
  reward), and every pool is closed at interpreter exit and forgotten in a forked child.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import socket
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from rewardsmith.core import procs
from rewardsmith.core.errors import WorkerError, tag_sample

T = TypeVar("T")
R = TypeVar("R")

START_TIMEOUT_S = 60.0
_STOP_GRACE_S = 2.0
_IN_WORKER = False


def in_worker() -> bool:
    """True inside a pool worker: code there is already under a hard deadline."""
    return _IN_WORKER


class WorkerCrash(WorkerError):
    """The worker died while running an item (segfault, OOM kill, os._exit)."""


class WorkerStartError(WorkerError):
    """A worker process could not be started."""


class _RemoteError(Exception):
    """An exception raised in a worker that could not be pickled back."""


# -- per-process plumbing shared by every pool: the lifeline and the output relay -----------------


class _Lifeline:
    """The caller's side of what every worker of this process inherits.

    `life_w` is never written: when this process dies the kernel closes it, and every supervisor
    blocked on `life_r` sees EOF. `relay_r` is drained by a daemon thread into our stderr.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.life_r, self.life_w = os.pipe()
        self.relay_r, self.relay_w = os.pipe()
        self.relay = threading.Thread(target=self._relay, name="rewardsmith-relay", daemon=True)
        self.relay.start()

    def _relay(self) -> None:
        fd = self.relay_r
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            try:
                while data:
                    data = data[os.write(2, data) :]
            except OSError:
                pass

    def close(self) -> None:
        """At exit, once the workers are gone: let the relay forward what is left, then stop."""
        for fd in (self.relay_w, self.life_w, self.life_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.relay.join(1.0)

    def forget_in_child(self) -> None:
        """In a forked child: give up the caller-only ends so the caller's death stays visible."""
        for fd in (self.life_w, self.relay_r):
            try:
                os.close(fd)
            except OSError:
                pass


_lifeline: _Lifeline | None = None
_lifeline_lock = threading.Lock()


def _get_lifeline() -> _Lifeline:
    global _lifeline
    with _lifeline_lock:
        if _lifeline is None or _lifeline.pid != os.getpid():
            _lifeline = _Lifeline()
        return _lifeline


# -- the two processes of a worker ----------------------------------------------------------------


def _supervisor_main(sock_fd: int, life_r: int, relay_w: int, fn: Callable[[Any, Any], Any]) -> None:
    """Fork the worker, then wait for it or for the caller's death; reap everything left; exit."""
    procs.set_process_name("rewardsmith-sup")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    procs.scrub_inherited_fds({sock_fd, life_r, relay_w}, relay_w)
    procs.set_child_subreaper()
    me = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            _worker_main(sock_fd, life_r, me, fn)
        finally:
            os._exit(0)
    os.close(sock_fd)  # only the worker talks to the caller
    watch = procs.pid_watch(pid)
    status: int | None = None
    while status is None:
        fds = [life_r] + ([watch] if watch is not None else [])
        try:
            ready, _, _ = select.select(fds, [], [], None if watch is not None else 0.2)
        except InterruptedError:
            continue
        if life_r in ready:  # the caller died: take the worker and its children down with it
            _kill_group(pid)
            procs.kill_descendants()
            os._exit(0)
        try:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            break
        if done:
            status = procs.encode_exit(wait_status)
    _kill_group(pid)  # anything left in the worker's group or orphaned to us
    procs.kill_descendants()
    os._exit(status if status is not None else 255)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _worker_main(sock_fd: int, life_r: int, supervisor: int, fn: Callable[[Any, Any], Any]) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    procs.set_process_name("rewardsmith-wrk")
    try:
        os.setpgid(0, 0)  # a timeout kill takes the whole group: the item's subprocesses too
    except OSError:
        pass
    procs.set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != supervisor:  # the supervisor died before the death signal was armed
        os._exit(1)
    procs.set_child_subreaper()
    os.close(life_r)
    conn = Connection(sock_fd)
    baseline = procs.rss_kb()
    conn.send(("hello", os.getpid(), baseline))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        context, chunk = msg
        for index, item in chunk:
            try:
                outcome: tuple[str, Any] = ("ok", fn(item, context))
            except BaseException as exc:  # noqa: B036  (reported, re-raised by the caller if strict)
                outcome = ("exc", exc)
            if procs.children():  # the item left processes behind: reap them now, not at exit
                procs.kill_descendants()
            # Each result goes back as soon as it is known: the caller restarts the next item's deadline
            # on it, and a result held back while the next item hangs would be lost with the worker.
            _send_results(conn, [(index, outcome)], procs.rss_kb())


def _send_results(conn: Connection, results: list[tuple[int, tuple[str, Any]]], rss: int) -> None:
    try:
        payload = pickle.dumps((results, rss), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:  # noqa: B036  (something in there cannot be pickled: send each on its own terms)
        payload = pickle.dumps(([_transportable_result(i, o) for i, o in results], rss))
    conn.send_bytes(payload)


def _transportable_result(index: int, outcome: tuple[str, Any]) -> tuple[int, tuple[str, Any]]:
    try:
        pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        return index, outcome
    except BaseException:  # noqa: B036
        pass
    kind, value = outcome
    if kind == "ok":
        value = transportable(value)
    else:
        tb = "".join(traceback.format_exception(value))
        value = _RemoteError(f"{type(value).__name__}: {value}\n{tb}")
    try:
        pickle.dumps(value)
    except BaseException as exc:  # noqa: B036
        return index, ("exc", _RemoteError(f"result could not be sent back: {exc!r}"))
    return index, (kind, value)


def transportable(value: Any) -> Any:
    """`value` with every part that cannot be pickled replaced by its repr.

    A Score whose details hold an open file or a lambda still reaches the caller; the replaced keys
    are listed under `details["unpicklable"]` so nothing is lost silently.
    """
    from rewardsmith.core.score import Score

    replaced: list[str] = []

    def clean(obj: Any, path: str) -> Any:
        try:
            pickle.dumps(obj)
            return obj
        except Exception:
            pass
        if isinstance(obj, dict):
            return {k: clean(v, f"{path}.{k}" if path else str(k)) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(clean(v, f"{path}[{i}]") for i, v in enumerate(obj))
        replaced.append(path or "<value>")
        return f"<unpicklable {type(obj).__name__}: {_short_repr(obj)}>"

    if isinstance(value, Score):
        details = clean(value.details, "")
        if replaced:
            details["unpicklable"] = replaced
        return Score(value.value, value.reason, value.status, details)
    return clean(value, "")


def _short_repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = object.__repr__(obj)
    return text if len(text) <= 200 else text[:200] + "…"


# -- the caller's handle on one worker ------------------------------------------------------------


class _Worker:
    def __init__(self, fn: Callable[[Any, Any], Any]) -> None:
        line = _get_lifeline()
        procs.prepare()  # nothing the child calls may load a library or spawn a helper
        parent_sock, child_sock = socket.socketpair()
        for stream in (sys.stdout, sys.stderr):  # buffered text must not be written twice
            try:
                stream.flush()
            except Exception:
                pass
        child_fd = child_sock.fileno()
        pid = os.fork()
        if pid == 0:
            try:
                _supervisor_main(child_fd, line.life_r, line.relay_w, fn)
            finally:
                os._exit(255)
        child_sock.close()
        self.supervisor = pid
        self.supervisor_watch = procs.pid_watch(pid)  # readable once the supervisor has exited
        self.worker_watch: int | None = None  # readable once the worker has exited (seen first)
        self.conn = Connection(parent_sock.detach())
        self.queue: deque[int] = deque()  # indices sent to this worker; the head is running
        self.deadline: float | None = None
        self.finished = 0  # results collected since the dispatcher last counted
        self.items = 0  # items completed over the worker's life
        self.retire = False  # recycle once its queue is empty
        self.exit_status: int | None = None
        self.pid = 0
        if not self.conn.poll(START_TIMEOUT_S):
            self.kill()
            raise WorkerStartError(f"a worker process did not start within {START_TIMEOUT_S:g} s")
        try:
            _, self.pid, self.rss0 = self.conn.recv()
        except (EOFError, OSError, ValueError) as exc:
            self.kill()
            raise WorkerStartError(f"a worker process died while starting ({self.describe_exit()})") from exc
        self.worker_watch = procs.pid_watch(self.pid)
        self.rss = self.rss0

    def death_fds(self) -> list[int]:
        """Descriptors that become readable when the worker dies (empty where pidfds do not exist)."""
        return [fd for fd in (self.worker_watch, self.supervisor_watch) if fd is not None]

    def waitables(self) -> list[Any]:
        return [self.conn, *self.death_fds()]

    def dead(self) -> bool:
        """True once the worker has exited (its supervisor follows as soon as it has reaped)."""
        if self.exit_status is not None:
            return True
        if self.worker_watch is not None and select.select([self.worker_watch], [], [], 0)[0]:
            return True
        return self._supervisor_exited()

    def _supervisor_exited(self) -> bool:
        if self.exit_status is not None:
            return True
        if self.supervisor_watch is not None and not select.select([self.supervisor_watch], [], [], 0)[0]:
            return False
        try:
            pid, status = os.waitpid(self.supervisor, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else (SIGCHLD ignored by the application)
            if self.supervisor_watch is None and _alive(self.supervisor):
                return False
            self.exit_status = -1
            return True
        if pid:
            self.exit_status = procs.encode_exit(status)
            return True
        return False

    def _wait_supervisor(self, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        while not self._supervisor_exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def describe_exit(self, wait_s: float = 2.0) -> str:
        self._wait_supervisor(wait_s)
        if self.exit_status is None:
            return "still running"
        if self.exit_status < 0:
            return "exit status unknown"
        return procs.exit_description(self.exit_status)

    def kill(self) -> None:
        """SIGKILL the worker's process group; the supervisor reaps the rest and exits."""
        if self.pid:
            _kill_group(self.pid)
        if not self._wait_supervisor(_STOP_GRACE_S):
            try:
                os.kill(self.supervisor, signal.SIGKILL)
            except OSError:
                pass
            self._wait_supervisor(5.0)
        self.close_handles()

    def stop(self) -> None:
        """Ask an idle worker to exit; `finish_stop` collects it."""
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass

    def finish_stop(self, deadline: float) -> None:
        if not self._wait_supervisor(max(0.0, deadline - time.monotonic())):
            self.kill()
        self.close_handles()

    def close_handles(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        for name in ("worker_watch", "supervisor_watch"):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)

    def forget(self) -> None:
        """In a forked child: drop our copies of the handles; the process is the parent's."""
        self.close_handles()


# -- the pool -------------------------------------------------------------------------------------


class ProcessPool(Generic[T, R]):
    """Run `fn(item, context)` over items in persistent forked workers with a per-item deadline.

    `map` can be called any number of times; the workers stay up between calls. Calls on one pool
    are serialised (a second thread waits for the first). `max_items` and `max_memory_growth_mb`
    recycle a worker that has run that many items or grown by that much since it started.
    """

    def __init__(
        self,
        fn: Callable[[T, Any], R],
        *,
        workers: int,
        max_items: int | None = None,
        max_memory_growth_mb: float | None = None,
        name: str = "pool",
    ) -> None:
        self.fn, self.size, self.name = fn, max(1, workers), name
        self.max_items, self.max_memory_growth_mb = max_items, max_memory_growth_mb
        self.max_chunk = 16
        self._workers: list[_Worker] = []
        self._lock = threading.RLock()
        self._closed = False
        self.pid = os.getpid()
        self.started = 0  # workers started over the pool's life (restarts included)
        self._timeout: float | None = None
        _register(self)

    # -- public -----------------------------------------------------------------------------------
    def map(
        self,
        items: Sequence[T],
        *,
        timeout: float | None,
        on_timeout: Callable[[int], R],
        on_crash: Callable[[int, BaseException], R],
        context: Any = None,
        workers: int | None = None,
        on_result: Callable[[], None] | None = None,
    ) -> list[R]:
        """Results in input order. `on_timeout(i)` / `on_crash(i, exc)` give the result of an item
        whose worker ran out of time or died; an exception the function raised is re-raised here."""
        if not items:
            return []
        with self._lock:
            if self._closed or self.pid != os.getpid():
                raise RuntimeError(f"process pool {self.name!r} is closed")
            try:
                return self._map(items, timeout, on_timeout, on_crash, context, workers, on_result)
            except BaseException:
                self._kill_busy()  # interrupted or failed mid-batch: no stale item may leak into the next
                raise

    def pids(self) -> list[int]:
        """Pids of the live workers (not their supervisors): what a test or a monitor looks at."""
        return [w.pid for w in self._workers if not w.dead()]

    def close(self) -> None:
        """Stop every worker (idle ones exit cleanly, busy ones are killed); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers = self._workers, []
        if self.pid != os.getpid():
            return
        for w in workers:
            w.stop()
        deadline = time.monotonic() + _STOP_GRACE_S
        for w in workers:
            w.finish_stop(deadline)
        _unregister(self)

    def forget(self) -> None:
        """In a forked child: this pool's processes belong to the parent; let go of them."""
        for w in self._workers:
            w.forget()
        self._workers = []
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    # -- dispatch ---------------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        w = _Worker(self.fn)
        self.started += 1
        return w

    def _ready_workers(self, n: int) -> list[_Worker]:
        """`n` live, idle workers, replacing dead and retired ones and starting new ones as needed."""
        keep: list[_Worker] = []
        for w in self._workers:
            if w.dead():
                w.kill()  # collects the supervisor (it exits once it has reaped the worker's leftovers)
            elif w.retire:
                w.stop()
                w.finish_stop(time.monotonic() + _STOP_GRACE_S)
            else:
                keep.append(w)
        while len(keep) < n:
            keep.append(self._spawn())
        self._workers = keep
        return keep[:n]

    def _map(
        self,
        items: Sequence[T],
        timeout: float | None,
        on_timeout: Callable[[int], R],
        on_crash: Callable[[int, BaseException], R],
        context: Any,
        workers: int | None,
        on_result: Callable[[], None] | None,
    ) -> list[R]:
        self._timeout = timeout
        results: list[Any] = [None] * len(items)
        pending = deque(range(len(items)))
        remaining = len(items)
        n = max(1, min(workers or self.size, len(items)))
        slots = self._ready_workers(n)
        # Chunks save a round trip per item; the deadline still applies to each item, because
        # the worker reports every result as it finishes and the clock restarts on each.
        chunk = max(1, min(self.max_chunk, len(items) // (4 * n)))
        while remaining:
            now = time.monotonic()
            for slot, w in enumerate(slots):
                if w.queue or not pending:
                    continue
                if w.retire:
                    slots[slot] = w = self._replace(w, graceful=True)
                batch = [pending.popleft() for _ in range(min(chunk, len(pending)))]
                w.queue.extend(batch)
                w.deadline = now + timeout if timeout else None
                try:
                    w.conn.send((context, [(i, items[i]) for i in batch]))
                except (OSError, ValueError):
                    pass  # a dead worker: its death is seen below and the chunk re-queued
            busy = [w for w in slots if w.queue]
            deadlines = [w.deadline for w in busy if w.deadline is not None]
            wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            if any(not w.death_fds() for w in busy):  # no pidfd here: poll for deaths
                wait_s = 0.2 if wait_s is None else min(wait_s, 0.2)
            ready = set(wait([x for w in busy for x in w.waitables()], timeout=wait_s))
            for slot, w in enumerate(slots):
                if not w.queue:
                    continue
                failure: Any = None
                failed = False
                if w.conn in ready:
                    failed, failure = self._drain(w, results, on_crash)
                died = any(fd in ready for fd in w.death_fds()) or (not w.death_fds() and w.dead())
                if not failed and w.queue and died:
                    failed, failure = self._drain(w, results, on_crash)  # results sent before dying
                    if not failed and w.queue:
                        failed, failure = True, self._crash_result(w, on_crash)
                if not failed and w.queue and w.deadline is not None and time.monotonic() >= w.deadline:
                    failed, failure = True, on_timeout(w.queue[0])
                if failed:  # the head item timed out or crashed its worker
                    results[w.queue.popleft()] = failure
                    w.finished += 1
                    pending.extendleft(reversed(w.queue))  # the rest of its chunk goes back
                    w.queue.clear()
                    slots[slot] = self._replace(w, graceful=False)
                remaining -= w.finished
                if on_result:
                    for _ in range(w.finished):
                        on_result()
                w.finished = 0
        return results

    def _drain(self, w: _Worker, results: list[Any], on_crash: Callable[[int, BaseException], R]) -> tuple[bool, Any]:
        """Collect every result the worker has sent; (True, crash result) if it died mid-item."""
        while w.queue and w.conn.poll():
            try:
                batch, rss = pickle.loads(w.conn.recv_bytes())
            except (EOFError, OSError):
                return True, self._crash_result(w, on_crash)
            for index, (kind, value) in batch:
                if kind == "exc":
                    tag_sample(value, index)
                    raise value
                results[index] = value
                w.queue.popleft()
                w.finished += 1
                w.items += 1
            w.rss = rss
            w.deadline = time.monotonic() + self._timeout if (self._timeout and w.queue) else None
            self._check_recycle(w)
        return False, None

    def _check_recycle(self, w: _Worker) -> None:
        if self.max_items is not None and w.items >= self.max_items:
            w.retire = True
        if self.max_memory_growth_mb is not None and (w.rss - w.rss0) / 1024 > self.max_memory_growth_mb:
            w.retire = True

    def _crash_result(self, w: _Worker, on_crash: Callable[[int, BaseException], R]) -> Any:
        return on_crash(w.queue[0], WorkerCrash(f"worker process died ({w.describe_exit()})"))

    def _replace(self, w: _Worker, *, graceful: bool) -> _Worker:
        if graceful:
            w.stop()
            w.finish_stop(time.monotonic() + _STOP_GRACE_S)
        else:
            w.kill()
        fresh = self._spawn()
        self._workers = [fresh if x is w else x for x in self._workers]
        return fresh

    def _kill_busy(self) -> None:
        for w in self._workers:
            if w.queue:
                w.queue.clear()
                w.kill()
                w.retire = True


# -- one-off calls under a deadline ---------------------------------------------------------------


class _CallInWorker:
    """What a deadline worker runs: the function it was forked with, on arguments sent per call.

    The function is inherited, not pickled by name, so a worker never runs a different object
    that the name resolves to in its own (fork-time) copy of the module.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, args: tuple[Any, ...], context: Any) -> tuple[str, Any]:
        return ("ok", self.fn(*args))


_deadline_pools: dict[int, tuple[Callable[..., Any], ProcessPool[Any, Any]]] = {}
_deadline_lock = threading.Lock()
_MAX_DEADLINE_POOLS = 4


def call_with_deadline(fn: Callable[..., R], *args: Any, timeout: float) -> tuple[str, Any]:
    """Run `fn(*args)` in a persistent worker process, killed if it runs past `timeout` seconds.

    Returns ("ok", result), ("timeout", None) or ("crash", WorkerCrash); an exception `fn` raises
    is re-raised here. `args` must pickle; `fn` is inherited by a worker forked for it (one small
    pool per function, the few most recent kept). Works from any thread and under a running loop.
    """
    stale: list[ProcessPool[Any, Any]] = []
    with _deadline_lock:
        entry = _deadline_pools.get(id(fn))
        if entry is None or entry[0] is not fn or entry[1].closed or entry[1].pid != os.getpid():
            if entry is not None:
                stale.append(entry[1])
            entry = (fn, ProcessPool(_CallInWorker(fn), workers=1, name="deadline"))
            _deadline_pools[id(fn)] = entry
            while len(_deadline_pools) > _MAX_DEADLINE_POOLS:
                stale.append(_deadline_pools.pop(next(iter(_deadline_pools)))[1])
        pool = entry[1]
    for old in stale:
        old.close()
    (result,) = pool.map(
        [args],
        timeout=timeout,
        on_timeout=lambda i: ("timeout", None),
        on_crash=lambda i, exc: ("crash", exc),
    )
    return result


# -- every pool of this process: closed at exit, forgotten in a forked child ---------------------

_pools: weakref.WeakSet[ProcessPool[Any, Any]] = weakref.WeakSet()
_pools_lock = threading.Lock()


def _register(pool: ProcessPool[Any, Any]) -> None:
    with _pools_lock:
        _pools.add(pool)


def _unregister(pool: ProcessPool[Any, Any]) -> None:
    with _pools_lock:
        _pools.discard(pool)


def close_all_pools() -> None:
    """Stop every worker process this process started (they restart on next use)."""
    with _pools_lock:
        pools = [p for p in _pools if p.pid == os.getpid()]
    for p in pools:
        p.close()


def _at_exit() -> None:
    global _lifeline
    close_all_pools()
    with _lifeline_lock:
        line, _lifeline = _lifeline, None
    if line is not None and line.pid == os.getpid():
        line.close()


def _after_fork_in_child() -> None:
    global _lifeline, _pools_lock, _lifeline_lock, _deadline_lock
    _deadline_pools.clear()
    _deadline_lock = threading.Lock()
    for p in list(_pools):
        p.forget()
    _pools.clear()
    if _lifeline is not None:
        _lifeline.forget_in_child()
        _lifeline = None
    _pools_lock = threading.Lock()
    _lifeline_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
