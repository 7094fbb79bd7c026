"""Where the audit scores hostile programs: a fresh worker process per program.

A code reward that runs a completion's program in its own process (`exec`, `import`) lets
`os._exit(0)` end that process and `builtins.isinstance = …` poison it for every later item. The
audit must survive the rewards it examines, so each code hack is scored in a worker forked for it
alone and under a deadline: a program that kills or poisons its worker costs that item, which the
report shows as a reward that crashed (in training, the trainer itself). Rewards that run their
own sandbox (the `code` preset) and async rewards (judges) go their usual way.
"""

from __future__ import annotations

import asyncio
import builtins
import os
from dataclasses import replace
from typing import TYPE_CHECKING

from rewardsmith.core.backends import LocalBackend, ProcessBackend
from rewardsmith.core.pool import in_worker
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

if TYPE_CHECKING:
    from rewardsmith.core.engine import BatchOptions

#: deadline per hostile item when neither the call nor the reward sets one
DEFAULT_TIMEOUT_S = 60.0


class IsolatedBackend(LocalBackend):
    """`LocalBackend`, except that sync rewards run in a worker process per item, under a deadline,
    with the worker's stdout and stderr discarded (hostile programs spray fake verdicts on them)."""

    name = "isolated"

    def __init__(self) -> None:
        super().__init__(process=ProcessBackend(max_items_per_worker=1))

    def run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if reward.is_async or reward.batches_itself:
            return super().run(reward, samples, options)
        if options.timeout is None and reward.timeout is None:
            options = replace(options, timeout=DEFAULT_TIMEOUT_S)
        return self.process.run(_Silenced(reward), samples, options)

    async def arun(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if reward.is_async or reward.batches_itself:
            return await super().arun(reward, samples, options)
        return await asyncio.to_thread(self.run, reward, samples, options)


class _Silenced(Reward):
    """`reward` scored with fds 1 and 2 pointing to /dev/null, only ever inside a pool worker
    (used for one item, then discarded)."""

    def __init__(self, reward: Reward) -> None:
        self.inner = reward
        self.name, self.kind, self.timeout = reward.name, reward.kind, reward.timeout
        self.timeout_value = reward.timeout_value

    def _score_one(self, sample: Sample, strict: bool) -> Score:
        if in_worker():
            _discard_output()
        return super()._score_one(sample, strict)

    def _score(self, sample: Sample) -> Score | float:
        # A reward that runs the program in this process lets it patch builtins (isinstance,
        # AssertionError); put them back before anything here reads the result.
        saved = dict(builtins.__dict__)
        try:
            return self.inner._score(sample)
        finally:
            builtins.__dict__.clear()
            builtins.__dict__.update(saved)


def _discard_output() -> None:
    """Point stdout, stderr and every other descriptor on the same pipe (the pool's output relay)
    at /dev/null."""
    try:
        relay = os.fstat(1)
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        fds, relay = [1, 2], None
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in fds:
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if fd in (1, 2) or (relay is not None and (st.st_dev, st.st_ino) == (relay.st_dev, relay.st_ino)):
            if fd != devnull:
                os.dup2(devnull, fd)
