"""What the verl, OpenRLHF and server integrations share: which SPEC to score with, the reward built
once per process, the names of a reward's parts, and what to do with an unscored item where a
framework cannot take a missing value.

verl and OpenRLHF load our function from a path and pass no configuration object, so the SPEC comes
from a keyword (verl's `reward_kwargs`, OpenRLHF's `spec=`) or else the `REWARDSMITH_REWARD`
environment variable, the same one `rewardsmith serve` falls back to.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from rewardsmith.core.errors import SpecError

if TYPE_CHECKING:
    from rewardsmith.core.reward import Reward
    from rewardsmith.core.score import Score

#: the environment variable every integration reads its SPEC from when none is passed
ENV_VAR = "REWARDSMITH_REWARD"

log = logging.getLogger("rewardsmith.trainer_adapter")

_rewards: dict[str, Reward] = {}
_rewards_lock = threading.Lock()


def resolve_spec(spec: str | None, *, who: str) -> str:
    """The SPEC passed, else `$REWARDSMITH_REWARD`; a SpecError saying how to give one otherwise."""
    if spec is not None and not isinstance(spec, str):
        raise SpecError(f"{who}: spec must be a SPEC string such as 'math', got {type(spec).__name__}")
    chosen = (spec or os.environ.get(ENV_VAR) or "").strip()
    if not chosen:
        raise SpecError(
            f"{who}: no reward chosen: pass spec='math' (or any SPEC) or set the environment variable "
            f"{ENV_VAR}=math in the process that scores"
        )
    return chosen


def reward_for(spec: str) -> Reward:
    """The Reward of a SPEC, built once per process and shared by every later call (thread-safe)."""
    reward = _rewards.get(spec)
    if reward is not None:
        return reward
    with _rewards_lock:
        reward = _rewards.get(spec)
        if reward is None:
            from rewardsmith.core.spec import load

            reward = load(spec)
            _rewards[spec] = reward
        return reward


def part_keys(reward: Reward, prefix: str = "") -> list[str]:
    """`part`, `part/sub`, … for every part of a composite, recursively, named as its Score's
    `details["parts"]` names them: known before any sample is scored, so logs keep the same keys."""
    names = getattr(reward, "part_names", None)
    if names is None or not reward.parts:
        return []
    keys: list[str] = []
    for name, part in zip(names(), reward.parts, strict=True):
        keys.append(f"{prefix}{name}")
        keys.extend(part_keys(part, prefix=f"{prefix}{name}/"))
    return keys


class UnscoredPolicy:
    """The number a framework gets for an item with no value, said out loud.

    verl's reward tensor and OpenRLHF's rewards hold numbers only, so an unscored item (judge down,
    sandbox broken, a reward that raised) becomes `value` (default 0.0) there, and never quietly:
    each integration also reports a `scored` flag or share per item, and this logs a warning with
    the reason on the first such item and again each time their count doubles.
    """

    def __init__(self, value: float = 0.0, *, who: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"{who}: unscored_value must be a number, got {value!r}")
        self.value = float(value)
        self.who = who
        self.count = 0
        self._next_warning = 1
        self._lock = threading.Lock()

    def number(self, score: Score) -> float:
        if score.value is not None:
            return score.value
        with self._lock:
            self.count += 1
            loud = self.count >= self._next_warning
            if loud:
                self._next_warning *= 2
        if loud:
            trace = score.details.get("traceback") if isinstance(score.details, dict) else None
            log.warning(
                "%s: %d item(s) unscored so far, given %g for the trainer (status %s: %s)%s",
                self.who,
                self.count,
                self.value,
                score.status,
                score.reason,
                f"\n{trace}" if trace else "",
            )
        return self.value
