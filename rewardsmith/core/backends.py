"""Backends: where a leaf reward's batch runs. The one seam between the engine and the machinery.

Modelled on httpx's transports: the engine hands a backend `(reward, samples, options)` and gets one
Score per sample back, in input order; composites batch part by part through the same call. So a Ray
actor pool or a remote reward server is a new `Backend` subclass, not an edit of the engine.

- `InlineBackend`: this thread, one sample after another; the cheapest path, no hard time limit.
- `ProcessBackend`: persistent pools of killable worker processes (one pool per reward, kept across
  batches) with a hard per-item deadline; for SymPy, code and anything that can hang in C.
- `AsyncBackend`: async rewards concurrently on the process's long-lived event loop, with at most
  `max_concurrency` in flight and a deadline per item.
- `LocalBackend`: the default; picks one of the above per reward from its kind, timeout and workers.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rewardsmith.core import aio, interrupts
from rewardsmith.core import score as S
from rewardsmith.core.errors import UsageError, tag_sample
from rewardsmith.core.pool import ProcessPool, in_worker
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

if TYPE_CHECKING:
    from rewardsmith.core.engine import BatchOptions
    from rewardsmith.core.reward import Reward

#: a deadline for async (io) items when neither the call nor the reward sets one: nothing waits forever
DEFAULT_IO_TIMEOUT_S = 120.0
DEFAULT_MAX_CONCURRENCY = 32


class Backend:
    """Runs one leaf reward over a batch of samples; results in input order.

    Subclasses implement `run` (and `arun` when they can do better than a thread), and `close` when
    they hold resources. A backend is a context manager that closes itself.
    """

    name = "backend"

    def run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        raise NotImplementedError

    async def arun(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        """The async face; by default `run` in a thread, so the caller's event loop never blocks."""
        return await asyncio.to_thread(self.run, reward, samples, options)

    def close(self) -> None:
        """Release processes, loops or connections this backend holds."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


# -- shared helpers -------------------------------------------------------------------------------


def timeout_score(reward: Reward, limit: float) -> Score:
    """An item that ran out of time: `timeout_value` when slowness is the model's fault (a verifier),
    unscored (value None) when it is the infrastructure's (a judge that does not answer)."""
    reason = f"{reward.name} ran past its {limit:g} s time limit and was stopped"
    if reward.timeout_value is None:
        return Score(None, reason, S.UNSCORED, {"timeout_s": limit, "cause": "timeout"})
    return Score(reward.timeout_value, reason, S.TIMEOUT, {"timeout_s": limit})


def crash_score(reward: Reward, exc: BaseException) -> Score:
    return Score(None, f"{reward.name}: {exc}", S.ERROR, {"exception": type(exc).__name__})


def progress_bar(reward: Reward, total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=reward.name, unit="sample", leave=False)


def effective_timeout(reward: Reward, options: BatchOptions) -> float | None:
    return options.timeout if options.timeout is not None else reward.timeout


# -- inline ---------------------------------------------------------------------------------------


class InlineBackend(Backend):
    """This thread, one sample after another (async rewards awaited one by one on the shared loop)."""

    name = "inline"

    def run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        bar = progress_bar(reward, len(samples), options.progress)
        score_one, strict = reward._score_one, options.strict
        out = []
        try:
            with interrupts.guard():
                for i, s in enumerate(samples):
                    try:
                        out.append(score_one(s, strict))
                    except UsageError as exc:
                        tag_sample(exc, i)
                        raise
                    if bar is not None:
                        bar.update()
        finally:
            if bar is not None:
                bar.close()
        return out


# -- worker processes -----------------------------------------------------------------------------


class _ScoreInWorker:
    """What a pool worker runs: `reward._score_one(sample, strict)`.

    It holds the reward weakly so a pool never keeps a reward alive in the caller; the worker, a
    fork taken while the reward was alive, finds it in its own copy of memory.
    """

    def __init__(self, reward: Reward) -> None:
        self.ref = weakref.ref(reward)
        self.reward: Reward | None = None

    def __call__(self, sample: Sample, strict: bool) -> Score:
        if self.reward is None:
            self.reward = self.ref()
            if self.reward is None:
                raise RuntimeError("the reward of this worker no longer exists")
        return self.reward._score_one(sample, strict)


def _quick(reward: Reward, sample: Sample, index: int) -> Score | None:
    """The reward's quick stage for one sample; anything unexpected sends the item to the pool,
    where it is scored (or fails) under the full rules."""
    try:
        result = reward._quick_score(sample)
    except UsageError as exc:
        tag_sample(exc, index)
        raise
    except Exception:
        return None
    return None if result is None else reward._finish(result)


def _state_token(reward: Reward) -> tuple[Any, ...]:
    """A cheap fingerprint of a reward's attributes: a pool forked before an attribute was rebound
    holds a stale copy, so the pool is restarted when this changes."""
    state = getattr(reward, "__dict__", {})
    return tuple(
        (k, v if isinstance(v, (int, float, str, bool, type(None))) else id(v)) for k, v in sorted(state.items())
    )


class ProcessBackend(Backend):
    """Sync rewards in persistent pools of killable worker processes, one pool per reward.

    `workers`: processes per pool (default: the batch's `workers`, else the core count).
    `max_items_per_worker` / `max_memory_growth_mb`: recycle a worker after that many items or that
    much RSS growth (a leaking reward). `max_pools`: pools kept alive at once (least recently used
    closed first). Pools are closed by `close()`, when their reward is garbage-collected, and at exit.
    A pool holds a fork-time copy of its reward: rebinding one of the reward's attributes restarts
    the pool, but mutating an object inside the reward in place is not seen (build a new reward).
    """

    name = "process"

    def __init__(
        self,
        *,
        workers: int | None = None,
        max_items_per_worker: int | None = None,
        max_memory_growth_mb: float | None = 1024.0,
        max_pools: int = 8,
    ) -> None:
        if workers is not None and workers < 1:
            raise UsageError(f"ProcessBackend(workers=...) must be at least 1, got {workers!r}")
        self.workers = workers
        self.max_items_per_worker = max_items_per_worker
        self.max_memory_growth_mb = max_memory_growth_mb
        self.max_pools = max(1, max_pools)
        self._pools: OrderedDict[int, tuple[tuple[Any, ...], ProcessPool[Sample, Score]]] = OrderedDict()
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def pool_for(self, reward: Reward, workers: int) -> ProcessPool[Sample, Score]:
        """The live pool of `reward` (started, or restarted when stale, as needed)."""
        token = _state_token(reward)
        evicted: list[ProcessPool[Sample, Score]] = []
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the pools are the parent's
                self._pools.clear()
                self._pid = os.getpid()
            entry = self._pools.get(id(reward))
            if entry is not None and (entry[0] != token or entry[1].closed):
                evicted.append(self._pools.pop(id(reward))[1])
                entry = None
            if entry is None:
                pool: ProcessPool[Sample, Score] = ProcessPool(
                    _ScoreInWorker(reward),
                    workers=workers,
                    max_items=self.max_items_per_worker,
                    max_memory_growth_mb=self.max_memory_growth_mb,
                    name=reward.name,
                )
                self._pools[id(reward)] = (token, pool)
                weakref.finalize(reward, self._discard, id(reward), pool)
                while len(self._pools) > self.max_pools:
                    evicted.append(self._pools.popitem(last=False)[1][1])
            else:
                pool = entry[1]
                self._pools.move_to_end(id(reward))
        for old in evicted:
            old.close()
        return pool

    def _discard(self, key: int, pool: ProcessPool[Sample, Score]) -> None:
        with self._lock:
            entry = self._pools.get(key)
            if entry is not None and entry[1] is pool:
                del self._pools[key]
        if pool.pid == os.getpid():
            pool.close()

    def run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if not samples:
            return []
        from rewardsmith.core.engine import cpu_count

        workers = options.workers or self.workers or cpu_count()
        workers = min(workers, len(samples))
        timeout = effective_timeout(reward, options)
        nested = in_worker()  # already under a deadline: a short-lived pool, gone when the item ends
        if nested:
            pool: ProcessPool[Sample, Score] = ProcessPool(_ScoreInWorker(reward), workers=workers, name=reward.name)
        else:
            pool = self.pool_for(reward, workers)
        bar = progress_bar(reward, len(samples), options.progress)
        strict = options.strict

        def crashed(i: int, exc: BaseException) -> Score:
            if strict:
                raise exc
            return crash_score(reward, exc)

        try:
            out: list[Score | None] = [None] * len(samples)
            todo = list(range(len(samples)))
            if reward.has_quick_stage:  # decided here, without a round trip to a worker
                todo = []
                for i, sample in enumerate(samples):
                    quick = _quick(reward, sample, i)
                    if quick is None:
                        todo.append(i)
                    else:
                        out[i] = quick
                        if bar is not None:
                            bar.update()
            if todo:
                try:
                    pooled = pool.map(
                        [samples[i] for i in todo],
                        timeout=timeout,
                        context=strict,
                        workers=min(workers, len(todo)),
                        on_timeout=lambda i: timeout_score(reward, timeout or 0.0),
                        on_crash=crashed,
                        on_result=bar.update if bar is not None else None,
                    )
                except UsageError as exc:  # the pool counted in `todo`; the caller counts in `samples`
                    index = getattr(exc, "sample_index", None)
                    if index is not None:
                        exc.sample_index = todo[index]  # type: ignore[attr-defined]
                    raise
                for i, score in zip(todo, pooled, strict=True):
                    out[i] = score
            return out  # type: ignore[return-value]
        finally:
            if bar is not None:
                bar.close()
            if nested:
                pool.close()

    def close(self) -> None:
        with self._lock:
            pools = [p for _, p in self._pools.values()]
            self._pools.clear()
        for p in pools:
            p.close()


# -- asyncio --------------------------------------------------------------------------------------


class AsyncBackend(Backend):
    """Async rewards concurrently on the process's long-lived event loop.

    At most `max_concurrency` items in flight (the call's option, else the reward's
    `max_concurrency`, else this backend's, else 32), each under a deadline (the call's `timeout`,
    else the reward's, else 120 s). Sync rewards run in threads under the same bound (their deadline
    is reported, but a thread cannot be stopped: use `ProcessBackend` for code that can hang).
    """

    name = "async"

    def __init__(self, *, max_concurrency: int | None = None) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise UsageError(f"AsyncBackend(max_concurrency=...) must be at least 1, got {max_concurrency!r}")
        self.max_concurrency = max_concurrency

    def run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if not samples:
            return []
        return aio.run_sync(self._gather(reward, samples, options))

    async def arun(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if not samples:
            return []
        return await aio.await_on_shared_loop(self._gather(reward, samples, options))

    async def _gather(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        timeout = effective_timeout(reward, options) or DEFAULT_IO_TIMEOUT_S
        bound = options.max_concurrency or reward.max_concurrency or self.max_concurrency or DEFAULT_MAX_CONCURRENCY
        limit = asyncio.Semaphore(bound)
        bar = progress_bar(reward, len(samples), options.progress)
        strict = options.strict

        async def call(sample: Sample) -> Score:
            try:
                if reward.is_async:
                    return reward._finish(await reward._ascore(sample))
                return await asyncio.to_thread(reward._score_one, sample, strict)
            except (SystemExit, KeyboardInterrupt) as exc:
                raise aio.Escaped(exc) from None  # asyncio would re-raise these out of the loop itself

        async def one(index: int, sample: Sample) -> Score:
            async with limit:
                try:
                    score = await asyncio.wait_for(call(sample), timeout)
                except asyncio.TimeoutError:
                    score = timeout_score(reward, timeout)
                except UsageError as exc:
                    tag_sample(exc, index)
                    raise
                except asyncio.CancelledError as exc:
                    task = asyncio.current_task()
                    if task is None or not hasattr(task, "cancelling") or task.cancelling():
                        raise  # the batch itself is being cancelled
                    score = _row_error(reward, exc, strict)
                except BaseException as exc:  # noqa: B036  (one row's failure, whatever it raised)
                    score = _row_error(reward, exc, strict)
                if bar is not None:
                    bar.update()
                return score

        try:
            return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(samples))))
        finally:
            if bar is not None:
                bar.close()


def _row_error(reward: Reward, exc: BaseException, strict: bool) -> Score:
    if isinstance(exc, aio.Escaped):
        exc = exc.exc
    if strict or interrupts.is_real_interrupt(exc):
        raise aio.escape(exc)
    from rewardsmith.core.reward import error_score

    return error_score(reward, exc)


# -- the default ----------------------------------------------------------------------------------


class LocalBackend(Backend):
    """The default: each reward on the cheapest local path that honours its limits.

    - a reward that batches itself (the code verifier fans out over its own sandbox pool, a TRL
      function scores a whole batch in one call): its own way;
    - async rewards: `AsyncBackend`;
    - sync rewards of kind "cpu", or with a time limit, or asked to use more than one worker:
      `ProcessBackend` (a crash, a hang or a leftover subprocess then costs one item, not the caller);
    - everything else: `InlineBackend`.
    """

    name = "local"

    def __init__(
        self,
        *,
        inline: InlineBackend | None = None,
        process: ProcessBackend | None = None,
        asynchronous: AsyncBackend | None = None,
    ) -> None:
        self.inline = inline or InlineBackend()
        self.process = process or ProcessBackend()
        self.asynchronous = asynchronous or AsyncBackend()

    def choose(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> Backend | None:
        """The backend for this batch; None when the reward runs its own batches (`_batch_locally`)."""
        if reward.batches_itself:
            return None
        if reward.is_async:
            return self.asynchronous
        if reward.kind == "cpu" or effective_timeout(reward, options) is not None:
            return self.process
        if options.workers is not None and min(options.workers, len(samples)) > 1:
            return self.process
        return self.inline

    def run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if not samples:
            return []
        backend = self.choose(reward, samples, options)
        if backend is None:
            return reward._batch_locally(samples, options)
        return backend.run(reward, samples, options)

    async def arun(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if not samples:
            return []
        backend = self.choose(reward, samples, options)
        if backend is None:
            return await asyncio.to_thread(reward._batch_locally, samples, options)
        return await backend.arun(reward, samples, options)

    def close(self) -> None:
        self.process.close()


_default: LocalBackend | None = None
_default_lock = threading.Lock()


def default_backend() -> LocalBackend:
    """The process-wide `LocalBackend` that `score_batch` uses when no backend is given."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LocalBackend()
        return _default


_shutdown_hooks: list[Callable[[], None]] = []


def on_shutdown(hook: Callable[[], None]) -> None:
    """Register what `shutdown()` must also stop (the code verifier's warm sandboxes register here:
    the core knows no verifier, so a verifier tells the core how to stop its processes)."""
    if hook not in _shutdown_hooks:
        _shutdown_hooks.append(hook)


def shutdown() -> None:
    """Stop every process rewardsmith started in this process: the worker pools of the default backend
    and whatever registered with `on_shutdown` (warm code sandboxes). They restart on next use."""
    from rewardsmith.core.pool import close_all_pools

    backend = _default
    if backend is not None:
        backend.close()
    close_all_pools()
    for hook in list(_shutdown_hooks):
        hook()
