"""Small typed configuration objects, one per stage of the math verifier.

Each stage (extraction, parsing guards, equivalence) takes its own frozen dataclass, so a
caller changes one decision without touching the others and every option is visible.
Bad values raise ConfigError naming the field and the fix, at construction time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rewardsmith.core.errors import ConfigError

#: extraction rules, in the default priority order (see `extract.py` for each one)
EXTRACTORS = ("boxed", "answer_tag", "answer_is", "gsm8k", "last_number")
DEFAULT_PRIORITY = ("boxed", "answer_tag", "answer_is", "gsm8k")


@dataclass(frozen=True, slots=True)
class ExtractionConfig:
    """Where the final answer of a completion is looked for, first rule that finds one wins.

    `priority`: rule names from EXTRACTORS, tried in order. `last_number` (the last number in
    the text) is off by default: it rewards a model for any number it happens to write last.
    `bare`: when no rule finds anything, a short completion (at most `bare_max_chars`,
    no line breaks) is taken as the answer itself, so "42" or "\\frac{1}{2}" need no wrapper.
    """

    priority: tuple[str, ...] = DEFAULT_PRIORITY
    bare: bool = True
    bare_max_chars: int = 80

    def __post_init__(self) -> None:
        if isinstance(self.priority, str):
            object.__setattr__(self, "priority", tuple(p.strip() for p in self.priority.split(",") if p.strip()))
        unknown = [p for p in self.priority if p not in EXTRACTORS]
        if unknown:
            raise ConfigError(
                f"math: extract priority has unknown rule(s) {unknown}; use any of {', '.join(EXTRACTORS)}"
            )
        if not self.priority and not self.bare:
            raise ConfigError("math: extract priority is empty and bare=False, so nothing can ever be extracted")
        if self.bare_max_chars < 1:
            raise ConfigError(f"math: bare_max_chars must be at least 1, got {self.bare_max_chars}")


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Cheap limits that keep one answer from costing seconds before any timeout fires.

    `max_chars`: longer answers are not parsed (a 100 KB "answer" is not an answer).
    `max_digits`: a number power whose result would have more digits is kept unevaluated
    and compared numerically (10^{10^{10}} is never expanded).
    `max_factorial`: n! for larger n is kept unevaluated. `max_depth`: nesting limit.
    """

    max_chars: int = 2000
    max_digits: int = 5000
    max_factorial: int = 3000
    max_depth: int = 60

    def __post_init__(self) -> None:
        for name in ("max_chars", "max_digits", "max_factorial", "max_depth"):
            if getattr(self, name) < 1:
                raise ConfigError(f"math: {name} must be a positive integer, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class EquivalenceConfig:
    """How two parsed answers are compared.

    `rel_tol`: relative tolerance between a decimal and an exact value (exact values are
    compared exactly first). A decimal *reference* also sets the precision: a prediction that
    rounds to it at the reference's number of decimal places matches.
    `percent`: "lenient" lets "60%" match both 60 and 0.6; "strict" only 0.6 ("60%" is 60/100).
    `symbolic`: try SymPy simplification of a - b (bounded by the timeout).
    `probes`: random points at which expressions with free symbols are evaluated.
    `choices`: a reference that is one letter A-J is a multiple-choice answer ("(B)", "B").
    """

    rel_tol: float = 1e-6
    percent: str = "lenient"
    symbolic: bool = True
    probes: int = 6
    choices: bool = True
    guards: GuardConfig = field(default_factory=GuardConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.rel_tol < 1:
            raise ConfigError(f"math: rel_tol must be in [0, 1), got {self.rel_tol}")
        if self.percent not in ("lenient", "strict"):
            raise ConfigError(f"math: percent must be 'lenient' or 'strict', got {self.percent!r}")
        if not 1 <= self.probes <= 50:
            raise ConfigError(f"math: probes must be between 1 and 50, got {self.probes}")
