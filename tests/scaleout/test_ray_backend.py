"""RayBackend (rewardsmith/core/ray_backend.py) against a real local Ray: the local engine's Scores,
in order; actors that die mid-batch replaced without losing an item; what it refuses."""

from __future__ import annotations

import threading
import time

import pytest
import scaleout_helpers as H

import rewardsmith as rs
from rewardsmith.core.errors import UsageError
from rewardsmith.core.ray_backend import RayBackend, connect

pytestmark = pytest.mark.integration

MIXED = [
    {"completion": "so the answer is \\boxed{\\frac{1}{2}}", "answer": "0.5"},
    {
        "completion": "```python\ndef add(a, b):\n    return a + b\n```",
        "tests": ["assert add(1, 2) == 3"],
        "answer": "3",
    },
    {
        "completion": "```python\ndef add(a, b):\n    return a - b\n```",
        "tests": ["assert add(1, 2) == 3"],
        "answer": "3",
    },
    {"completion": "sleep", "answer": "1"},
    {"completion": "raise", "answer": "1"},
    {"completion": "unscored", "answer": "1"},
    {"completion": "The answer is 7.", "answer": "7"},
]
# timing, per-process and per-slot facts differ between two runs of the same item; everything else must not
# actors ask for half a CPU, so that the module's pool and a test's own fit on the 2-CPU test Ray
HALF = 0.5
VOLATILE = {"time_s", "traceback", "exit", "isolation"}  # isolation names the sandbox slot that ran it


def stable(value):
    """`value` without the volatile keys, at any depth."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def comparable(score: rs.Score) -> tuple:
    return score.value, score.status, score.reason, stable(score.details)


@pytest.fixture(scope="module")
def backend(ray_cluster):
    with RayBackend(num_actors=2, num_cpus_per_actor=HALF) as b:
        yield b


@pytest.mark.parametrize(
    "make",
    [
        lambda: rs.load("math"),
        lambda: rs.load("code"),
        lambda: H.tricky,
        lambda: rs.load("math") + H.tricky,
        lambda: rs.gate(rs.load("code"), then=rs.load("math"), otherwise=-1.0),
    ],
    ids=["math", "code", "timeout-exception-unscored", "sum", "gate"],
)
def test_same_scores_as_the_local_engine_in_order(backend, make):
    reward = make()
    samples = MIXED * 3
    local = reward.score_batch(samples)
    remote = reward.score_batch(samples, backend=backend)
    assert [comparable(s) for s in remote] == [comparable(s) for s in local]
    statuses = {s.status for s in remote}
    if reward is H.tricky:
        assert {"timeout", "error", "unscored", "ok"} <= statuses
        raised = next(s for s in remote if s.status == "error")
        assert "ValueError: boom" in raised.details["traceback"]  # the actor's traceback comes back


def test_a_spec_reward_is_rebuilt_with_its_changed_attributes(backend):
    reward = rs.load("exact").named("renamed")
    scores = reward.score_batch([{"completion": "Paris", "answer": "paris"}] * 4, backend=backend)
    assert [s.value for s in scores] == [1.0] * 4
    local = reward.score_batch([{"completion": "x", "answer": "y"}])
    assert reward.score_batch([{"completion": "x", "answer": "y"}], backend=backend)[0].reason == local[0].reason


def test_an_actor_killed_mid_batch_loses_no_item(ray_cluster):
    with RayBackend(num_actors=2, num_cpus_per_actor=HALF, chunk_size=4) as b:
        b.start()
        samples = [{"completion": str(i)} for i in range(40)]  # 40 × 0.1 s over 2 actors: ~2 s

        def kill_one():
            time.sleep(0.6)
            ray_cluster.kill(b.actors[0], no_restart=True)

        killer = threading.Thread(target=kill_one)
        killer.start()
        scores = H.slow.score_batch(samples, backend=b)
        killer.join()
        assert [s.value for s in scores] == [float(i) for i in range(40)]
        assert {s.status for s in scores} == {"ok"}
        assert b.replaced >= 1
        # the pool is whole again for the next batch
        assert [s.value for s in H.slow.score_batch(samples[:4], backend=b)] == [0.0, 1.0, 2.0, 3.0]


def test_an_item_that_keeps_killing_its_actor_is_unscored_alone(ray_cluster):
    with RayBackend(num_actors=2, num_cpus_per_actor=HALF, chunk_size=4) as b:
        samples = [{"completion": "die" if i == 5 else str(i), "delay": 0.01} for i in range(12)]
        scores = H.slow.score_batch(samples, backend=b)
        assert scores[5].value is None and scores[5].status == "unscored"
        assert "died" in scores[5].reason and scores[5].details["cause"] == "ray_actor_died"
        assert [s.value for i, s in enumerate(scores) if i != 5] == [float(i) for i in range(12) if i != 5]


def test_an_actor_that_stops_answering_is_replaced_and_its_items_retried(ray_cluster, monkeypatch):
    """A frozen actor (SIGSTOP: what a partitioned node looks like) is declared hung once its chunk is
    past the items' own time budget, killed, and its chunk scored on a fresh actor."""
    import os
    import signal

    import rewardsmith.core.ray_backend as rb

    monkeypatch.setattr(rb, "CHUNK_SLACK_S", 0.5)
    with RayBackend(num_actors=1, num_cpus_per_actor=HALF) as b:
        b.start()
        os.kill(ray_cluster.get(b.actors[0].pid.remote()), signal.SIGSTOP)
        started = time.monotonic()
        scores = H.tricky.score_batch([{"completion": "\\boxed{1}"}, {"completion": "no"}], backend=b)
        assert [s.value for s in scores] == [1.0, 0.0]
        assert b.replaced == 1
        assert time.monotonic() - started < 30


def test_strict_reraises_the_reward_exception(backend):
    with pytest.raises(ValueError, match="boom"):
        H.tricky.score_batch([{"completion": "raise"}], backend=backend, strict=True)


def test_a_usage_error_names_the_sample_across_chunks(ray_cluster):
    bad = rs.reward(lambda s: "not a number" if s.text == "x" else 1.0, name="bad")
    with RayBackend(num_actors=2, num_cpus_per_actor=HALF, chunk_size=3) as b:
        with pytest.raises(UsageError, match="returned str") as info:
            bad.score_batch([{"completion": "ok"}] * 7 + [{"completion": "x"}], backend=b)
    assert info.value.sample_index == 7


def test_reuses_the_initialised_ray(ray_cluster):
    assert connect() == "reused"
    with RayBackend(num_actors=1, num_cpus_per_actor=HALF) as b:
        b.start()
        assert b.connection == "reused"
    assert ray_cluster.is_initialized()  # closing a backend that reused Ray leaves Ray up


def test_refuses_what_cannot_work(ray_cluster):
    with pytest.raises(UsageError, match="num_actors"):
        RayBackend(num_actors=0)
    with pytest.raises(UsageError, match="num_cpus_per_actor"):
        RayBackend(num_cpus_per_actor=-1)
    with (
        RayBackend(num_actors=1, num_cpus_per_actor=HALF) as b,
        pytest.raises(UsageError, match="no SPEC and does not pickle"),
    ):
        H.Unpicklable().score_batch([{"completion": "x"}], backend=b)


def test_actors_that_cannot_be_placed_are_a_clear_error(ray_cluster, monkeypatch):
    import rewardsmith.core.ray_backend as rb

    monkeypatch.setattr(rb, "PLACEMENT_TIMEOUT_S", 1.0)
    with pytest.raises(UsageError, match="could not place"):
        RayBackend(num_actors=1, resources={"no_such_resource": 1}).start()
