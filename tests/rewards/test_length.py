"""Length shaping: cosine schedule conditioned on correctness, soft overlong punishment, too long."""

from __future__ import annotations

import math

import pytest

import rewardsmith as rs
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.rewards.length import cosine_length, overlong, too_long

right = rs.reward(lambda s: 1.0, name="right")
wrong = rs.reward(lambda s: 0.0, name="wrong")
unscored = rs.reward(lambda s: rs.Score.unscored("judge down"), name="unscored")


def ids(n):
    return {"completion": "x", "completion_ids": list(range(n))}


@pytest.mark.parametrize(
    "n, correct, value",
    [
        (0, True, 1.0),
        (50, True, 0.75),
        (100, True, 0.5),
        (250, True, 0.5),
        (0, False, -1.0),
        (50, False, -0.75),
        (100, False, -0.5),
        (400, False, -0.5),
    ],
)
def test_cosine_endpoints_and_midpoint(n, correct, value):
    cos = cosine_length(correct=right if correct else wrong, max_len=100)
    assert cos.score(ids(n)).value == pytest.approx(value)


def test_cosine_follows_the_formula_and_is_monotone():
    cos = cosine_length(correct=right, max_len=60, min_value_correct=0.2, max_value_correct=0.9)
    for n in (1, 7, 33, 59):
        expected = 0.2 + 0.5 * (0.9 - 0.2) * (1 + math.cos(n / 60 * math.pi))
        assert cos.score(ids(n)).value == pytest.approx(expected)
    right_values = [cos.score(ids(n)).value for n in range(0, 61, 6)]
    assert right_values == sorted(right_values, reverse=True)
    bad = cosine_length(correct=wrong, max_len=60)
    wrong_values = [bad.score(ids(n)).value for n in range(0, 61, 6)]
    assert wrong_values == sorted(wrong_values)


def test_cosine_threshold_details_and_unscored_check():
    half = rs.reward(lambda s: 0.5, name="half")
    assert cosine_length(correct=half, max_len=10).score(ids(0)).value == -1.0
    assert cosine_length(correct=half, max_len=10, threshold=0.5).score(ids(0)).value == 1.0
    score = cosine_length(correct=right, max_len=10).score(ids(5))
    assert score.details["length"] == 5 and score.details["correct"] is True
    assert "right" in score.details["parts"]
    skipped = cosine_length(correct=unscored, max_len=10).score(ids(5))
    assert skipped.value is None and "judge down" in skipped.reason


def test_cosine_correctness_by_spec_string_and_in_batches():
    cos = cosine_length(correct="exact", max_len=4, unit="words")
    rows = [
        {"completion": "Paris", "answer": "paris"},
        {"completion": "Lyon", "answer": "paris"},
        {"completion": "well it is Paris", "answer": "paris"},
    ]
    values = [s.value for s in cos.score_batch(rows)]
    assert values[0] == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi / 4)))
    assert values[1] == pytest.approx(-0.5 - 0.25 * (1 + math.cos(math.pi / 4)))
    assert values[2] == pytest.approx(-0.5)  # 4 words of 4, and wrong (not an exact match)


def test_tokens_need_ids_or_a_tokenizer():
    with pytest.raises(InputError, match="completion_ids"):
        overlong().score("no ids here")

    class SpaceTokenizer:
        def encode(self, text):
            return [len(w) for w in text.split()]

    assert overlong(max_len=4, cache=2, tokenizer=SpaceTokenizer()).score("a b c").value == -0.5
    with pytest.raises(ConfigError, match="encode"):
        overlong(tokenizer=42)
    with pytest.raises(ConfigError, match="cannot load tokenizer"):
        overlong(tokenizer="/no/such/tokenizer/dir")


def test_a_local_tokenizer_directory_loads_offline(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "hello": 1, "world": 2}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]").save_pretrained(tmp_path)
    limit = too_long(limit=2, unit="tokens", tokenizer=str(tmp_path))
    assert limit.score("hello world").value == 0.0
    assert limit.score("hello big world").value == -1.0


@pytest.mark.parametrize(
    "n, value", [(0, 0.0), (80, 0.0), (81, -0.05), (90, -0.5), (100, -1.0), (101, -1.0), (5000, -1.0)]
)
def test_overlong_matches_dapo(n, value):
    assert overlong(max_len=100, cache=20).score(ids(n)).value == pytest.approx(value)


def test_overlong_without_cache_is_a_cliff():
    hard = overlong(max_len=10, cache=0)
    assert hard.score(ids(10)).value == 0.0
    assert hard.score(ids(11)).value == -1.0


def test_too_long_counts_words_chars_and_tokens():
    assert too_long(limit=3).score("one two three").value == 0.0
    assert too_long(limit=3).score("one two three four").value == -1.0
    assert too_long(limit=5, unit="chars", penalty=-0.5).score("abcdef").value == -0.5
    assert too_long(limit=5, unit="tokens").score(ids(6)).value == -1.0
    assert rs.load("too_long:limit=2,penalty=-2").score("a b c").value == -2.0


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: too_long(limit=-1), "limit"),
        (lambda: overlong(max_len=0), "max_len"),
        (lambda: overlong(max_len=10, cache=20), "cache"),
        (lambda: overlong(cache=-1), "cache"),
        (lambda: cosine_length(correct=right, max_len=-5), "max_len"),
        (lambda: cosine_length(correct=right, unit="lines"), "unit"),
        (lambda: cosine_length(correct="no_such_preset"), "no_such_preset"),
        (lambda: rs.load("too_long:limit=-3"), "limit"),
    ],
)
def test_bad_config_fails_at_construction(build, field):
    with pytest.raises(rs.UsageError, match=field):
        build()
