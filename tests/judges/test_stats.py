"""Counters: per item in details["judge"], per judge for the process (`judge_stats`)."""

from __future__ import annotations

import pytest

from rewardsmith.judges import COUNTER_KEYS, judge_stats, reset_judge_stats

ROWS = [
    "Dear valued customer, your request has been processed.",
    "Hi Ana, loved it!",
    "fail-me please",
    "Thanks Leo!",
]


def test_every_item_has_the_same_counter_keys(fake, robotic):
    fake.configure(rules=[{"match": "fail-me", "faults": ["500"], "repeat": True}])
    with pytest.warns(RuntimeWarning):
        scores = robotic(cache=False, max_retries=1).score_batch(ROWS)
    assert all(tuple(s.details["judge"]) == COUNTER_KEYS for s in scores)
    assert all(isinstance(v, int) for s in scores for v in s.details["judge"].values())


def test_the_error_rate_is_visible_per_judge(fake, robotic):
    fake.configure(rules=[{"match": "fail-me", "faults": ["500"], "repeat": True}])
    judge = robotic(cache=False, max_retries=1)
    with pytest.warns(RuntimeWarning):
        judge.score_batch(ROWS)
    stats = judge_stats()["robotic"]
    assert (stats["items"], stats["unscored"], stats["error_rate"]) == (4, 1, 0.25)
    assert stats["requests"] == 5 and stats["retries"] == 1 and stats["failures"] == 1
    assert judge.stats == stats
    reset_judge_stats()
    assert judge_stats() == {} and judge.stats == {}


def test_counters_are_kept_per_judge_name(robotic):
    robotic(cache=False).score(ROWS[0])
    robotic(cache=False).named("tone").score_batch(ROWS[:2])
    stats = judge_stats()
    assert stats["robotic"]["items"] == 1 and stats["tone"]["items"] == 2
