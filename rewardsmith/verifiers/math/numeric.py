"""How close two numbers must be to count as one answer.

- `numerically_zero(expr)`: is a constant expression zero? SymPy's `evalf` raises its working
  precision until the result has correct digits (up to `_ZERO_DIGITS`), so a difference of
  `10^{-51}` between `\\sqrt{10^{100}+1}` and `10^{50}` is seen as the non-zero number it is,
  whatever its size relative to the operands: no relative tolerance can be beaten by scaling.
  A zero that has no digits at that precision is zero (identities of surds, logs, trig) when every
  part of the expression is of moderate size; `\\sqrt{25 + e^{-1000}} - 5` (10^-435) is undecided,
  and the caller lets algebra decide.
- `float_print(g, p, places, rel_tol)`: the round-off policy for a decimal against a value.
  At the default `rel_tol` (1e-12, float round-off) or below, a decimal matches an exact value it
  is not equal to only when it is what a float prints: 15 or more significant digits, within
  `rel_tol` and at most 16 units in a float's last place (rounding to an integer reference), for a
  value below 2**53 (above it floats cannot hold integers, so only equality counts).
  `123456789012345000.0` is not 123456789012345678, `1.0e18` is not 10^18 + 1, while
  `0.08333333333333333` is 1/12. A larger `rel_tol` asks for approximate answers: then it alone decides.
- `approximates(exact, approx, places)`: `x \\approx y` in a chain holds when y is x rounded (or
  cut) at the places y states, or within 1 %: `\\frac{2}{3} \\approx 0.667`, `\\frac{9.5}{3.14159}
  \\approx 3.01` (a slip in the last digit), never `3 \\approx 5` or `\\frac{1}{3} \\approx 1.3`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath
import sympy as sp

_QUICK_DIGITS = 60  # a first, cheap look for a non-zero digit
_ZERO_DIGITS = 400  # the working precision (digits) up to which evalf looks for a non-zero digit
_TINY_EXP, _LARGE_EXP = -30, 100  # sizes (powers of ten) of the parts a numeric zero can vouch for
_MAX_NODES = 300  # an expression tree larger than this is not trusted to a numeric zero
_LONG_RATIONAL = 10**60  # a rational this large may hide a difference below _ZERO_DIGITS digits
ROUND_OFF = 1e-12  # a rel_tol at or below this (the default) is float round-off; above, approximations
_FLOAT_DIGITS = 15  # a float prints at least this many significant digits
_FLOAT_EXACT = 2**53  # floats hold every integer below this, and no decimal above it is a round-off
_FLOAT_ULPS = 16  # round-off: at most this many units in a float's last place
_APPROX_REL = 1e-2  # `\pi \approx 22/7`: an exact approximation within 1 %


def numerically_zero(expr: Any, confirm: bool = True) -> bool | None:
    """True when the constant `expr` is zero to `_ZERO_DIGITS` digits and every part of it is of a
    moderate size (so no difference can hide below those digits); False when it has a non-zero digit;
    None when undecided (not a number evalf can evaluate, or a zero the digits cannot vouch for).

    `confirm=False` stops at `_QUICK_DIGITS` (a cheap first look: a non-zero difference almost always
    shows there); a caller that gets True from it confirms once with `confirm=True`.
    """
    if not isinstance(expr, sp.Basic):
        return None
    if expr == 0:  # structural: `is_zero` would ask SymPy's assumptions, which can cost a minimal polynomial
        return True
    if expr.has(sp.Sum, sp.Product):  # evalf of a sum to 10^7 terms crawls
        return None
    for digits in (_QUICK_DIGITS, _ZERO_DIGITS) if confirm else (_QUICK_DIGITS,):
        found = _digits_found(expr, digits)
        if found is not False:
            return None if found is None else False
    # zero to _ZERO_DIGITS digits: trusted only when every part is of a moderate size; sqrt(25 + e^{-1000}) - 5
    # is 10^-435, and exp(e^{-1000}) - 1 needs as many digits
    return True if not confirm or moderate(expr) else None


def _digits_found(expr: Any, digits: int) -> bool | None:
    """Whether evalf with up to `digits` digits of working precision finds a non-zero digit."""
    try:
        parts = sp.N(expr, 15, maxn=digits).as_real_imag()
    except Exception:  # noqa: BLE001  (evalf raises many things on odd input)
        return None
    for part in parts:
        if part.is_zero:
            continue
        if not isinstance(part, sp.Float):
            return None
        if part._prec > 1:  # digits were found: a real non-zero number
            return True
    return False


def moderate(expr: Any) -> bool:
    """Whether every part of a constant expression is between 10^-30 and 10^100 in size (or zero):
    then no term or argument is small or large enough to hide a difference below 400 digits."""
    for i, node in enumerate(sp.preorder_traversal(expr)):
        if i > _MAX_NODES:
            return False
        if not node.args and not isinstance(node, sp.Number):
            continue  # constants such as pi and E are moderate
        try:
            size = abs(sp.N(node, 15))
        except Exception:  # noqa: BLE001
            return False
        if not isinstance(size, sp.Number):
            return False
        if size.is_zero or (isinstance(size, sp.Float) and size._prec <= 1):
            continue  # zero, or a difference that cancels (its parts are checked on their own)
        exponent = float(mpmath.log10(mpmath.mpf(sp.Float(size)._mpf_)))
        if not _TINY_EXP <= exponent <= _LARGE_EXP:
            return False
    return True


def has_long_rational(*exprs: Any) -> bool:
    """Whether a rational with more than 60 digits appears (a zero test may then need more digits)."""
    for expr in exprs:
        for r in expr.atoms(sp.Rational):
            if abs(r.p) >= _LONG_RATIONAL or r.q >= _LONG_RATIONAL:
                return True
    return False


def significant_digits(value: Fraction, places: int) -> int:
    """Digits a decimal written to `places` decimal places states (0.0833 at 4 places: 3)."""
    if value == 0:
        return max(places, 1)
    return math.floor(math.log10(abs(value))) + 1 + places


def float_print(g: Fraction, p: Fraction, places: int | None, rel_tol: float, decimal: Fraction | None = None) -> bool:
    """Whether a decimal (`decimal`, written to `places`; p by default) within `rel_tol` of g counts.

    Only the tolerance decides when `rel_tol` asks for approximations; at round-off level the decimal
    must be a float's print of a value below 2**53 (see the module docstring).
    """
    diff, size = abs(g - p), max(abs(g), abs(p))
    if diff > Fraction(rel_tol) * size:
        return False
    if rel_tol > ROUND_OFF:
        return True
    if size >= _FLOAT_EXACT or places is None or size == 0:
        return False
    if diff > _FLOAT_ULPS * Fraction(2) ** (math.floor(math.log2(size)) - 52):
        return False  # more than a few units in a float's last place: not round-off
    if g.denominator == 1 and diff >= Fraction(1, 2):
        return False  # a float print of an integer rounds to it
    return significant_digits(p if decimal is None else decimal, places) >= _FLOAT_DIGITS


def approximates(exact: Fraction, approx: Fraction, places: int | None) -> bool:
    """Whether `approx` (written to `places` decimals; None for an exact value) approximates `exact`:
    within one unit of its last place (rounded or cut), or within 1 %."""
    diff = abs(exact - approx)
    if diff <= Fraction(_APPROX_REL) * abs(exact):
        return True
    return places is not None and diff < Fraction(10) ** -places
