"""Stages 2 and 3 of the math verifier: normalization, parsing, equivalence, and the presets."""

from __future__ import annotations

import pytest

import rewardsmith
from rewardsmith.core.errors import InputError, SpecError
from rewardsmith.verifiers.math import (
    EquivalenceConfig,
    equivalent,
    is_equivalent,
    math_answer,
    math_equal,
    normalize,
    parse_answer,
    reference_answer,
    verify,
)

# (gold, prediction, equal) per category; the corpus test covers many more shapes
CATEGORIES = {
    "number": [
        ("72", "72.0", True),
        ("1000", "1,000", True),
        ("1000000", "1000001", False),
        ("0.5", ".5", True),
        ("12", "1.2", False),
    ],
    "fraction": [
        (r"\frac{1}{2}", r"\tfrac12", True),
        (r"\frac{7}{2}", r"3\frac{1}{2}", True),
        (r"-\frac34", r"\frac{3}{-4}", True),
        (r"\frac{1}{3}", "0.33", False),
    ],
    "factorial": [
        (r"\frac{1}{2004!}", r"\frac{1}{2006!}", False),
        (r"\frac{2005}{2006!}", r"\frac{1}{2004!\cdot 2006}", True),
    ],
    "constant": [
        (r"\dfrac{\pi}{2}", "pi/2", True),
        (r"e^{16}-1", "-1+exp(16)", True),
        (r"2\sqrt{2}", r"\sqrt{8}", True),
        (r"\pi", "3.14", False),
    ],
    "symbolic": [
        ("x^2+2x+1", "(x+1)^2", True),
        ("|x|", "x", False),
        (r"\sin 2x", r"2\sin x\cos x", True),
        ("x_1", "x_2", False),
    ],
    "complex": [("3+2i", "2i+3", True), ("3+2i", "3-2i", False), ("-1", "i^2", True)],
    "equation": [
        ("x=5", "x-5=0", True),
        ("x=5", "0=0", False),
        ("y=2x+1", "2x-y+1=0", True),
        ("3", "x=3", True),
        ("3", "x=4", False),
    ],
    "inequality": [
        ("x>3", "3<x", True),
        ("x>3", r"x\ge 3", False),
        (r"x \ge 3", r"[3,\infty)", True),
        ("2x>6", "x>3", True),
    ],
    "set": [
        (r"\{1,2,3\}", "3, 2, 1", True),
        (r"\{1,2,3\}", r"\{1,2\}", False),
        (r"1\pm\sqrt2", r"1-\sqrt{2}, 1+\sqrt{2}", True),
    ],
    "tuple": [("(1,2)", r"\left(1,2\right)", True), ("(1,2)", "(2,1)", False)],
    "interval": [
        ("[1,2)", "[1,2]", False),
        (r"(-\infty,-2)\cup(3,\infty)", r"(3,\infty)\cup(-\infty,-2)", True),
        ("(0,1)", "0<x<1", True),
    ],
    "matrix": [
        (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}", True),
        (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&3\\2&4\end{pmatrix}", False),
        (r"\begin{pmatrix}1\\2\end{pmatrix}", "(1, 2)", True),
        (r"\begin{array}{cccc} 1 & 2 & 3 & 4 \end{array}", "(1, 2, 3, 4)", True),
    ],
    "percent": [(r"60\%", "0.6", True), (r"60\%", "60", True), ("60", "0.6", False)],
    "units": [
        ("5", r"5\text{ cm}^2", True),
        (r"30^\circ", "30", True),
        ("13", r"\text{13}", True),
        (r"\pi r^2 h", r"\pi r^2", False),
        (r"\frac{1}{2}", r"\sin 30^\circ", True),
        (r"\frac{\pi}{6}", r"30^\circ", True),  # degrees="lenient": the same angle
        (r"\frac{\pi}{6}", "30", False),  # a bare 30 says nothing about degrees
    ],
    "choice": [("B", "(B)", True), ("B", r"\text{(C)}", False), ("E", "(E) 12", True)],
    "text": [
        (r"\text{Tuesday}", "tuesday", True),
        ("no", "on", False),
        (r"\text{Devon and Jack}", "Dovne and Jack", False),
    ],
}
PAIRS = [(cat, *case) for cat, cases in CATEGORIES.items() for case in cases]


@pytest.mark.parametrize("category, gold, pred, equal", PAIRS, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(PAIRS)])
def test_categories(category, gold, pred, equal):
    check = verify(gold, pred)
    assert check.equal is equal, f"{category}: {gold!r} vs {pred!r} decided by {check.rule}"
    assert check.rule  # every decision names its rule


@pytest.mark.parametrize(
    "raw, clean",
    [
        (r"$\dfrac{1}{2}$", r"\frac{1}{2}"),
        (r"\left( 1, 2 \right)", "( 1, 2 )"),
        ("1,000,000.", "1000000"),
        ("1 000", "1000"),
        ("(100,200)", "(100,200)"),  # a comma inside an expression separates items
        (r"\$5.00", "5.00"),
        (r"30^{\circ}", r"30 \degree"),  # the degree mark the parser reads
        (r"x \in [1, 2)", "[1, 2)"),
        ("1 and 2", "1, 2"),
        ("3 1/2", r"(3+\frac{1}{2})"),
        ("five", "5"),
        (r"\boxed{7}", "7"),
    ],
)
def test_normalize(raw, clean):
    assert normalize(raw) == clean


@pytest.mark.parametrize(
    "text, kind",
    [
        (r"\frac12", "scalar"),
        ("[1, 2)", "interval"),
        ("(1, 2)", "tuple"),
        (r"\{1, 2\}", "set"),
        ("1, 2", "list"),
        ("x = 3", "rel"),
        (r"1 < x \le 2", "rel"),
        (r"(-\infty, 1) \cup (2, \infty)", "union"),
        (r"\begin{pmatrix} 1 & 2 \end{pmatrix}", "matrix"),
        (r"\pm 2", "set"),
        ("Tuesday", "text"),
        (r"\unknowncommand{3}", "text"),
    ],
)
def test_parse_kinds(text, kind):
    assert parse_answer(text).kind == kind


def test_guards_keep_huge_numbers_unevaluated():
    power = parse_answer(r"10^{10^{10}}")
    assert power.kind == "scalar" and power.huge
    fact = parse_answer("9999!")
    assert fact.huge and str(fact) == "HUGE(factorial(9999))"
    assert not parse_answer("2^{100}").huge  # small enough to be exact
    assert verify(r"10^{10^{10}}", r"10^{10^{10}}+1").equal is False
    assert verify("9999!", "9998!").equal is False


def test_parse_refuses_too_deep_and_too_long():
    assert parse_answer("(" * 300 + "5" + ")" * 300).kind == "text"
    assert verify("7", "7" * 5000).rule == "too_long"


def test_decimal_reference_sets_precision_and_no_near_miss_passes():
    assert verify("0.33", r"\frac{1}{3}").rule == "rounded_to_reference"
    assert verify("2.7", "2.70").equal and not verify("2.7", "2.72").equal  # a decimal states its value
    assert not verify("1.0000001", "1").equal
    assert not verify(r"\pi", "3.14159").equal and not verify(r"\frac{1}{3}", "0.3333333333").equal
    assert verify(r"\frac{1}{12}", "0.08333333333333333").rule == "rel_tol"  # a float's round-off only
    assert is_equivalent(r"\frac{1}{3}", "0.333", rel_tol=0.01)
    assert is_equivalent(r"\frac{1}{3}", "0.333", abs_tol=0.001)
    assert verify(r"1.5 \times 10^{3}", "1523").rule == "rounded_to_reference"  # scientific sets precision
    assert not verify(r"1.5 \times 10^{3}", "1.52 \\times 10^{3}").equal


def test_percent_policy_is_configurable():
    assert is_equivalent(r"60\%", "60")
    assert not is_equivalent(r"60\%", "60", percent="strict")
    assert is_equivalent(r"60\%", "0.6", percent="strict")


def test_equivalent_on_parsed_values_and_configs():
    assert equivalent(parse_answer("x^2-1"), parse_answer("(x-1)(x+1)")).equal
    with pytest.raises(SpecError, match="rel_tol"):
        EquivalenceConfig(rel_tol=2)
    with pytest.raises(SpecError, match="percent"):
        EquivalenceConfig(percent="maybe")


def test_math_score_details_and_statuses():
    r = math_answer()
    ok = r.score({"completion": r"so \boxed{\dfrac{\pi}{2}}", "answer": "pi/2"})
    assert (ok.value, ok.status) == (1.0, "ok")
    assert ok.details["extracted"] == r"\dfrac{\pi}{2}" and ok.details["extraction_rule"] == "boxed"
    assert ok.details["normalized_answer"] == "pi/2" and ok.details["normalized_prediction"] == "pi/2"
    assert ok.details["rule"] == "exact"
    wrong = r.score({"completion": r"\boxed{3}", "answer": "4"})
    assert (wrong.value, wrong.status) == (0.0, "wrong") and "does not equal" in wrong.reason
    none = r.score({"completion": "I give up.\nReally.", "answer": "4"})
    assert (none.value, none.status) == (0.0, "no_answer")


def test_references_list_and_worked_solutions():
    r = math_answer()
    assert r.score({"completion": r"\boxed{2}", "answer": ["1", "2"]}).value == 1.0
    assert reference_answer(r"We add: 2+2 = \boxed{4}.") == "4"
    assert reference_answer("Natalia sold 48+24 = 72 clips.\n#### 72") == "72"
    assert r.score({"completion": "#### 72", "answer": "Natalia sold 72 clips.\n#### 72"}).value == 1.0


def test_missing_answer_column_is_an_input_error():
    with pytest.raises(InputError, match="answer"):
        math_answer().score({"completion": r"\boxed{1}"})


def test_presets_load_with_parameters():
    r = rewardsmith.load("math:percent=strict,timeout=2")
    assert (
        r.score({"completion": "3 apples and then 8\nthe end", "answer": "8"}).details["extraction_rule"]
        == "last_number"
    )
    assert (
        rewardsmith.load("math:strict=true").score({"completion": "3 apples and then 8\nthe end", "answer": "8"}).status
        == "no_answer"
    )
    assert rewardsmith.load("math:percent=strict").score({"completion": r"\boxed{60\%}", "answer": "60"}).value == 0.0
    eq = rewardsmith.load("math_equal")
    assert eq.score({"completion": "x = 3", "answer": "3"}).value == 1.0
    assert eq.kind == "cpu" and eq.timeout == 5.0
    with pytest.raises(SpecError, match="percent"):
        rewardsmith.load("math:percent=sometimes")
    with pytest.raises(SpecError, match="unknown rule"):
        rewardsmith.load("math:priority=boxed+lastnumber")
    with pytest.raises(SpecError, match="timeout"):
        math_equal(timeout=0)


def test_score_batch_matches_score():
    samples = [
        {"completion": r"\boxed{\frac{1}{2}}", "answer": "0.5"},
        {"completion": "#### 7", "answer": "8"},
        {"completion": r"\boxed{(x+1)^2}", "answer": "x^2+2x+1"},
        {"completion": "no idea\nsorry", "answer": "1"},
    ]
    r = math_answer()
    single = [(s.value, s.status) for s in map(r.score, samples)]
    batch = [(s.value, s.status) for s in r.score_batch(samples, workers=2)]
    assert single == batch == [(1.0, "ok"), (0.0, "wrong"), (1.0, "ok"), (0.0, "no_answer")]


def test_a_sympy_failure_is_not_equal_never_unscored(monkeypatch):
    from rewardsmith.verifiers.math import equivalence

    def boom(self, gold, pred):
        raise ZeroDivisionError("sympy gave up")

    monkeypatch.setattr(equivalence.Comparer, "compare", boom)
    score = math_equal(timeout=None).score({"completion": "x^2+1", "answer": "x^2+2"})
    assert (score.value, score.status) == (0.0, "wrong")
    assert score.details["rule"] == "sympy_failed:ZeroDivisionError"
