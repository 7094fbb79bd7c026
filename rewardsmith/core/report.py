"""Statistics over Scores: one implementation behind the CLI summary, `to_trl`'s metrics, and later
`audit` and `serve`, so every place that reports scores reports them the same way.

A `Report` accumulates Scores as they come (memory does not grow with their number) and keeps, for
the total and for every part of a composite: the count, the mean over scored items, the count of
each status, and the first traceback of each exception type a reward raised. A total of `ok=2000`
can hide that half the answers were wrong; the parts cannot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.score import Score

#: statuses that mean the infrastructure or the reward itself failed, not the model
FAILURE_STATUSES = (S.ERROR, S.UNSCORED)


def part_scores(score: Score | dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """`{"part": score_dict, "part/sub": score_dict}` for every part of a composite Score, recursively."""
    details = score.details if isinstance(score, Score) else (score.get("details") or {})
    out: dict[str, dict[str, Any]] = {}
    for name, part in (details.get("parts") or {}).items():
        key = f"{prefix}{name}"
        out[key] = part
        if (part.get("details") or {}).get("parts"):
            out.update(part_scores(part, prefix=f"{key}/"))
    return out


@dataclass
class Stats:
    """Count, mean and statuses of one reward (the total or one part)."""

    count: int = 0
    scored: int = 0
    total: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, value: float | None, status: str) -> None:
        self.count += 1
        self.statuses[status or S.OK] += 1
        if value is not None:
            self.scored += 1
            self.total += value

    @property
    def mean(self) -> float | None:
        return self.total / self.scored if self.scored else None

    def share(self, status: str) -> float:
        return self.statuses[status] / self.count if self.count else 0.0

    def status_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.statuses.most_common()) or "none"


@dataclass
class ErrorSeen:
    """One exception type a reward raised: how often, and the first occurrence in full."""

    count: int
    reason: str
    traceback: str
    index: int | None


def judge_counters(details: dict[str, Any]) -> Counter[str]:
    """The judge counters a Score carries (`details["judge"]`: requests, retries, cache_hits, failures,
    tokens…), summed through the parts of a composite; a composite that already summed its parts'
    counters into its own `details["judge"]` is counted once."""
    own = details.get("judge")
    if isinstance(own, dict):
        return Counter({k: int(v) for k, v in own.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    total: Counter[str] = Counter()
    for part in (details.get("parts") or {}).values():
        total.update(judge_counters(part.get("details") or {}))
    return total


class Report:
    """Running statistics over Scores (see the module docstring)."""

    def __init__(self) -> None:
        self.total = Stats()
        self.parts: dict[str, Stats] = {}
        self.errors: dict[str, ErrorSeen] = {}
        #: judge counters summed over every Score (empty when no judge took part)
        self.judge: Counter[str] = Counter()

    def add(self, score: Score, index: int | None = None) -> None:
        self.total.add(score.value, score.status)
        self.judge.update(judge_counters(score.details))
        for name, part in part_scores(score).items():
            self.parts.setdefault(name, Stats()).add(part.get("score"), part.get("status") or S.OK)
        if score.status == S.ERROR:
            self._note_error(score.details, score.reason, index)
            for part in part_scores(score).values():
                if part.get("status") == S.ERROR:
                    self._note_error(part.get("details") or {}, part.get("reason", ""), index)

    def extend(self, scores: list[Score], start: int = 0) -> None:
        for i, s in enumerate(scores):
            self.add(s, start + i)

    def add_row(self, row: dict[str, Any], index: int | None = None) -> None:
        """Add an output row (`score`, `status`, `reason`, `details`), as read back from a JSONL file."""
        self.add(
            Score(row.get("score"), row.get("reason", ""), row.get("status") or S.OK, row.get("details") or {}), index
        )

    def _note_error(self, details: dict[str, Any], reason: str, index: int | None) -> None:
        kind = details.get("exception") or "error"
        seen = self.errors.get(kind)
        if seen is None:
            self.errors[kind] = ErrorSeen(1, reason, details.get("traceback", ""), index)
        else:
            seen.count += 1

    # -- views -------------------------------------------------------------------------------------
    @property
    def failure_share(self) -> float:
        """Share of items with no value because a reward raised or the infrastructure failed."""
        return sum(self.total.share(s) for s in FAILURE_STATUSES)

    @property
    def all_failed(self) -> bool:
        return self.total.count > 0 and self.total.statuses[S.ERROR] == self.total.count

    def summary_lines(self) -> list[str]:
        """One line for the total, one per part, and one for judge requests when a judge took part."""
        t = self.total
        mean = "n/a" if t.mean is None else f"{t.mean:.4f}"
        lines = [f"scored {t.count} samples: mean score {mean} over {t.scored} scored; status {t.status_text()}"]
        width = max((len(n) for n in self.parts), default=0)
        for name, p in self.parts.items():
            pm = "n/a" if p.mean is None else f"{p.mean:.4f}"
            lines.append(f"  {name:<{width}}  mean {pm} over {p.scored}; status {p.status_text()}")
        if self.judge:
            j = self.judge
            lines.append(
                f"judge: {j['requests']} requests, {j['retries']} retries, {j['cache_hits']} cache hits, "
                f"{j['failures']} failures, {j['unparsed']} unparsed; unscored share {self.failure_share:.1%}"
            )
        return lines

    def table(self) -> Any:
        """The same figures as a rich Table (what the CLI prints with --progress on a terminal)."""
        from rich.table import Table

        table = Table(title=f"{self.total.count} samples", show_edge=False)
        for col in ("reward", "mean", "scored", "status"):
            table.add_column(col, justify="right" if col in ("mean", "scored") else "left")
        for name, st in [("total", self.total), *self.parts.items()]:
            table.add_row(name, "n/a" if st.mean is None else f"{st.mean:.4f}", str(st.scored), st.status_text())
        return table

    def metrics(self, name: str, *, all_statuses: bool = False) -> dict[str, float]:
        """Flat `rewards/<name>/...` metrics for a trainer's logger.

        - `rewards/<name>/<part>/mean`: the mean unweighted value of each part over the items where it
          has one (a part that never ran, such as an untaken gate branch, is left out, not logged as 0);
        - `rewards/<name>/status/<status>`: the share of each status seen in the total;
        - `rewards/<name>/<part>/status/<status>`: the share of each status other than `ok` of each part;
        - `rewards/<name>/judge/<counter>`: judge requests, retries, cache hits, failures and tokens.
        `all_statuses=True` also logs the shares that are zero, for every standard status.
        """
        out: dict[str, float] = {}
        for part, st in self.parts.items():
            if st.mean is not None:
                out[f"rewards/{name}/{part}/mean"] = st.mean
        statuses = set(self.total.statuses) | (set(STANDARD_STATUSES) if all_statuses else set())
        for status in sorted(statuses):
            out[f"rewards/{name}/status/{status}"] = self.total.share(status)
        n = self.total.count
        for part, st in self.parts.items():
            seen = {s for s in st.statuses if s != S.OK} | (set(STANDARD_STATUSES) if all_statuses else set())
            for status in sorted(seen):
                out[f"rewards/{name}/{part}/status/{status}"] = st.statuses[status] / n if n else 0.0
        for key, value in sorted(self.judge.items()):
            out[f"rewards/{name}/judge/{key}"] = float(value)
        return out


#: the shared vocabulary of statuses (`all_statuses=True` logs each of them)
STANDARD_STATUSES = (
    S.OK,
    S.WRONG,
    S.NO_ANSWER,
    S.WRONG_FORMAT,
    S.TIMEOUT,
    S.RUNTIME_ERROR,
    S.ERROR,
    S.UNSCORED,
)


def report(scores: list[Score]) -> Report:
    """A Report over a list of Scores.

    >>> from rewardsmith import Score
    >>> r = report([Score(1.0), Score(0.0, status="wrong"), Score(None, status="unscored")])
    >>> r.total.mean, r.total.statuses["wrong"], r.failure_share
    (0.5, 1, 0.3333333333333333)
    """
    out = Report()
    out.extend(scores)
    return out
