"""Judges on any event loop: one per batch, a long-lived one in a thread, the caller's own (TRL)."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings

import pytest

from rewardsmith.judges import loops
from rewardsmith.trainer_adapter import to_trl_async

ROWS = ["Dear valued customer, your request has been processed.", "Hey Sam, thanks for the photos!"]


def live_resources() -> list[loops.LoopResources]:
    gc.collect()
    return list(loops._by_loop.values())


def test_each_asyncio_run_gets_its_own_client_closed_with_its_loop(robotic):
    judge = robotic(cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # an unclosed socket or transport fails the test
        for _ in range(3):  # today's engine: one asyncio.run per batch
            assert [s.value for s in judge.score_batch(ROWS)] == [-3.0, 0.0]
        assert live_resources() == []  # every loop's client was closed and released
        gc.collect()


def test_a_long_lived_loop_in_a_daemon_thread_keeps_one_client(robotic):
    """The lead's engine: one loop per process in a daemon thread; batches are submitted to it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        judge = robotic(cache=False)
        for _ in range(3):
            future = asyncio.run_coroutine_threadsafe(judge.ascore_batch(ROWS), loop)
            assert [s.value for s in future.result(timeout=30)] == [-3.0, 0.0]
        resources = loops._by_loop[loop]
        assert len(resources.clients) == 1  # reused across batches, not one per batch
        asyncio.run_coroutine_threadsafe(loops.aclose_all(), loop).result(timeout=10)
        assert resources.clients == {}
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def test_to_trl_async_scores_on_the_callers_loop(robotic):
    fn = to_trl_async(robotic(cache=False))
    metrics = {}
    for _ in range(2):  # two training steps on the same loop
        values = await fn(
            prompts=["Reply", "Reply"], completions=ROWS, log_metric=lambda k, v: metrics.__setitem__(k, v)
        )
        assert values == [-3.0, 0.0]
    assert len(loops._by_loop[asyncio.get_running_loop()].clients) == 1
    assert metrics["rewards/robotic/status/ok"] == 1.0


async def test_an_unscored_judge_returns_none_to_trl(fake, robotic):
    fake.configure(rules=[{"match": "Sam", "faults": ["500"], "repeat": True}])
    fn = to_trl_async(robotic(cache=False, max_retries=0))
    with pytest.warns(RuntimeWarning):
        values = await fn(prompts=["p", "p"], completions=ROWS)
    assert values == [-3.0, None]  # TRL turns None into NaN and leaves it out of the mean


async def test_cancelling_a_waiting_request_frees_nothing_it_did_not_hold():
    limiter = loops.Limiter("http://test", default=1)
    async with limiter:
        waiter = asyncio.ensure_future(limiter.__aenter__())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert limiter.in_flight == 0
    async with limiter:
        assert limiter.in_flight == 1
