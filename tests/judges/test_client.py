"""The judge transport against our fault-injecting server: retries, timeouts, bounds, formats."""

from __future__ import annotations

import asyncio
import time

import pytest

from rewardsmith.judges.retry import Backoff, retry_after_seconds

ROBOTIC = "Dear valued customer, your request has been processed."
HUMAN = "Hey Sam, thanks so much for the photos! See you Friday."


def test_a_429_is_retried_after_the_servers_retry_after(fake, robotic):
    fake.configure(rules=[{"match": "Sam", "faults": ["429"], "retry_after": "0.4"}])
    started = time.monotonic()
    score = robotic(cache=False).score(HUMAN)
    elapsed = time.monotonic() - started
    assert score.value == 0.0
    assert score.details["judge"]["requests"] == 2 and score.details["judge"]["retries"] == 1
    assert fake.state.statuses == {429: 1, 200: 1}
    assert elapsed >= 0.4  # never sooner than the server asked (backoff alone would be ~0.01 s)


def test_5xx_are_retried_with_backoff_until_an_answer(fake, robotic):
    fake.configure(rules=[{"match": "valued", "faults": ["500", "503"]}])
    score = robotic(cache=False).score(ROBOTIC)
    assert score.value == -3.0
    assert {k: score.details["judge"][k] for k in ("requests", "retries", "failures")} == {
        "requests": 3,
        "retries": 2,
        "failures": 0,
    }


def test_persistent_failure_is_unscored_and_loud_never_zero(fake, robotic):
    fake.configure(rules=[{"match": "Sam", "faults": ["500"], "repeat": True}])
    with pytest.warns(RuntimeWarning, match="left an item unscored"):
        score = robotic(cache=False, max_retries=2).score(HUMAN)
    assert score.value is None and score.status == "unscored"
    assert "HTTP 500" in score.reason and "too_robotic" in score.reason
    assert score.details["judge"]["requests"] == 3 and score.details["judge"]["failures"] == 1
    assert fake.state.requests == 3


def test_a_slow_answer_past_the_timeout_is_abandoned_and_retried(fake, robotic):
    fake.configure(rules=[{"match": "Sam", "faults": ["slow"], "slow_s": 5}])
    started = time.monotonic()
    score = robotic(cache=False, timeout=0.5).score(HUMAN)
    assert time.monotonic() - started < 3
    assert score.value == 0.0 and score.details["judge"]["retries"] == 1


def test_always_slow_is_unscored_within_the_bounded_retries(fake, robotic):
    fake.configure(rules=[{"match": "Sam", "faults": ["slow"], "slow_s": 5, "repeat": True}])
    started = time.monotonic()
    with pytest.warns(RuntimeWarning):
        score = robotic(cache=False, timeout=0.3, max_retries=1).score(HUMAN)
    assert time.monotonic() - started < 2.5
    assert score.value is None and "0.3 s request timeout" in score.reason


@pytest.mark.parametrize("fault", ["truncated_body", "garbage_body"])
def test_a_broken_200_body_is_retried(fake, robotic, fault):
    fake.configure(rules=[{"match": "valued", "faults": [fault]}])
    score = robotic(cache=False).score(ROBOTIC)
    assert score.value == -3.0 and score.details["judge"]["retries"] == 1


def test_a_retry_after_beyond_the_limit_is_not_waited_for(fake, robotic):
    fake.configure(rules=[{"match": "Sam", "faults": ["429"], "retry_after": "600", "repeat": True}])
    started = time.monotonic()
    with pytest.warns(RuntimeWarning):
        score = robotic(cache=False, max_retry_after=5).score(HUMAN)
    assert time.monotonic() - started < 2
    assert score.value is None and "retry after 600 s" in score.reason
    assert fake.state.requests == 1


def test_auth_errors_are_not_retried(fake, robotic):
    fake.configure(rules=[{"match": "Sam", "faults": ["401"], "repeat": True}])
    with pytest.warns(RuntimeWarning):
        score = robotic(cache=False).score(HUMAN)
    assert score.value is None and "HTTP 401" in score.reason and fake.state.requests == 1


def test_auto_format_falls_back_at_once_and_remembers(fake, robotic):
    """llama.cpp's Python server refuses json_schema with a 500 naming response_format."""
    fake.configure(formats=["json_object", "text"], format_status=500)
    judge = robotic(cache=False)
    scores = judge.score_batch([ROBOTIC, HUMAN, ROBOTIC + " Regards.", HUMAN + " x"])
    assert [s.value for s in scores] == [-3.0, 0.0, -3.0, 0.0]
    seen = fake.state.formats_seen
    assert seen["json_object"] == 4 and 1 <= seen["json_schema"] <= 4  # concurrent first tries may all probe
    assert sum(s.details["judge"]["retries"] for s in scores) == 0  # a format refusal is not a retry
    fake.state.reset()
    judge.score(HUMAN + " again")
    assert fake.state.formats_seen == {"json_object": 1}  # learnt: no more probing


def test_a_text_only_server_still_gets_answers(fake, robotic):
    fake.configure(formats=["text"])
    assert robotic(cache=False).score(ROBOTIC).value == -3.0
    assert fake.state.formats_seen == {"json_schema": 1, "json_object": 1, "text": 1}


def test_a_configured_format_is_not_negotiated(fake, robotic):
    fake.configure(formats=["json_object", "text"])
    with pytest.warns(RuntimeWarning):
        score = robotic(cache=False, response_format="json_schema").score(HUMAN)
    assert score.value is None and "response_format" in score.reason
    assert fake.state.formats_seen == {"json_schema": 1}


async def test_the_in_flight_bound_holds_across_judges_sharing_an_endpoint(fake, robotic):
    fake.configure(latency=0.15)
    a, b = robotic(cache=False, max_concurrency=3), robotic(cache=False).named("other")
    rows = [f"{HUMAN} #{i}" for i in range(12)]
    await asyncio.gather(a.ascore_batch(rows), b.ascore_batch(rows))
    assert fake.state.requests == 24 and fake.state.peak_in_flight == 3


async def test_the_smallest_stated_bound_wins(fake, robotic):
    fake.configure(latency=0.1)
    a, b = robotic(cache=False, max_concurrency=8), robotic(cache=False, max_concurrency=2).named("b")
    rows = [f"{HUMAN} #{i}" for i in range(8)]
    await asyncio.gather(a.ascore_batch(rows), b.ascore_batch(rows))
    assert fake.state.peak_in_flight == 2


async def test_requests_do_run_concurrently_up_to_the_bound(fake, robotic):
    fake.configure(latency=1.0)  # long enough that a loaded machine still has every request of a wave in flight
    started = time.monotonic()
    scores = await robotic(cache=False, max_concurrency=8).ascore_batch([f"{HUMAN} {i}" for i in range(16)])
    assert all(s.value == 0.0 for s in scores)
    assert fake.state.peak_in_flight == 8 and time.monotonic() - started < 6  # 2 waves, not 16 × 1 s


def test_retry_after_header_forms():
    class Exc:
        def __init__(self, headers):
            self.response = type("R", (), {"headers": headers})()

    assert retry_after_seconds(Exc({"retry-after": "2"})) == 2.0
    assert retry_after_seconds(Exc({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert 25 < retry_after_seconds(Exc({"retry-after": _http_date(30)})) <= 30
    assert retry_after_seconds(Exc({"retry-after": "soon"})) is None
    assert retry_after_seconds(Exc({})) is None


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after():
    class State:
        def __init__(self, n, exc=None):
            self.attempt_number = n
            self.outcome = type("O", (), {"exception": lambda self: exc})()

    backoff = Backoff(initial=1.0, maximum=8.0)
    waits = [backoff(State(n)) for n in (1, 2, 3, 4, 5)]
    for wait, cap in zip(waits, [1, 2, 4, 8, 8], strict=True):
        assert cap / 2 <= wait <= cap
    told = type("E", (), {"response": type("R", (), {"headers": {"retry-after": "3"}})()})()
    assert 3.0 <= backoff(State(1, told)) <= 3.3


def _http_date(seconds_ahead: float) -> str:
    import email.utils

    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)
