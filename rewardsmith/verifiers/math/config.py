"""Small typed configuration objects, one per stage of the math verifier.

Each stage (extraction, parsing guards, equivalence) takes its own frozen dataclass, so a
caller changes one decision without touching the others and every option is visible.
Bad values raise ConfigError naming the field and the fix, at construction time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rewardsmith.core.errors import ConfigError

#: explicit extraction rules, in the default priority order (see `extract.py` for each one)
EXTRACTORS = ("boxed", "answer_tag", "answer_is", "gsm8k")
DEFAULT_PRIORITY = EXTRACTORS
#: rules that guess (only when `guess=True`); they are reported, never chosen in `priority`
GUESSES = ("bold", "last_math", "last_number", "choice_letter")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"math: {name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")


@dataclass(frozen=True, slots=True)
class ExtractionConfig:
    """Where the final answer of a completion is looked for.

    `priority`: explicit rules from EXTRACTORS. `prefer`: "last" (default) takes the explicit
    answer written last in the text, whatever its rule; "priority" takes the first rule in
    `priority` order that finds one. `guess`: when nothing explicit is found, guess from the
    prose (the final sentence's value, a bold number, an option letter); off in strict mode.
    `bare`: a short one-line completion (at most `bare_max_chars`) that is maths is its own
    answer, so "42" or "\\frac{1}{2}" need no wrapper.
    """

    priority: tuple[str, ...] = DEFAULT_PRIORITY
    prefer: str = "last"
    guess: bool = True
    bare: bool = True
    bare_max_chars: int = 80

    def __post_init__(self) -> None:
        if isinstance(self.priority, str):
            object.__setattr__(self, "priority", tuple(p.strip() for p in self.priority.split(",") if p.strip()))
        guessing = [p for p in self.priority if p in GUESSES]
        if guessing:
            raise ConfigError(
                f"math: {guessing} guess and cannot be in priority; they run after the explicit rules "
                "unless strict=true"
            )
        unknown = [p for p in self.priority if p not in EXTRACTORS]
        if unknown:
            raise ConfigError(
                f"math: extract priority has unknown rule(s) {unknown}; use any of {', '.join(EXTRACTORS)}"
            )
        _choice("prefer", self.prefer, ("last", "priority"))
        if not self.priority and not self.bare and not self.guess:
            raise ConfigError("math: extract priority is empty, bare=False and guess=False: nothing can be extracted")
        if self.bare_max_chars < 1:
            raise ConfigError(f"math: bare_max_chars must be at least 1, got {self.bare_max_chars}")


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Cheap limits that keep one answer from costing seconds before any timeout fires.

    `max_chars`: longer answers are not parsed (a 100 KB "answer" is not an answer).
    `max_digits`: a number power whose result would have more digits is kept as an opaque
    symbol (10^{10^{10}} is never expanded). `max_factorial`: n! for larger n likewise.
    `max_depth`: nesting limit.
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
    """How two parsed answers are compared; every convention has a documented default.

    `rel_tol` / `abs_tol`: how far a decimal may be from the other side (exact values are always
    compared exactly). Defaults 1e-12 / 0: float round-off passes, an approximation does not. A
    decimal *reference* also sets the precision an exact prediction is rounded to.
    `percent`: "lenient" lets "60%" match both 0.6 and 60; "strict" only 0.6.
    `degrees`: "lenient" lets `45^\\circ` match 45 and π/4; "strict" only 45 (never radians).
    `sets`: "lenient" lets a one-element set match its element (`\\{2\\}` and 2); "strict" does not.
    `intervals`: "lenient" compares an inequality with the interval, union or set difference it
    describes (`|x| < 2` and `(-2, 2)`, `x \\neq 2` and `\\mathbb{R}\\setminus\\{2\\}`); "strict"
    compares inequalities only with inequalities.
    `imaginary`: the imaginary unit: "i" (default; j is a variable), "j" or "both".
    `units`: "convert" (3 hours = 180 minutes, 5 m != 5 cm; a unit on one side only is dropped),
    or "ignore" (units are always dropped).
    `text`: "lenient" accepts synonyms ("DNE" / "does not exist", "no solution" / ∅); "strict" only
    the same words. `decimal_comma`: an ambiguous "1,5" may also be read as 1.5.
    `symbolic`: try SymPy simplification of a - b (bounded by the timeout).
    `probes`: random points at which expressions with free symbols are evaluated.
    `choices`: a reference that is one letter A-J is a multiple-choice answer ("(B)", "B").
    """

    rel_tol: float = 1e-12
    abs_tol: float = 0.0
    percent: str = "lenient"
    degrees: str = "lenient"
    sets: str = "lenient"
    intervals: str = "lenient"
    imaginary: str = "i"
    units: str = "convert"
    text: str = "lenient"
    decimal_comma: bool = True
    symbolic: bool = True
    probes: int = 6
    choices: bool = True
    guards: GuardConfig = field(default_factory=GuardConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.rel_tol < 1:
            raise ConfigError(f"math: rel_tol must be in [0, 1), got {self.rel_tol}")
        if not self.abs_tol >= 0:
            raise ConfigError(f"math: abs_tol must be 0 or more, got {self.abs_tol}")
        for name in ("percent", "degrees", "sets", "intervals", "text"):
            _choice(name, getattr(self, name), ("lenient", "strict"))
        _choice("imaginary", self.imaginary, ("i", "j", "both"))
        _choice("units", self.units, ("convert", "ignore"))
        if not 1 <= self.probes <= 50:
            raise ConfigError(f"math: probes must be between 1 and 50, got {self.probes}")
