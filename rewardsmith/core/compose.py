"""Composition: weighted sums, gates, all-of/any-of and clipping, each itself a Reward.

Every composite scores its parts with their own best engine path (a process pool for
SymPy, asyncio for judges) and keeps every part's Score under `details["parts"]`, so a
total never hides where it came from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.aio import run_sync
from rewardsmith.core.errors import UsageError, indexed
from rewardsmith.core.reward import Reward, as_reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

# Statuses that mean "this part has no value"; a composite that cannot be computed
# without the part reports the part's status.
_NO_VALUE = "unscored"


class Constant(Reward):
    """A fixed value, so that `reward + 0.5` and `gate(..., otherwise=-1.0)` work."""

    def __init__(self, value: float) -> None:
        self.value = float(value)
        self.name = f"{self.value:g}"

    def _score(self, sample: Sample) -> Score:
        return Score(self.value, "constant")


class Composite(Reward):
    """A Reward built from parts: scores the parts, then `_combine`s each sample's part Scores.

    A subclass implements `_combine(sample, scores)`; scoring one sample, a batch (part by part,
    each through its own best backend) and the async faces all come from here. When a part is
    async (a judge), the parts of a batch run concurrently: the judge's requests are in flight
    while the CPU-bound parts run in their worker processes.
    """

    def __init__(self, parts: Sequence[Reward], name: str) -> None:
        self._parts = list(parts)
        self.name = name
        self.kind = (
            "io"
            if any(p.kind == "io" for p in self._parts)
            else ("cpu" if any(p.kind == "cpu" for p in self._parts) else "inline")
        )

    @property
    def parts(self) -> list[Reward]:
        return self._parts

    @property
    def is_async(self) -> bool:
        return any(p.is_async for p in self._parts)

    def part_names(self) -> list[str]:
        return unique_names(self._parts)

    def _combine(self, sample: Sample, scores: list[Score]) -> Score:
        raise NotImplementedError(f"{type(self).__name__} must implement _combine(sample, scores)")

    def _score_one(self, sample: Sample, strict: bool) -> Score:
        return self._combine(sample, [p._score_one(sample, strict) for p in self._parts])

    async def _ascore_one(self, sample: Sample, strict: bool) -> Score:
        scores = await asyncio.gather(*(p._ascore_one(sample, strict) for p in self._parts))
        return self._combine(sample, list(scores))

    def _batch(self, samples: list[Sample], opts: Any) -> list[Score]:
        if self.is_async:
            return run_sync(self._abatch(samples, opts))
        return self._combine_columns(samples, [p._batch(samples, opts) for p in self._parts])

    async def _abatch(self, samples: list[Sample], opts: Any) -> list[Score]:
        columns = await asyncio.gather(*(p._abatch(samples, opts) for p in self._parts))
        return self._combine_columns(samples, list(columns))

    def _combine_columns(self, samples: list[Sample], columns: list[list[Score]]) -> list[Score]:
        combine = self._combine
        return [indexed(i, combine, s, [col[i] for col in columns]) for i, s in enumerate(samples)]

    def _parts_details(self, scores: list[Score]) -> dict[str, Any]:
        return {n: s.to_dict() for n, s in zip(self.part_names(), scores, strict=True)}


class Weighted(Composite):
    """Σ weight·value over the parts.

    A part with no value (unscored, error, or a judge timeout) makes the total unscored,
    because a sum that silently drops a term trains on a wrong signal; pass
    `skip_missing=True` to sum the parts that have a value instead.
    """

    def __init__(
        self,
        terms: Sequence[tuple[Reward, float]],
        *,
        skip_missing: bool = False,
        name: str | None = None,
    ) -> None:
        self.weights = [float(w) for _, w in terms]
        parts = [r for r, _ in terms]
        self.skip_missing = skip_missing
        super().__init__(parts, name or _sum_name(parts, self.weights))
        self._auto_name = name is None

    def _combine(self, sample: Sample, scores: list[Score]) -> Score:
        names = self.part_names()
        details: dict[str, Any] = {
            "parts": self._parts_details(scores),
            "weights": dict(zip(names, self.weights, strict=True)),
        }
        missing = [(n, s) for n, s in zip(names, scores, strict=True) if s.value is None]
        present = [(n, w, s) for n, w, s in zip(names, self.weights, scores, strict=True) if s.value is not None]
        if missing and (not self.skip_missing or not present):
            name, first = missing[0]
            why = "; ".join(f"{n}: {s.status} ({s.reason})" for n, s in missing)
            return Score(None, f"unscored because a part has no value: {why}", first.status or _NO_VALUE, details)
        contributions = {n: w * s.value for n, w, s in present}  # type: ignore[operator]
        details["contributions"] = contributions
        if missing:
            details["skipped"] = [n for n, _ in missing]
        total = sum(contributions.values())
        terms = ", ".join(
            f"{n} {contributions[n]:+.3g}"
            + (f" ({w:g}×{s.value:.3g})" if w != 1 else "")
            + ("" if s.status == S.OK else f" [{s.status}]")
            for n, w, s in present
        )
        reason = f"total {total:.4g} = {terms}"
        if missing:
            reason += f"; skipped unscored: {', '.join(details['skipped'])}"
        return Score(total, reason, S.OK, details)


def weighted(
    terms: Mapping[Reward, float] | Iterable[tuple[Reward, float]],
    *,
    skip_missing: bool = False,
    name: str | None = None,
) -> Weighted:
    """Weighted sum, e.g. `weighted({correct: 2.0, fmt: 0.5})`.

    >>> import rewardsmith as rs
    >>> one = rs.reward(lambda s: 1.0, name="one")
    >>> rs.weighted({one: 2.0}).score({"completion": "x"}).value
    2.0
    """
    items = list(terms.items()) if isinstance(terms, Mapping) else list(terms)
    if not items:
        raise UsageError("weighted(): give at least one (reward, weight) pair")
    checked = []
    for r, w in items:
        if not isinstance(w, (int, float)) or isinstance(w, bool):
            raise UsageError(f"weighted(): the weight of {getattr(r, 'name', r)!r} must be a number, got {w!r}")
        checked.append((as_reward(r, what="weighted()"), float(w)))
    return Weighted(checked, skip_missing=skip_missing, name=name)


def weighted_sum(a: Reward | float, b: Reward | float) -> Reward:
    """`a + b`, flattening unnamed weighted sums so `a + b + c` is one level deep."""
    terms: list[tuple[Reward, float]] = []
    for x in (a, b):
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            terms.append((Constant(x), 1.0))
        elif isinstance(x, Weighted) and x._auto_name and not x.skip_missing:
            terms.extend(zip(x.parts, x.weights, strict=True))
        elif isinstance(x, Reward):
            terms.append((x, 1.0))
        else:
            return NotImplemented
    return Weighted(terms)


class Clip(Composite):
    def __init__(self, inner: Reward, lo: float | None, hi: float | None) -> None:
        if lo is not None and hi is not None and lo > hi:
            raise UsageError(f"clip(lo={lo}, hi={hi}): lo must not exceed hi")
        self.lo, self.hi = lo, hi
        super().__init__([inner], inner.name)

    def _combine(self, sample: Sample, scores: list[Score]) -> Score:
        (inner,) = scores
        details = {"parts": self._parts_details(scores), "clip": [self.lo, self.hi]}
        if inner.value is None:
            return Score(None, inner.reason, inner.status, details)
        value = inner.value
        if self.lo is not None:
            value = max(self.lo, value)
        if self.hi is not None:
            value = min(self.hi, value)
        reason = inner.reason if value == inner.value else f"{inner.reason} (clipped {inner.value:.4g} → {value:.4g})"
        return Score(value, reason, inner.status, details)


class _Logic(Composite):
    """Shared three-valued logic of all_of/any_of: a part passes when value ≥ threshold."""

    short_name = ""

    def __init__(self, parts: Sequence[Reward], threshold: float, name: str | None) -> None:
        if not parts:
            raise UsageError(f"{self.short_name}(): give at least one check")
        self.threshold = threshold
        parts = [as_reward(p, what=f"{self.short_name}()") for p in parts]
        super().__init__(parts, name or f"{self.short_name}({', '.join(p.name for p in parts)})")

    def _verdicts(self, scores: list[Score]) -> list[bool | None]:
        return [None if s.value is None else s.value >= self.threshold for s in scores]

    def _result(self, decided: bool | None, scores: list[Score]) -> Score:
        names = self.part_names()
        details = {"parts": self._parts_details(scores), "threshold": self.threshold}
        summary = ", ".join(
            f"{n} {'pass' if v else 'unscored' if v is None else 'fail'}"
            for n, v in zip(names, self._verdicts(scores), strict=True)
        )
        if decided is None:
            return Score(None, f"{self.short_name} undecided: {summary}", S.UNSCORED, details)
        return Score(1.0 if decided else 0.0, f"{self.short_name}: {summary}", S.OK, details)


class AllOf(_Logic):
    short_name = "all_of"

    def _combine(self, sample: Sample, scores: list[Score]) -> Score:
        verdicts = self._verdicts(scores)
        if False in verdicts:
            return self._result(False, scores)  # a definite failure decides, whatever is unscored
        return self._result(None if None in verdicts else True, scores)


class AnyOf(_Logic):
    short_name = "any_of"

    def _combine(self, sample: Sample, scores: list[Score]) -> Score:
        verdicts = self._verdicts(scores)
        if True in verdicts:
            return self._result(True, scores)
        return self._result(None if None in verdicts else False, scores)


def all_of(*checks: Reward, threshold: float = 1.0, name: str | None = None) -> Reward:
    """1.0 when every check passes (value ≥ threshold), 0.0 when one fails, unscored otherwise."""
    return AllOf(checks, threshold, name)


def any_of(*checks: Reward, threshold: float = 1.0, name: str | None = None) -> Reward:
    """1.0 when some check passes (value ≥ threshold), 0.0 when all fail, unscored otherwise."""
    return AnyOf(checks, threshold, name)


class Gate(Composite):
    """`then` where `check` passes, `otherwise` where it fails; each branch runs only where needed."""

    def __init__(self, check: Reward, then: Reward, otherwise: Reward, threshold: float, name: str | None) -> None:
        self.threshold = threshold
        super().__init__([check, then, otherwise], name or f"gate({check.name} → {then.name})")

    def _branch(self, check: Score) -> int | None:
        """Index of the part to score after `check` (1 = then, 2 = otherwise); None when undecided."""
        if check.value is None:
            return None
        return 1 if check.value >= self.threshold else 2

    def _decide(self, check: Score, branch_score: Score | None) -> Score:
        names = self.part_names()
        details: dict[str, Any] = {"parts": {names[0]: check.to_dict()}, "threshold": self.threshold}
        branch = self._branch(check)
        if branch is None or branch_score is None:
            return Score(None, f"gate check {names[0]} unscored: {check.reason}", check.status, details)
        details["parts"][names[branch]] = branch_score.to_dict()
        details["branch"] = "then" if branch == 1 else "otherwise"
        verdict = "passed" if branch == 1 else "failed"
        return Score(
            branch_score.value,
            f"gate {names[0]} {verdict} → {names[branch]}: {branch_score.reason}",
            branch_score.status,
            details,
        )

    def _combine(self, sample: Sample, scores: list[Score]) -> Score:
        check, then, otherwise = scores
        branch = self._branch(check)
        return self._decide(check, None if branch is None else (then, otherwise)[branch - 1])

    def _score_one(self, sample: Sample, strict: bool) -> Score:
        check = self._parts[0]._score_one(sample, strict)
        branch = self._branch(check)
        return self._decide(check, None if branch is None else self._parts[branch]._score_one(sample, strict))

    async def _ascore_one(self, sample: Sample, strict: bool) -> Score:
        check = await self._parts[0]._ascore_one(sample, strict)
        branch = self._branch(check)
        return self._decide(check, None if branch is None else await self._parts[branch]._ascore_one(sample, strict))

    def _routes(self, checks: list[Score]) -> dict[int, list[int]]:
        routes: dict[int, list[int]] = {1: [], 2: []}
        for i, c in enumerate(checks):
            branch = self._branch(c)
            if branch is not None:
                routes[branch].append(i)
        return routes

    def _batch(self, samples: list[Sample], opts: Any) -> list[Score]:
        if self.is_async:
            return run_sync(self._abatch(samples, opts))
        checks = self._parts[0]._batch(samples, opts)
        branch_scores: list[Score | None] = [None] * len(samples)
        for branch, idx in self._routes(checks).items():
            if idx:
                for i, s in zip(idx, self._parts[branch]._batch([samples[i] for i in idx], opts), strict=True):
                    branch_scores[i] = s
        return [self._decide(c, b) for c, b in zip(checks, branch_scores, strict=True)]

    async def _abatch(self, samples: list[Sample], opts: Any) -> list[Score]:
        checks = await self._parts[0]._abatch(samples, opts)
        routes = [(b, idx) for b, idx in self._routes(checks).items() if idx]
        results = await asyncio.gather(*(self._parts[b]._abatch([samples[i] for i in idx], opts) for b, idx in routes))
        branch_scores: list[Score | None] = [None] * len(samples)
        for (_, idx), scores in zip(routes, results, strict=True):
            for i, s in zip(idx, scores, strict=True):
                branch_scores[i] = s
        return [self._decide(c, b) for c, b in zip(checks, branch_scores, strict=True)]


def gate(
    check: Reward,
    *,
    then: Reward | float,
    otherwise: Reward | float = 0.0,
    threshold: float = 1.0,
    name: str | None = None,
) -> Reward:
    """`then` where `check` passes (value ≥ threshold), else `otherwise`.

    Typical use: pay for style only when the answer is right,
    `gate(math, then=0.5 * concise, otherwise=0.0)`.
    """

    def coerce(x: Reward | float, what: str) -> Reward:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return Constant(x)
        return as_reward(x, what=f"gate({what}=...)")

    return Gate(
        as_reward(check, what="gate(check)"), coerce(then, "then"), coerce(otherwise, "otherwise"), threshold, name
    )


def unique_names(parts: Sequence[Reward]) -> list[str]:
    """Part names, suffixed `#2`, `#3`… where two parts share a name."""
    seen: dict[str, int] = {}
    names = []
    for p in parts:
        n = seen.get(p.name, 0) + 1
        seen[p.name] = n
        names.append(p.name if n == 1 else f"{p.name}#{n}")
    return names


def _sum_name(parts: Sequence[Reward], weights: Sequence[float]) -> str:
    return " + ".join(p.name if w == 1 else f"{w:g}*{p.name}" for p, w in zip(parts, weights, strict=True))
