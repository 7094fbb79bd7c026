"""Values a text writes but does not assert (rewardsmith/verifiers/math/denials.py)."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.math.denials import (
    alternative,
    conditional,
    denied_after,
    denies,
    qualified_before,
    retracted,
)


@pytest.mark.parametrize(
    "before, qualified",
    [
        ("The answer is not ", True),
        ("it isn't ", True),
        ("So x cannot be ", True),
        ("x can't equal ", True),
        ("it is less than or equal to ", True),
        ("it is at least ", True),
        ("anything except ", True),
        ("a multiple of ", True),
        ("all integers greater than ", True),
        ("Hence x ≠ ", True),
        ("x \\neq ", True),
        ("We can rule out ", True),
        ("答案不是", True),
        ("The answer is ", False),
        ("It is not hard to see that the total is ", False),  # the negation is about something else
        ("approximately ", False),
    ],
)
def test_negations_and_qualifiers_before_a_value(before, qualified):
    text = before + "3"
    assert qualified_before(text, 0, len(before)) is qualified


@pytest.mark.parametrize(
    "after, denied",
    [
        (", which is wrong.", True),
        (" is impossible.", True),
        (" or more.", True),
        (" can be ruled out.", True),
        (" does not work.", True),
        (", but that is wrong.", True),
        (" is not correct.", True),
        (" apples.", False),
        (", not 5.", False),
        (" since 2 + 1 = 3. This is wrong for 4.", False),  # another sentence
    ],
)
def test_denials_after_a_value(after, denied):
    assert denied_after(after, 0, len(after)) is denied


@pytest.mark.parametrize(
    "before, is_conditional",
    [
        ("Suppose ", True),
        ("If ", True),
        ("Assume ", True),
        ("A naive student might think ", True),
        ("One could argue that ", True),
        ("Let's check whether ", True),
        ("If we add them, ", False),
        ("I might be wrong, but ", False),
        ("I might be wrong but ", False),
        ("So ", False),
        ("Therefore, ", False),
    ],
)
def test_conditional_markers(before, is_conditional):
    text = before + "the answer is 3."
    assert conditional(text, len(before)) is is_conditional


def test_retractions_and_denying_words():
    assert retracted(" Wait, that's wrong. Let me redo this.")
    assert retracted(". Hmm, this is incorrect.")
    assert retracted(". I made a mistake in step 2.")
    assert not retracted(". That's correct, as a check shows.")
    assert not retracted(" and the other root is 5.")
    assert denies("wrong") and denies("not correct") and denies("not the right one")
    assert not denies("no solution") and not denies("correct") and not denies("Tuesday")


def test_another_answer_offered_after_one():
    assert alternative(". The answer could also be 5.")
    assert alternative(" (or possibly 5)")
    assert alternative(". Alternatively, the answer is 5.")
    assert not alternative(". The answer could also be written as 6/2.")
    assert not alternative(". Alternatively, one can substitute to get 3.")
