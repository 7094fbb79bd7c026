"""Rewards for the scale-out tests: one that sleeps, raises or is unscored on demand, and a slow one.

They live in a module (not a test file) so that Ray actors and `rewardsmith serve` import them by
name (`scaleout_helpers:tricky`) or by path (`tests/scaleout/scaleout_helpers.py:slow`).
"""

from __future__ import annotations

import os
import time

import rewardsmith as rs
from rewardsmith import Score


@rs.reward(kind="cpu", timeout=1.0)
def tricky(sample):
    """`sleep` runs out of time, `raise` raises, `unscored` is unscored, `die` kills its process."""
    text = sample.text
    if text == "sleep":
        time.sleep(30)
    if text == "raise":
        raise ValueError("boom")
    if text == "unscored":
        return Score.unscored("the judge is down")
    return 1.0 if "\\boxed" in text else 0.0


@rs.reward
def slow(sample):
    """Inline (runs in the caller or the Ray actor itself): the completion's number after 0.1 s,
    or `die`: the process exits, taking a Ray actor with it."""
    if sample.text == "die":
        os._exit(3)
    time.sleep(float(sample.get("delay", 0.1)))
    return float(sample.text)


class Unpicklable(rs.Reward):
    """A reward that neither pickles nor has a SPEC."""

    name = "unpicklable"

    def __init__(self) -> None:
        self.handle = open(os.devnull)  # noqa: SIM115

    def _score(self, sample):
        return 1.0

    def __reduce__(self):
        raise TypeError("cannot pickle an open file")
