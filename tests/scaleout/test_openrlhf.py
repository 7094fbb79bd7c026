"""The OpenRLHF adapter (rewardsmith/trainer_adapter/openrlhf.py): `reward_func` as OpenRLHF calls a
reward file, the response found in the query, stable `extra_logs` keys."""

from __future__ import annotations

import pytest
import torch

from rewardsmith.core.errors import InputError, SpecError
from rewardsmith.trainer_adapter.openrlhf import response_of, reward_func

CHAT_PROMPT = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"


def test_reward_func_as_openrlhf_calls_it():
    # OpenRLHF's single-turn executor: one query, decoded with special tokens kept
    queries = [CHAT_PROMPT + "It is \\boxed{4}.<|im_end|><|endoftext|>", CHAT_PROMPT + "It is 5.<|im_end|>"]
    out = reward_func(queries, [CHAT_PROMPT, CHAT_PROMPT], ["4", "4"], spec="math")
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].tolist() == [1.0, 0.0]
    assert out["scores"].tolist() == [1.0, 0.0]
    logs = out["extra_logs"]
    assert logs["rewards/math/mean"] == 0.5 and logs["rewards/math/status/wrong"] == 0.5
    assert all(isinstance(v, float) for v in logs.values())


def test_extra_logs_keep_their_keys_whatever_the_statuses():
    # OpenRLHF stacks extra_logs across requests: a key missing from one request breaks the batch
    calls = [
        (["Q<think>\na\n</think>\n<answer>\n4\n</answer>"], ["Q"], ["4"]),
        (["Q nothing"], ["Q"], ["4"]),
        (["no prompt here"], ["Q?"], ["4"]),
    ]
    keys = {tuple(sorted(reward_func(*c, spec="r1")["extra_logs"])) for c in calls}
    assert len(keys) == 1
    (only,) = keys
    assert "rewards/r1/accuracy/mean" in only and "rewards/r1/status/other" in only


def test_the_response_is_the_query_without_its_prompt():
    assert response_of("PROMPT answer</s>", "PROMPT") == (" answer", True)
    assert response_of("<s>PROMPT 42<|eot_id|>", "PROMPT") == (" 42", True)
    assert response_of("an answer", "unrelated prompt") == ("an answer", False)
    # a prompt OpenRLHF truncated from the left: found by its end, so its text is never scored
    few_shot = "Example: 2+2 = \\boxed{4}. " * 10 + "Now: what is 3+3? Answer:"
    assert response_of(few_shot[-150:] + " I do not know", few_shot) == (" I do not know", True)
    # the prompt's first occurrence: a response that repeats it is kept whole
    assert response_of("Q: x Q: x", "Q: x") == (" Q: x", True)
    out = reward_func(["Paris<|im_end|>"], ["What is the capital?"], ["paris"], spec="exact")
    assert out["rewards"].tolist() == [1.0] and out["extra_logs"]["rewards/exact/prompt_not_found"] == 1.0


def test_spec_from_the_environment_else_a_clear_error(monkeypatch):
    monkeypatch.setenv("REWARDSMITH_REWARD", "exact")
    assert reward_func(["Q Paris"], ["Q "], ["paris"])["rewards"].tolist() == [1.0]
    monkeypatch.delenv("REWARDSMITH_REWARD")
    with pytest.raises(SpecError, match="REWARDSMITH_REWARD"):
        reward_func(["Q Paris"], ["Q "], ["paris"])


def test_lists_that_do_not_line_up_name_the_field():
    with pytest.raises(InputError, match="'labels' has 1 items but 'query' has 2"):
        reward_func(["a", "b"], ["", ""], ["x"], spec="exact")


def test_unscored_items_are_numbers_and_counted():
    out = reward_func(["unscored"], [""], ["1"], spec="tests/scaleout/scaleout_helpers.py:tricky")
    assert out["rewards"].tolist() == [0.0]
    assert out["extra_logs"]["rewards/tricky/scored"] == 0.0
    assert out["extra_logs"]["rewards/tricky/status/unscored"] == 1.0
