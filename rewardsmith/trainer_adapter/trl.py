"""`to_trl`: any rewardsmith Reward as a reward function for TRL's GRPOTrainer.

TRL calls each reward function with keywords: `prompts`, `completions` (strings, or chat messages in
conversational datasets), `completion_ids`, one list per remaining dataset column, and, depending on the
trainer, `trainer_state`, `log_extra`, `log_metric` and `environments`. It expects one float per completion
back, None where a completion cannot be scored (TRL turns it into NaN and leaves it out of the group mean).

Policies:
- columns `answer` and `tests` become the Sample fields of that name; every other column (and
  `completion_ids`) goes into `Sample.metadata`, so `sample.get("column")` reads it;
- the whole batch is scored at once with the batch engine, so CPU-bound checks run in killable workers
  with their hard time limit and a hung verifier never stalls training;
- a Score with `value is None` (infrastructure failure) is returned as None, never as 0.0;
- `log_metric` (when TRL passes it) receives the mean of each part of a composite, unweighted, as
  `rewards/<name>/<part>/mean`, and the share of each status as `rewards/<name>/status/<status>`;
  the standard statuses are logged on every call, even at 0.0, so TRL's per-step average is a true share;
- `log_extra` (when passed) receives the per-completion reason as the column `<name>/reason`.

The adapters are instances of module-level classes holding the Reward, so they pickle (TRL's async GRPO
trainer scores in a spawned process); a Reward built from a SPEC is rebuilt from its SPEC when unpickled.
Under `accelerate launch` every process calls its own copy on its own shard of completions, so for CPU-bound
rewards the default worker count is the cores divided by `LOCAL_WORLD_SIZE`. With vLLM generation the call is the same.
"""

from __future__ import annotations

import inspect
import os
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.errors import UsageError
from rewardsmith.core.reward import Reward, as_reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

# Keywords TRL passes that are not dataset columns.
_TRAINER_KWARGS = frozenset({"trainer_state", "log_extra", "log_metric", "environments"})
# Logged on every call so that TRL's average over a logging step is a true share.
STANDARD_STATUSES = (
    S.OK,
    S.WRONG,
    S.NO_ANSWER,
    S.WRONG_FORMAT,
    S.TIMEOUT,
    S.RUNTIME_ERROR,
    S.ERROR,
    S.UNSCORED,
)


def samples_from_trl(
    prompts: Sequence[Any] | None,
    completions: Sequence[Any],
    completion_ids: Sequence[Any] | None,
    columns: dict[str, Any],
) -> list[Sample]:
    """One Sample per completion from TRL's keyword call (columns are lists aligned with completions)."""
    n = len(completions)
    for key, values in columns.items():
        if not isinstance(values, (list, tuple)) or len(values) != n:
            got = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
            raise UsageError(f"TRL column {key!r}: expected a list of {n} values (one per completion), got {got}")
    samples = []
    for i in range(n):
        metadata = {k: v[i] for k, v in columns.items() if k not in ("answer", "tests")}
        if completion_ids is not None:
            metadata["completion_ids"] = completion_ids[i]
        samples.append(
            Sample(
                completion=completions[i],
                prompt=prompts[i] if prompts is not None else None,
                answer=columns["answer"][i] if "answer" in columns else None,
                tests=columns["tests"][i] if "tests" in columns else None,
                metadata=metadata,
            )
        )
    return samples


def part_scores(score: Score, prefix: str = "") -> dict[str, dict[str, Any]]:
    """`{"part": score_dict, "part/sub": score_dict}` for every part of a composite Score, recursively."""
    out: dict[str, dict[str, Any]] = {}
    for name, part in (score.details.get("parts") or {}).items():
        key = f"{prefix}{name}"
        out[key] = part
        nested = part.get("details") or {}
        if nested.get("parts"):
            out.update(part_scores(Score(part.get("score"), details=nested), prefix=f"{key}/"))
    return out


def batch_metrics(name: str, scores: Sequence[Score]) -> dict[str, float]:
    """The metrics `to_trl` logs for one batch.

    - `rewards/<name>/<part>/mean`: mean unweighted value of each part over the items where it has one
      (a part that never ran, such as an untaken gate branch, is left out rather than logged as 0);
    - `rewards/<name>/status/<status>`: share of the batch per status of the total, every standard status;
    - `rewards/<name>/<part>/status/<status>`: share per status of each part, for statuses seen in the batch.
    """
    n = len(scores)
    metrics: dict[str, float] = {}
    values: dict[str, list[float]] = {}
    part_status: dict[str, Counter[str]] = {}
    for s in scores:
        for part, d in part_scores(s).items():
            values.setdefault(part, [])
            if d.get("score") is not None:
                values[part].append(d["score"])
            part_status.setdefault(part, Counter())[d.get("status") or S.OK] += 1
    for part, vals in values.items():
        if vals:
            metrics[f"rewards/{name}/{part}/mean"] = sum(vals) / len(vals)
    statuses = Counter(s.status for s in scores)
    for status in (*STANDARD_STATUSES, *sorted(set(statuses) - set(STANDARD_STATUSES))):
        metrics[f"rewards/{name}/status/{status}"] = statuses[status] / n if n else 0.0
    seen = {st for c in part_status.values() for st in c}
    for part, counts in part_status.items():
        for status in sorted(seen):
            metrics[f"rewards/{name}/{part}/status/{status}"] = counts[status] / n
    return metrics


def _default_workers(reward: Reward) -> int | None:
    """Cores per local process when several training processes share a node, else the engine's default.

    The engine's default (all cores for CPU-bound leaves, in-process for cheap ones) is right for one
    process; under `accelerate launch` N processes would each start a full pool, so the cores are split.
    """
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    if reward.kind != "cpu" or local <= 1:
        return None
    from rewardsmith.core.engine import cpu_count

    return max(1, cpu_count() // local)


class _TrlAdapter:
    """Shared state and logic of the sync and async adapters."""

    def __init__(
        self,
        reward: Reward,
        name: str | None = None,
        *,
        workers: int | None = None,
        timeout: float | None = None,
        log_parts: bool = True,
    ) -> None:
        self.reward = as_reward(reward, what="to_trl()")
        self.__name__ = name or self.reward.name
        if not isinstance(self.__name__, str) or not self.__name__:
            raise UsageError(f"to_trl(): name must be a non-empty string, got {name!r}")
        self.workers = workers
        self.timeout = timeout
        self.log_parts = log_parts
        # status metrics logged once are logged (as 0.0) on every later call, so that TRL's average over
        # a logging step stays a share of all batches, not of the batches where the status occurred
        self._sticky: set[str] = set()

    def _prepare(self, prompts: Any, completions: Any, completion_ids: Any, kwargs: dict[str, Any]) -> list[Sample]:
        if completions is None:
            raise UsageError(f"reward {self.__name__!r} was called without `completions`: call it the way TRL does")
        columns = {k: v for k, v in kwargs.items() if k not in _TRAINER_KWARGS}
        return samples_from_trl(prompts, completions, completion_ids, columns)

    def _batch_options(self) -> dict[str, Any]:
        workers = self.workers if self.workers is not None else _default_workers(self.reward)
        return {"workers": workers, "timeout": self.timeout}

    def _finish(self, scores: list[Score], kwargs: dict[str, Any]) -> list[float | None]:
        log_metric: Callable[[str, float], Any] | None = kwargs.get("log_metric")
        if log_metric is not None and self.log_parts:
            metrics = batch_metrics(self.__name__, scores)
            self._sticky.update(k for k in metrics if "/status/" in k)
            for key in sorted(self._sticky - set(metrics)):
                metrics[key] = 0.0
            for key, value in metrics.items():
                log_metric(key, value)
        log_extra: Callable[[str, list[Any]], Any] | None = kwargs.get("log_extra")
        if log_extra is not None and self.log_parts:
            log_extra(f"{self.__name__}/reason", [s.reason for s in scores])
        return [s.value for s in scores]

    def __reduce__(self) -> Any:
        # A Reward built from a SPEC is rebuilt from it in the other process: presets need not pickle.
        spec = getattr(self.reward, "spec", None)
        options = (self.__name__, self.workers, self.timeout, self.log_parts)
        return (_rebuild, (type(self), spec if spec else self.reward, options))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__name__!r} for {self.reward!r}>"


def _rebuild(cls: type[_TrlAdapter], reward: Reward | str, options: tuple[Any, ...]) -> _TrlAdapter:
    if isinstance(reward, str):
        from rewardsmith.core.spec import load

        reward = load(reward)
    name, workers, timeout, log_parts = options
    return cls(reward, name, workers=workers, timeout=timeout, log_parts=log_parts)


class TrlReward(_TrlAdapter):
    """A Reward as a synchronous TRL reward function (see `to_trl`)."""

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        samples = self._prepare(prompts, completions, completion_ids, kwargs)
        scores = self.reward.score_batch(samples, **self._batch_options())
        return self._finish(scores, kwargs)


async def _trl_async_call(
    self: AsyncTrlReward,
    prompts: Sequence[Any] | None = None,
    completions: Sequence[Any] | None = None,
    completion_ids: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    samples = self._prepare(prompts, completions, completion_ids, kwargs)
    scores = await self.reward.ascore_batch(samples, **self._batch_options())
    return self._finish(scores, kwargs)


class AsyncTrlReward(_TrlAdapter):
    """A Reward as an async TRL reward function, so TRL awaits it beside its other async rewards.

    `inspect.iscoroutinefunction` is False for an ordinary instance with `async def __call__` (older TRL
    releases test exactly that), so the class also carries the code-object attributes that make `inspect`
    treat an instance as a function: `iscoroutinefunction(instance)` is True on every Python we support,
    while `__name__` stays the reward's own name (a `functools.partial` would log the helper's name).
    """

    __call__ = _trl_async_call
    # What `inspect` reads to recognise a function-like object; class attributes, so nothing extra pickles.
    __code__ = _trl_async_call.__code__
    __defaults__ = None
    __kwdefaults__ = None
    __signature__ = inspect.signature(_trl_async_call).replace(
        parameters=list(inspect.signature(_trl_async_call).parameters.values())[1:]
    )


def to_trl(
    reward: Reward | Callable[..., Any],
    name: str | None = None,
    *,
    workers: int | None = None,
    timeout: float | None = None,
    log_parts: bool = True,
) -> TrlReward:
    """A reward function for `GRPOTrainer(reward_funcs=[...])` that scores with `reward`.

    `name` is what TRL logs (`rewards/<name>/mean`; default the reward's name). `workers` and
    `timeout` go to `score_batch` (defaults: cores per local process for CPU-bound rewards, and
    the reward's own time limit). `log_parts=False` turns off the part/status metrics.

    >>> import rewardsmith as rs
    >>> fn = to_trl(rs.load("exact"), name="exact_match")
    >>> fn(prompts=["2+2?", "2+2?"], completions=["4", "5"], answer=["4", "4"])
    [1.0, 0.0]
    >>> fn.__name__
    'exact_match'
    """
    return TrlReward(as_reward(reward, what="to_trl()"), name, workers=workers, timeout=timeout, log_parts=log_parts)


def to_trl_async(
    reward: Reward | Callable[..., Any],
    name: str | None = None,
    *,
    workers: int | None = None,
    timeout: float | None = None,
    log_parts: bool = True,
) -> AsyncTrlReward:
    """Like `to_trl`, but a coroutine function: TRL runs it concurrently with its other async rewards.

    Use it for I/O-bound rewards (LLM judges); for CPU-bound ones `to_trl` is the better fit.

    >>> import asyncio, inspect
    >>> import rewardsmith as rs
    >>> fn = to_trl_async(rs.load("exact"))
    >>> inspect.iscoroutinefunction(fn)
    True
    >>> asyncio.run(fn(prompts=["q"], completions=["4"], answer=["4"]))
    [1.0]
    """
    return AsyncTrlReward(
        as_reward(reward, what="to_trl_async()"), name, workers=workers, timeout=timeout, log_parts=log_parts
    )
