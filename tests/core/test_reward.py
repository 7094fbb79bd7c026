"""The Reward contract: the decorator, sync/async faces, return coercion, errors."""

from __future__ import annotations

import pickle

import pytest

import rewardsmith as rs
from rewardsmith import Sample, Score


@rs.reward
def module_level(sample):
    return 0.5


def test_decorator_on_sync_function_returns_float_or_score():
    @rs.reward
    def f(sample):
        return 1 if "yes" in sample.text else Score(0.0, "no yes", "wrong")

    assert f.name == "f"
    assert f.score("yes").value == 1.0
    s = f.score({"completion": "nope"})
    assert (s.value, s.reason, s.status) == (0.0, "no yes", "wrong")


async def test_decorator_on_async_function():
    @rs.reward(name="judge")
    async def j(sample):
        return len(sample.text)

    assert j.is_async and j.kind == "io" and j.name == "judge"
    assert (await j.ascore("abc")).value == 3.0
    assert j.score("ab").value == 2.0  # sync face works even inside a running loop


def test_sync_face_of_async_reward_outside_loop():
    @rs.reward
    async def j(sample):
        return 1.0

    assert j.score("x").value == 1.0
    assert [s.value for s in j.score_batch(["a", "b"])] == [1.0, 1.0]


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], {"v": 1}, float("nan")])
def test_non_numeric_return_is_a_clear_usage_error(bad):
    @rs.reward
    def f(sample):
        return bad

    with pytest.raises(rs.RewardReturnError, match="'f' returned"):
        f.score("x")
    with pytest.raises(rs.RewardReturnError):
        f.score_batch(["x", "y"])


def test_exception_becomes_error_item_and_strict_reraises():
    @rs.reward
    def f(sample):
        if sample.text == "bad":
            raise KeyError("missing")
        return 1.0

    scores = f.score_batch(["ok", "bad", "ok"])
    assert [s.status for s in scores] == ["ok", "error", "ok"]
    assert scores[1].value is None and "KeyError" in scores[1].reason
    with pytest.raises(KeyError):
        f.score_batch(["ok", "bad"], strict=True)
    with pytest.raises(KeyError):
        f.score("bad", strict=True)


def test_bool_and_numpy_like_values():
    class Half:
        def __float__(self):
            return 0.5

    assert rs.reward(lambda s: True).score("x").value == 1.0
    assert rs.reward(lambda s: Half()).score("x").value == 0.5


def test_samples_from_rows_and_chat_messages():
    s = Sample.from_row(
        {
            "prompt": [{"role": "user", "content": "2+2?"}],
            "completion": [{"role": "assistant", "content": "4"}],
            "answer": "4",
            "id": 7,
            "difficulty": "easy",
        }
    )
    assert s.text == "4" and s.prompt_text == "2+2?"
    assert s.get("answer") == "4" and s.get("difficulty") == "easy" and s.metadata["id"] == 7
    with pytest.raises(rs.InputError, match="completion"):
        Sample.from_row({"prompt": "hi"})
    with pytest.raises(rs.InputError, match="'completion' must be a string"):
        Sample.from_row({"completion": 42})


def test_function_rewards_pickle_by_reference():
    clone = pickle.loads(pickle.dumps(module_level))
    assert clone is module_level
    wrapped = rs.as_reward(len_reward)
    assert pickle.loads(pickle.dumps(wrapped)).score("abc").value == 3.0


def len_reward(sample):
    return len(sample.text)


def test_as_reward_rejects_non_callables():
    with pytest.raises(rs.UsageError, match="expected a rewardsmith.Reward"):
        rs.as_reward(42)
