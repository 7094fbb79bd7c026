"""The contract every part of rewardsmith builds on; imports nothing from the rest of the package."""

from rewardsmith.core.backends import (
    AsyncBackend,
    Backend,
    InlineBackend,
    LocalBackend,
    ProcessBackend,
    shutdown,
)
from rewardsmith.core.compose import all_of, any_of, gate, weighted
from rewardsmith.core.errors import (
    ConfigError,
    InputError,
    RewardError,
    RewardReturnError,
    RewardsmithError,
    SpecError,
    UsageError,
)
from rewardsmith.core.ray_backend import RayBackend
from rewardsmith.core.reward import FunctionReward, Reward, as_reward, reward
from rewardsmith.core.sample import Sample, as_sample
from rewardsmith.core.score import Score

__all__ = [
    "AsyncBackend",
    "Backend",
    "FunctionReward",
    "InlineBackend",
    "LocalBackend",
    "ProcessBackend",
    "RayBackend",
    "ConfigError",
    "InputError",
    "Reward",
    "RewardError",
    "RewardReturnError",
    "RewardsmithError",
    "Sample",
    "Score",
    "SpecError",
    "UsageError",
    "all_of",
    "any_of",
    "as_reward",
    "as_sample",
    "gate",
    "reward",
    "shutdown",
    "weighted",
]
