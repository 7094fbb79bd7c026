"""When a judge request is retried, and how long to wait first.

Retries use tenacity rather than the openai client's own retry loop (the client is built
with `max_retries=0`): the client's retries are invisible to the caller, and a judge must
count every retry in `Score.details`; tenacity gives the hooks for that, a wait strategy we
can make honour `Retry-After`, and the same policy for failures the client would not retry
(a 200 whose body is cut off, our own overall per-request deadline).

Transient (retried): timeouts, connection errors, 408, 409, 425, 429, 5xx, broken bodies.
Permanent (not retried): any other 4xx (bad request, bad key, unknown model), and a
`Retry-After` longer than the judge is willing to wait.
"""

from __future__ import annotations

import email.utils
import json
import math
import random
import time
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.errors import RewardsmithError

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


class JudgeTimeout(RewardsmithError):
    """One request ran past the per-request timeout (our own deadline, not only httpx's)."""


class RetryAfterTooLong(RewardsmithError):
    """The server asked us to come back later than `max_retry_after` allows."""


def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds from a `retry-after-ms` / `retry-after` header (number or HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def is_transient(exc: BaseException) -> bool:
    """True for failures worth another try (see the module docstring)."""
    import openai

    if isinstance(exc, RetryAfterTooLong):
        return False
    broken_body = (openai.APIResponseValidationError, json.JSONDecodeError)  # a 200 cut off or garbled
    if isinstance(exc, (JudgeTimeout, openai.APIConnectionError, *broken_body)):
        return True
    status = status_of(exc)
    if status is None:
        return False
    return status in RETRYABLE_STATUS or status >= 500


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter, or the server's `Retry-After` when it gives one.

    The n-th wait is `initial · 2ⁿ` capped at `maximum`, scaled by a random factor in
    [0.5, 1] so that many clients that failed together do not retry together. A
    `Retry-After` is honoured as a floor (never retried sooner), plus up to 10 % jitter.
    """

    initial: float = 0.5
    maximum: float = 20.0

    def __call__(self, retry_state: Any) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        asked = retry_after_seconds(exc) if exc is not None else None
        if asked is not None:
            return asked * (1.0 + 0.1 * random.random())
        exponential = min(self.maximum, self.initial * 2 ** (retry_state.attempt_number - 1))
        return exponential * (0.5 + 0.5 * random.random())
