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


def test_sync_batches_share_one_client_on_the_engines_loop(robotic):
    from rewardsmith.core.aio import shared_loop

    judge = robotic(cache=False)
    assert [s.value for s in judge.score_batch(ROWS)] == [-3.0, 0.0]
    clients = dict(loops._by_loop[shared_loop()].clients)
    for _ in range(2):  # two more training steps
        assert [s.value for s in judge.score_batch(ROWS)] == [-3.0, 0.0]
    assert loops._by_loop[shared_loop()].clients == clients  # the same client objects, not one per step


def test_each_asyncio_run_gets_its_own_client_closed_with_its_loop(robotic):
    judge = robotic(cache=False)
    before = {id(r) for r in live_resources()}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # an unclosed socket or transport fails the test
        for _ in range(3):  # a caller's own short-lived loops (single-sample `ascore` runs on the caller's loop)
            assert asyncio.run(judge.ascore(ROWS[0])).value == -3.0
        assert {id(r) for r in live_resources()} <= before  # every such loop's client was closed and released
        gc.collect()


def test_batches_from_a_callers_own_loop_thread_run_on_the_engines_loop(robotic):
    """A caller with its own long-lived loop (a server, a rollout worker): still one client."""
    from rewardsmith.core.aio import shared_loop

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        judge = robotic(cache=False)
        clients = None
        for _ in range(3):
            future = asyncio.run_coroutine_threadsafe(judge.ascore_batch(ROWS), loop)
            assert [s.value for s in future.result(timeout=30)] == [-3.0, 0.0]
            clients = clients or dict(loops._by_loop[shared_loop()].clients)
        assert loops._by_loop[shared_loop()].clients == clients
        assert loop not in loops._by_loop  # nothing was bound to the caller's loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def test_to_trl_async_keeps_one_client_across_steps(robotic):
    from rewardsmith.core.aio import shared_loop

    fn = to_trl_async(robotic(cache=False))
    metrics = {}
    clients = None
    for _ in range(2):  # two training steps
        values = await fn(
            prompts=["Reply", "Reply"], completions=ROWS, log_metric=lambda k, v: metrics.__setitem__(k, v)
        )
        assert values == [-3.0, 0.0]
        clients = clients or dict(loops._by_loop[shared_loop()].clients)
    assert loops._by_loop[shared_loop()].clients == clients
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
