"""Rewards of the built-in arithmetic task: the final number inside `<answer>` tags.

Stand-ins used by the demo until the general `format`, `math` and `proximity` presets are available;
each is a small Reward so the demo's composite shows three parts in TRL's logs and in the plot.
"""

from __future__ import annotations

import re

from rewardsmith.core import score as S
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _answer(sample: Sample) -> str | None:
    found = _ANSWER.search(sample.text)
    return found.group(1) if found else None


@reward
def answer_format(sample: Sample) -> Score:
    """1.0 for a single number inside `<answer>` tags, 0.5 for tags around something else, else 0.0."""
    inner = _answer(sample)
    if inner is None:
        return Score(0.0, "no <answer>…</answer> tags", S.WRONG_FORMAT)
    if _NUMBER.fullmatch(inner):
        return Score(1.0, "a number inside <answer> tags")
    return Score(0.5, f"<answer> holds {inner[:30]!r}, not a bare number", S.WRONG_FORMAT)


def _predicted(sample: Sample) -> float | None:
    inner = _answer(sample)
    found = _NUMBER.findall(inner if inner is not None else sample.text)
    return float(found[-1]) if found else None  # without tags, the last number in the text


@reward
def answer_correct(sample: Sample) -> Score:
    """1.0 when the number in `<answer>` (else the last number in the text) equals `answer`."""
    got, want = _predicted(sample), float(sample.get("answer"))
    if got is None:
        return Score(0.0, "no number in the completion", S.NO_ANSWER)
    return Score(1.0 if got == want else 0.0, f"{got:g} vs {want:g}", S.OK if got == want else S.WRONG)


@reward
def answer_proximity(sample: Sample) -> Score:
    """1 - |got - want| / max(|want|, 1), floored at 0: partial credit for near misses."""
    got, want = _predicted(sample), float(sample.get("answer"))
    if got is None:
        return Score(0.0, "no number in the completion", S.NO_ANSWER)
    return Score(max(0.0, 1.0 - abs(got - want) / max(abs(want), 1.0)), f"{got:g} vs {want:g}")
