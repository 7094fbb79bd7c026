"""Where a completion's final answer, layout and reasoning are, and how a variant is rebuilt."""

from __future__ import annotations

import pytest

from rewardsmith.audit.anatomy import (
    code_slot,
    locate_answer,
    mentions,
    pad_reasoning,
    rebuild,
    scrub,
    skeleton_of,
)


@pytest.mark.parametrize(
    ("text", "rule", "content", "outer"),
    [
        ("so \\boxed{\\frac{1}{2}} and \\boxed{3}.", "boxed", "3", "\\boxed{3}"),
        ("x \\boxed{ {1, 2} }", "boxed", "{1, 2}", "\\boxed{ {1, 2} }"),
        ("<think>\n2+2\n</think>\n<answer>\n4\n</answer>", "answer_tag", "4", "<answer>\n4\n</answer>"),
        ("…<end_working_out><SOLUTION>34</SOLUTION>", "answer_tag", "34", "<SOLUTION>34</SOLUTION>"),
        ("Natalia sold 48 clips.\n#### 72", "gsm8k", "72", "#### 72"),
        ("She makes 9 * 2 = 18 dollars.\nA: 18", "answer_is", "18", "A: 18"),
        ("Thus the final answer is 7.", "answer_is", "7", "final answer is 7"),
        ("She has 3 apples and buys 4, so 7 in all.", "last_number", "7", "7"),
        ("Paris", "bare", "Paris", "Paris"),
    ],
)
def test_locates_the_final_answer(text, rule, content, outer):
    slot = locate_answer(text)
    assert slot is not None
    assert (slot.rule, slot.content(text), text[slot.outer_start : slot.outer_end]) == (rule, content, outer)


def test_a_known_answer_is_found_where_no_marker_is():
    text = "The capital is Paris, a city of 2 million people."
    slot = locate_answer(text, "Paris")
    assert (slot.rule, slot.content(text)) == ("answer_occurrence", "Paris")
    assert locate_answer("I do not know, sorry.\nReally.") is None


def test_code_slot_is_the_last_fenced_block():
    text = "First:\n```python\nx = 1\n```\nThen:\n```python\ndef f():\n    return 2\n```\nDone."
    slot = code_slot(text)
    assert slot.content(text) == "def f():\n    return 2\n"
    assert code_slot("no code here") is None


def test_rebuild_replaces_the_slot_and_each_prose_segment():
    text = "<reasoning>\n6 x 12 = 72\n</reasoning>\n<answer>\n72\n</answer>"
    slot = locate_answer(text)
    assert rebuild(text, slot) == text
    assert rebuild(text, slot, fill="73") == text.replace("<answer>\n72", "<answer>\n73")
    skeleton = rebuild(text, slot, fill="", prose=lambda _, chunk: skeleton_of(chunk))
    assert skeleton == "<reasoning>\n\n</reasoning>\n<answer>\n\n</answer>"
    boxed = "so it is \\boxed{72}."
    assert rebuild(boxed, locate_answer(boxed), outer="\\boxed{1} \\boxed{2}") == "so it is \\boxed{1} \\boxed{2}."


def test_padding_goes_at_the_start_of_the_reasoning():
    text = "<think>\nstep one\nso 4\n</think>\n<answer>\n4\n</answer>"
    padded = pad_reasoning(text, locate_answer(text), "FILLER")
    assert padded == "<think>\nFILLER\nstep one\nso 4\n</think>\n<answer>\n4\n</answer>"


def test_scrub_removes_every_statement_of_a_numeric_answer_and_only_it():
    text = "9 * 2 = $<<9*2=18>>18, so 18.0 dollars, not 180 or 1,800 or 18.5"
    assert scrub(text, "18") == "9 * 2 = $<<9*2=?>>?, so ? dollars, not 180 or 1,800 or 18.5"
    assert scrub("costs $1,800 total", "1800") == "costs ? total"
    assert mentions("it is $1,800.00", "1800") and not mentions("it is 180", "1800")


def test_scrub_of_a_text_answer_is_whole_word():
    assert scrub("(B) is right, not BB", "B") == "(?) is right, not BB"
    assert not mentions("Parisian food", "Paris")
