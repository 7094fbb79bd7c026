"""Composition semantics: values, details, reasons, unscored propagation."""

from __future__ import annotations

import pytest

import rewardsmith as rs
from rewardsmith import Sample, Score


def const(value, name, status="ok"):
    @rs.reward(name=name)
    def f(sample):
        return Score(value, f"{name} says {value}", status)

    return f


def test_sum_and_scale_values_and_details():
    a, b = const(1.0, "a"), const(0.5, "b")
    total = 2.0 * a + b
    s = total.score(Sample("x"))
    assert s.value == pytest.approx(2.5)
    assert s.details["weights"] == {"a": 2.0, "b": 1.0}
    assert s.details["contributions"] == {"a": 2.0, "b": 0.5}
    assert s.details["parts"]["a"]["score"] == 1.0
    assert s.details["parts"]["b"]["reason"] == "b says 0.5"
    assert "a +2" in s.reason and "b +0.5" in s.reason


def test_sum_flattens_and_builtin_sum_works():
    a, b, c = const(1, "a"), const(2, "b"), const(3, "c")
    total = a + b + c
    assert len(total.parts) == 3
    assert sum([a, b, c]).score("x").value == 6
    assert (a + 0.5).score("x").value == 1.5


def test_weighted_mapping_and_duplicate_names():
    a = const(1.0, "same")
    b = const(3.0, "same")
    w = rs.weighted({a: 1.0, b: -1.0})
    s = w.score("x")
    assert s.value == -2.0
    assert set(s.details["parts"]) == {"same", "same#2"}


def test_unscored_part_makes_sum_unscored():
    ok, down = const(1.0, "ok"), const(None, "judge", status="unscored")
    s = (ok + down).score("x")
    assert s.value is None
    assert s.status == "unscored"
    assert "judge" in s.reason


def test_skip_missing_sums_the_rest():
    ok, down = const(1.0, "ok"), const(None, "judge", status="unscored")
    s = rs.weighted({ok: 2.0, down: 1.0}, skip_missing=True).score("x")
    assert s.value == 2.0
    assert s.details["skipped"] == ["judge"]
    all_missing = rs.weighted({down: 1.0}, skip_missing=True).score("x")
    assert all_missing.value is None


def test_error_part_propagates_error_status():
    @rs.reward
    def broken(sample):
        raise RuntimeError("kaput")

    s = (const(1.0, "a") + broken).score("x")
    assert s.value is None and s.status == "error"
    assert "kaput" in s.reason


def test_clip():
    big = const(5.0, "big")
    s = big.clip(0, 1).score("x")
    assert s.value == 1.0 and "clipped" in s.reason
    assert const(-3.0, "neg").clip(lo=-1).score("x").value == -1.0
    with pytest.raises(rs.UsageError):
        big.clip(2, 1)


def test_gate_runs_then_only_when_check_passes():
    calls = []

    @rs.reward
    def check(sample):
        return sample.text == "good"

    @rs.reward
    def bonus(sample):
        calls.append(sample.text)
        return 0.7

    g = rs.gate(check, then=bonus, otherwise=-1.0)
    scores = g.score_batch(["good", "bad", "good"])
    assert [s.value for s in scores] == [0.7, -1.0, 0.7]
    assert calls == ["good", "good"]
    assert scores[0].details["branch"] == "then" and scores[1].details["branch"] == "otherwise"
    assert g.score("bad").value == -1.0


def test_gate_unscored_check_is_unscored():
    g = rs.gate(const(None, "judge", "unscored"), then=const(1.0, "x"))
    assert g.score("x").value is None


def test_all_of_any_of_three_valued():
    t, f, u = const(1.0, "t"), const(0.0, "f"), const(None, "u", "unscored")
    assert rs.all_of(t, t).score("x").value == 1.0
    assert rs.all_of(t, f).score("x").value == 0.0
    assert rs.all_of(f, u).score("x").value == 0.0  # a definite failure decides
    assert rs.all_of(t, u).score("x").value is None
    assert rs.any_of(f, t).score("x").value == 1.0
    assert rs.any_of(u, t).score("x").value == 1.0
    assert rs.any_of(f, u).score("x").value is None
    assert rs.any_of(f, f).score("x").value == 0.0
    assert rs.all_of(const(0.6, "p"), threshold=0.5).score("x").value == 1.0
    assert "t pass" in rs.all_of(t, f).score("x").reason


def test_composite_batch_matches_single_scores():
    a = const(1.0, "a")

    @rs.reward
    def length(sample):
        return len(sample.text)

    total = rs.gate(a, then=2 * length) + length.clip(hi=3)
    texts = ["a", "abcd", "abcdefg"]
    assert [s.value for s in total.score_batch(texts)] == [total.score(t).value for t in texts]


async def test_composite_ascore_mixes_sync_and_async():
    @rs.reward
    async def judge(sample):
        return 0.25

    total = judge + const(1.0, "a")
    assert (await total.ascore("x")).value == 1.25
    assert total.score("x").value == 1.25
    assert [s.value for s in await total.ascore_batch(["x", "y"])] == [1.25, 1.25]


def test_bad_weights_are_usage_errors():
    with pytest.raises(rs.UsageError, match="weight"):
        rs.weighted({const(1, "a"): "heavy"})
    with pytest.raises(rs.UsageError):
        rs.weighted({})
