"""`repetition`: a penalty for repeated n-grams, the usual guard against degenerate loops.

Shaping rewards (length, format) can be gamed by repeating text; this makes repetition
cost something ("Demystifying Long CoT", App. C.2).
"""

from __future__ import annotations

from typing import Any, Literal

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.units import Tokenizer, check_unit, load_tokenizer, pieces


class Repetition(Reward):
    """See `repetition`."""

    def __init__(
        self, *, ngram: int, max_penalty: float, unit: str, case_sensitive: bool, tokenizer: Tokenizer | None, name: str
    ) -> None:
        if isinstance(ngram, bool) or not isinstance(ngram, int) or ngram < 1:
            raise ConfigError(f"repetition: ngram must be a positive integer, got {ngram!r}")
        if max_penalty > 0:
            raise ConfigError(f"repetition: max_penalty must be ≤ 0 (it is a penalty), got {max_penalty}")
        check_unit(unit, what="repetition")
        self.ngram, self.max_penalty, self.unit = ngram, float(max_penalty), unit
        self.case_sensitive, self.tokenizer, self.name = case_sensitive, tokenizer, name

    def _score(self, sample: Sample) -> Score:
        if self.unit != "tokens" and not self.case_sensitive:
            sample = Sample(sample.text.lower(), metadata=sample.metadata)
        units = list(pieces(sample, self.unit, self.tokenizer, what="repetition"))
        if len(units) < self.ngram:
            return Score(0.0, f"shorter than one {self.ngram}-gram", S.OK, {"ngrams": 0})
        grams = list(zip(*(units[i:] for i in range(self.ngram)), strict=False))
        repeated = 1 - len(set(grams)) / len(grams)
        value = repeated * self.max_penalty if repeated else 0.0
        details = {"ngrams": len(grams), "unique": len(set(grams)), "repeated_fraction": repeated}
        return Score(value, f"{repeated:.1%} of {self.ngram}-grams repeated → {value:.3g}", S.OK, details)


def repetition(
    *,
    ngram: int = 3,
    max_penalty: float = -1.0,
    unit: Literal["words", "tokens", "chars"] = "words",
    case_sensitive: bool = False,
    tokenizer: Any = None,
    name: str = "repetition",
) -> Reward:
    """(1 − unique n-grams / all n-grams) × `max_penalty`: 0 with no repeats, toward
    `max_penalty` (≤ 0) for a loop. Fewer units than `ngram` score 0.

    `unit="words"` (default, lower-cased unless `case_sensitive`, as open-r1 does);
    `"tokens"` uses the row's `completion_ids` or `tokenizer` and then equals TRL's
    `get_repetition_penalty_reward`; `"chars"` counts character n-grams.

    >>> repetition(ngram=2).score("the cat the cat the cat").value
    -0.6
    """
    return Repetition(
        ngram=ngram,
        max_penalty=max_penalty,
        unit=unit,
        case_sensitive=case_sensitive,
        tokenizer=load_tokenizer(tokenizer, what="repetition"),
        name=name,
    )
