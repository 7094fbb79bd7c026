"""The string-level pipeline: two answer strings in, a `Check` (verdict + evidence) out.

Cheap stages run first, in-process: normalization (string work), plain numbers compared as
exact fractions, multiple-choice letters, identical normalized text. Only what is left
reaches the parser and SymPy, and that part runs under a hard time limit: inline when we are
already inside a killable pool worker (`rewardsmith.core.pool.in_worker()`), otherwise in the
core's persistent deadline worker (`call_with_deadline`), killed at the deadline, which works from
any thread and under a running asyncio loop (signal alarms do neither).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

from rewardsmith.core import score as S
from rewardsmith.core.pool import call_with_deadline, in_worker
from rewardsmith.verifiers.math.config import EquivalenceConfig
from rewardsmith.verifiers.math.equivalence import Comparer
from rewardsmith.verifiers.math.normalize import normalize, split_unit
from rewardsmith.verifiers.math.numeric import float_print
from rewardsmith.verifiers.math.parse import ParseFailure, choice_letter, parse_answer

_PLAIN = re.compile(r"^([-+]?)(\d+)(?:\.(\d+))?$")
_RATIO = re.compile(r"^([-+]?)(\d+)\s*/\s*(\d+)$|^([-+]?)\\frac\{(\d+)\}\{(\d+)\}$")
_CHOICE_GOLD = re.compile(r"^\(?[A-J]\)?$")
_COMMA_DECIMAL = re.compile(r"^([-+]?)(\d+),(\d+)(%?)$")
_MAX_FAST_DIGITS = 400


@dataclass(slots=True)
class Check:
    """A verdict with its evidence: the rule that decided and both normalized forms."""

    equal: bool
    rule: str
    gold: str
    pred: str
    status: str = S.OK

    def details(self) -> dict[str, object]:
        return {"rule": self.rule, "normalized_answer": self.gold, "normalized_prediction": self.pred}


def fast_number(text: str) -> tuple[Fraction, int | None] | None:
    """(value, decimal places or None) for a plain integer, decimal or integer ratio."""
    if len(text) > _MAX_FAST_DIGITS:
        return None
    m = _PLAIN.match(text)
    if m:
        sign, whole, frac = m.groups()
        value = Fraction(int(whole + (frac or "")), 10 ** len(frac or ""))
        return (-value if sign == "-" else value), (len(frac) if frac else None)
    m = _RATIO.match(text)
    if m:
        g = [x for x in m.groups() if x is not None]
        sign, num, den = g if len(g) == 3 else ["", *g]
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
        return (-value if sign == "-" else value), None
    return None


def _fast_compare(
    gold: tuple[Fraction, int | None], pred: tuple[Fraction, int | None], config: EquivalenceConfig
) -> tuple[bool, str]:
    """The numeric policy of `equivalence.Comparer._approx` on plain numbers, without SymPy."""
    (g, g_places), (p, p_places) = gold, pred
    if g == p:
        return True, "exact"
    if g_places is None and p_places is None:
        return False, "exact"
    if g_places is not None and p_places is None and round(p, g_places) == g:
        return True, "rounded_to_reference"
    places, decimal = (p_places, p) if p_places is not None else (g_places, g)
    if float_print(g, p, places, config.rel_tol, decimal):
        return True, "rel_tol"
    if config.abs_tol and abs(g - p) <= Fraction(config.abs_tol):
        return True, "abs_tol"
    return False, "decimal_mismatch"


def readings(text: str, config: EquivalenceConfig) -> list[tuple[str, str]]:
    """(text, rule suffix) for each way to read an answer: "1,5" is the list 1, 5 or (decimal
    comma) 1.5; "0,111" and "1000,99" can only be decimals; "1,000" was a thousands group."""
    m = _COMMA_DECIMAL.match(text)
    if m is None or not config.decimal_comma:
        return [(text, "")]
    sign, whole, frac, pct = m.groups()
    decimal = f"{sign}{whole}.{frac}{pct}"
    if whole.startswith("0") or len(whole) > 3:
        return [(decimal, "+decimal_comma")]
    return [(text, ""), (decimal, "+decimal_comma")]


def quick_check(gold: str, pred: str, config: EquivalenceConfig) -> Check | None:
    """The in-process stages; None when the answer needs the parser and SymPy."""
    if len(pred) > config.guards.max_chars:
        return Check(False, "too_long", gold[:200], f"<{len(pred)} characters>")
    (ng, gold_unit), (np, pred_unit) = split_unit(gold), split_unit(pred)
    units_differ = gold_unit and pred_unit and gold_unit != pred_unit and config.units == "convert"
    fg, fp = fast_number(ng), fast_number(np)
    if fg is not None and fp is not None and not units_differ:
        equal, rule = _fast_compare(fg, fp, config)
        if equal or (_COMMA_DECIMAL.match(ng) is None and _COMMA_DECIMAL.match(np) is None):
            return Check(equal, rule, ng, np)
    if config.choices and _CHOICE_GOLD.match(ng):
        letter, got = choice_letter(ng), choice_letter(np)
        if letter and got:
            return Check(letter == got, "choice", letter, got)
    if ng == np and ng and not units_differ:
        return Check(True, "same_text", ng, np)
    if not np:
        return Check(False, "empty", ng, np)
    return None


def deep_check(gold: str, pred: str, config: EquivalenceConfig) -> Check:
    """Parse both answers and compare them with SymPy (can be slow: run under a deadline)."""
    last: Check | None = None
    for gold_text, gold_rule in readings(normalize(gold), config):
        for pred_text, pred_rule in readings(normalize(pred), config):
            got = _deep_one(gold_text if gold_rule else gold, pred_text if pred_rule else pred, config)
            if got.equal:
                got.rule += gold_rule or pred_rule
                return got
            last = last or got
    assert last is not None
    return last


def _deep_one(gold: str, pred: str, config: EquivalenceConfig) -> Check:
    try:
        g = parse_answer(gold, config.guards, config.imaginary)
        p = parse_answer(pred, config.guards, config.imaginary)
    except ParseFailure as exc:
        return Check(False, "refused", normalize(gold)[:200], f"refused: {exc}")
    if config.units == "ignore":
        g, p = replace(g, unit=None), replace(p, unit=None)
    try:
        verdict = Comparer(config).compare(g, p)
    except Exception as exc:  # noqa: BLE001  (the exception name is kept in the rule)
        # SymPy gives up on some odd but legal input; that answer is then simply not shown equal
        return Check(False, f"sympy_failed:{type(exc).__name__}", str(g), str(p))
    return Check(verdict.equal, verdict.rule, str(g), str(p))


def _timeout_check(gold: str, pred: str, limit: float) -> Check:
    return Check(False, "timeout", normalize(gold)[:200], normalize(pred)[:200], S.TIMEOUT)


def bounded_deep_check(gold: str, pred: str, config: EquivalenceConfig, timeout: float | None) -> Check:
    """`deep_check` under a hard deadline, in the core's deadline worker unless already in a worker."""
    if timeout is None or in_worker():
        return deep_check(gold, pred, config)
    outcome, value = call_with_deadline(deep_check, gold, pred, config, timeout=timeout)
    if outcome == "ok":
        return value
    if outcome == "timeout":
        return _timeout_check(gold, pred, timeout)
    return Check(False, "crashed", normalize(gold)[:200], f"the checker died: {value}", S.ERROR)


def verify(gold: str, pred: str, config: EquivalenceConfig | None = None, *, timeout: float | None = 5.0) -> Check:
    """Compare a reference answer and a predicted answer (both answer strings, not completions).

    >>> verify("1,000", "1000.0").rule
    'exact'
    >>> verify(r"\\pi", "3.14159").equal, verify("3.14", r"\\pi").rule
    (False, 'rounded_to_reference')
    >>> verify(r"\\dfrac{\\pi}{2}", "pi/2").equal
    True
    """
    config = config or EquivalenceConfig()
    quick = quick_check(gold, pred, config)
    if quick is not None:
        return quick
    return bounded_deep_check(gold, pred, config, timeout)


def is_equivalent(gold: str, pred: str, *, timeout: float | None = 5.0, **options: object) -> bool:
    """True when `pred` is the same answer as `gold`; options are EquivalenceConfig fields.

    For other modules that need a yes/no (a timeout counts as no).

    >>> is_equivalent("0.5", r"\\frac{1}{2}"), is_equivalent("x = 3", "3"), is_equivalent("60", "0.6")
    (True, True, False)
    >>> is_equivalent("3 hours", "180 minutes"), is_equivalent(r"\\frac{1}{3}", "0.333", abs_tol=0.001)
    (True, True)
    """
    return verify(gold, pred, EquivalenceConfig(**options), timeout=timeout).equal  # type: ignore[arg-type]
