"""Judge counters: per item (in `Score.details["judge"]`) and per judge for the whole process.

A run whose judge silently failed must look different from a model that got worse, so every
request, retry, cache hit and failure is counted twice: on the item (a fixed set of integer
keys, the same for every judge, so a report can sum them) and in a process-wide table per
judge name that `judge_stats()` returns for a CLI summary or a training logger.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

#: The keys of `Score.details["judge"]`, in this order, always all present.
COUNTER_KEYS = (
    "requests",  # HTTP requests sent, retries included
    "retries",  # requests re-sent after a timeout, 429, 5xx or broken response
    "cache_hits",  # verdicts read from the disk cache instead of the endpoint
    "failures",  # verdict requests that failed for good (after all retries, or refused)
    "unparsed",  # judge answers in which no verdict could be read
    "echoes",  # of those, answers whose only verdicts were copies of the sample's text (planted?)
    "fallbacks",  # verdicts read by the fallback (a bare number or yes/no), not from JSON
    "prompt_tokens",
    "completion_tokens",
)


@dataclass(slots=True)
class JudgeCounters:
    """What one item (or one judge over a run) cost and how it went."""

    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    failures: int = 0
    unparsed: int = 0
    echoes: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def add(self, other: JudgeCounters | Mapping[str, Any]) -> None:
        source = other.as_dict() if isinstance(other, JudgeCounters) else other
        for key in COUNTER_KEYS:
            setattr(self, key, getattr(self, key) + int(source.get(key, 0) or 0))


@dataclass(slots=True)
class _Totals:
    counters: JudgeCounters
    items: int = 0
    unscored: int = 0


_lock = threading.Lock()
_totals: dict[str, _Totals] = {}


def record_item(judge_name: str, counters: JudgeCounters, *, scored: bool) -> None:
    """Add one finished item to its judge's process-wide totals (thread-safe)."""
    with _lock:
        totals = _totals.setdefault(judge_name, _Totals(JudgeCounters()))
        totals.counters.add(counters)
        totals.items += 1
        totals.unscored += 0 if scored else 1


def judge_stats() -> dict[str, dict[str, Any]]:
    """Process-wide counters per judge name since start (or `reset_judge_stats`).

    Each value holds the `COUNTER_KEYS` plus `items`, `unscored` and `error_rate`
    (unscored / items): the share of items the judge could not score, which a report
    prints beside the mean so that a failing judge is never mistaken for a worse model.

    >>> reset_judge_stats()
    >>> record_item("robotic", JudgeCounters(requests=2, retries=1), scored=True)
    >>> record_item("robotic", JudgeCounters(requests=5, failures=1), scored=False)
    >>> s = judge_stats()["robotic"]
    >>> s["items"], s["requests"], s["retries"], s["error_rate"]
    (2, 7, 1, 0.5)
    """
    with _lock:
        out = {}
        for name, t in _totals.items():
            row: dict[str, Any] = t.counters.as_dict()
            row.update(items=t.items, unscored=t.unscored, error_rate=t.unscored / t.items if t.items else 0.0)
            out[name] = row
        return out


def reset_judge_stats() -> None:
    """Forget the process-wide counters (and which failures were already warned about)."""
    with _lock:
        _totals.clear()
        _warned.clear()


_warned: set[tuple[str, str]] = set()


def first_time(judge_name: str, kind: str) -> bool:
    """True the first time a judge fails for this kind of reason: warn once, count always."""
    with _lock:
        if (judge_name, kind) in _warned:
            return False
        _warned.add((judge_name, kind))
        return True


def sum_counters(scores: Iterable[Any]) -> dict[str, int]:
    """Sum the `details["judge"]` counters found anywhere in Scores (or their dicts).

    Composites keep each part's Score under `details["parts"]`, so the walk is recursive:
    `2.0 * math + judge` reports its judge's requests like the judge alone would.

    >>> from rewardsmith import Score
    >>> part = Score(1.0, details={"judge": JudgeCounters(requests=3, cache_hits=1).as_dict()})
    >>> total = Score(2.0, details={"parts": {"judge": part.to_dict()}})
    >>> sum_counters([total, part])["requests"]
    6
    """
    total = JudgeCounters()
    for score in scores:
        details = getattr(score, "details", None)
        if details is None and isinstance(score, Mapping):
            details = score.get("details")
        _walk(details, total)
    return total.as_dict()


def _walk(details: Any, total: JudgeCounters) -> None:
    if not isinstance(details, Mapping):
        return
    counters = details.get("judge")
    if isinstance(counters, Mapping):
        total.add(counters)
    for part in (details.get("parts") or {}).values():
        if isinstance(part, Mapping):
            _walk(part.get("details"), total)


assert tuple(f.name for f in fields(JudgeCounters)) == COUNTER_KEYS
