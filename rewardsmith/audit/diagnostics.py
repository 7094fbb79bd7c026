"""Is there anything for GRPO to learn from? Signal diagnostics over real, grouped completions.

GRPO learns from differences *within* a group of completions of one prompt: a group whose
completions all get the same reward has zero advantage everywhere and contributes no gradient
(TRL logs the share of such groups as `frac_reward_zero_std`). This module measures, on rows
grouped by prompt:

- the share of groups with zero reward variance, and which constant values they sit at (all
  1.0: too easy, all 0.0: too hard);
- the distribution of scores and of group-normalized advantages, computed as TRL's GRPOTrainer
  does: `(r - mean(group)) / (std(group) + 1e-4)` with the sample standard deviation;
- per part of a composite: constant parts and pairs of parts that move together (|r| ≥ 0.95: a
  part that only duplicates another doubles its weight and adds nothing);
- statuses that point to infrastructure trouble (unscored, error) and timeouts, through the
  shared `rewardsmith.core.report.Report`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.report import Report, part_scores
from rewardsmith.core.score import Score

#: a group's std at or below this is zero (torch.isclose(std, 0)'s default atol, as TRL checks)
ZERO_STD_ATOL = 1e-8
#: TRL's epsilon in the advantage's denominator
ADVANTAGE_EPS = 1e-4
#: |Pearson r| at or above which two parts are reported as duplicates
DUPLICATE_R = 0.95
#: share of zero-variance groups at or above which the report warns
ZERO_STD_WARN = 0.5
#: share of timeouts at or above which the report warns
TIMEOUT_WARN = 0.05
HISTOGRAM_BINS = 20


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def sample_std(values: Sequence[float]) -> float:
    """Standard deviation with Bessel's correction (torch.std's default); 0.0 for one value."""
    if len(values) < 2:
        return 0.0
    m = mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def advantages(values: Sequence[float], *, scale: bool = True, eps: float = ADVANTAGE_EPS) -> list[float]:
    """GRPO's group-normalized advantages, as TRL computes them.

    >>> [round(a, 4) for a in advantages([1.0, 0.0, 0.0])]
    [1.1545, -0.5773, -0.5773]
    """
    m = mean(values)
    if not scale:
        return [v - m for v in values]
    std = sample_std(values)
    return [(v - m) / (std + eps) for v in values]


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None when either side is constant or there are fewer than 3 pairs."""
    if len(xs) < 3:
        return None
    mx, my = mean(xs), mean(ys)
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


@dataclass
class Distribution:
    """Summary of a list of numbers, with a histogram of `HISTOGRAM_BINS` equal bins."""

    count: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None
    max: float | None = None
    edges: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(0)
        ordered = sorted(values)
        lo, hi = ordered[0], ordered[-1]
        bins = HISTOGRAM_BINS if hi > lo else 1
        width = (hi - lo) / bins if hi > lo else 1.0
        counts = [0] * bins
        for v in ordered:
            counts[min(int((v - lo) / width), bins - 1)] += 1
        return cls(
            count=len(values),
            mean=mean(values),
            std=sample_std(values),
            min=lo,
            p10=quantile(ordered, 0.1),
            p50=quantile(ordered, 0.5),
            p90=quantile(ordered, 0.9),
            max=hi,
            edges=[lo + i * width for i in range(bins + 1)] if hi > lo else [lo, lo],
            counts=counts,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PartSignal:
    """One part of a composite: its spread over all rows and within groups."""

    name: str
    count: int
    mean: float | None
    std: float | None
    zero_std_share: float | None

    @property
    def constant(self) -> bool:
        return self.count > 1 and self.std is not None and self.std <= ZERO_STD_ATOL


@dataclass
class Signal:
    """Everything the diagnostics found (see the module docstring); `warnings` says what matters."""

    rows: int
    scored: int
    groups: int
    small_groups: int
    group_sizes: dict[str, float]
    zero_std: int
    zero_std_share: float | None
    zero_std_values: dict[str, int]
    scores: Distribution
    advantages: Distribution
    zero_advantage_share: float | None
    parts: list[PartSignal]
    correlations: list[dict[str, Any]]
    statuses: dict[str, int]
    infra: int
    timeouts: int
    errors: list[dict[str, Any]]
    warnings: list[str]
    values: list[float] = field(default_factory=list, repr=False)
    advantage_values: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("values")
        out.pop("advantage_values")
        out["scores"] = self.scores.to_dict()
        out["advantages"] = self.advantages.to_dict()
        out["parts"] = [{**asdict(p), "constant": p.constant} for p in self.parts]
        out["infra_share"] = self.infra / self.rows if self.rows else 0.0
        out["timeout_share"] = self.timeouts / self.rows if self.rows else 0.0
        return out


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def diagnose(scores: Sequence[Score], groups: Sequence[Sequence[int]], labels: Sequence[str]) -> Signal:
    """Signal diagnostics of `scores` (one per row), grouped by row indices (`groups`).

    `labels` name each row in messages (`IN.jsonl:12`).
    """
    report = Report()
    for i, s in enumerate(scores):
        report.add(s, i)
    values = [s.value for s in scores]
    scored = [v for v in values if v is not None]

    zero, constants, sizes, small = 0, Counter[str](), [], 0
    advantage_values: list[float] = []
    for members in groups:
        got = [v for v in (values[i] for i in members) if v is not None]
        if len(got) < 2:
            small += 1
            continue
        sizes.append(len(got))
        if sample_std(got) <= ZERO_STD_ATOL:
            zero += 1
            constants[_fmt(got[0])] += 1
        advantage_values.extend(advantages(got))
    n_groups = len(sizes)
    zero_share = zero / n_groups if n_groups else None
    adv = Distribution.of(advantage_values)
    zero_adv = (
        sum(abs(a) <= ZERO_STD_ATOL for a in advantage_values) / len(advantage_values) if advantage_values else None
    )

    parts, correlations = _parts(scores, groups)
    statuses = dict(report.total.statuses.most_common())
    infra = report.total.statuses[S.UNSCORED] + report.total.statuses[S.ERROR]
    timeouts = report.total.statuses[S.TIMEOUT]
    errors = [
        {
            "exception": kind,
            "count": seen.count,
            "reason": seen.reason,
            "first_row": labels[seen.index] if seen.index is not None else None,
            "traceback": seen.traceback,
        }
        for kind, seen in report.errors.items()
    ]
    unscored_reasons = [(i, s.reason) for i, s in enumerate(scores) if s.status == S.UNSCORED]
    signal = Signal(
        rows=len(scores),
        scored=len(scored),
        groups=n_groups,
        small_groups=small,
        group_sizes={"min": min(sizes), "median": quantile(sorted(sizes), 0.5), "max": max(sizes)} if sizes else {},
        zero_std=zero,
        zero_std_share=zero_share,
        zero_std_values=dict(constants.most_common()),
        scores=Distribution.of(scored),
        advantages=adv,
        zero_advantage_share=zero_adv,
        parts=parts,
        correlations=correlations,
        statuses=statuses,
        infra=infra,
        timeouts=timeouts,
        errors=errors,
        warnings=[],
        values=scored,
        advantage_values=advantage_values,
    )
    signal.warnings = _warnings(signal, unscored_reasons, labels)
    return signal


def _parts(scores: Sequence[Score], groups: Sequence[Sequence[int]]) -> tuple[list[PartSignal], list[dict[str, Any]]]:
    columns: dict[str, list[float | None]] = {}
    for i, s in enumerate(scores):
        for name, part in part_scores(s).items():
            columns.setdefault(name, [None] * len(scores))[i] = part.get("score")
    out: list[PartSignal] = []
    for name, column in columns.items():
        got = [v for v in column if v is not None]
        in_groups = [[v for v in (column[i] for i in g) if v is not None] for g in groups]
        in_groups = [g for g in in_groups if len(g) >= 2]
        zero = sum(sample_std(g) <= ZERO_STD_ATOL for g in in_groups)
        out.append(
            PartSignal(
                name,
                len(got),
                mean(got) if got else None,
                sample_std(got) if got else None,
                zero / len(in_groups) if in_groups else None,
            )
        )
    correlations = []
    names = list(columns)
    for a_i, a in enumerate(names):
        for b in names[a_i + 1 :]:
            if b.startswith(a + "/") or a.startswith(b + "/"):  # a part and its own sub-part
                continue
            pairs = [(x, y) for x, y in zip(columns[a], columns[b], strict=True) if x is not None and y is not None]
            r = pearson([x for x, _ in pairs], [y for _, y in pairs])
            if r is not None:
                correlations.append({"a": a, "b": b, "r": r, "rows": len(pairs), "duplicate": abs(r) >= DUPLICATE_R})
    return out, correlations


def _warnings(signal: Signal, unscored: list[tuple[int, str]], labels: Sequence[str]) -> list[str]:
    out = []
    if signal.rows and not signal.scored:
        out.append("no row has a value: the reward failed on every row (see the errors)")
    if signal.groups == 0:
        out.append(
            "no prompt has two or more scored completions, so the learning signal cannot be measured: "
            "give several completions per prompt (GRPO's num_generations), grouped by 'prompt' or --group-by"
        )
    elif signal.zero_std_share is not None and signal.zero_std_share >= ZERO_STD_WARN:
        where = ", ".join(f"all {v}: {n}" for v, n in signal.zero_std_values.items())
        out.append(
            f"{signal.zero_std_share:.0%} of groups ({signal.zero_std}/{signal.groups}) score every completion the "
            f"same ({where}): GRPO gets no gradient from them; use prompts of the right difficulty, more "
            "completions per prompt, or a reward with partial credit"
        )
    if signal.infra:
        share = signal.infra / signal.rows
        first = f"; first: {labels[unscored[0][0]]}: {unscored[0][1]}" if unscored else ""
        out.append(
            f"{signal.infra} rows ({share:.1%}) have no value (unscored or error): infrastructure or reward "
            f"failures, not the model's{first}"
        )
    if signal.rows and signal.timeouts / signal.rows >= TIMEOUT_WARN:
        out.append(
            f"{signal.timeouts} rows ({signal.timeouts / signal.rows:.1%}) timed out: slow completions, or a "
            "limit too tight for this machine (--timeout)"
        )
    for part in signal.parts:
        if part.constant:
            out.append(
                f"part {part.name!r} is constant ({_fmt(part.mean or 0.0)} on all {part.count} rows): "
                "it shifts every score and teaches nothing"
            )
    for cluster, lowest in duplicate_clusters(signal.correlations):
        out.append(
            f"parts {', '.join(map(repr, cluster))} move together (|r| ≥ {lowest:.3f} on these rows): they carry "
            "one signal, so together they only multiply its weight"
        )
    return out


def duplicate_clusters(correlations: Sequence[dict[str, Any]]) -> list[tuple[list[str], float]]:
    """Parts linked by duplicate pairs, as clusters (each with the lowest |r| of its pairs)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    lowest: dict[str, float] = {}
    for c in correlations:
        if c["duplicate"]:
            a, b = root(c["a"]), root(c["b"])
            parent[b] = a
    clusters: dict[str, list[str]] = {}
    for name in parent:
        clusters.setdefault(root(name), []).append(name)
    for c in correlations:
        if c["duplicate"]:
            key = root(c["a"])
            lowest[key] = min(lowest.get(key, 1.0), abs(c["r"]))
    return [(members, lowest[key]) for key, members in clusters.items()]
