"""`to_trl` / `to_trl_async` called exactly as TRL 1.16's GRPOTrainer calls reward functions.

The harness runs the real `GRPOTrainer._calculate_rewards` (and TRL's own name/async detection) on a
minimal stand-in for the trainer, so a change in TRL's call convention breaks these tests.
"""

from __future__ import annotations

import inspect
import math
import pickle
import time
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch
from transformers import TrainerState
from trl import GRPOTrainer
from trl.trainer.utils import (
    get_callable_name,
    is_async_callable,
    shutdown_event_loop_in_daemon,
    start_event_loop_in_daemon,
)

import rewardsmith as rs
from rewardsmith import Sample, Score
from rewardsmith.trainer_adapter import AsyncTrlReward, TrlReward, from_trl, to_trl, to_trl_async
from rewardsmith.trainer_adapter.trl import RewardErrorWarning


@rs.reward
def echo_columns(sample: Sample) -> Score:
    """Module-level (so it pickles by reference): reads an extra column and the completion ids."""
    return Score(float(len(sample.get("completion_ids"))), sample.get("question"), details={"answer": sample.answer})


@rs.reward
def unscorable(sample: Sample) -> Score:
    return Score.unscored("judge down") if "?" in sample.text else Score(1.0)


@rs.reward(kind="cpu", timeout=0.5)
def hangs(sample: Sample) -> float:
    if "hang" in sample.text:
        time.sleep(30)
    return 1.0


def user_length_reward(completions, **kwargs):
    """A plain TRL reward function of the user's, beside ours."""
    return [float(len(c[0]["content"] if isinstance(c, list) else c)) for c in completions]


class Harness:
    """The attributes `GRPOTrainer._calculate_rewards` reads, and TRL's own logging methods."""

    _calculate_rewards = GRPOTrainer._calculate_rewards
    _log_metric = GRPOTrainer._log_metric
    _log_completion_extra = GRPOTrainer._log_completion_extra

    def __init__(self, reward_funcs):
        self.reward_funcs = reward_funcs
        self.reward_func_names = [get_callable_name(f) for f in reward_funcs]  # as GRPOTrainer.__init__ does
        self.reward_processing_classes = [None] * len(reward_funcs)
        self.accelerator = SimpleNamespace(device=torch.device("cpu"), is_main_process=True)
        self.args = SimpleNamespace(report_to=[])
        self.state = TrainerState()
        self.environments = None
        self._pending_metrics = defaultdict(list)
        self._pending_extra_logs = defaultdict(list)
        self.async_loop = None
        if any(is_async_callable(f) for f in reward_funcs):
            self._thread, self.async_loop, ready = start_event_loop_in_daemon(name="test-loop")
            ready.wait()

    def close(self):
        if self.async_loop is not None:
            shutdown_event_loop_in_daemon(self._thread, self.async_loop)

    def score(self, rows, completions):
        """rows: dataset rows (with `prompt`), one per completion, as TRL repeats them per generation."""
        prompts = [r["prompt"] for r in rows]
        completion_ids = [list(range(len(c if isinstance(c, str) else c[0]["content"]))) for c in completions]
        try:
            return self._calculate_rewards(rows, prompts, completions, completion_ids)
        finally:
            self.close()


def chat(text):
    return [{"role": "assistant", "content": text}]


ROWS = [
    {"prompt": [{"role": "user", "content": "What is 2+2?"}], "answer": "4", "question": "q1"},
    {"prompt": [{"role": "user", "content": "What is 2+2?"}], "answer": "4", "question": "q1"},
    {"prompt": [{"role": "user", "content": "What is 3+5?"}], "answer": "8", "question": "q2"},
]


def test_text_completions_and_name():
    fn = to_trl(rs.load("exact"), name="exact_match")
    rows = [{**r, "prompt": r["prompt"][0]["content"]} for r in ROWS]
    h = Harness([fn])
    out = h.score(rows, ["4", "five", "8"])
    assert h.reward_func_names == ["exact_match"]
    assert out[:, 0].tolist() == [1.0, 0.0, 1.0]


def test_chat_completions_composite_parts_and_statuses_are_logged():
    total = rs.weighted({rs.load("exact"): 2.0, rs.load("regex:pattern=^\\d+$,name=digits"): 0.5}, name="total")
    h = Harness([to_trl(total)])
    out = h.score(ROWS, [chat("4"), chat("four"), chat("9")])
    assert out[:, 0].tolist() == [2.5, 0.0, 0.5]
    m = h._pending_metrics
    assert m["rewards/total/exact/mean"] == [pytest.approx(1 / 3)]
    assert m["rewards/total/digits/mean"] == [pytest.approx(2 / 3)]
    assert m["rewards/total/status/ok"] == [1.0]
    assert "rewards/total/status/unscored" not in m  # only the statuses seen: a compact log by default
    assert m["rewards/total/digits/status/wrong_format"] == [pytest.approx(1 / 3)]
    assert "rewards/total/digits/status/ok" not in m  # per part, the shares other than ok
    assert h._pending_extra_logs["total/reason"][0].startswith("total 2.5")


def test_log_parts_all_logs_every_standard_status_and_false_logs_none():
    h = Harness([to_trl(rs.load("exact"), log_parts="all")])
    h.score(ROWS, [chat("4"), chat("four"), chat("9")])
    assert h._pending_metrics["rewards/exact/status/unscored"] == [0.0]
    assert h._pending_metrics["rewards/exact/status/wrong"] == [pytest.approx(2 / 3)]
    h = Harness([to_trl(rs.load("exact"), log_parts=False)])
    h.score(ROWS, [chat("4"), chat("four"), chat("9")])
    assert not [k for k in h._pending_metrics if k.startswith("rewards/exact/status")]
    with pytest.raises(rs.UsageError, match="log_parts"):
        to_trl(rs.load("exact"), log_parts="some")


def test_a_status_seen_once_is_logged_on_every_later_step():
    fn = to_trl(unscorable)
    logged = []
    fn(prompts=["p"], completions=["?"], log_metric=lambda k, v: logged.append((k, v)))
    fn(prompts=["p"], completions=["fine"], log_metric=lambda k, v: logged.append((k, v)))
    assert ("rewards/unscorable/status/unscored", 1.0) in logged
    assert ("rewards/unscorable/status/unscored", 0.0) in logged  # a true share when TRL averages steps


@rs.reward
def always_raises(sample: Sample) -> float:
    raise ValueError("bug in the reward")


@rs.reward
def sometimes_raises(sample: Sample) -> float:
    if "boom" in sample.text:
        raise KeyError("missing column")
    return 1.0


def test_a_reward_that_raises_on_the_whole_batch_stops_training_loudly():
    fn = to_trl(always_raises)
    with pytest.raises(rs.RewardError) as caught:
        fn(prompts=["What is 2+2?", "q"], completions=["4", "5"], answer=["4", "5"])
    message = str(caught.value)
    assert "raised on every completion of the batch (2)" in message
    assert 'raise ValueError("bug in the reward")' in message  # the traceback
    assert "What is 2+2?" in message  # the sample it failed on


def test_a_reward_that_raises_sometimes_warns_once_per_kind_and_logs_the_share():
    fn = to_trl(sometimes_raises)
    logged = {}
    with pytest.warns(RewardErrorWarning, match=r"raised KeyError on 1 of 3 completions") as caught:
        out = fn(prompts=["p"] * 3, completions=["a", "boom", "b"], log_metric=logged.__setitem__)
    assert out == [1.0, None, 1.0]
    assert "missing column" in str(caught[0].message) and "Traceback" in str(caught[0].message)
    assert logged["rewards/sometimes_raises/status/error"] == pytest.approx(1 / 3)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same kind again: logged, not warned a second time
        assert fn(prompts=["p"] * 2, completions=["boom", "c"]) == [None, 1.0]


def test_strict_raises_the_rewards_own_exception_at_once():
    with pytest.raises(KeyError, match="missing column"):
        to_trl(sometimes_raises, strict=True)(prompts=["p", "p"], completions=["a", "boom"])


@rs.reward
def judged(sample: Sample) -> Score:
    return Score(1.0, "ok", details={"judge": {"requests": 2, "retries": 1, "cache_hits": 0, "failures": 0}})


def test_judge_counters_are_logged():
    logged = {}
    to_trl(judged + 0.0)(prompts=["p", "p"], completions=["a", "b"], log_metric=logged.__setitem__)
    assert logged["rewards/judged + 0/judge/requests"] == 4.0
    assert logged["rewards/judged + 0/judge/retries"] == 2.0


def length_reward(prompts, completions, **kwargs):
    """An existing TRL reward function, reused."""
    return [float(len(c)) if kwargs["answer"][i] != "skip" else None for i, c in enumerate(completions)]


async def async_length_reward(prompts, completions, **kwargs):
    return [float(len(c)) for c in completions]


def test_from_trl_turns_trl_functions_into_batch_native_rewards():
    calls = []

    def counting(prompts, completions, answer, **kwargs):
        calls.append(len(completions))
        return [1.0 if c == a else 0.0 for c, a in zip(completions, answer, strict=True)]

    reward = from_trl(counting)
    rows = [{"completion": c, "answer": "4", "prompt": "2+2?"} for c in ["4", "5", "4"]]
    assert [s.value for s in reward.score_batch(rows)] == [1.0, 0.0, 1.0]
    assert calls == [3]  # one call for the whole batch
    assert reward.score(rows[1]).value == 0.0
    scores = from_trl(length_reward).score_batch(
        [{"completion": "abc", "answer": "x"}, {"completion": "a", "answer": "skip"}]
    )
    assert [(s.value, s.status) for s in scores] == [(3.0, "ok"), (None, "unscored")]
    assert [s.value for s in from_trl(async_length_reward).score_batch(["ab", "abcd"])] == [2.0, 4.0]
    total = 0.5 * from_trl(length_reward) + rs.load("exact")  # composes like any reward
    assert total.score({"completion": "4", "answer": "4"}).value == 1.5
    back = to_trl(from_trl(length_reward))  # and goes back into TRL
    assert back(prompts=["p"], completions=["abcd"], answer=["y"]) == [4.0]


def test_from_trl_rejects_what_is_not_a_trl_function():
    with pytest.raises(rs.UsageError, match="completions"):
        from_trl(lambda sample: 1.0)
    with pytest.raises(rs.RewardReturnError, match="returned 1 values for 2"):
        from_trl(lambda prompts, completions, **kw: [1.0]).score_batch(["a", "b"])


def test_extra_columns_and_completion_ids_reach_the_sample():
    h = Harness([to_trl(echo_columns)])
    logged = h._pending_extra_logs
    out = h.score(ROWS, [chat("4"), chat("12345"), chat("8")])
    assert out[:, 0].tolist() == [1.0, 5.0, 1.0]  # len(completion_ids)
    assert logged["echo_columns/reason"] == ["q1", "q1", "q2"]  # the `question` column, per completion


def test_unscored_becomes_nan_and_a_user_function_runs_beside_ours():
    h = Harness([to_trl(unscorable), user_length_reward])
    out = h.score(ROWS, [chat("4"), chat("4?"), chat("88")])
    assert out[0, 0] == 1.0 and math.isnan(out[1, 0]) and out[2, 0] == 1.0
    assert out[:, 1].tolist() == [1.0, 2.0, 2.0]
    assert h._pending_metrics["rewards/unscorable/status/unscored"] == [pytest.approx(1 / 3)]


def test_a_hanging_verifier_is_cut_off_at_its_time_limit():
    h = Harness([to_trl(hangs)])
    started = time.perf_counter()
    out = h.score(ROWS, [chat("4"), chat("hang"), chat("8")])
    assert time.perf_counter() - started < 15
    assert out[:, 0].tolist() == [1.0, 0.0, 1.0]
    assert h._pending_metrics["rewards/hangs/status/timeout"] == [pytest.approx(1 / 3)]


def test_async_variant_is_a_coroutine_function_and_runs_on_trls_loop():
    fn = to_trl_async(rs.load("exact"), name="judge_like")
    assert inspect.iscoroutinefunction(fn)
    assert is_async_callable(fn) and get_callable_name(fn) == "judge_like"
    assert not inspect.iscoroutinefunction(to_trl(rs.load("exact")))
    h = Harness([fn, to_trl(rs.load("exact"))])
    out = h.score(ROWS, [chat("4"), chat("no"), chat("8")])
    assert out.tolist() == [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]
    assert h._pending_metrics["rewards/judge_like/status/ok"] == [pytest.approx(2 / 3)]


@pytest.mark.parametrize("make", [to_trl, to_trl_async])
def test_adapters_pickle(make):
    for reward in (rs.load("proximity:tolerance=0.5"), echo_columns, rs.load("exact") + 0.5 * echo_columns):
        fn = make(reward, name="r")
        clone = pickle.loads(pickle.dumps(fn))
        assert type(clone) is type(fn) and clone.__name__ == "r"
        assert inspect.iscoroutinefunction(clone) == (make is to_trl_async)
    clone = pickle.loads(pickle.dumps(to_trl(rs.load("proximity:tolerance=0.5"))))
    assert clone.reward.spec == "proximity:tolerance=0.5"  # rebuilt from its SPEC in the other process
    assert clone(prompts=["q"], completions=["5"], answer=["5"]) == [1.0]


def test_adapter_types_and_bad_calls():
    assert isinstance(to_trl(echo_columns), TrlReward)
    assert isinstance(to_trl_async(echo_columns), AsyncTrlReward)
    fn = to_trl(rs.load("exact"))
    with pytest.raises(rs.UsageError, match="'answer'.*expected a list of 2"):
        fn(prompts=["a", "b"], completions=["1", "2"], answer=["1"])
    with pytest.raises(rs.UsageError, match="without `completions`"):
        fn(prompts=["a"])
    with pytest.raises(rs.UsageError):
        to_trl(42)


def test_workers_are_split_between_local_processes(monkeypatch):
    from rewardsmith.core.engine import cpu_count
    from rewardsmith.trainer_adapter.trl import _default_workers

    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert _default_workers(hangs) is None  # one process: the engine's own default
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert _default_workers(hangs) == max(1, cpu_count() // 4)
    assert _default_workers(rs.load("exact")) is None  # cheap rewards stay in-process
