"""proximity: numeric bands and smooth decay by relative distance, string similarity."""

from __future__ import annotations

import pytest

import rewardsmith as rs
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.rewards.proximity import extract_answer, proximity, relative_distance


def row(completion, answer):
    return {"completion": completion, "answer": answer}


@pytest.mark.parametrize(
    "guess, value",
    [("100", 1.0), ("105", 0.5), ("110", 0.5), ("90", 0.5), ("115", 0.25), ("80", 0.25), ("121", 0.0), ("-100", 0.0)],
)
def test_default_bands(guess, value):
    assert proximity().score(row(f"<answer>{guess}</answer>", "100")).value == value


def test_custom_bands_and_miss_value():
    unsloth_like = proximity(bands=[[0, 5.0], [0.1, 2.0], [0.2, 1.5]], miss=-2.5)
    assert unsloth_like.score(row("<answer>95</answer>", 100)).value == 2.0
    assert unsloth_like.score(row("<answer>50</answer>", 100)).value == -2.5


def test_linear_and_exponential_decay():
    linear = proximity(mode="linear", tolerance=0.2)
    assert linear.score(row("<answer>110</answer>", "100")).value == pytest.approx(0.5)
    assert linear.score(row("<answer>130</answer>", "100")).value == 0.0
    exp = proximity(mode="exp", tolerance=0.1)
    assert exp.score(row("<answer>110</answer>", "100")).value == pytest.approx(0.5)
    assert exp.score(row("<answer>120</answer>", "100")).value == pytest.approx(0.25)
    assert exp.score(row("<answer>100</answer>", "100")).value == 1.0
    # smooth: strictly decreasing in the distance
    values = [exp.score(row(f"<answer>{100 + d}</answer>", "100")).value for d in range(0, 50, 5)]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)


def test_zero_reference_uses_absolute_distance():
    assert relative_distance(0.05, 0.0) == 0.05
    assert proximity().score(row("<answer>0.05</answer>", "0")).value == 0.5
    assert proximity().score(row("<answer>0</answer>", "0.0")).value == 1.0


def test_answer_extraction_policy():
    assert extract_answer("x <answer> 7 </answer>", "auto") == "7"
    assert extract_answer(r"so \boxed{12}", "auto") == "12"
    assert extract_answer("plain 5", "auto") == "plain 5"
    assert extract_answer("plain 5", "boxed") is None
    # written numbers: commas, currency; otherwise the last number in the answer
    assert proximity().score(row("<answer>$1,000</answer>", "1000")).value == 1.0
    assert proximity().score(row("I think 3 then 100", "100")).value == 1.0
    missing = proximity().score(row("<answer>none</answer>", "100"))
    assert (missing.value, missing.status) == (0.0, "no_answer")
    assert proximity(extract="answer_tag").score(row("100", "100")).status == "no_answer"


def test_list_of_references_uses_the_closest():
    assert proximity().score(row("<answer>51</answer>", [10, 50])).value == 0.5


def test_string_similarity_uses_normalized_edit_distance():
    from rapidfuzz.distance import Levenshtein

    score = proximity().score(row("<answer>The Eiffel Towr</answer>", "the eiffel tower"))
    assert score.value == pytest.approx(Levenshtein.normalized_similarity("the eiffel towr", "the eiffel tower"))
    assert score.value == pytest.approx(1 - 1 / 16)
    assert proximity().score(row("Paris", "paris.")).value == 1.0
    assert proximity(case_sensitive=True).score(row("Paris", "paris")).value == pytest.approx(0.8)
    assert proximity(compare="text").score(row("<answer>100</answer>", "1000")).value == pytest.approx(0.75)
    assert proximity(metric="indel").score(row("ab", "abcd")).value == pytest.approx(2 * 2 / 6)


def test_numeric_kind_needs_a_numeric_reference():
    with pytest.raises(InputError, match="not a number"):
        proximity(compare="number").score(row("<answer>4</answer>", "four"))
    with pytest.raises(InputError, match="'answer'"):
        proximity().score({"completion": "4"})


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"tolerance": 0}, "tolerance"),
        ({"bands": [[0.2, 1.0], [0.1, 0.5]]}, "increase"),
        ({"bands": [[-0.1, 1.0]]}, "≥ 0"),
        ({"bands": [[0.1]]}, "bands"),
        ({"bands": []}, "at least one"),
        ({"mode": "gauss"}, "mode"),
    ],
)
def test_bad_config(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        proximity(**kwargs)


def test_spec_parameters():
    linear = rs.load("proximity:tolerance=0.1,mode=linear")
    assert linear.score(row("<answer>95</answer>", "100")).value == pytest.approx(0.5)
    assert rs.load("proximity:bands=[[0,1],[0.5,0.1]]").score(row("<answer>140</answer>", 100)).value == 0.1
