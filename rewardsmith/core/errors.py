"""The short exception hierarchy: each name says what went wrong, each message says what to fix.

    RewardsmithError
    ├── UsageError              the caller asked for something that cannot work
    │   ├── SpecError           a SPEC string does not resolve to a Reward
    │   ├── ConfigError         an option or configuration value is invalid
    │   ├── InputError          a sample or input row is malformed
    │   └── RewardReturnError   a reward returned something that is not a number
    ├── RewardError             a reward raised on every item of a batch (a bug in the reward)
    └── WorkerError             a worker process could not start or died (rewardsmith.core.pool)

A model's wrong or malicious output is never an exception: it is a Score with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class RewardsmithError(Exception):
    """Base of every error rewardsmith raises on purpose."""


class UsageError(RewardsmithError):
    """The caller asked for something that cannot work (bad option, bad SPEC, bad input)."""


class SpecError(UsageError):
    """A SPEC string or reward configuration does not resolve to a Reward."""


class ConfigError(UsageError):
    """An option of a reward, a rubric or a configuration file has an invalid value or names a
    missing file; the message names the option and what it accepts."""


class InputError(UsageError):
    """A sample or input row is malformed (missing field, wrong type, not JSON)."""


class RewardReturnError(UsageError):
    """A user reward returned something that is neither a number nor a Score.

    This is a bug in the reward, the same for every sample, so it is raised even in
    non-strict batches instead of being turned into thousands of identical error items.
    """


def tag_sample(exc: BaseException, index: int) -> None:
    """Record which sample of a batch raised, so the CLI can name its input line."""
    try:
        exc.sample_index = index  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__
        pass


def indexed(index: int, fn: Callable[..., T], *args: Any) -> T:
    """Call `fn(*args)`, tagging a UsageError with the sample's index (see `tag_sample`)."""
    try:
        return fn(*args)
    except UsageError as exc:
        tag_sample(exc, index)
        raise


class RewardError(RewardsmithError):
    """A reward raised on every item of a batch: a bug in the reward, not an outcome of the samples.

    Raised by `to_trl` so that a broken reward stops training loudly instead of adding 0 to every
    step; the message carries the first traceback and the sample it failed on.
    """


class WorkerError(RewardsmithError):
    """A worker process could not be started, or died while running an item."""
