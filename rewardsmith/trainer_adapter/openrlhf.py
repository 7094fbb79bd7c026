"""OpenRLHF: rewardsmith rewards in OpenRLHF's reward-function schema.

OpenRLHF asks for rewards in one shape, whether from a Python file (`--reward.remote_url
/path/to/reward_func.py`, which must define `reward_func(queries, prompts, labels, **kwargs)`) or over
HTTP (`--reward.remote_url http://HOST:PORT/get_reward`, served by `rewardsmith serve`):

- in: `queries` (each the decoded prompt + response, special tokens kept), `prompts`, `labels` (the
  dataset's `--data.label_key` column);
- out: `{"rewards": [...], "scores": [...], "extra_logs": {...}}`: `rewards` drive the advantage,
  `scores` the dynamic filtering, `extra_logs` are logged (one number per key).

Policies:
- the response is the query with its prompt stripped (the prompt's first occurrence, else that of its last
  64 characters, as OpenRLHF truncates long prompts from the left; the whole query, counted in
  `extra_logs` and warned about, when neither is found) and trailing end-of-sequence
  markers (`<|im_end|>`, `<|endoftext|>`, `</s>`, …) removed, so `exact` or code extraction sees
  what the model wrote;
- the label is the Sample's `answer`, and its `tests` too (code datasets keep tests in the label);
- an unscored item gets `unscored_value` (default 0.0) in `rewards` and `scores` (OpenRLHF holds
  numbers only), with a warning and the share in `extra_logs[".../scored"]`;
- `extra_logs` has the same keys on every call (OpenRLHF stacks them across requests): the mean and
  scored share of the reward, the share of each standard status (`other` for the rest), the mean of
  each part (0.0 where no part has a value in the call). They come from `rewardsmith.core.report`.

OpenRLHF passes no configuration to `reward_func`: the SPEC comes from `spec=` or `$REWARDSMITH_REWARD`.
Put `from rewardsmith.trainer_adapter.openrlhf import reward_func` in the file you give OpenRLHF.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.core.report import STANDARD_STATUSES, Report
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.trainer_adapter.common import UnscoredPolicy, part_keys, resolve_spec, reward_for

__all__ = ["END_MARKERS", "OpenRLHFScorer", "openrlhf_samples", "response_of", "reward_func"]

log = logging.getLogger("rewardsmith.trainer_adapter")

#: end-of-sequence and end-of-turn markers a decoded query ends with when special tokens are kept
END_MARKERS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "<|return|>",
    "<end_of_turn>",
    "<eos>",
    "</s>",
    "<｜end▁of▁sentence｜>",
)


#: characters of the prompt's end looked for when the whole prompt is not in the query (OpenRLHF
#: truncates long prompts from the left); scoring the whole query instead could credit the prompt's text
PROMPT_TAIL = 64


def response_of(query: str, prompt: str | None) -> tuple[str, bool]:
    """(the response part of `query`, whether `prompt` (or, when truncated, its end) was found in it).

    >>> response_of("<|im_start|>user\\n2+2?<|im_end|>\\n<|im_start|>assistant\\n4<|im_end|>",
    ...             "<|im_start|>user\\n2+2?<|im_end|>\\n<|im_start|>assistant\\n")
    ('4', True)
    """
    found = False
    text = query
    if prompt:
        at = query.find(prompt)
        if at >= 0:
            text, found = query[at + len(prompt) :], True
        else:  # a left-truncated prompt: the query still starts with its end
            tail = prompt[-PROMPT_TAIL:]
            at = query.find(tail)
            if at >= 0:
                text, found = query[at + len(tail) :], True
    return strip_end_markers(text), found


def strip_end_markers(text: str) -> str:
    """`text` without trailing end markers (repeated padding included) and trailing whitespace."""
    trimmed = text.rstrip()
    while True:
        for marker in END_MARKERS:
            if trimmed.endswith(marker):
                trimmed = trimmed[: -len(marker)].rstrip()
                break
        else:
            return trimmed


def openrlhf_samples(
    queries: Sequence[Any], prompts: Sequence[Any] | None, labels: Sequence[Any] | None
) -> list[Sample]:
    """One Sample per query; an InputError names the field when the lists do not line up."""
    if isinstance(queries, str) or not isinstance(queries, Sequence):
        raise InputError(f"'query' must be a list of strings, got {type(queries).__name__}")
    n = len(queries)
    for field, values in (("prompts", prompts), ("labels", labels)):
        if values is None:
            continue
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise InputError(f"{field!r} must be a list with one item per query, got {type(values).__name__}")
        if len(values) != n:
            raise InputError(f"{field!r} has {len(values)} items but 'query' has {n}: give one per query")
    samples = []
    for i, query in enumerate(queries):
        if not isinstance(query, str):
            raise InputError(f"'query' item {i} must be a string, got {type(query).__name__}")
        prompt = prompts[i] if prompts is not None else None
        if prompt is not None and not isinstance(prompt, str):
            raise InputError(f"'prompts' item {i} must be a string, got {type(prompt).__name__}")
        label = labels[i] if labels is not None else None
        response, found = response_of(query, prompt)
        samples.append(
            Sample(completion=response, prompt=prompt, answer=label, tests=label, metadata={"prompt_found": found})
        )
    return samples


class OpenRLHFScorer:
    """A Reward in OpenRLHF's schema; `rewardsmith serve` and `reward_func` share it."""

    def __init__(self, reward: Reward, *, name: str | None = None, unscored_value: float = 0.0) -> None:
        self.reward = reward
        self.name = name or reward.name
        self.policy = UnscoredPolicy(unscored_value, who=f"rewardsmith OpenRLHF reward {self.name!r}")
        self.parts = part_keys(reward)
        self._warned_prompt = False

    def result(self, samples: list[Sample], scores: list[Score]) -> dict[str, Any]:
        """`{"rewards", "scores", "extra_logs"}` for scored samples (plain lists and floats)."""
        values = [self.policy.number(s) for s in scores]
        return {"rewards": values, "scores": list(values), "extra_logs": self.extra_logs(samples, scores)}

    def extra_logs(self, samples: list[Sample], scores: list[Score]) -> dict[str, float]:
        report = Report()
        report.extend(scores)
        metrics = report.metrics(self.name, all_statuses=True)
        base = f"rewards/{self.name}"
        n = report.total.count or 1
        logs = {f"{base}/mean": report.total.mean or 0.0, f"{base}/scored": report.total.scored / n}
        standard = 0.0
        for status in STANDARD_STATUSES:
            share = metrics.get(f"{base}/status/{status}", 0.0)
            logs[f"{base}/status/{status}"] = share
            standard += share
        logs[f"{base}/status/other"] = max(0.0, 1.0 - standard) if report.total.count else 0.0
        for part in self.parts:
            logs[f"{base}/{part}/mean"] = metrics.get(f"{base}/{part}/mean", 0.0)
        missing = sum(1 for s in samples if not s.metadata.get("prompt_found", True))
        logs[f"{base}/prompt_not_found"] = missing / n
        if missing and not self._warned_prompt:
            self._warned_prompt = True
            log.warning(
                "rewardsmith OpenRLHF reward %r: %d of %d queries do not contain their prompt; "
                "they were scored whole (is the prompt sent the one the query was decoded from?)",
                self.name,
                missing,
                len(samples),
            )
        return logs

    def __call__(
        self, queries: Sequence[Any], prompts: Sequence[Any] | None, labels: Sequence[Any] | None
    ) -> dict[str, Any]:
        samples = openrlhf_samples(queries, prompts, labels)
        return self.result(samples, self.reward.score_batch(samples))


_scorers: dict[tuple[str, float], OpenRLHFScorer] = {}


def reward_func(
    queries: Sequence[str],
    prompts: Sequence[str],
    labels: Sequence[Any],
    *,
    spec: str | None = None,
    unscored_value: float = 0.0,
    **kwargs: Any,
) -> dict[str, Any]:
    """OpenRLHF's in-process reward function: `rewards` and `scores` as float tensors (lists when torch is
    absent), `extra_logs` as floats. The reward (`spec=`, else `$REWARDSMITH_REWARD`) is built once.

    >>> out = reward_func(["Q: 2+2? A: \\\\boxed{4}</s>"], ["Q: 2+2? A:"], ["4"], spec="math")
    >>> out["rewards"].tolist(), out["extra_logs"]["rewards/math/status/ok"]
    ([1.0], 1.0)
    """
    chosen = resolve_spec(spec, who="rewardsmith.trainer_adapter.openrlhf.reward_func")
    key = (chosen, float(unscored_value))
    scorer = _scorers.get(key)
    if scorer is None:
        scorer = _scorers.setdefault(key, OpenRLHFScorer(reward_for(chosen), unscored_value=unscored_value))
    out = scorer(queries, prompts, labels)
    try:
        import torch
    except ImportError:
        return out
    out["rewards"] = torch.tensor(out["rewards"], dtype=torch.float32)
    out["scores"] = torch.tensor(out["scores"], dtype=torch.float32)
    return out
