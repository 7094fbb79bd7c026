"""How close two numbers must be (rewardsmith/verifiers/math/numeric.py): no tolerance an attacker can scale."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

from rewardsmith.verifiers.math.numeric import approximates, float_print, numerically_zero

TEN = sp.Integer(10)


@pytest.mark.parametrize(
    "expr, zero",
    [
        (sp.sqrt(2) + sp.sqrt(3) - sp.sqrt(5 + 2 * sp.sqrt(6)), True),
        (sp.log(6) - sp.log(2) - sp.log(3), True),
        (sp.atan(sp.Rational(1, 2)) + sp.atan(sp.Rational(1, 3)) - sp.pi / 4, True),
        (sp.sqrt(TEN**100 + 1) - TEN**50, False),  # 5e-51: tiny, and not zero
        (TEN**50 * sp.pi + 1 - TEN**50 * sp.pi, False),
        (sp.sqrt(TEN**300 + 1) - TEN**150, False),  # whatever the scale
        (sp.pi - sp.Rational(355, 113), False),
        (sp.exp(TEN**-60) - 1 - TEN**-60, False),
    ],
)
def test_zero_is_decided_by_digits_not_by_a_tolerance(expr, zero):
    assert numerically_zero(expr) is zero


def test_what_evalf_cannot_read_is_undecided():
    assert numerically_zero(sp.Symbol("x")) is None
    assert numerically_zero(sp.Sum(1 / sp.Symbol("k") ** 2, (sp.Symbol("k"), 1, 10**9))) is None


F = Fraction


@pytest.mark.parametrize(
    "g, p, places, ok",
    [
        (F(1, 12), F("0.08333333333333333"), 17, True),  # a float's print
        (F(3, 10), F("0.30000000000000004"), 17, True),
        (F(3), F("2.9999999999999996"), 16, True),
        (F(1, 3), F("0.3333333333"), 10, False),  # ten digits: an approximation
        (F(123456789012345678), F("123456789012345000.0"), 1, False),  # H3: above 2**53 only equality
        (F(10**18 + 1), F(10**18), -17, False),  # H3: 1.0e18
        (F(4503599627370495), F("4503599627370490.0"), 1, False),  # below 2**53 but off by 5
        (F(7), F("7.000000000001"), 12, False),
    ],
)
def test_a_decimal_matches_an_exact_value_only_as_a_floats_print(g, p, places, ok):
    assert float_print(g, p, places, 1e-12) is ok


def test_a_larger_rel_tol_asks_for_approximations():
    assert float_print(F(1, 3), F("0.3333333333"), 10, 1e-9)
    assert not float_print(F(1, 3), F("0.333"), 3, 1e-9)
    assert float_print(F(123456789012345678), F("123456789012345000.0"), 1, 1e-9)


@pytest.mark.parametrize(
    "exact, approx, places, ok",
    [
        (F(2, 3), F("0.667"), 3, True),
        (F(2, 3), F("0.666"), 3, True),  # cut, not rounded
        (F(1, 3), F("1.3"), 1, False),
        (F(3), F(5), 0, False),
        (F(3), F(4), 0, False),
        (F("9.5") / F("3.14159"), F("3.01"), 2, True),  # within 1 %: a slip in the last digit
        (F(355, 113), F(22, 7), None, True),
    ],
)
def test_an_approximation_must_approximate(exact, approx, places, ok):
    assert approximates(exact, approx, places) is ok
