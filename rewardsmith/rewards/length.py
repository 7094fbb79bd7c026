"""Length shaping: a cosine schedule conditioned on correctness, DAPO's soft overlong
punishment, and a plain "too long" penalty.

Lengths are counted in words, characters or tokens (see `rewardsmith.rewards.units`); with
`unit="tokens"` and TRL's `completion_ids` these equal TRL's own `trl.rewards` values.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from rewardsmith.core import score as S
from rewardsmith.core.compose import Composite
from rewardsmith.core.errors import ConfigError
from rewardsmith.core.reward import Reward, as_reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.units import Tokenizer, check_unit, length, load_tokenizer


def _positive_int(value: Any, what: str, *, zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{what} must be a {'non-negative' if zero else 'positive'} integer, got {value!r}")
    return value


class CosineLength(Composite):
    """See `cosine_length`: scores the correctness check with its own engine path (a
    process pool for SymPy), then maps (correct, length) to a value."""

    def __init__(
        self,
        correct: Reward,
        *,
        max_len: int,
        unit: str,
        tokenizer: Tokenizer | None,
        min_value_wrong: float,
        max_value_wrong: float,
        min_value_correct: float,
        max_value_correct: float,
        threshold: float,
        name: str,
    ) -> None:
        self.max_len = _positive_int(max_len, "cosine_length: max_len")
        check_unit(unit, what="cosine_length")
        self.unit, self.tokenizer, self.threshold = unit, tokenizer, threshold
        self.wrong = (float(min_value_wrong), float(max_value_wrong))
        self.correct = (float(min_value_correct), float(max_value_correct))
        super().__init__([correct], name)

    def value(self, is_correct: bool, n: int) -> float:
        """The schedule: at length 0 a correct answer gets max_value_correct and a wrong one
        min_value_wrong; at max_len (and beyond) max_value_wrong / min_value_correct."""
        progress = min(n / self.max_len, 1.0)  # beyond max_len the schedule stays flat
        cosine = math.cos(progress * math.pi)
        if is_correct:
            lo, hi = self.correct
        else:
            hi, lo = self.wrong  # swapped: a short wrong answer is punished most
        return float(lo + 0.5 * (hi - lo) * (1.0 + cosine))

    def _combine(self, sample: Sample, scores: list[Score]) -> Score:
        (check,) = scores
        part = self.part_names()[0]
        details: dict[str, Any] = {"parts": {part: check.to_dict()}}
        if check.value is None:
            return Score(None, f"correctness unscored: {check.reason}", check.status, details)
        n = length(sample, self.unit, self.tokenizer, what="cosine_length")
        ok = check.value >= self.threshold
        value = self.value(ok, n)
        details.update({"length": n, "unit": self.unit, "correct": ok})
        verdict = "correct" if ok else "wrong"
        return Score(value, f"{verdict}, {n} {self.unit} of {self.max_len} → {value:.3g}", S.OK, details)


def cosine_length(
    *,
    correct: str | Reward = "math",
    max_len: int = 1000,
    unit: Literal["tokens", "words", "chars"] = "tokens",
    tokenizer: Any = None,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
    threshold: float = 1.0,
    name: str = "cosine_length",
) -> Reward:
    """Correctness scaled by length on a cosine schedule ("Demystifying Long CoT", App. C.1).

    A correct answer earns `max_value_correct` when short, falling to `min_value_correct` at
    `max_len`; a wrong one gets `min_value_wrong` when short, rising to `max_value_wrong` at
    `max_len` (a long wrong attempt is punished less, which keeps exploration alive). Beyond
    `max_len` the value stays at the long end. `correct`: the check deciding correctness, a
    SPEC string or a Reward (default the `math` preset); it passes at value ≥ `threshold`,
    and an unscored check leaves the item unscored. `unit="tokens"` reads the row's
    `completion_ids` (TRL passes them) or uses `tokenizer` (an object with `encode`, or a
    local path); with the defaults this equals TRL's `get_cosine_scaled_reward`.

    >>> import rewardsmith as rs
    >>> right = rs.reward(lambda s: 1.0, name="right")
    >>> cos = cosine_length(correct=right, max_len=100, unit="words")
    >>> cos.score(" ".join(["word"] * 50)).value
    0.75
    """
    from rewardsmith.core.spec import load

    check = load(correct) if isinstance(correct, str) else as_reward(correct, what="cosine_length(correct=...)")
    return CosineLength(
        check,
        max_len=max_len,
        unit=unit,
        tokenizer=load_tokenizer(tokenizer, what="cosine_length"),
        min_value_wrong=min_value_wrong,
        max_value_wrong=max_value_wrong,
        min_value_correct=min_value_correct,
        max_value_correct=max_value_correct,
        threshold=threshold,
        name=name,
    )


class Overlong(Reward):
    """See `overlong`."""

    def __init__(self, *, max_len: int, cache: int, unit: str, tokenizer: Tokenizer | None, name: str) -> None:
        self.max_len = _positive_int(max_len, "overlong: max_len")
        self.cache = _positive_int(cache, "overlong: cache", zero=True)
        if self.cache > self.max_len:
            raise ConfigError(f"overlong: cache ({cache}) must not exceed max_len ({max_len})")
        check_unit(unit, what="overlong")
        self.unit, self.tokenizer, self.name = unit, tokenizer, name

    def value(self, n: int) -> float:
        soft_start = self.max_len - self.cache
        if n <= soft_start:
            return 0.0
        if n <= self.max_len:
            return (soft_start - n) / self.cache
        return -1.0

    def _score(self, sample: Sample) -> Score:
        n = length(sample, self.unit, self.tokenizer, what="overlong")
        value = self.value(n)
        details = {"length": n, "unit": self.unit}
        if value == 0.0:
            return Score(0.0, f"{n} {self.unit}, within {self.max_len - self.cache}", S.OK, details)
        return Score(
            value, f"{n} {self.unit}, over the soft limit {self.max_len - self.cache} → {value:.3g}", S.OK, details
        )


def overlong(
    *,
    max_len: int = 1024,
    cache: int = 256,
    unit: Literal["tokens", "words", "chars"] = "tokens",
    tokenizer: Any = None,
    name: str = "overlong",
) -> Reward:
    """DAPO's soft overlong punishment (Eq. 13): 0 up to `max_len − cache`, then falling
    linearly to −1 at `max_len`, and −1 beyond. It never rewards brevity, it only stops a
    completion from being paid for running into the generation limit. Equals TRL's
    `get_soft_overlong_punishment(max_len, cache)` on tokens.

    >>> overlong(max_len=100, cache=20, unit="words").score(" ".join(["w"] * 90)).value
    -0.5
    """
    return Overlong(
        max_len=max_len, cache=cache, unit=unit, tokenizer=load_tokenizer(tokenizer, what="overlong"), name=name
    )


class TooLong(Reward):
    """See `too_long`."""

    def __init__(self, *, limit: int, unit: str, penalty: float, tokenizer: Tokenizer | None, name: str) -> None:
        self.limit = _positive_int(limit, "too_long: limit", zero=True)
        check_unit(unit, what="too_long")
        self.unit, self.penalty, self.tokenizer, self.name = unit, float(penalty), tokenizer, name

    def _score(self, sample: Sample) -> Score:
        n = length(sample, self.unit, self.tokenizer, what="too_long")
        details = {"length": n, "unit": self.unit, "limit": self.limit}
        if n > self.limit:
            return Score(self.penalty, f"{n} {self.unit}, over the limit of {self.limit}", S.OK, details)
        return Score(0.0, f"{n} {self.unit}, within {self.limit}", S.OK, details)


def too_long(
    *,
    limit: int = 200,
    unit: Literal["words", "chars", "tokens"] = "words",
    penalty: float = -1.0,
    tokenizer: Any = None,
    name: str = "too_long",
) -> Reward:
    """`penalty` when the completion is longer than `limit` words, characters or tokens, else 0.

    A step, not a slope: use `overlong` for a graded penalty. Tokens come from the row's
    `completion_ids` or from `tokenizer`.

    >>> too_long(limit=3).score("one two three four").value
    -1.0
    """
    return TooLong(
        limit=limit, unit=unit, penalty=penalty, tokenizer=load_tokenizer(tokenizer, what="too_long"), name=name
    )
