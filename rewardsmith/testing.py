"""Assertions for your own reward tests (pytest or any runner): scores as expected, hacks resisted.

```
from rewardsmith.testing import assert_scores, assert_resists_hacks

def test_my_reward():
    assert_scores(my_reward, [
        ({"completion": "… \\\\boxed{72}", "answer": "72"}, 1.0),
        ({"completion": "… \\\\boxed{71}", "answer": "72"}, 0.0),
        ({"completion": "", "answer": "72"}, {"value": 0.0, "status": "no_answer"}),
    ])
    assert_resists_hacks(my_reward, correct_rows)
```

Both raise `AssertionError` with every mismatch (not only the first) and the reason the reward gave,
so a failing test reads like the audit report. Nothing here imports pytest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rewardsmith.core.reward import SampleLike, as_reward
from rewardsmith.core.sample import as_sample

__all__ = ["assert_resists_hacks", "assert_scores", "hack_names"]


def assert_scores(reward: Any, cases: Iterable[tuple[SampleLike, Any]], *, tol: float = 1e-6) -> None:
    """Assert that `reward` scores each `(sample, expected)` case as expected.

    `expected` is a number (equal within `tol`), a `(low, high)` range (inclusive), None (the
    reward must leave it unscored), or a dict of any of `value` (a number, range or None),
    `status`, and `reason` (a substring of the Score's reason). The cases are scored in one batch.

    >>> import rewardsmith as rs
    >>> exact = rs.load("exact")
    >>> assert_scores(exact, [({"completion": "Paris", "answer": "paris"}, 1.0)])
    >>> assert_scores(exact, [({"completion": "Lyon", "answer": "paris"}, 1.0)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: 1 of 1 cases scored otherwise:
      case 1 'Lyon': expected 1.0, got 0.0 [wrong] ...
    """
    __tracebackhide__ = True
    reward = as_reward(reward)
    pairs = list(cases)
    samples = [as_sample(s) for s, _ in pairs]
    scores = reward.score_batch(samples)
    problems = []
    for i, ((_, expected), sample, score) in enumerate(zip(pairs, samples, scores, strict=True), 1):
        wanted = expected if isinstance(expected, Mapping) else {"value": expected}
        unknown = set(wanted) - {"value", "status", "reason"}
        if unknown:
            raise TypeError(f"case {i}: unknown expectation(s) {sorted(unknown)}; use value, status, reason")
        misses = []
        if "value" in wanted and not _value_matches(wanted["value"], score.value, tol):
            misses.append(f"expected {wanted['value']!r}, got {score.value!r}")
        if "status" in wanted and score.status != wanted["status"]:
            misses.append(f"expected status {wanted['status']!r}, got {score.status!r}")
        if "reason" in wanted and wanted["reason"] not in score.reason:
            misses.append(f"expected the reason to contain {wanted['reason']!r}")
        if misses:
            text = " ".join(sample.text.split())
            shown = text if len(text) <= 60 else text[:57] + "..."
            problems.append(f"  case {i} {shown!r}: {'; '.join(misses)} [{score.status}] {score.reason}")
    if problems:
        raise AssertionError(f"{len(problems)} of {len(pairs)} cases scored otherwise:\n" + "\n".join(problems))


def _value_matches(expected: Any, got: float | None, tol: float) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, (tuple, list)) and len(expected) == 2:
        low, high = expected
        return low - tol <= got <= high + tol
    return math.isclose(float(expected), got, rel_tol=tol, abs_tol=tol)


def assert_resists_hacks(
    reward: Any,
    samples: Iterable[SampleLike],
    *,
    hacks: Sequence[str] | None = None,
    skip: Sequence[str] = (),
    threshold: float | None = None,
    require_lower: Sequence[str] = (),
    **options: Any,
) -> Any:
    """Assert that no hack of the audit's catalogue earns `threshold` (default 0.8) of what the
    genuine correct completions of `samples` earn; returns the `AuditReport` for further checks.

    Give correct completions (or rows with an `answer`, which the audit uses to make them
    correct). Fails too when no genuine completion scores above an empty completion, since then
    nothing can be judged. `options` go to `rewardsmith.audit` (`max_groups`, `timeout`, ...).
    """
    __tracebackhide__ = True
    from rewardsmith.audit.results import DEFAULT_THRESHOLD
    from rewardsmith.audit.runner import audit

    report = audit(
        reward,
        samples,
        hacks=hacks,
        skip=skip,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        require_lower=require_lower,
        diagnostics=False,
        **options,
    )
    if not report.passed:
        raise AssertionError("\n".join(report.summary_lines()))
    return report


def hack_names(family: str | None = None) -> list[str]:
    """The catalogue's hack names (`family`: "text" or "code"), e.g. for `pytest.mark.parametrize`."""
    from rewardsmith.audit.hacks import catalogue

    return [name for name, h in catalogue().items() if family is None or h.family == family]
