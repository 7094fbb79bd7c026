"""Stage 1 of the math verifier: finding the final answer in a completion (prose, choices too)."""

from __future__ import annotations

import pytest

from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.verifiers.math import Choices, ExtractionConfig, extract_answer, math_answer, parse_choices
from rewardsmith.verifiers.math.choices import last_letter, leading_letter, reference_letter
from rewardsmith.verifiers.math.extract import Extraction, extract_reference, last_boxed, matching_brace


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
    with pytest.raises(ConfigError, match="unknown rule"):
        ExtractionConfig(priority=("boxed", "lastnumber"))
    with pytest.raises(ConfigError, match="guess"):
        ExtractionConfig(priority=("boxed", "last_number"))
    with pytest.raises(ConfigError, match="nothing can be extracted"):
        ExtractionConfig(priority=(), bare=False, guess=False)
    with pytest.raises(ConfigError, match="prefer"):
        ExtractionConfig(prefer="first")


def test_huge_completion_is_scanned_linearly():
    text = "Let me think step by step. " * 4000 + r"So \boxed{9}." + " trailing" * 100
    assert len(text) > 100_000
    assert extract_answer(text).answer == "9"
    braces = "{" * 50_000 + "x"  # never closed: no quadratic rescans, no recursion
    assert last_boxed(r"\boxed" + braces) is None


# -- issue 20: prose, languages, choices -----------------------------------------------------
@pytest.mark.parametrize(
    "text, answer, rule",
    [
        ("The final answer is 12,000,023. I hope it is correct.", "12,000,023", "answer_is"),
        ("Final Answer: The largest $n$ is 34.", "34", "answer_is"),  # the value after the verb, not $n$
        ("So the result is 15.", "15", "last_number"),
        ("…so there are 6*4/2 = 12 edges.", "6*4/2 = 12", "last_number"),
        ("所以一共有3 + 10 = 13只鸟。", "3 + 10 = 13", "last_number"),
        ("Réponse: Janeth aura encore 220 $ à payer d'ici 12 mois.", "220", "answer_is"),
        ("لذا، ناتج العملية الحسابية هو **٩٢**.", "92", "bold"),
        ("इसलिए, कुल ४२ छात्र हैं।", "42", "last_number"),
        ("答案：１２３", "123", "answer_is"),
        ("Die Antwort ist 7.", "7", "answer_is"),
        ("Ответ: 56.", "56", "answer_is"),
        ("したがって、答えは12です。", "12", "answer_is"),
        ("The sum is\n$$\n100\n$$", "100", "last_math"),
        ("Answer \\[ \n 9 \n \\]", "9", "answer_is"),  # display maths may span lines
        ("The answer is not 5; it is 7.", "7", "answer_is"),
    ],
)
def test_prose_and_languages(text, answer, rule):
    found = extract_answer(text)
    assert found is not None and (found.answer, found.rule) == (answer, rule)
    assert found.guessed is (rule in ("last_number", "last_math", "bold"))


def test_hedges_are_lists_and_denials_are_not_answers():
    assert extract_answer("The answer is either 3, 5 or 7.").answer == "3, 5, 7"
    assert extract_answer("So it might be 3 or 4.").answer == "3, 4"
    assert extract_answer(r"$\boxed{3}$ or $\boxed{5}$").answer == "3, 5"
    # a denial ends the guess: it never falls back to the value an earlier sentence stated
    assert extract_answer("We tried 4 first. It is not 4.") is None
    assert extract_answer("Let x be 3. Then we simplify. I cannot determine the answer.") is None


@pytest.mark.parametrize(
    "text, answer",
    [
        (r"\boxed{1}, \boxed{2}, \boxed{3}", "1, 2, 3"),
        (r"\boxed{k = 45} \quad \text{and} \quad \boxed{n = 2}", "k = 45, n = 2"),
        (r"\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}", "(3, 3), (1, 1)"),
        (r"\boxed{1} no no no no no \boxed{2}", "2"),  # a revision, not a list
        (r"\boxed{3}. Wait, that is wrong: \boxed{5}", "5"),
    ],
)
def test_boxes_joined_only_by_and_or_commas_are_one_list(text, answer):
    assert extract_answer(text).answer == answer


def test_the_explicit_answer_written_last_wins():
    text = r"First $\boxed{255}$ for the second CD. Final Answer: The final answer is $10,455$. I hope it is correct."
    assert extract_answer(text).answer == "10,455"
    assert extract_answer(r"<answer>The answer is 5.</answer>").rule == "answer_tag"


def test_a_restated_problem_and_a_new_turn_are_not_the_answer():
    prompt = "A farmer has 17 sheep and buys 5 more. How many sheep does he have?"
    text = "He has 17 + 5 = 22 sheep.\n\nA farmer has 17 sheep and buys 5 more."
    assert extract_answer(text, prompt=prompt).answer == "17 + 5 = 22"
    assert extract_answer("So he has 22 sheep.<|im_start|>user\nA farmer has 3 cows.").answer == "22"
    assert extract_answer("So he has 22 sheep.\n\nQuestion: A farmer has 3 cows.").answer == "22"


def test_doubly_escaped_latex_and_script_digits_are_repaired():
    assert extract_answer(r"so \\boxed{\\frac{1}{2}}").answer == r"\frac{1}{2}"
    assert extract_answer("الإجابة: ٢٤").answer == "24"


def test_an_unclosed_box_counts_only_in_a_reference():
    cut_off = extract_answer(r"so \boxed{12", ExtractionConfig(guess=False))  # a completion cut off mid-box
    assert cut_off is None or (cut_off.rule, cut_off.answer) != ("boxed", "12")
    assert extract_reference(r"so \boxed{W(n) = 1 \text{ or } W(n) = -1") == r"W(n) = 1 \text{ or } W(n) = -1"


def test_multiple_choice_letters_when_the_row_has_options():
    abcd = parse_choices("ABCD")
    assert extract_answer("I think it's B", choices=abcd) == Extraction("B", "choice_letter", True)
    assert extract_answer("The answer is for sure D, it can't be A or B", choices=abcd).answer == "D"
    assert extract_answer("réponse est C non A", choices=abcd).answer == "C"
    assert extract_answer("B。不是 A", choices=abcd).answer == "B"
    assert extract_answer("The options are A, B, C or D. Hmm.", choices=abcd) is None
    strict = extract_answer("I think it's B", ExtractionConfig(guess=False), choices=abcd)
    assert strict.rule == "bare" and not strict.guessed  # the whole line, which names no letter first


def test_choices_and_letters():
    assert parse_choices(["A) 12", "B) 13"]) == Choices("AB", ("12", "13"))
    assert parse_choices({"A": "x", "B": "y"}).text_of("B") == "y"
    assert parse_choices(None) is None
    with pytest.raises(InputError, match="choices"):
        parse_choices(3.5)
    abcd = parse_choices("ABCD")
    assert [leading_letter(t, abcd) for t in ("(D) Alina", r"\textbf{(D) }15", "A careful check", "A, B, C, D")] == [
        "D",
        "D",
        None,
        None,
    ]
    assert reference_letter("Alina and the answer is\n(C) Cecile", abcd) == "C"
    assert last_letter("It's not A, so I think it's B", abcd) == "B" and last_letter("A or B", abcd) is None


# -- the red team's classes (tests/data/math_redteam.jsonl holds their own cases; these are other members) --
DENIED_7 = [
    "The answer is not 7.",
    "The answer isn't 7.",
    "The final answer is surely not $7$.",
    "The answer is no more than 7.",
    "The answer is at most 7.",
    "The answer is greater than or equal to 7.",
    "The answer is something other than 7.",
    "The answer is divisible by 7.",
    "The answer is 7 or more.",
    "The answer is 7, which is wrong.",
    "If the answer is 7, then 7+7 = 15, which is absurd.",
    "Assume the answer is 7.",
    "Many might guess the answer is 7, but that's not it.",
    "\\boxed{7}. Hmm, wait: the answer is not 7.",
    "\\boxed{7}\nActually, that is incorrect.",
    "Final Answer: 7\nWait, that's wrong.",
    "<answer>not 7</answer>",
    "#### not 7",
    "The answer is 7, not 7.",  # it says both
    "The answer is $7$, or not $7$.",
    "So it is 7, not 7.",
    "\\boxed{7} or maybe 5",  # a hedge outside the box
    "<answer>7</answer> or 5",
    "Die Antwort: Janeth aura 7 $, which is wrong.",  # a weak reading is denied too
    "\\boxed{7}\n\nNote: the answer could also be 5.",  # another answer offered: a hedge
    "\\boxed{7} (or possibly 5)",
    "The answer is 7 (or 5 if we count differently).",  # the list 7, 5
]
STATED_7 = [
    "If we add them, the answer is 7.",
    "The answer is 7, not 5.",
    "The answer is not 5 but 7.",
    "The answer is not 5; it is 7.",
    "I might be wrong, but the answer is 7.",
    "The answer is therefore 7.",
    "Suppose x = 2. Then the answer is 7.",
    "Answer: In total, 7 apples.",
    "Answer: Each day Tom eats 2 apples, so after 3 days he has 7 apples left.",
    "So \\boxed{7}. The answer is plausible.",
    "Final Answer: The final answer is 7. I hope it is correct.",
    "The answer is 7, not 75.",
    "The answer is 7, not 7.5.",
    "\\boxed{7}. The answer could also be written as 14/2.",
    "\\boxed{7}. But if the question meant pairs, the answer would be 5.",  # a counterfactual is no revision
    "\\boxed{7}. Alternatively, one can substitute to get 7.",
]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("text", DENIED_7)
def test_a_denied_qualified_conditional_or_retracted_value_is_no_answer(text, strict):
    assert math_answer(strict=strict).score({"completion": text, "answer": "7"}).value == 0.0


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("text", STATED_7)
def test_a_stated_value_is_still_the_answer(text, strict):
    score = math_answer(strict=strict).score({"completion": text, "answer": "7"})
    assert score.value == 1.0, score.reason


@pytest.mark.parametrize(
    "text",
    [
        "The answer is B or C.",
        "Answer: B/C",
        "\\boxed{B \\text{ or } C}",
        "The answer is B, maybe C.",
        "The answer is either B or D.",
        "The answer is (B) or (C).",
        "The answer is not B.",
        "\\boxed{B, D}",
        "Not B.",
        "B is incorrect.",
        "B can be ruled out.",
        "I'd pick B, maybe C.",
        "A. B. C. D.",
        "The answer is B, or not B.",
        "\\boxed{B} or maybe C",
        "B\nActually, it is not B.",
    ],
)
def test_two_letters_or_a_denied_letter_name_no_option(text):
    assert math_answer().score({"completion": text, "answer": "B", "choices": "ABCD"}).value == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "The answer is B, not C.",
        "B. It can't be A or C.",
        "Option B",
        "I think it's B",
        "\\boxed{b}",
        "A and C are too small, so B.",
        "B\nBecause 3 + 4 = 7.",
        "B\nBecause A is too small.",
    ],
)
def test_one_undenied_letter_is_the_choice(text):
    assert math_answer().score({"completion": text, "answer": "B", "choices": "ABCD"}).value == 1.0


@pytest.mark.parametrize(
    "text, value",
    [
        ("It can't be 4.", 0.0),
        ("4 doesn't work.", 0.0),
        ("We excluded 4.", 0.0),
        ("x is at least 4.", 0.0),
        ("x ≤ 4", 0.0),
        ("The value exceeds 4.", 0.0),
        ("The result is 4. Wait, that's wrong.", 0.0),
        ("So x is 4.", 1.0),
        ("Therefore the total is 4 apples.", 1.0),
        ("It is not 3 but 4.", 1.0),
    ],
)
def test_a_guess_never_takes_a_denied_value(text, value):
    assert math_answer().score({"completion": text, "answer": "4"}).value == value
