"""A composite reward for the scoring demo: the answer inside <answer> tags, plus format credit."""

from __future__ import annotations

import re

import rewardsmith as rs

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


@rs.reward
def tagged_answer(sample: rs.Sample) -> rs.Score:
    """1.0 when the text inside <answer>…</answer> equals the reference (case and spacing aside)."""
    found = ANSWER.search(sample.text)
    if not found:
        return rs.Score(0.0, "no <answer> tags", "no_answer")
    return rs.load("exact").score({"completion": found.group(1), "answer": sample.answer})


think_format = rs.load(r"regex:pattern=^<think>.+</think>\s*<answer>.+</answer>$,flags=s,name=think_format")

demo_reward = rs.weighted({tagged_answer: 1.0, think_format: 0.5}, name="demo")
