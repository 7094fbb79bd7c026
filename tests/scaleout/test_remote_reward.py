"""RemoteReward (rewardsmith/server/client.py) against a real `rewardsmith serve`: the server's Scores
through `score_batch` and `to_trl`; an unreachable server leaves samples unscored, never 0."""

from __future__ import annotations

import asyncio
import pickle
import signal

import pytest
from scaleout_servers import free_port

import rewardsmith as rs
from rewardsmith.server import RemoteReward
from rewardsmith.trainer_adapter import to_trl, to_trl_async

pytestmark = pytest.mark.integration

ROWS = [{"completion": f"so \\boxed{{{i % 4}}}", "answer": "2", "id": i} for i in range(40)]


@pytest.fixture(scope="module")
def server():
    from scaleout_servers import Server

    s = Server("--reward", "math", "--max-body-mb", "0.05")
    yield s
    assert s.stop() in (0, -signal.SIGTERM)


def test_score_batch_gives_the_servers_scores_in_order(server):
    remote = RemoteReward(server.url, max_concurrency=8)
    assert remote.kind == "io" and remote.timeout_value is None
    local = rs.load("math").score_batch(ROWS)
    got = remote.score_batch(ROWS)
    assert [(s.value, s.status, s.reason, s.details) for s in got] == [
        (s.value, s.status, s.reason, s.details) for s in local
    ]


def test_to_trl_and_to_trl_async(server):
    fn = to_trl(RemoteReward(f"{server.url}/score"), name="remote_math")
    assert fn(prompts=["q", "q"], completions=["\\boxed{4}", "5"], answer=["4", "4"]) == [1.0, 0.0]
    afn = to_trl_async(RemoteReward(server.url))
    assert asyncio.run(afn(prompts=["q"], completions=["\\boxed{4}"], answer=["4"])) == [1.0]


def test_composes_with_local_rewards(server):
    total = RemoteReward(server.url, name="remote") + rs.load("exact")
    score = total.score({"completion": "4", "answer": "4"})
    assert score.value == 2.0 and set(score.details["parts"]) == {"remote", "exact"}


def test_pickles_for_trl_s_spawned_scorer(server):
    again = pickle.loads(pickle.dumps(RemoteReward(server.url, max_concurrency=3)))
    assert again.url == server.url and again.max_concurrency == 3
    assert again.score_batch(ROWS[:2])[1].value == 0.0


def test_an_unreachable_server_leaves_samples_unscored():
    remote = RemoteReward(f"http://127.0.0.1:{free_port()}", retries=1, timeout=5)
    scores = remote.score_batch(ROWS[:3])
    assert [s.value for s in scores] == [None, None, None]
    assert {s.status for s in scores} == {"unscored"} and "failed after 2 tries" in scores[0].reason
    assert to_trl(remote)(prompts=["q"], completions=["4"], answer=["4"]) == [None]


def test_a_refused_request_is_loud(server):
    """A 4xx means the request is wrong (here: over the server's body limit), not the infrastructure."""
    with pytest.raises(rs.UsageError, match="refused the sample: HTTP 413.*limit"):
        RemoteReward(server.url).score_batch([{"completion": "x" * 60_000}])


def test_refuses_bad_settings():
    with pytest.raises(rs.UsageError, match="http"):
        RemoteReward("localhost:8000")
    with pytest.raises(rs.UsageError, match="max_concurrency"):
        RemoteReward("http://x", max_concurrency=0)
