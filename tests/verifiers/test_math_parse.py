"""Stage 2 of the math verifier: normalization (string work) and parsing into MathValues."""

from __future__ import annotations

import pytest
import sympy as sp

from rewardsmith.verifiers.math import normalize, parse_answer
from rewardsmith.verifiers.math.normalize import split_unit
from rewardsmith.verifiers.math.parse import is_huge
from rewardsmith.verifiers.math.prose import math_spans, prepare
from rewardsmith.verifiers.math.units import parse_unit


@pytest.mark.parametrize(
    "raw, clean",
    [
        (r"1,\!000", "1000"),  # the MATH dataset's thousands separator, read today as a list
        (r"10,\!000", "10000"),
        (r"14{,}916", "14916"),
        (r"14 {, }916", "14916"),
        (r"11,\! 111,\! 111,\! 100", "11111111100"),
        (r"\$1,234.50", "1234.50"),
        ("0,111", "0,111"),  # a decimal comma cannot be a thousands group: decided later
        (r"0.\overline{3}", r"\frac{1}{3}"),
        (r"0.1\overline{6}", r"\frac{1}{6}"),
        (r"125\textnormal{ miles}", "125"),
        ("33.5 percent", "33.5%"),
        ("28 pct", "28%"),
        (r"45^\circ", r"45 \degree"),
        ("30 degrees", r"30 \degree"),
        (r"\mathbb{R}\setminus\{0\}", r"\Reals \setminus\{0\}"),
        (r"19, 46, \text{ and } 82", "19, 46, 82"),
        ("(11,7)or(7,11)", "(11,7), (7,11)"),
        (r"x_{1}=1,\quadx_{2}=2", "x_{1}=1, x_{2}=2"),
        ("(35 + 70 = 105)", "35 + 70 = 105"),
        (r"\\frac{1}{2}", r"\frac{1}{2}"),  # JSON-escaped LaTeX
        ("٣٫٥", "3.5"),  # Arabic-Indic digits and decimal separator
    ],
)
def test_normalize_issue_20_forms(raw, clean):
    assert normalize(raw) == clean


def test_units_are_split_off_and_known_units_convert():
    assert split_unit("3 hours") == ("3", "hours")
    assert split_unit(r"12\text{ cm}^2") == ("12", "cm^2")
    assert split_unit("15 apples") == ("15", None)  # a word, dropped, not a unit
    assert split_unit("5 m") == ("5", "m")
    hours, minutes = parse_unit("hours"), parse_unit("minutes")
    assert hours.dims == minutes.dims and hours.factor == 60 * minutes.factor
    assert parse_unit("km/h").dims == (("length", 1), ("time", -1))
    assert parse_unit("cm^2").factor == sp.Rational(1, 10000)
    assert parse_unit("square feet").dims == (("length", 2),)


@pytest.mark.parametrize(
    "text, kind, shown",
    [
        ("2**(1/4)", "scalar", "2**(1/4)"),
        (r"\sum_{k=1}^{10} k^2", "scalar", "385"),
        (r"\prod_{k=1}^{4} k", "scalar", "24"),
        ("4210_{7}", "scalar", "4210_7"),
        ("7:32", "ratio", "7:32"),
        (r"S_{MBCN}:S=7:32", "rel", "S_MBCN:S = 7:32"),
        ("{1,3}", "list", "1, 3"),  # LaTeX braces group: a list, not a set
        (r"\{1,3\}", "set", "{1, 3}"),
        ("(0;0;0),(0;-2;0)", "list", "(0, 0, 0), (0, -2, 0)"),
        ("p=5,q=2;p=7,q=2", "list", "(p = 5, q = 2), (p = 7, q = 2)"),
        (r"\mathbb{R}", "realset", "Reals"),
        (r"(2,12) \cup (12,102)", "union", "(2, 12) U (12, 102)"),
        (r"[-1, -\tfrac12) \cup (1, \infty)", "union", "[-1, -1/2) U (1, oo)"),
        ("f(x)", "scalar", "f(x)"),
        ("a(x+1)", "scalar", "a*(x + 1)"),  # a product: only plain arguments make a function
        (r"f^{-1}(x)", "scalar", "f^-1(x)"),
        (r"x \approx 3", "rel", "x ≈ 3"),
        (
            r"\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix} + \begin{pmatrix}5 & 6 \\ 7 & 8\end{pmatrix}",
            "matrix",
            "Matrix(6, 8; 10, 12)",
        ),
        (r"\frac{1}{2}\begin{pmatrix}2 & 4\end{pmatrix}", "matrix", "Matrix(1, 2)"),
        (r"\left[\begin{array}{cc}1 & 2 \\3 & 4\end{array}\right]", "matrix", "Matrix(1, 2; 3, 4)"),
    ],
)
def test_parse_new_syntax(text, kind, shown):
    value = parse_answer(text)
    assert (value.kind, str(value)) == (kind, shown)


def test_parse_flags_precision_percent_degrees_and_units():
    assert parse_answer("0.33").decimals == 2
    assert parse_answer(r"1.5\times10^{3}").decimals == -2  # precision: hundreds
    assert parse_answer("1.5e3").decimals == -2
    assert parse_answer(r"1\times10^{6}").decimals is None  # an integer mantissa is exact
    assert parse_answer("33.5%").decimals == 3 and parse_answer("33.5%").percent
    angle = parse_answer(r"45^\circ")
    assert angle.degrees == 45 and angle.expr == sp.pi / 4
    assert parse_answer(r"\sin 30^\circ").expr == sp.Rational(1, 2)
    assert parse_answer("3 hours").unit == "hours"
    assert parse_answer("4210_7").base == ("4210", 7) and parse_answer("4210_7").expr == 1477
    assert parse_answer("8_7").kind != "scalar" or parse_answer("8_7").base is None  # 8 is no base-7 digit


def test_imaginary_unit_is_configurable():
    assert parse_answer("3+2i").expr == 3 + 2 * sp.I
    assert parse_answer("3+2j").expr.free_symbols == {sp.Symbol("j")}
    assert parse_answer("3+2j", imaginary="j").expr == 3 + 2 * sp.I
    assert parse_answer("3+2j", imaginary="both").expr == parse_answer("3+2i", imaginary="both").expr


def test_huge_numbers_are_opaque_symbols_that_still_cancel():
    assert parse_answer(r"10^{10^{10}} - 10^{10^{10}} + 1").expr == 1
    power = parse_answer(r"10^{10^{10}}")
    assert power.huge and is_huge(power.expr) and not parse_answer("2^{100}").huge
    assert parse_answer(r"\frac{2 \cdot 10^{10^{10}}}{10^{10^{10}}}").expr == 2
    assert parse_answer(r"10^{10^{10^{10}}}").huge  # a power of a huge number stays symbolic


def test_prose_helpers():
    assert prepare("٣ + ١٠ = ١٣") == "3 + 10 = 13"
    assert prepare("x\u00b2 + ３") == "x^2 + 3"
    assert [s.text for s in math_spans(r"it costs $5 and then $x=2$")] == ["x=2"]  # money is not maths
    assert [s.text for s in math_spans("Answer $ \n 9 \n $")] == []  # inline maths stays on one line
    assert [s.text for s in math_spans(r"$ \frac{1}{2} \$ = \frac{10}{9} $")] == [r"\frac{1}{2} \$ = \frac{10}{9}"]
