"""Stage 1 of the math verifier: finding the final answer in a completion."""

from __future__ import annotations

import pytest

from rewardsmith.core.errors import SpecError
from rewardsmith.verifiers.math import ExtractionConfig, extract_answer
from rewardsmith.verifiers.math.extract import last_boxed, matching_brace


@pytest.mark.parametrize(
    "text, answer",
    [
        (r"so \boxed{42}.", "42"),
        (r"first \boxed{41}, then \boxed{42}", "42"),
        (r"\boxed{\frac{\sqrt{3}}{2}}", r"\frac{\sqrt{3}}{2}"),
        (r"\boxed{\left(1, \frac{1}{2}\right)} done", r"\left(1, \frac{1}{2}\right)"),
        (r"\fbox{7}", "7"),
        (r"the result is \boxed 5.", "5"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),  # escaped braces do not end the box
        (r"\boxed{ 3 }", "3"),
    ],
)
def test_last_boxed(text, answer):
    assert last_boxed(text) == answer


def test_unclosed_last_box_falls_back_to_an_earlier_one():
    assert last_boxed(r"\boxed{1} and then \boxed{2") == "1"
    assert last_boxed(r"\boxed{") is None
    assert matching_brace("{a{b}c}", 0) == 6


@pytest.mark.parametrize(
    "text, answer, rule",
    [
        ("<think>16+1</think><answer>17</answer>", "17", "answer_tag"),
        ("<answer>\n17\n</answer>", "17", "answer_tag"),
        ("<answer>The answer is 17.</answer>", "17", "answer_tag"),
        (r"<answer>so \boxed{3}</answer>", "3", "boxed"),
        ("We add them. The answer is 17.", "17", "answer_is"),
        (r"Dividing, the answer is $\frac{3}{4}$.", r"\frac{3}{4}", "answer_is"),
        ("Final Answer: The final answer is $12$. I hope it is correct.", "12", "answer_is"),
        ("**Final Answer:**\n14", "14", "answer_is"),
        ("Answer: (B)", "(B)", "answer_is"),
        (r"The answer is $x=\frac{1}{2}$ or $x=2$.", r"x=\frac{1}{2}, x=2", "answer_is"),
        (r"The answer is $1$, $2$, and $3$.", "1, 2, 3", "answer_is"),
        (r"The answer is $3$ and the other one is $5$.", "3", "answer_is"),
        ("Natalia sold 72 clips.\n#### 72", "72", "gsm8k"),
        ("#### 1,000\n", "1,000", "gsm8k"),
        ("42", "42", "bare"),
        (r"$\frac{1}{2}$", r"\frac{1}{2}", "bare"),
    ],
)
def test_rules(text, answer, rule):
    found = extract_answer(text)
    assert found is not None
    assert (found.answer, found.rule) == (answer, rule)


def test_nothing_found_is_none_not_an_error():
    assert extract_answer("I could not solve this.\nSorry about that.") is None
    assert extract_answer("") is None
    # an empty box is no boxed answer; the short text itself is then a (bare, empty) answer
    assert extract_answer(r"\boxed{}").rule == "bare"
    assert extract_answer("text before\n" + r"\boxed{}") is None


def test_answer_word_alone_is_not_a_marker():
    # "answer" without "is"/":" must not capture the rest of the sentence
    assert extract_answer("Let me answer this question carefully.\nIt is hard.") is None


def test_guessing_is_marked_and_strict_turns_it_off():
    text = "She had 3 apples and bought 5 more, so 8 in total.\nThat is all."
    found = extract_answer(text)
    assert found is not None and (found.answer, found.rule, found.guessed) == ("8", "last_number", True)
    assert extract_answer(text, ExtractionConfig(guess=False)) is None
    assert not extract_answer(r"so \boxed{8}").guessed


def test_priority_is_configurable():
    text = "#### 5\nbut also \\boxed{6}"
    assert extract_answer(text).answer == "6"  # the explicit answer written last wins
    assert extract_answer(text, ExtractionConfig(priority=("gsm8k", "boxed"))).answer == "6"
    assert extract_answer(text, ExtractionConfig(priority=("gsm8k", "boxed"), prefer="priority")).answer == "5"
    assert extract_answer(text, ExtractionConfig(priority="gsm8k,boxed", prefer="priority")).answer == "5"
    assert extract_answer(text, ExtractionConfig(priority=("gsm8k",))).answer == "5"


def test_bare_answers_are_short_single_lines():
    no_guess = ExtractionConfig(guess=False)
    assert extract_answer("x" * 81, no_guess) is None
    assert extract_answer("1\n2", no_guess) is None
    assert extract_answer("12", ExtractionConfig(bare=False, guess=False)) is None


def test_bad_config_names_the_field():
    with pytest.raises(SpecError, match="unknown rule"):
        ExtractionConfig(priority=("boxed", "lastnumber"))
    with pytest.raises(SpecError, match="guess"):
        ExtractionConfig(priority=("boxed", "last_number"))
    with pytest.raises(SpecError, match="nothing can be extracted"):
        ExtractionConfig(priority=(), bare=False, guess=False)
    with pytest.raises(SpecError, match="prefer"):
        ExtractionConfig(prefer="first")


def test_huge_completion_is_scanned_linearly():
    text = "Let me think step by step. " * 4000 + r"So \boxed{9}." + " trailing" * 100
    assert len(text) > 100_000
    assert extract_answer(text).answer == "9"
    braces = "{" * 50_000 + "x"  # never closed: no quadratic rescans, no recursion
    assert last_boxed(r"\boxed" + braces) is None
