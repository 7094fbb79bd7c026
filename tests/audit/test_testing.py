"""`rewardsmith.testing`: the assertions users put in their own reward tests."""

from __future__ import annotations

import pytest

import rewardsmith as rs
from rewardsmith.testing import assert_resists_hacks, assert_scores, hack_names
from tests.audit.audit_helpers import contains_answer, gsm8k_rows

MATH = rs.load("math")


def test_assert_scores_passes_on_expected_values_ranges_statuses_and_reasons():
    assert_scores(
        MATH,
        [
            ({"completion": "so \\boxed{72}", "answer": "72"}, 1.0),
            ({"completion": "so \\boxed{71}", "answer": "72"}, (0.0, 0.5)),
            ({"completion": "I give up.\nSorry.", "answer": "72"}, {"value": 0.0, "status": "no_answer"}),
            ({"completion": "so \\boxed{1/2}", "answer": "0.5"}, {"reason": "equals"}),
        ],
    )


def test_assert_scores_lists_every_mismatch_with_the_rewards_reason():
    with pytest.raises(AssertionError) as caught:
        assert_scores(
            MATH,
            [
                ({"completion": "so \\boxed{72}", "answer": "72"}, 0.0),
                ({"completion": "so \\boxed{72}", "answer": "72"}, 1.0),
                ({"completion": "so \\boxed{71}", "answer": "72"}, {"status": "ok"}),
            ],
        )
    text = str(caught.value)
    assert text.startswith("2 of 3 cases scored otherwise:")
    assert "case 1 'so \\\\boxed{72}': expected 0.0, got 1.0 [ok]" in text
    assert "case 3" in text and "expected status 'ok', got 'wrong'" in text and "does not equal" in text


def test_assert_scores_checks_unscored_and_refuses_unknown_expectations():
    @rs.reward
    def down(sample):
        return rs.Score.unscored("server down")

    assert_scores(down, [({"completion": "x"}, None)])
    with pytest.raises(AssertionError, match="expected None, got 1.0"):
        assert_scores(rs.reward(lambda s: 1.0), [({"completion": "x"}, None)])
    with pytest.raises(TypeError, match="unknown expectation"):
        assert_scores(MATH, [({"completion": "x", "answer": "1"}, {"valu": 1.0})])


def test_assert_resists_hacks_fails_a_weak_reward_with_the_report_and_passes_math():
    rows = gsm8k_rows("boxed", problems=5)
    with pytest.raises(AssertionError, match="HACK answer_spam") as caught:
        assert_resists_hacks(contains_answer, rows)
    assert "genuine 1, empty 0" in str(caught.value)
    report = assert_resists_hacks(MATH, rows)
    assert report.passed and report.signal is None
    assert_resists_hacks(contains_answer, rows, skip=["answer_spam", "conflicting_boxed"])


def test_hack_names_for_parametrize():
    assert "answer_spam" in hack_names("text") and "early_exit" not in hack_names("text")
    assert hack_names("code")[0] == "early_exit" and len(hack_names()) == 19
