"""`rewardsmith audit`: find reward hacks and dead training signal before training.

- `hacks` / `code_hacks`: the catalogue, one small generator per class of hack;
- `anatomy`: where a completion's final answer, layout and reasoning are, so a hack changes one;
- `runner`: `audit(reward, samples)`: scores the rows, their hacked variants, and compares;
- `diagnostics`: zero-variance groups, scores and advantages, parts, statuses;
- `results` (the verdict rules), `render` (text and rich), `plot` (histogram PNG), `cli`.

`rewardsmith.audit(...)` is this package's `audit` function; the modules load when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardsmith.audit.results import AuditReport

__all__ = ["audit"]


def audit(reward: Any, samples: Any, **options: Any) -> AuditReport:
    """Look for reward hacks and dead training signal (see `rewardsmith.audit.runner.audit`)."""
    from rewardsmith.audit.runner import audit as run

    return run(reward, samples, **options)
