"""`proximity`: partial credit for answers close to the reference, numbers and strings.

A binary correctness check gives no gradient between "off by 1%" and "nonsense"; these
rewards do. Numbers are compared by relative distance d = |guess − ref| / |ref| (absolute
distance when the reference is 0, since nothing is relatively close to 0), then mapped to a
value by bands (Unsloth's GRPO notebooks) or a smooth decay. Strings get a normalized
edit-distance similarity (rapidfuzz).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.text import find_numbers, last_boxed, normalize_text, parse_number, tag_block

DEFAULT_BANDS = [[0.0, 1.0], [0.1, 0.5], [0.2, 0.25]]
_MODES = ("bands", "linear", "exp")
_KINDS = ("auto", "number", "text")
_EXTRACTS = ("auto", "answer_tag", "boxed", "whole")
_METRICS = ("levenshtein", "indel")


def extract_answer(text: str, how: str) -> str | None:
    """The part of a completion that states the answer.

    "auto": the last `<answer>` block, else the last `\\boxed{}`, else the whole text;
    "answer_tag" / "boxed": only that (None when absent); "whole": the whole text.
    """
    if how in ("auto", "answer_tag"):
        block = tag_block(text, "answer")
        if block is not None or how == "answer_tag":
            return block
    if how in ("auto", "boxed"):
        boxed = last_boxed(text)
        if boxed is not None or how == "boxed":
            return boxed
    return text.strip()


def relative_distance(guess: float, reference: float) -> float:
    """|guess − ref| / |ref|, or |guess| when the reference is 0."""
    if reference == 0:
        return abs(guess)
    return abs(guess - reference) / abs(reference)


def check_bands(bands: Any, what: str) -> list[tuple[float, float]]:
    try:
        pairs = [(float(d), float(v)) for d, v in bands]
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: bands must be [[max_distance, value], ...], got {bands!r}") from None
    if not pairs:
        raise ConfigError(f"{what}: bands must list at least one [max_distance, value] pair")
    distances = [d for d, _ in pairs]
    if any(d < 0 or math.isnan(d) for d in distances):
        raise ConfigError(f"{what}: bands: distances must be ≥ 0, got {distances}")
    if distances != sorted(distances):
        raise ConfigError(f"{what}: bands: distances must increase, got {distances}")
    return pairs


class Proximity(Reward):
    """See `proximity`."""

    def __init__(
        self,
        *,
        mode: str,
        tolerance: float,
        bands: Sequence[Sequence[float]],
        miss: float,
        compare: str,
        field: str,
        extract: str,
        metric: str,
        case_sensitive: bool,
        name: str,
    ) -> None:
        for option, value, allowed in (
            ("mode", mode, _MODES),
            ("compare", compare, _KINDS),
            ("extract", extract, _EXTRACTS),
            ("metric", metric, _METRICS),
        ):
            if value not in allowed:
                raise ConfigError(f"proximity: {option} must be one of {', '.join(allowed)}, got {value!r}")
        if not tolerance > 0:
            raise ConfigError(f"proximity: tolerance must be > 0, got {tolerance}")
        self.mode, self.tolerance, self.miss = mode, float(tolerance), float(miss)
        self.bands = check_bands(bands, "proximity")
        self.compare, self.field, self.extract = compare, field, extract
        self.metric, self.case_sensitive, self.name = metric, case_sensitive, name

    # -- numbers ---------------------------------------------------------------------------------
    def value_at(self, distance: float) -> float:
        """The value of a numeric answer at relative distance `distance` from the reference."""
        if self.mode == "bands":
            for limit, value in self.bands:
                if distance <= limit:
                    return value
            return self.miss
        if self.mode == "linear":
            return 1.0 - distance / self.tolerance if distance < self.tolerance else self.miss
        return 0.5 ** (distance / self.tolerance)

    def _numeric(self, answer: str, references: list[float]) -> Score:
        guess = parse_number(answer)
        if guess is None:
            numbers = find_numbers(answer)
            if not numbers:
                return Score(0.0, f"no number in {answer[:60]!r}", S.NO_ANSWER, {"extracted": answer[:200]})
            guess = numbers[-1]
        distance = min(relative_distance(guess, r) for r in references)
        value = self.value_at(distance)
        details = {"guess": guess, "references": references, "distance": distance}
        status = S.OK if distance == 0 else S.WRONG
        return Score(value, f"{guess:g} is at relative distance {distance:.3g} → {value:.3g}", status, details)

    # -- strings ---------------------------------------------------------------------------------
    def similarity(self, a: str, b: str) -> float:
        from rapidfuzz.distance import Indel, Levenshtein

        def norm(t: str) -> str:
            return normalize_text(t, case_sensitive=self.case_sensitive)

        metric = Levenshtein if self.metric == "levenshtein" else Indel
        return float(metric.normalized_similarity(norm(a), norm(b)))

    def _text(self, answer: str, references: list[str]) -> Score:
        best = max(references, key=lambda r: self.similarity(answer, r))
        value = self.similarity(answer, best)
        details = {"extracted": answer[:200], "closest": best[:200], "similarity": value}
        status = S.OK if value == 1.0 else S.WRONG
        return Score(value, f"{self.metric} similarity {value:.3g} to {best[:60]!r}", status, details)

    def _score(self, sample: Sample) -> Score:
        reference = sample.get(self.field)
        if reference is None:
            raise InputError(
                f"proximity: the sample has no {self.field!r}; add a {self.field!r} column with the reference"
            )
        refs = [str(r) for r in (reference if isinstance(reference, (list, tuple)) else [reference])]
        answer = extract_answer(sample.text, self.extract)
        if answer is None or not answer:
            return Score(0.0, f"no answer found ({self.extract})", S.NO_ANSWER, {})
        numeric_refs = [parse_number(r) for r in refs]
        if self.compare == "text" or (self.compare == "auto" and None in numeric_refs):
            return self._text(answer, refs)
        if None in numeric_refs:
            bad = refs[numeric_refs.index(None)]
            raise InputError(f"proximity: compare='number' but the {self.field!r} value {bad!r} is not a number")
        return self._numeric(answer, [r for r in numeric_refs if r is not None])


def proximity(
    *,
    mode: Literal["bands", "linear", "exp"] = "bands",
    tolerance: float = 0.2,
    bands: list[list[float]] = DEFAULT_BANDS,
    miss: float = 0.0,
    compare: Literal["auto", "number", "text"] = "auto",
    field: str = "answer",
    extract: Literal["auto", "answer_tag", "boxed", "whole"] = "auto",
    metric: Literal["levenshtein", "indel"] = "levenshtein",
    case_sensitive: bool = False,
    name: str = "proximity",
) -> Reward:
    """Partial credit for an answer close to the reference in `field` (default `answer`).

    Numbers (`compare="number"`, or `"auto"` when the reference parses as one): the answer is
    taken from the completion by `extract` (the last `<answer>` block, else the last
    `\\boxed{}`, else the whole text), read as a number ("1,000", "$5", "72." allowed),
    else its last number. With d the relative distance to the closest reference:

    - `mode="bands"`: the value of the first `[max_distance, value]` band with d ≤ max_distance,
      else `miss`. The default `[[0, 1], [0.1, 0.5], [0.2, 0.25]]` is the shape of Unsloth's
      ratio bands (exact, within 10%, within 20%).
    - `mode="linear"`: 1 − d/tolerance while d < tolerance, else `miss`.
    - `mode="exp"`: 0.5 ** (d/tolerance): halves every `tolerance`, never reaches 0.

    Strings (`compare="text"`, or `"auto"` when the reference is not a number): the normalized
    similarity of the extracted answer to the reference (NFKC, collapsed whitespace, case
    ignored unless `case_sensitive`), by `metric`: "levenshtein" (edit distance) or "indel".
    A list of references uses the closest. No answer at all scores 0.0 (`no_answer`).

    >>> close = proximity(mode="linear", tolerance=0.1)
    >>> close.score({"completion": "<answer>95</answer>", "answer": "100"}).value
    0.5
    >>> proximity().score({"completion": "<answer>105</answer>", "answer": 100}).value
    0.5
    >>> round(proximity().score({"completion": "Pariss", "answer": "Paris"}).value, 3)
    0.833
    """
    return Proximity(
        mode=mode,
        tolerance=tolerance,
        bands=bands,
        miss=miss,
        compare=compare,
        field=field,
        extract=extract,
        metric=metric,
        case_sensitive=case_sensitive,
        name=name,
    )
