"""The batch engine: how a leaf Reward scores many samples.

- async rewards: concurrently on asyncio, at most `max_concurrency` in flight, each with a
  `asyncio.wait_for` deadline (in a helper thread when the caller's thread already runs a loop);
- sync rewards with a time limit or more than one worker: the killable process pool;
- everything else: a plain in-process loop, the cheapest path.
Results always come back in input order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from rewardsmith.core import score as S
from rewardsmith.core.errors import UsageError, tag_sample
from rewardsmith.core.pool import ProcessPool
from rewardsmith.core.reward import Reward, error_score, timeout_score
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

T = TypeVar("T")
DEFAULT_MAX_CONCURRENCY = 32


@dataclass(slots=True)
class BatchOptions:
    workers: int | None = None
    timeout: float | None = None
    progress: bool = False
    strict: bool = False
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise UsageError(f"workers must be a positive integer, got {self.workers!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise UsageError(f"max_concurrency must be at least 1, got {self.max_concurrency!r}")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def batch_leaf(reward: Reward, samples: list[Sample], opts: BatchOptions) -> list[Score]:
    if not samples:
        return []
    if reward.is_async:
        return run_sync(abatch_leaf(reward, samples, opts))
    timeout = opts.timeout if opts.timeout is not None else reward.timeout
    workers = opts.workers if opts.workers is not None else (cpu_count() if reward.kind == "cpu" else 1)
    workers = min(workers, len(samples))
    if timeout is None and workers <= 1:
        return _inline(reward, samples, opts)
    return _pooled(reward, samples, opts, workers, timeout)


def _progress(reward: Reward, total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=reward.name, unit="sample", leave=False)


def _inline(reward: Reward, samples: list[Sample], opts: BatchOptions) -> list[Score]:
    bar = _progress(reward, len(samples), opts.progress)
    score_one, strict = reward._score_one, opts.strict
    out = []
    for i, s in enumerate(samples):
        try:
            out.append(score_one(s, strict))
        except UsageError as exc:
            tag_sample(exc, i)
            raise
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return out


def _pooled(
    reward: Reward, samples: list[Sample], opts: BatchOptions, workers: int, timeout: float | None
) -> list[Score]:
    bar = _progress(reward, len(samples), opts.progress)
    strict = opts.strict

    def crashed(i: int, exc: BaseException) -> Score:
        if strict:
            raise exc
        return Score(None, f"{reward.name}: {exc}", S.ERROR, {"exception": type(exc).__name__})

    pool: ProcessPool[Sample, Score] = ProcessPool(
        lambda s: reward._score_one(s, strict),
        workers=workers,
        timeout=timeout,
        on_timeout=lambda i: timeout_score(reward, timeout or 0.0),
        on_crash=crashed,
        on_result=bar.update if bar is not None else None,
    )
    try:
        return pool.map(samples)
    finally:
        if bar is not None:
            bar.close()


async def abatch_leaf(reward: Reward, samples: list[Sample], opts: BatchOptions) -> list[Score]:
    timeout = opts.timeout if opts.timeout is not None else reward.timeout
    limit = asyncio.Semaphore(
        opts.max_concurrency or getattr(reward, "max_concurrency", None) or DEFAULT_MAX_CONCURRENCY
    )
    bar = _progress(reward, len(samples), opts.progress)

    async def one(index: int, sample: Sample) -> Score:
        async with limit:
            try:
                coro = reward._ascore(sample)
                result = await (asyncio.wait_for(coro, timeout) if timeout else coro)
                score = reward._finish(result)
            except asyncio.TimeoutError:
                score = timeout_score(reward, timeout or 0.0)
            except UsageError as exc:
                tag_sample(exc, index)
                raise
            except Exception as exc:
                if opts.strict:
                    raise
                score = error_score(reward, exc)
            if bar is not None:
                bar.update()
            return score

    try:
        return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(samples))))
    finally:
        if bar is not None:
            bar.close()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when this thread runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rewardsmith-async") as ex:
        return ex.submit(asyncio.run, coro).result()
