"""A function that scores a whole batch from column lists, in TRL's calling convention, as a Reward.

TRL reward functions take `prompts`, `completions` and one list per dataset column, and return one
float (or None) per completion: `f(prompts, completions, **kwargs) -> list[float | None]`, sync or
async. Wrapped here, such a function is called once per batch (not once per sample), and composes,
batches and reports like any other reward. `rewardsmith.trainer_adapter.from_trl` is the public
name; `load("file.py:func")` recognises the signature by its `completions` parameter.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.errors import RewardReturnError, UsageError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import SAMPLE_FIELDS, Sample
from rewardsmith.core.score import Score


def takes_columns(fn: Callable[..., Any]) -> bool:
    """True for a function in TRL's convention (it has a `completions` parameter)."""
    try:
        return "completions" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def columns(samples: list[Sample]) -> dict[str, list[Any]]:
    """TRL's keyword call for these samples: prompts, completions, and one list per column."""
    call: dict[str, list[Any]] = {
        "prompts": [s.prompt for s in samples],
        "completions": [s.completion for s in samples],
    }
    for field in ("answer", "tests"):
        if any(getattr(s, field) is not None for s in samples):
            call[field] = [getattr(s, field) for s in samples]
    keys = sorted({k for s in samples for k in s.metadata})
    for key in keys:
        if key not in SAMPLE_FIELDS:
            call[key] = [s.metadata.get(key) for s in samples]
    return call


class BatchFunctionReward(Reward):
    """See the module docstring. `name` defaults to the function's `__name__`."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, timeout: float | None = None) -> None:
        if not callable(fn):
            raise UsageError(f"from_trl() needs a function, got {type(fn).__name__}")
        if not takes_columns(fn):
            raise UsageError(
                f"from_trl(): {getattr(fn, '__name__', fn)!r} has no 'completions' parameter; a TRL reward function "
                "looks like f(prompts, completions, **kwargs) -> list[float | None]"
            )
        self.fn = fn
        self.name = name or str(getattr(fn, "__name__", "trl_reward"))
        self._async = inspect.iscoroutinefunction(fn)
        self.kind = "io" if self._async else "inline"
        self.timeout = timeout
        self.timeout_value = None if self._async else 0.0

    @property
    def is_async(self) -> bool:
        return self._async

    # one sample: a batch of one
    def _score(self, sample: Sample) -> Score:
        return self._to_scores(self.fn(**columns([sample])), 1)[0]

    async def _ascore(self, sample: Sample) -> Score:
        return self._to_scores(await self.fn(**columns([sample])), 1)[0]

    # a batch: one call
    def _batch_locally(self, samples: list[Sample], options: Any) -> list[Score]:
        try:
            if self._async:
                from rewardsmith.core.aio import run_sync

                values = run_sync(self.fn(**columns(samples)))
            else:
                values = self.fn(**columns(samples))
        except UsageError:
            raise
        except Exception as exc:
            if options.strict:
                raise
            from rewardsmith.core.reward import error_score

            return [error_score(self, exc) for _ in samples]
        return self._to_scores(values, len(samples))

    def _to_scores(self, values: Any, n: int) -> list[Score]:
        if not isinstance(values, (list, tuple)) or len(values) != n:
            got = f"{len(values)} values" if isinstance(values, (list, tuple)) else type(values).__name__
            raise RewardReturnError(
                f"TRL reward function {self.name!r} returned {got} for {n} completions; "
                "it must return a list with one float (or None) per completion"
            )
        out = []
        for v in values:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                out.append(Score(None, f"{self.name} returned None (TRL: not applicable)", S.UNSCORED))
            else:
                out.append(self._finish(v))
        return out

    @property
    def batches_itself(self) -> bool:
        return True
