"""The verl adapter (rewardsmith/trainer_adapter/verl.py), called the way verl's reward managers call
a custom reward function: by keyword, with `reward_kwargs` merged in, sync or awaited."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from functools import partial
from types import MappingProxyType

import pytest

from rewardsmith.core.errors import SpecError
from rewardsmith.trainer_adapter import verl


def verl_calls(fn, reward_kwargs, **item):
    """What verl does: `get_custom_reward_fn` wraps the function so that `reward_kwargs` (an OmegaConf
    mapping, here a read-only one) are merged into the keywords the reward manager passes."""

    def merged(raw_fn, extra, *args, **kwargs):
        return raw_fn(*args, **{**kwargs, **extra})

    async def amerged(raw_fn, extra, *args, **kwargs):
        return await raw_fn(*args, **{**kwargs, **extra})

    wrapped = partial(amerged if inspect.iscoroutinefunction(fn) else merged, fn, dict(reward_kwargs))
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(wrapped(**item))
    return wrapped(**item)


ITEMS = [
    {
        "data_source": "openai/gsm8k",
        "solution_str": "<think>\n2+2\n</think>\n<answer>\n4\n</answer>",
        "ground_truth": "4",
    },
    {"data_source": "openai/gsm8k", "solution_str": "I think it is 5", "ground_truth": "4"},
    {"data_source": "openai/gsm8k", "solution_str": "", "ground_truth": "4"},
    {"data_source": "lighteval/MATH", "solution_str": "\\boxed{\\frac{1}{2}}", "ground_truth": "0.5"},
]


@pytest.mark.parametrize("fn", [verl.compute_score, verl.acompute_score], ids=["sync", "async"])
def test_called_by_keyword_as_verl_calls_it(fn):
    results = [
        verl_calls(
            fn,
            MappingProxyType({"spec": "r1"}),
            **item,
            extra_info={"index": i, "split": "train", "num_turns": None, "rollout_reward_scores": {}},
        )
        for i, item in enumerate(ITEMS)
    ]
    assert [r["score"] for r in results] == [2.0, 0.0, 0.0, 1.0]
    assert len({tuple(r) for r in results}) == 1, "every sample must have the same keys"
    assert set(results[0]) == {"score", "scored", "status", "reason", "parts/accuracy", "parts/format"}
    assert results[0]["parts/format"] == 1.0 and results[3]["parts/format"] == 0.0
    assert all(isinstance(r["score"], float) for r in results)


def test_verl_awaits_the_async_twin_and_runs_the_sync_one_in_a_thread():
    # verl's naive manager decides with inspect.iscoroutinefunction
    assert inspect.iscoroutinefunction(verl.acompute_score)
    assert not inspect.iscoroutinefunction(verl.compute_score)


def test_a_mapping_from_data_source_to_spec_keeps_one_key_set():
    spec = {"openai/gsm8k": "gsm8k", "default": "math"}
    results = [verl_calls(verl.compute_score, {"spec": spec}, **item) for item in ITEMS]
    assert len({tuple(r) for r in results}) == 1
    assert results[3]["score"] == 1.0 and results[3]["status"] == "ok"  # MATH went to `math`
    as_json = [verl_calls(verl.compute_score, {"spec": json.dumps(spec)}, **item) for item in ITEMS]
    assert as_json == results


def test_an_unmapped_data_source_is_a_clear_error():
    with pytest.raises(SpecError, match="no SPEC for data_source 'other'.*default"):
        verl.compute_score("other", "x", "1", spec={"openai/gsm8k": "math"})


def test_spec_from_the_environment(monkeypatch):
    monkeypatch.setenv("REWARDSMITH_REWARD", "exact")
    assert verl.compute_score("d", "Paris", "paris")["score"] == 1.0
    monkeypatch.delenv("REWARDSMITH_REWARD")
    with pytest.raises(SpecError, match="REWARDSMITH_REWARD"):
        verl.compute_score("d", "Paris", "paris")


def test_the_reward_is_built_once_per_process(monkeypatch):
    import rewardsmith.core.spec as spec_module

    built = []
    real = spec_module.load
    monkeypatch.setattr(spec_module, "load", lambda s: built.append(s) or real(s))
    for _ in range(5):
        verl.compute_score("d", "x", "x", spec="exact:case_sensitive=true")
    assert built == ["exact:case_sensitive=true"]


def test_ground_truth_feeds_answer_and_tests():
    code = "```python\ndef inc(x):\n    return x + 1\n```"
    tests = json.dumps({"inputs": ["1\n"], "outputs": ["2\n"]})
    sample = verl.verl_sample("codecontests", code, tests, {"question": "write inc"})
    assert sample.answer == tests and sample.tests == tests and sample.prompt == "write inc"
    assert sample.metadata["data_source"] == "codecontests"
    own = verl.verl_sample("x", "y", "z", {"tests": ["assert True"]})
    assert own.tests == ["assert True"] and own.answer == "z"


def test_an_unscored_item_is_a_number_for_verl_and_said_out_loud(caplog):
    spec = "tests/scaleout/scaleout_helpers.py:tricky"
    with caplog.at_level(logging.WARNING, logger="rewardsmith.trainer_adapter"):
        result = verl.compute_score("d", "unscored", "1", spec=spec, unscored_value=-1.0)
    assert result["score"] == -1.0 and result["scored"] == 0.0 and result["status"] == "unscored"
    assert "unscored" in caplog.text and "the judge is down" in caplog.text


def test_compute_score_batch_scores_lists_in_order():
    out = verl.compute_score_batch(
        data_sources=[i["data_source"] for i in ITEMS],
        solution_strs=[i["solution_str"] for i in ITEMS],
        ground_truths=[i["ground_truth"] for i in ITEMS],
        extra_infos=[{}] * len(ITEMS),
        spec={"openai/gsm8k": "r1", "default": "math"},
    )
    assert [r["score"] for r in out] == [2.0, 0.0, 0.0, 1.0]
    assert len({tuple(r) for r in out}) == 1
