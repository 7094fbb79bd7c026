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
from rewardsmith.trainer_adapter import AsyncTrlReward, TrlReward, to_trl, to_trl_async


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
    assert m["rewards/total/status/unscored"] == [0.0]  # standard statuses are always logged
    assert m["rewards/total/digits/status/wrong_format"] == [pytest.approx(1 / 3)]
    assert h._pending_extra_logs["total/reason"][0].startswith("total 2.5")


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
