"""Stages 2 and 3 of the math verifier: normalization, parsing, equivalence, and the presets."""

from __future__ import annotations

import pytest

import rewardsmith
from rewardsmith.core.errors import ConfigError, InputError, UsageError
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
    with pytest.raises(ConfigError, match="rel_tol"):
        EquivalenceConfig(rel_tol=2)
    with pytest.raises(UsageError, match="percent"):
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
    with pytest.raises(UsageError, match="percent"):
        rewardsmith.load("math:percent=sometimes")
    with pytest.raises(ConfigError, match="unknown rule"):
        rewardsmith.load("math:priority=boxed+lastnumber")
    with pytest.raises(ConfigError, match="timeout"):
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


# -- issue 20: labels, conventions behind options, strictness ---------------------------------
@pytest.mark.parametrize(
    "gold, pred, equal",
    [
        ("(3,2)", "(p,q)=(3,2)", True),
        (r"\frac{x-3}{2}", r"f^{-1}(x) = \frac{x-3}{2}", True),
        ("2", "2 = y", True),
        (r"\frac{\sqrt{6}}{6}", r"\frac{NO}{BO}=\frac{1}{\sqrt6}", True),
        ("1", "|AB| = 1", True),
        ("x^2", "f(x)=x^2", True),
        ("11", "x = 5+5+1 = 11", True),  # a chain states its last side
        ("11", "x = 5+5+1 = 7 = 11", False),  # ... when it holds: 11 = 7 is false, so it states nothing
        ("3", r"9 = 3", False),
        ("3", r"1+1=3", False),
        (r"\frac{1}{2}", r"\sin 3 = 1/2", False),
        ("3", r"x = 3 \approx 5", False),  # an approximation must approximate
        (r"\frac{2}{3}", r"\frac{2}{3} = 0.667", True),  # "=" with a rounded decimal is an approximation
        (r"\frac{1}{3}", "x = 0.333 = 1/3", True),  # ... on either side: the exact side is the value
        (r"\frac{1}{3}", r"x = \frac{1}{3} \approx 0.33", True),  # what follows \approx only approximates
        ("3.01", r"\frac{9.5}{3.14159} \approx 3.01", False),
        ("5", "5 = 5", False),  # states nothing
        ("a = 1, b = 2", "b = 2, a = 1", True),
        ("a = 1, b = 2", "a = 2, b = 1", False),  # labels pair the values
        ("W(n) = 1, W(n) = -1", "W(x) = 1, W(x) = -1", True),  # one unknown's name is not graded
        ("p=5,q=2;p=7,q=2", "(5,2),(7,2)", True),
        ("p = 5, q = 2, p = 7, q = 2", "(5,2),(7,2)", True),  # a repeating label cycle is pairs
        ("7 = 11a+c", "11a+c", False),  # a genuine equation, not a label
        ("2x + z = 1", "1", False),
    ],
)
def test_labels_and_chains(gold, pred, equal):
    check = verify(gold, pred)
    assert check.equal is equal, (gold, pred, check.rule)


@pytest.mark.parametrize(
    "gold, pred, options, equal",
    [
        (r"\frac{\pi}{4}", r"45^\circ", {}, True),
        (r"\frac{\pi}{4}", r"45^\circ", {"degrees": "strict"}, False),
        ("45", r"45^\circ", {"degrees": "strict"}, True),
        (r"\{2\}", "2", {}, True),
        (r"\{2\}", "2", {"sets": "strict"}, False),
        ("(-2,2)", "|x|<2", {}, True),
        ("(-2,2)", "|x|<2", {"intervals": "strict"}, False),
        (r"\mathbb{R}\setminus\{2\}", r"x \neq 2", {}, True),
        (r"\mathbb{R}", r"(-\infty, \infty)", {}, True),
        (r"1\leq|z|\leq \frac{3}{2}", r"z \in [-\frac{3}{2}, -1] \cup [1, \frac{3}{2}]", {}, True),
        ("(0,1)", "0<f(x)<1", {}, True),
        ("3+2i", "3+2j", {}, False),
        ("3+2i", "3+2j", {"imaginary": "both"}, True),
        ("180 minutes", "3 hours", {}, True),
        ("5 cm", "5 m", {}, False),
        ("5 cm", "5 m", {"units": "ignore"}, True),
        ("5 kg", "5 m", {}, False),
        (r"\text{DNE}", "does not exist", {}, True),
        (r"\text{DNE}", "does not exist", {"text": "strict"}, False),
        ("no solution", r"\emptyset", {}, True),
        ("0.335", "33.5 percent", {}, True),
        (r"28\%", "28 pct", {}, True),
        ("1.22", "1,22", {}, True),  # an ambiguous comma may be a decimal comma
        ("1.22", "1,22", {"decimal_comma": False}, False),
        (r"\{1, 22\}", "1,22", {}, True),  # ... or separate items
        ("0.111", "0,111", {}, True),
        ("4210_7", "4210", {}, True),
        ("4210_7", "1477", {}, False),  # the problem asked for base 7
        ("1477", "4210_7", {}, True),
    ],
)
def test_conventions_have_options(gold, pred, options, equal):
    check = verify(gold, pred, EquivalenceConfig(**options))
    assert check.equal is equal, (gold, pred, options, check.rule)


def test_huge_but_simplifiable_expressions_are_decided_within_the_limit():
    assert verify("1", r"10^{10^{10}} - 10^{10^{10}} + 1", timeout=2).equal
    assert verify("0", r"\sin(10^{100})^2+\cos(10^{100})^2-1", timeout=2).equal
    assert not verify(r"10^{10^{10}}", r"10^{10^{10}} + 1", timeout=2).equal
    assert verify(r"F_n = \sum_{k=0}^{n-1} F_k F_{n-k-1}", r"F_n = \sum_{k=0}^{n-1} F_{n-k-1} F_k").equal
    assert not verify(r"F_n = \sum_{k=0}^{n-1} F_k F_{n-k-1}", r"F_n = \sum_{k=0}^{n-2} F_k F_{n-k-2}").equal


def test_new_options_are_checked():
    for field, value in [("degrees", "radians"), ("sets", "loose"), ("imaginary", "k"), ("units", "keep")]:
        with pytest.raises(UsageError, match=field):
            EquivalenceConfig(**{field: value})
    with pytest.raises(ConfigError, match="abs_tol"):
        EquivalenceConfig(abs_tol=-1)
    with pytest.raises(UsageError, match="units"):
        rewardsmith.load("math:units=keep")


def test_guessed_answers_say_so_and_strict_turns_guessing_off():
    r = rewardsmith.load("math")
    s = r.score({"completion": "So the result is 15.", "answer": "15"})
    assert (s.value, s.details["extraction_rule"], s.details["guessed"]) == (1.0, "last_number", True)
    boxed = r.score({"completion": r"\boxed{15}", "answer": "15"})
    assert boxed.details["guessed"] is False
    strict = rewardsmith.load("math:strict=true")
    assert strict.score({"completion": "We add them.\nSo the result is 15.", "answer": "15"}).status == "no_answer"
    assert strict.score({"completion": "1,5", "answer": "1.5"}).value == 0.0  # no decimal-comma reading


def test_multiple_choice_rows():
    r = rewardsmith.load("math")
    row = {"answer": "D", "choices": ["12", "13", "14", "15"]}
    assert r.score({**row, "completion": r"The answer is $\textbf{(D) }15$."}).value == 1.0
    assert r.score({**row, "completion": r"So the total is $\boxed{15}$."}).details["rule"].startswith("choice_text")
    assert r.score({**row, "completion": r"So the total is $\boxed{14}$."}).value == 0.0
    assert r.score({"answer": "(D) Alina", "choices": "ABCD", "completion": "D"}).value == 1.0
    assert r.score({"answer": "B", "choices": "ABCD", "completion": "It is not B. The answer is C."}).value == 0.0
    with pytest.raises(InputError, match="choices"):
        r.score({"answer": "B", "choices": 7, "completion": "B"})


def test_prompt_keeps_a_guess_out_of_a_restated_problem():
    r = rewardsmith.load("math")
    prompt = "A farmer has 17 sheep and buys 5 more. How many sheep does he have?"
    completion = "He has 17 + 5 = 22 sheep.\n\nA farmer has 17 sheep and buys 5 more."
    assert r.score({"prompt": prompt, "completion": completion, "answer": "22"}).value == 1.0
    assert r.score({"prompt": prompt, "completion": completion, "answer": "5"}).value == 0.0


# -- the red team's classes (tests/data/math_redteam.jsonl holds their own cases; these are other members) --
@pytest.mark.parametrize(
    "gold, pred, equal",
    [
        # H3: a decimal matches an exact value only as a float's print below 2**53
        ("9007199254740993", "9007199254740992.0", False),
        ("120000000000000000001", "1.2e20", False),
        ("120000000000000000001", r"1.2\times10^{20}", False),
        ("123456789", "123456789.0", True),
        ("1/12", "0.08333333333333333", True),
        ("0.3", "0.30000000000000004", True),
        # H4: a chain must hold
        ("5", "2+2=5", False),
        ("3", "x = 2 = 3", False),
        ("7", r"6 = 2 \cdot 3 = 7", False),
        ("4", "x = 2+2 = 4", True),
        # H5: words that state something about the value keep it text
        ("3", r"3 \text{ (not sure)}", False),
        ("3", r"3 \text{ or maybe } 4", False),
        ("5", r"5 \text{ is incorrect}", False),
        ("3", r"3 \text{ apples}", True),
        ("12", r"12 \text{ cm}^2", True),
        # H6: values pair by name when both sides name them
        ("(a,b)=(1,2)", "(b,a)=(2,1)", True),
        ("(a,b)=(1,2)", "(b,a)=(1,2)", False),
        ("x=1, y=2", "(x, y) = (1, 2)", True),
        # H7: currencies are units
        (r"\$5", r"5 \text{ yen}", False),
        ("5 dollars", "€5", False),
        ("€5", "5 euros", True),
        (r"\$5", "5", True),
        # H8: one percent reading per plain reference
        ("0.5", r"0.5\%", False),
        ("0.5", r"50\%", True),
        ("2", r"200\%", False),
        ("2", r"2\%", True),
        # H9: numbers side by side are no product
        ("10", "2 5", False),
        ("20", "10 2", False),
        # H10: exact values compare exactly at any scale
        ("x^2", "x^2 + 10^{-20}", False),
        ("e^{x}", "e^{x} + 10^{-30}", False),
        (r"\pi", r"\pi + 10^{-100}", False),
        ("10^{100}", r"\sqrt{10^{200}+1}", False),
        ("y = 10^{12}x", "y = 10^{12}x + 1", False),
        (r"2\sqrt{2}", r"\sqrt{8}", True),
        ("1", r"\sin^2 x + \cos^2 x", True),
        (r"\log(6)", r"\log 2 + \log 3", True),
        # our own white-box pass: a difference hidden below the digits a numeric zero reads
        ("5", r"\sqrt{25 + e^{-1000}}", False),
        ("5", r"\sqrt{25 + e^{-1000} e^{-1000} e^{-1000}}", False),
        ("1", r"e^{e^{-1000}}", False),
        ("|x|", r"\sqrt{x^2 + e^{-1000}}", False),
        ("5", r"\sqrt{25 + \pi^{-1000}}", False),
        ("1/2", r"\sin(10^{1000})", False),
        ("5", "wrong = 5", False),  # a word label that is a statement is no label
        ("5", r"\text{Area} = 5", True),
    ],
)
def test_red_team_classes(gold, pred, equal):
    assert verify(gold, pred).equal is equal
