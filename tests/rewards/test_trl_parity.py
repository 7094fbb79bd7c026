"""Parity with `trl.rewards` (TRL 1.16): the same values on a few hundred generated completions.

Our think format, cosine, repetition and overlong rewards are our own code; these tests hold
them to TRL's reference functions, value for value. Intentional difference: none on these
inputs. (TRL's cosine reward decides correctness with its own Math-Verify call; here that call
is replaced by the same known correctness on both sides, so the test checks the length
schedule, which is what cosine_length adds; correctness itself is the `math` verifier's job.)
"""

from __future__ import annotations

import random

import pytest
import trl.rewards as trl_rewards  # TRL is in the `train` extra, which `make install` installs

import rewardsmith as rs
from rewardsmith.rewards.length import cosine_length, overlong
from rewardsmith.rewards.repetition import repetition
from rewardsmith.verifiers.format import tag_format

N = 400


def _fragment(rng: random.Random) -> str:
    return rng.choice(
        [
            "<think>",
            "</think>",
            "<think>\n",
            "\n</think>\n",
            "reasoning",
            "step 1\nstep 2",
            " ",
            "\n",
            "answer: 4",
            "<answer>4</answer>",
            "</think",
            "<THINK>",
            "",
        ]
    )


def generated_completions(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(N):
        shape = rng.random()
        if shape < 0.4:  # mostly well-formed, with perturbations
            text = rng.choice(["", " ", "\n"]) if rng.random() < 0.2 else ""
            text += "<think>" + "".join(_fragment(rng) for _ in range(rng.randint(0, 3))) + "</think>"
            text += "".join(_fragment(rng) for _ in range(rng.randint(0, 3)))
        else:  # random soup of tags and text
            text = "".join(_fragment(rng) for _ in range(rng.randint(0, 8)))
        out.append(text)
    return out


def test_think_format_matches_trl():
    completions = generated_completions()
    ours = tag_format(tags=["think"], strict=False)
    theirs = trl_rewards.think_format_reward([[{"role": "assistant", "content": c}] for c in completions])
    mine = [s.value for s in ours.score_batch(completions)]
    assert mine == theirs
    assert 0.2 < sum(mine) / len(mine) < 0.8  # the generator covers both outcomes


def _ids(rng: random.Random, vocab: int, longest: int) -> list[int]:
    return [rng.randrange(vocab) for _ in range(rng.randint(0, longest))]


@pytest.mark.parametrize("ngram, max_penalty", [(1, -1.0), (2, -0.5), (3, -1.0), (4, -2.0)])
def test_repetition_matches_trl_on_token_ids(ngram, max_penalty):
    rng = random.Random(ngram)
    batch = [_ids(rng, rng.choice([2, 5, 50]), 60) for _ in range(N)]
    theirs = trl_rewards.get_repetition_penalty_reward(ngram_size=ngram, max_penalty=max_penalty)(batch)
    ours = repetition(ngram=ngram, max_penalty=max_penalty, unit="tokens")
    mine = [s.value for s in ours.score_batch([{"completion": "", "completion_ids": ids} for ids in batch])]
    assert mine == theirs
    assert any(v < 0 for v in mine) and any(v == 0 for v in mine)


@pytest.mark.parametrize("max_len, cache", [(100, 20), (64, 0), (50, 50), (1024, 256)])
def test_overlong_matches_trl(max_len, cache):
    rng = random.Random(max_len + cache)
    batch = [[0] * rng.randint(0, 2 * max_len) for _ in range(N)] + [
        [0] * (max_len - cache),
        [0] * max_len,
        [0] * (max_len + 1),
    ]
    theirs = trl_rewards.get_soft_overlong_punishment(max_completion_len=max_len, soft_punish_cache=cache)(batch)
    ours = overlong(max_len=max_len, cache=cache)
    mine = [s.value for s in ours.score_batch([{"completion": "", "completion_ids": ids} for ids in batch])]
    assert mine == theirs


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"min_value_wrong": -2.0, "max_value_wrong": 0.0, "min_value_correct": 0.1, "max_value_correct": 0.9},
        {"min_value_wrong": -0.3, "max_value_wrong": -0.7, "min_value_correct": 1.0, "max_value_correct": 0.2},
    ],
)
def test_cosine_schedule_matches_trl(monkeypatch, params):
    import trl.rewards.accuracy_rewards as accuracy_module

    rng = random.Random(len(params))
    max_len = 120
    rows = [
        {"completion": "x", "completion_ids": [0] * rng.randint(0, 2 * max_len), "is_correct": rng.random() < 0.5}
        for _ in range(N)
    ]
    # TRL decides correctness with Math-Verify; give both sides the same known verdicts.
    monkeypatch.setattr(
        accuracy_module, "accuracy_reward", lambda completions, solution, **kw: [float(r["is_correct"]) for r in rows]
    )
    theirs = trl_rewards.get_cosine_scaled_reward(max_len=max_len, **params)(
        [[{"content": r["completion"]}] for r in rows], ["0"] * len(rows), [r["completion_ids"] for r in rows]
    )
    verdict = rs.reward(lambda s: 1.0 if s.get("is_correct") else 0.0, name="verdict")
    mine = [s.value for s in cosine_length(correct=verdict, max_len=max_len, **params).score_batch(rows)]
    assert mine == theirs


@pytest.mark.integration
def test_cosine_with_real_correctness_matches_trl_on_clear_cases():
    rng = random.Random(7)
    rows = []
    for _ in range(60):
        truth = rng.choice(["3", "12", "\\frac{1}{3}", "-7", "2.5"])
        said = truth if rng.random() < 0.5 else rng.choice(["4", "\\frac{1}{2}", "-8", "0.5"])
        text = "Let me think. " * rng.randint(0, 30) + f"The answer is $\\boxed{{{said}}}$."
        rows.append({"completion": text, "answer": truth, "completion_ids": [0] * len(text.split())})
    theirs = trl_rewards.get_cosine_scaled_reward(max_len=80)(
        [[{"content": r["completion"]}] for r in rows],
        [f"${r['answer']}$" for r in rows],
        [r["completion_ids"] for r in rows],
    )
    mine = [s.value for s in cosine_length(correct="math", max_len=80).score_batch(rows)]
    assert mine == theirs
