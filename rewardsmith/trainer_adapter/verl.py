"""verl: rewardsmith rewards as verl's custom reward function.

verl's reward managers load a function from `reward.custom_reward_function.path` / `.name` and call it
by keyword for each response: `compute_score(data_source=..., solution_str=..., ground_truth=...,
extra_info=..., **reward_kwargs)`, awaiting it when it is a coroutine function. So the whole
configuration is (docs/scaleout.md has the full command)::

    reward.custom_reward_function.path=pkg://rewardsmith.trainer_adapter.verl
    reward.custom_reward_function.name=compute_score          # or acompute_score (async)
    +reward.custom_reward_function.reward_kwargs.spec=math
    reward.reward_manager.name=remote                          # CPU-heavy verifiers: scoring off the event loop

Policies:
- the SPEC comes from `spec=` (a SPEC, or a mapping from `data_source` to SPEC with an optional
  `default`, or that mapping as a JSON string), else `$REWARDSMITH_REWARD`; each reward is built once
  per process;
- `solution_str` is the completion; `ground_truth` is the Sample's `answer`, and its `tests` too unless
  `extra_info` has `tests` (code datasets keep their tests in `ground_truth`); `extra_info["prompt"]` or
  `["question"]` is the prompt; every `extra_info` key and `data_source` go into `Sample.metadata`;
- the result is `{"score": float, "scored": 1.0|0.0, "status": str, "reason": str, "parts/<part>": float, …}`
  with the same keys for every sample of a run (the parts of every reward the SPEC can choose), because
  verl stacks these values per key across the batch;
- an unscored item (value None) gets `unscored_value` (default 0.0) in `score`, `scored` 0.0, and a
  warning with its reason: verl's reward tensor cannot hold a missing value, so it is said out loud;
- each call goes through the batch engine, so CPU-bound checks run in killable worker processes under
  their hard time limit; `compute_score_batch` scores verl's batch reward manager's lists in one batch.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from rewardsmith.core.errors import SpecError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.trainer_adapter.common import UnscoredPolicy, part_keys, resolve_spec, reward_for

__all__ = ["acompute_score", "compute_score", "compute_score_batch", "verl_sample"]

WHO = "rewardsmith verl compute_score"
DEFAULT_KEY = "default"


class _Choice:
    """The rewards one `spec` value can choose from, and the result keys they share."""

    def __init__(self, spec: Any, unscored_value: float) -> None:
        self.by_source: dict[str, Reward] = {}
        self.default: Reward | None = None
        mapping = _as_mapping(spec)
        if mapping is None:
            self.default = reward_for(resolve_spec(spec, who=WHO))
        else:
            for source, item in mapping.items():
                reward = reward_for(resolve_spec(str(item), who=f"{WHO} (spec for data_source {source!r})"))
                if source == DEFAULT_KEY:
                    self.default = reward
                else:
                    self.by_source[str(source)] = reward
        rewards = [*self.by_source.values(), *([self.default] if self.default is not None else [])]
        seen: dict[str, None] = {}
        for reward in rewards:
            seen.update(dict.fromkeys(f"parts/{k}" for k in part_keys(reward)))
        self.part_keys = list(seen)
        self.policy = UnscoredPolicy(unscored_value, who=WHO)

    def reward(self, data_source: Any) -> Reward:
        reward = self.by_source.get(str(data_source), self.default)
        if reward is None:
            known = ", ".join(sorted(self.by_source)) or "none"
            raise SpecError(
                f"{WHO}: no SPEC for data_source {data_source!r} (spec maps: {known}); "
                f"add it to the mapping or give a {DEFAULT_KEY!r} entry"
            )
        return reward


def _as_mapping(spec: Any) -> Mapping[str, Any] | None:
    if isinstance(spec, Mapping):  # a dict, or the DictConfig verl passes reward_kwargs as
        return {str(k): v for k, v in spec.items()}
    if isinstance(spec, str) and spec.lstrip().startswith("{"):
        try:
            parsed = json.loads(spec)
        except ValueError as exc:
            raise SpecError(f"{WHO}: spec looks like a JSON mapping but does not parse ({exc})") from None
        if not isinstance(parsed, dict):
            raise SpecError(f"{WHO}: a JSON spec must map data_source to SPEC, got {type(parsed).__name__}")
        return parsed
    return None


_choices: dict[str, _Choice] = {}
_choices_lock = threading.Lock()


def _choice(spec: Any, unscored_value: float) -> _Choice:
    """The `_Choice` of these keywords, built on the first call of the process and reused."""
    if isinstance(spec, Mapping):
        spec = {str(k): v for k, v in spec.items()}
    elif _as_mapping(spec) is None:
        spec = resolve_spec(spec, who=WHO)  # `$REWARDSMITH_REWARD` is read on each call, built once
    key = json.dumps([spec, unscored_value], sort_keys=True, default=str)
    choice = _choices.get(key)
    if choice is None:
        with _choices_lock:
            choice = _choices.get(key)
            if choice is None:
                choice = _choices[key] = _Choice(spec, unscored_value)
    return choice


def verl_sample(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None) -> Sample:
    """The Sample of one verl call (see the module docstring for the mapping)."""
    info = dict(extra_info or {})
    prompt = info.get("prompt", info.get("question"))
    tests = info.get("tests", ground_truth)
    metadata = {k: v for k, v in info.items() if k not in ("prompt", "tests")}
    metadata["data_source"] = data_source
    return Sample(
        completion=solution_str,
        prompt=prompt if isinstance(prompt, (str, list)) else None,
        answer=ground_truth,
        tests=tests,
        metadata=metadata,
    )


def _result(choice: _Choice, score: Score) -> dict[str, Any]:
    out: dict[str, Any] = {
        "score": choice.policy.number(score),
        "scored": 0.0 if score.value is None else 1.0,
        "status": score.status,
        "reason": score.reason[:500],
    }
    from rewardsmith.core.report import part_scores

    parts = part_scores(score)
    for key in choice.part_keys:
        value = parts.get(key[len("parts/") :], {}).get("score")
        out[key] = 0.0 if value is None else float(value)
    return out


def _prepare(
    spec: Any, unscored_value: float, data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any
) -> tuple[_Choice, Reward, Sample]:
    choice = _choice(spec, unscored_value)
    return choice, choice.reward(data_source), verl_sample(data_source, solution_str, ground_truth, extra_info)


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    spec: Any = None,
    unscored_value: float = 0.0,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one verl response; `spec` and `unscored_value` come from `reward_kwargs`.

    Other keywords verl adds (`reward_router_address`, …) are accepted and ignored.

    >>> r = compute_score(data_source="gsm8k", solution_str="so \\\\boxed{4}", ground_truth="4", spec="math")
    >>> r["score"], r["status"], r["scored"]
    (1.0, 'ok', 1.0)
    """
    choice, reward, sample = _prepare(spec, unscored_value, data_source, solution_str, ground_truth, extra_info)
    return _result(choice, reward.score_batch([sample])[0])


async def acompute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    spec: Any = None,
    unscored_value: float = 0.0,
    **kwargs: Any,
) -> dict[str, Any]:
    """`compute_score` as a coroutine function: verl awaits it on its reward loop (judges, I/O-bound
    rewards) instead of running it in a thread. Same arguments, same result."""
    choice, reward, sample = _prepare(spec, unscored_value, data_source, solution_str, ground_truth, extra_info)
    scores = await reward.ascore_batch([sample])
    return _result(choice, scores[0])


def compute_score_batch(
    data_sources: list[Any],
    solution_strs: list[str],
    ground_truths: list[Any],
    extra_infos: list[Mapping[str, Any] | None] | None = None,
    *,
    spec: Any = None,
    unscored_value: float = 0.0,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """For verl's batch reward manager (`reward_model.reward_manager=batch` in verl releases that have
    it): one call per batch, each reward's samples scored in one engine batch, results in order."""
    n = len(solution_strs)
    if len(data_sources) != n or len(ground_truths) != n or (extra_infos is not None and len(extra_infos) != n):
        raise SpecError(f"{WHO}: data_sources, solution_strs, ground_truths and extra_infos must all have {n} items")
    choice = _choice(spec, unscored_value)
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    groups: dict[int, tuple[Reward, list[int]]] = {}
    for i, source in enumerate(data_sources):
        reward = choice.reward(source)
        groups.setdefault(id(reward), (reward, []))[1].append(i)
    out: list[dict[str, Any] | None] = [None] * n
    for reward, idx in groups.values():
        samples = [verl_sample(data_sources[i], solution_strs[i], ground_truths[i], infos[i]) for i in idx]
        for i, score in zip(idx, reward.score_batch(samples), strict=True):
            out[i] = _result(choice, score)
    return out  # type: ignore[return-value]
