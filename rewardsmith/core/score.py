"""`Score`: the one result type every verifier, reward and judge returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Machine-readable statuses. Free-form statuses are allowed, these are the shared vocabulary.
OK = "ok"
NO_ANSWER = "no_answer"
WRONG_FORMAT = "wrong_format"
WRONG = "wrong"
TIMEOUT = "timeout"
RUNTIME_ERROR = "runtime_error"
ERROR = "error"  # the reward itself raised: value is None
UNSCORED = "unscored"  # infrastructure failed (judge down, sandbox broken): value is None


@dataclass(slots=True)
class Score:
    """The result of scoring one sample.

    `value` is None only when the *infrastructure* failed (status `unscored` or `error`);
    a model's wrong, empty or malicious output is a number with a reason.
    """

    value: float | None
    reason: str = ""
    status: str = OK
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.value,
            "status": self.status,
            "reason": self.reason,
            "details": self.details,
        }

    @classmethod
    def unscored(cls, reason: str, status: str = UNSCORED, **details: Any) -> Score:
        return cls(None, reason, status, dict(details))


def coerce_value(value: Any, *, who: str) -> float:
    """Turn a number-like return into a float, or raise a RewardReturnError that names `who`."""
    from rewardsmith.core.errors import RewardReturnError

    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        result = float(value)
    else:
        # numpy / torch scalars expose __float__; strings and containers must not sneak through.
        if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
            raise RewardReturnError(
                f"reward {who!r} returned {type(value).__name__} {value!r:.80}; "
                "a reward must return a number (int/float/bool) or a rewardsmith.Score"
            )
        result = float(value)
    if math.isnan(result):
        raise RewardReturnError(
            f"reward {who!r} returned NaN; return Score.unscored(reason) when the sample "
            "cannot be scored, or a number otherwise"
        )
    return result
