"""The short exception hierarchy: each name says what went wrong, each message says what to fix."""

from __future__ import annotations


class RewardsmithError(Exception):
    """Base of every error rewardsmith raises on purpose."""


class UsageError(RewardsmithError):
    """The caller asked for something that cannot work (bad option, bad SPEC, bad input)."""


class SpecError(UsageError):
    """A SPEC string or reward configuration does not resolve to a Reward."""


class InputError(UsageError):
    """A sample or input row is malformed (missing field, wrong type, not JSON)."""


class RewardReturnError(UsageError):
    """A user reward returned something that is neither a number nor a Score.

    This is a bug in the reward, the same for every sample, so it is raised even in
    non-strict batches instead of being turned into thousands of identical error items.
    """


class RewardTimeout(RewardsmithError):
    """A reward ran past its hard time limit (raised only where a caller asked to raise)."""
