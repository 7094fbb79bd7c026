"""rewardsmith: verifiers and rewards for RL on language models (GRPO / RLVR).

One contract for everything: a `Reward` scores a `Sample` and returns a `Score`;
rewards compose (`a + b`, `2.0 * a`, `weighted`, `gate`, `all_of`, `any_of`, `.clip`)
and batch the same way. `load(SPEC)` builds any preset or import path, as the CLI does.
The public names are the core's (`rewardsmith.core.__all__`, the one list) plus `load`, `audit`,
`registry` and `__version__`.
"""

from __future__ import annotations

from rewardsmith import core
from rewardsmith import presets as _presets  # noqa: F401  (fills the preset registry)
from rewardsmith.audit import audit
from rewardsmith.core import *  # noqa: F403  (the public face is the core's, listed once there)
from rewardsmith.core.spec import load, registry

__version__ = "0.1.0"

__all__ = [*core.__all__, "__version__", "audit", "load", "registry"]  # noqa: PLE0604
