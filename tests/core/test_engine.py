"""The batch engine: hard timeouts from any thread or event loop, order, crashes, no leaks."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time

import psutil
import pytest

import rewardsmith as rs
from rewardsmith import Score


@rs.reward(name="spinner")
def spinner(sample):
    """Spins forever in pure Python or inside one C call (regex backtracking), else returns len."""
    if sample.text == "spin-python":
        while True:
            pass
    if sample.text == "spin-c":
        # catastrophic backtracking: one C call that never checks for signals
        re.fullmatch(r"(a|aa)+c", "a" * 64)
    return float(len(sample.text))


SAMPLES = ["a", "spin-python", "bbb", "spin-c", "cc"]
EXPECTED = [(1.0, "ok"), (0.0, "timeout"), (3.0, "ok"), (0.0, "timeout"), (2.0, "ok")]


def _check(scores):
    assert [(s.value, s.status) for s in scores] == EXPECTED
    assert "time limit" in scores[1].reason


def _no_children_left():
    me = psutil.Process()
    deadline = time.monotonic() + 5
    while me.children(recursive=True) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert me.children(recursive=True) == []


def test_timeout_kills_spinning_workers_from_main_thread():
    started = time.monotonic()
    _check(spinner.score_batch(SAMPLES, timeout=0.5, workers=2))
    assert time.monotonic() - started < 10
    _no_children_left()


def test_timeout_from_a_worker_thread():
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("scores", spinner.score_batch(SAMPLES, timeout=0.5)))
    t.start()
    t.join(30)
    assert not t.is_alive()
    _check(out["scores"])
    _no_children_left()


async def test_timeout_inside_asyncio():
    _check(await spinner.ascore_batch(SAMPLES, timeout=0.5, workers=2))
    # the sync face too, called from inside the running loop
    _check(spinner.score_batch(SAMPLES, timeout=0.5, workers=1))
    _no_children_left()


def test_reward_default_timeout_applies():
    slow = rs.reward(spinner.fn, name="slow", kind="cpu", timeout=0.3)
    scores = slow.score_batch(["x", "spin-python"])
    assert [s.status for s in scores] == ["ok", "timeout"]


async def test_async_timeout_and_bounded_concurrency():
    in_flight = 0
    peak = 0

    @rs.reward
    async def judge(sample):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(10 if sample.text == "slow" else 0.02)
        finally:
            in_flight -= 1
        return 1.0

    judge.timeout_value = None  # a judge that does not answer is the infrastructure's fault
    texts = ["x"] * 20 + ["slow"]
    scores = await judge.ascore_batch(texts, timeout=0.5, max_concurrency=4)
    assert peak <= 4
    assert [s.status for s in scores[:20]] == ["ok"] * 20
    assert scores[20].status == "timeout" and scores[20].value is None


def test_order_preserved_with_uneven_durations():
    @rs.reward(kind="cpu")
    def sleepy(sample):
        time.sleep(0.05 * (int(sample.text) % 3))
        return float(sample.text)

    texts = [str(i) for i in range(12)]
    assert [s.value for s in sleepy.score_batch(texts, workers=2)] == [float(t) for t in texts]


def test_exceptions_in_pool_become_error_items_and_strict_raises():
    @rs.reward(kind="cpu")
    def picky(sample):
        if sample.text == "bad":
            raise ValueError("cannot score this")
        return 1.0

    scores = picky.score_batch(["ok", "bad", "ok"], workers=2)
    assert [s.status for s in scores] == ["ok", "error", "ok"]
    assert "ValueError: cannot score this" in scores[1].reason
    with pytest.raises(ValueError, match="cannot score"):
        picky.score_batch(["ok", "bad"], workers=2, strict=True)
    _no_children_left()


def test_crashing_worker_is_replaced():
    @rs.reward(kind="cpu")
    def crashy(sample):
        if sample.text == "die":
            os._exit(3)
        return 1.0

    scores = crashy.score_batch(["a", "die", "b", "c"], workers=1, timeout=5)
    assert [s.status for s in scores] == ["ok", "error", "ok", "ok"]
    assert "exit code 3" in scores[1].reason


def test_timeout_kills_subprocesses_the_reward_started():
    import subprocess
    import sys

    @rs.reward(kind="cpu")
    def spawns(sample):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        while True:
            time.sleep(0.1)

    scores = spawns.score_batch(["x"], timeout=1.0)
    assert scores[0].status == "timeout"
    _no_children_left()


def test_score_objects_and_details_cross_the_process_boundary():
    @rs.reward(kind="cpu")
    def rich(sample):
        return Score(0.5, "half", "wrong", {"nested": {"list": [1, 2]}})

    (s,) = rich.score_batch(["x"], workers=1, timeout=5)
    assert s == Score(0.5, "half", "wrong", {"nested": {"list": [1, 2]}})


def test_progress_bar_does_not_change_results(capsys):
    scores = spinner.score_batch(["a", "bb"], progress=True)
    assert [s.value for s in scores] == [1.0, 2.0]


@pytest.mark.parametrize("opts", [{"workers": 0}, {"timeout": -1}, {"max_concurrency": 0}])
def test_bad_batch_options(opts):
    with pytest.raises(rs.UsageError):
        spinner.score_batch(["a"], **opts)


def test_empty_batch():
    assert spinner.score_batch([]) == []


def test_a_reward_in_a_worker_can_start_its_own_pool():
    @rs.reward(kind="cpu")
    def inner(sample):
        return 2.0

    @rs.reward(kind="cpu")
    def outer(sample):
        return sum(s.value for s in inner.score_batch([sample, sample], workers=2, timeout=5))

    assert [s.value for s in outer.score_batch(["a", "b"], workers=2, timeout=10)] == [4.0, 4.0]
    _no_children_left()


def test_hang_inside_a_chunk_requeues_the_rest_of_the_chunk():
    # 40 items on one worker are sent in chunks of 10: items queued behind a hang must still be scored
    texts = ["x" * (i % 7 + 1) for i in range(40)]
    texts[5] = "spin-python"
    texts[21] = "spin-c"
    scores = spinner.score_batch(texts, workers=1, timeout=0.5)
    for i, (text, s) in enumerate(zip(texts, scores, strict=True)):
        if text.startswith("spin"):
            assert (s.value, s.status) == (0.0, "timeout"), i
        else:
            assert (s.value, s.status) == (float(len(text)), "ok"), i
    _no_children_left()


def test_progress_counts_every_item_once(monkeypatch):
    counted = []
    import rewardsmith.core.engine as engine

    class Bar:
        def update(self, n=1):
            counted.append(n)

        def close(self):
            pass

    monkeypatch.setattr(engine, "_progress", lambda reward, total, enabled: Bar())
    texts = ["a"] * 30 + ["spin-python"] + ["b"] * 9
    spinner.score_batch(texts, workers=2, timeout=0.5)
    assert sum(counted) == 40
