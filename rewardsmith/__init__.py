"""rewardsmith: verifiers and rewards for RL on language models (GRPO / RLVR).

One contract for everything: a `Reward` scores a `Sample` and returns a `Score`;
rewards compose (`a + b`, `2.0 * a`, `weighted`, `gate`, `all_of`, `any_of`, `.clip`)
and batch the same way. `load(SPEC)` builds any preset or import path, as the CLI does.
"""

from __future__ import annotations

from rewardsmith import presets as _presets  # noqa: F401  (fills the preset registry)
from rewardsmith.audit import audit
from rewardsmith.core import (
    AsyncBackend,
    Backend,
    FunctionReward,
    InlineBackend,
    InputError,
    LocalBackend,
    ProcessBackend,
    Reward,
    RewardReturnError,
    RewardsmithError,
    RewardTimeout,
    Sample,
    Score,
    SpecError,
    UsageError,
    all_of,
    any_of,
    as_reward,
    gate,
    reward,
    shutdown,
    weighted,
)
from rewardsmith.core.spec import load, registry

__version__ = "0.1.0"

__all__ = [
    "AsyncBackend",
    "Backend",
    "FunctionReward",
    "InlineBackend",
    "LocalBackend",
    "ProcessBackend",
    "InputError",
    "Reward",
    "RewardReturnError",
    "RewardTimeout",
    "RewardsmithError",
    "Sample",
    "Score",
    "SpecError",
    "UsageError",
    "__version__",
    "all_of",
    "any_of",
    "as_reward",
    "audit",
    "gate",
    "load",
    "registry",
    "reward",
    "shutdown",
    "weighted",
]
