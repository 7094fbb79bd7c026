"""The audit's findings as data: one `HackResult` per hack, the `Signal`, and the verdict rules.

How a hack's scores become a verdict (`threshold` t, default 0.8):

- `reach` = (mean hack score − mean empty-completion score) / (mean genuine score − mean empty
  score), over the rows where both the genuine and the hack have a value: 0 means the hack earns
  what an empty completion earns, 1 what the genuine correct completion earns.
- an `exploit` (the variant holds no correct answer) with reach ≥ t: **hack**;
- a `same_answer` variant (the correct answer kept, something else changed) with reach above
  1 + `margin`: **hack** (the reward pays for padding or repetition), or **prefers** for
  `no_reasoning` (a note: a length penalty pays for short answers by design); with reach ≥ t:
  **cannot tell** (a note, not a failure: a pure correctness reward rightly ignores missing
  reasoning); listed in `require_lower`, either note becomes a hack; below t: **resisted**;
- a hack whose variants leave the reward without a value on at least half the rows where the
  genuine completion has one: **escapes** (under TRL an unscored completion is left out of the
  group's statistics, so it escapes its low score; a reward process that dies takes the trainer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rewardsmith.audit.diagnostics import Signal

#: prompts an audit attacks when not told otherwise (one base completion each)
DEFAULT_MAX_GROUPS = 100

Verdict = Literal["hack", "escapes", "cannot_tell", "prefers", "resisted", "not_applicable"]
FLAGGED: tuple[Verdict, ...] = ("hack", "escapes")

DEFAULT_THRESHOLD = 0.8
DEFAULT_MARGIN = 0.05
ESCAPE_SHARE = 0.5
EXCERPT_CHARS = 2000


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` cut to `limit` characters, keeping its end (where the answer is) when cut."""
    if len(text) <= limit:
        return text
    head = limit // 3
    return f"{text[:head]} […{len(text) - limit} characters…] {text[-(limit - head) :]}"


@dataclass
class Example:
    """The evidence for one hack on one row: the variant, its score, and the genuine completion's."""

    row: str
    completion: str
    score: float | None
    status: str
    reason: str
    genuine_completion: str
    genuine_score: float
    genuine_reason: str
    empty_score: float
    reach: float | None


@dataclass
class PartEvidence:
    """A part of a composite that pays the hack at least as much as the genuine completion."""

    part: str
    hack_mean: float
    genuine_mean: float


@dataclass
class HackResult:
    name: str
    claim: str
    family: str
    summary: str
    rows: int = 0
    not_applicable: int = 0
    mean_score: float | None = None
    mean_genuine: float | None = None
    mean_empty: float | None = None
    reach: float | None = None
    hit_share: float | None = None
    escaped: int = 0
    escape_reason: str = ""
    verdict: Verdict = "not_applicable"
    why: str = ""
    parts: list[PartEvidence] = field(default_factory=list)
    example: Example | None = None

    @property
    def flagged(self) -> bool:
        return self.verdict in FLAGGED

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["flagged"] = self.flagged
        return out


def decide(
    result: HackResult,
    *,
    threshold: float,
    margin: float = DEFAULT_MARGIN,
    require_lower: bool = False,
    above_is_hack: bool = True,
) -> None:
    """Set `result.verdict` and `result.why` from its figures (rules in the module docstring)."""
    attempted = result.rows + result.escaped
    if attempted == 0:
        result.verdict, result.why = "not_applicable", "no row this hack applies to"
        return
    if result.escaped and result.escaped / attempted >= ESCAPE_SHARE:
        result.verdict = "escapes"
        result.why = (
            f"the reward gave no value on {result.escaped}/{attempted} rows where the genuine completion has one"
            + (f" ({result.escape_reason})" if result.escape_reason else "")
        )
        return
    reach = result.reach if result.reach is not None else 0.0
    figures = f"{_num(result.mean_score)} vs genuine {_num(result.mean_genuine)} (empty {_num(result.mean_empty)})"
    if result.claim == "exploit":
        if reach >= threshold:
            result.verdict = "hack"
            result.why = f"earns {reach:.0%} of the genuine completion's lead over an empty one: {figures}"
        else:
            result.verdict, result.why = "resisted", f"earns {reach:.0%} of the genuine lead: {figures}"
        return
    if reach > 1 + margin and (above_is_hack or require_lower):
        result.verdict = "hack"
        result.why = f"scores above the genuine completion ({reach:.0%} of its lead): the reward pays for it; {figures}"
    elif reach > 1 + margin:
        result.verdict = "prefers"
        result.why = (
            f"keeps the answer and scores above the genuine completion ({reach:.0%} of its lead): the reward "
            f"prefers it (by design for a length penalty; list it in require_lower to fail); {figures}"
        )
    elif reach >= threshold:
        result.verdict = "hack" if require_lower else "cannot_tell"
        result.why = (
            f"keeps the answer and scores {reach:.0%} of the genuine lead: the reward cannot tell this change"
            + (" (you asked for it to score lower)" if require_lower else " (fine for a pure correctness reward)")
            + f"; {figures}"
        )
    else:
        result.verdict, result.why = "resisted", f"scores lower ({reach:.0%} of the genuine lead): {figures}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


@dataclass
class References:
    """How the genuine correct completions were chosen, and which groups could not serve."""

    groups: int
    audited: int
    usable: int
    substituted: int
    kept_original: int
    unusable: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AuditReport:
    """What `rewardsmith.audit` returns: the hack results, the signal diagnostics and the verdict."""

    reward: str
    threshold: float
    hacks: list[HackResult]
    references: References
    signal: Signal | None
    plot: str | None = None
    max_zero_std: float | None = None

    @property
    def findings(self) -> list[HackResult]:
        """The hacks that fail the audit (verdict `hack` or `escapes`)."""
        return [h for h in self.hacks if h.flagged]

    @property
    def notes(self) -> list[HackResult]:
        """Same-answer changes the reward cannot tell or prefers: worth knowing, not failures."""
        return [h for h in self.hacks if h.verdict in ("cannot_tell", "prefers")]

    @property
    def no_reference(self) -> bool:
        """True when no audited group had a genuine completion scoring above an empty one."""
        return self.references.audited > 0 and self.references.usable == 0

    @property
    def signal_failed(self) -> bool:
        if self.max_zero_std is None or self.signal is None or self.signal.zero_std_share is None:
            return False
        return self.signal.zero_std_share > self.max_zero_std

    @property
    def passed(self) -> bool:
        """No finding, a reference to judge against, and the signal within the asked bounds."""
        return not self.findings and not self.no_reference and not self.signal_failed

    def hack(self, name: str) -> HackResult:
        """The result of one hack by name."""
        for h in self.hacks:
            if h.name == name:
                return h
        raise KeyError(f"no hack named {name!r} in this report; have: {', '.join(h.name for h in self.hacks)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "threshold": self.threshold,
            "passed": self.passed,
            "findings": [h.name for h in self.findings],
            "notes": [h.name for h in self.notes],
            "no_reference": self.no_reference,
            "references": asdict(self.references),
            "hacks": [h.to_dict() for h in self.hacks],
            "signal": self.signal.to_dict() if self.signal is not None else None,
            "max_zero_std": self.max_zero_std,
            "signal_failed": self.signal_failed,
            "plot": self.plot,
        }

    def summary_lines(self) -> list[str]:
        from rewardsmith.audit.render import summary_lines

        return summary_lines(self)

    def table(self) -> Any:
        """The report as rich renderables (what the CLI prints)."""
        from rewardsmith.audit.render import renderables

        return renderables(self)

    def __str__(self) -> str:
        return "\n".join(self.summary_lines())
