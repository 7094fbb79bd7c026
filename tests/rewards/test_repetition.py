"""repetition: n-gram repetition penalty over words, characters or tokens."""

from __future__ import annotations

import pytest

import rewardsmith as rs
from rewardsmith.core.errors import ConfigError
from rewardsmith.rewards.repetition import repetition


def test_no_repeats_is_zero_and_loops_approach_max_penalty():
    rep = repetition()
    assert rep.score("the quick brown fox jumps over the lazy dog").value == 0.0
    looping = rep.score(" ".join(["I will check again."] * 50)).value
    assert -1.0 < looping < -0.9


def test_value_is_repeated_fraction_times_penalty():
    # 6 words → 4 trigrams: (a b c) (b c a) (c a b) (a b c): 3 unique of 4
    score = repetition(ngram=3, max_penalty=-2.0).score("a b c a b c")
    assert score.value == pytest.approx(-2.0 * (1 - 3 / 4))
    assert score.details == {"ngrams": 4, "unique": 3, "repeated_fraction": 0.25}


def test_case_and_units():
    assert repetition(ngram=1).score("Yes yes").value == -0.5
    assert repetition(ngram=1, case_sensitive=True).score("Yes yes").value == 0.0
    assert repetition(ngram=2, unit="chars").score("abab").value == pytest.approx(-(1 - 2 / 3))
    tokens = {"completion": "ignored text", "completion_ids": [5, 5, 5, 5, 5]}
    assert repetition(ngram=2, unit="tokens").score(tokens).value == pytest.approx(-0.75)


def test_shorter_than_one_ngram_scores_zero():
    assert repetition(ngram=5).score("too short").value == 0.0
    assert repetition().score("").value == 0.0


@pytest.mark.parametrize(
    "kwargs, field", [({"max_penalty": 0.5}, "max_penalty"), ({"ngram": 0}, "ngram"), ({"unit": "lines"}, "unit")]
)
def test_bad_config(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        repetition(**kwargs)


def test_spec():
    assert rs.load("repetition:ngram=1,max_penalty=-0.5").score("go go go go").value == pytest.approx(-0.375)
