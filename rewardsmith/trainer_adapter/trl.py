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
- a reward that *raises* is a bug, and is loud: when every completion of a batch raised, the call raises
  `RewardError` with the first traceback and the sample; when some did, a `RewardErrorWarning` with the
  traceback is shown once per exception type and the share is logged (`strict=True` raises on the first);
- `log_metric` (when TRL passes it) receives the mean of each part of a composite, unweighted, as
  `rewards/<name>/<part>/mean`, the share of each status seen as `rewards/<name>/status/<status>` (and
  per part for statuses other than ok), and judge counters as `rewards/<name>/judge/<counter>`. A status
  logged once is logged on every later call (0.0 when absent), so TRL's per-step average is a true
  share. `log_parts="all"` logs every standard status from the start; `log_parts=False` nothing;
- `log_extra` (when passed) receives the per-completion reason as the column `<name>/reason`.

The adapters are instances of module-level classes holding the Reward, so they pickle (TRL's async GRPO
trainer scores in a spawned process); a Reward built from a SPEC is rebuilt from its SPEC when unpickled.
Under `accelerate launch` every process calls its own copy on its own shard of completions, so for CPU-bound
rewards the default worker count is the cores divided by `LOCAL_WORLD_SIZE`. With vLLM generation the call is the same.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

from rewardsmith.core.batch_function import BatchFunctionReward
from rewardsmith.core.errors import RewardError, UsageError
from rewardsmith.core.report import Report
from rewardsmith.core.reward import Reward, as_reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

# Keywords TRL passes that are not dataset columns.
_TRAINER_KWARGS = frozenset({"trainer_state", "log_extra", "log_metric", "environments"})
LogParts = bool | Literal["all"]


class RewardErrorWarning(RuntimeWarning):
    """A reward raised on some completions of a batch (their value is None: TRL leaves them out)."""


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
        log_parts: LogParts = True,
        strict: bool = False,
    ) -> None:
        self.reward = as_reward(reward, what="to_trl()")
        self.__name__ = name or self.reward.name
        if not isinstance(self.__name__, str) or not self.__name__:
            raise UsageError(f"to_trl(): name must be a non-empty string, got {name!r}")
        if log_parts not in (True, False, "all"):
            raise UsageError(f"to_trl(): log_parts must be True, False or 'all', got {log_parts!r}")
        self.workers = workers
        self.timeout = timeout
        self.log_parts = log_parts
        self.strict = strict
        # status metrics logged once are logged (as 0.0) on every later call, so that TRL's average over
        # a logging step stays a share of all batches, not of the batches where the status occurred
        self._sticky: set[str] = set()
        self._warned: set[str] = set()

    def _prepare(self, prompts: Any, completions: Any, completion_ids: Any, kwargs: dict[str, Any]) -> list[Sample]:
        if completions is None:
            raise UsageError(f"reward {self.__name__!r} was called without `completions`: call it the way TRL does")
        columns = {k: v for k, v in kwargs.items() if k not in _TRAINER_KWARGS}
        return samples_from_trl(prompts, completions, completion_ids, columns)

    def _batch_options(self) -> dict[str, Any]:
        workers = self.workers if self.workers is not None else _default_workers(self.reward)
        return {"workers": workers, "timeout": self.timeout, "strict": self.strict}

    def _finish(self, scores: list[Score], samples: list[Sample], kwargs: dict[str, Any]) -> list[float | None]:
        report = Report()
        report.extend(scores)
        self._loud_errors(report, samples)
        log_metric: Callable[[str, float], Any] | None = kwargs.get("log_metric")
        if log_metric is not None and self.log_parts:
            metrics = report.metrics(self.__name__, all_statuses=self.log_parts == "all")
            self._sticky.update(k for k in metrics if "/status/" in k)
            for key in sorted(self._sticky - set(metrics)):
                metrics[key] = 0.0
            for key, value in metrics.items():
                log_metric(key, value)
        log_extra: Callable[[str, list[Any]], Any] | None = kwargs.get("log_extra")
        if log_extra is not None and self.log_parts:
            log_extra(f"{self.__name__}/reason", [s.reason for s in scores])
        return [s.value for s in scores]

    def _loud_errors(self, report: Report, samples: list[Sample]) -> None:
        """A reward that raised is a bug: raise when it raised on the whole batch, warn once per kind."""
        if not report.errors:
            return
        if report.all_failed:
            kind, first = next(iter(report.errors.items()))
            sample = samples[first.index or 0]
            raise RewardError(
                f"reward {self.__name__!r} raised on every completion of the batch ({report.total.count}): "
                f"{first.reason}\nfirst failing sample: prompt={_short(sample.prompt)} "
                f"completion={_short(sample.completion)}\n{first.traceback}"
            )
        for kind, seen in report.errors.items():
            if kind in self._warned:
                continue
            self._warned.add(kind)
            share = seen.count / report.total.count
            warnings.warn(
                RewardErrorWarning(
                    f"reward {self.__name__!r} raised {kind} on {seen.count} of {report.total.count} completions "
                    f"({share:.0%}); they score None (TRL leaves them out of the mean) and the share is logged as "
                    f"rewards/{self.__name__}/status/error. First: {seen.reason}\n{seen.traceback}"
                ),
                stacklevel=3,
            )

    def __reduce__(self) -> Any:
        # A Reward built from a SPEC is rebuilt from it in the other process: presets need not pickle.
        spec = getattr(self.reward, "spec", None)
        options = (self.__name__, self.workers, self.timeout, self.log_parts, self.strict)
        return (_rebuild, (type(self), spec if spec else self.reward, options))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__name__!r} for {self.reward!r}>"


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _rebuild(cls: type[_TrlAdapter], reward: Reward | str, options: tuple[Any, ...]) -> _TrlAdapter:
    if isinstance(reward, str):
        from rewardsmith.core.spec import load

        reward = load(reward)
    name, workers, timeout, log_parts, strict = options
    return cls(reward, name, workers=workers, timeout=timeout, log_parts=log_parts, strict=strict)


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
        return self._finish(scores, samples, kwargs)


async def _trl_async_call(
    self: AsyncTrlReward,
    prompts: Sequence[Any] | None = None,
    completions: Sequence[Any] | None = None,
    completion_ids: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    samples = self._prepare(prompts, completions, completion_ids, kwargs)
    scores = await self.reward.ascore_batch(samples, **self._batch_options())
    return self._finish(scores, samples, kwargs)


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
    log_parts: LogParts = True,
    strict: bool = False,
) -> TrlReward:
    """A reward function for `GRPOTrainer(reward_funcs=[...])` that scores with `reward`.

    `name` is what TRL logs (`rewards/<name>/mean`; default the reward's name). `workers` and
    `timeout` go to `score_batch` (defaults: cores per local process for CPU-bound rewards, and
    the reward's own time limit). `log_parts`: True logs part means and the shares of the statuses
    seen; "all" every standard status from the first step; False no extra metrics. `strict=True`
    raises the first exception a reward raises instead of warning. Needs only the core install.

    >>> import rewardsmith as rs
    >>> fn = to_trl(rs.load("exact"), name="exact_match")
    >>> fn(prompts=["2+2?", "2+2?"], completions=["4", "5"], answer=["4", "4"])
    [1.0, 0.0]
    >>> fn.__name__
    'exact_match'
    """
    return TrlReward(
        as_reward(reward, what="to_trl()"), name, workers=workers, timeout=timeout, log_parts=log_parts, strict=strict
    )


def to_trl_async(
    reward: Reward | Callable[..., Any],
    name: str | None = None,
    *,
    workers: int | None = None,
    timeout: float | None = None,
    log_parts: LogParts = True,
    strict: bool = False,
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
        as_reward(reward, what="to_trl_async()"),
        name,
        workers=workers,
        timeout=timeout,
        log_parts=log_parts,
        strict=strict,
    )


def from_trl(func: Callable[..., Any], name: str | None = None, *, timeout: float | None = None) -> Reward:
    """An existing TRL reward function as a Reward, called once per batch with column lists.

    `func(prompts, completions, **kwargs) -> list[float | None]`, sync or async: what TRL's
    `GRPOTrainer(reward_funcs=[...])` accepts. None in its result is an unscored item. It then composes,
    batches, reports and goes back into TRL (`to_trl`) like any reward; `--reward file.py:func` on the
    command line recognises such a function by its `completions` parameter.

    >>> def short(completions, **kwargs):
    ...     return [1.0 if len(c) < 10 else 0.0 for c in completions]
    >>> reward = from_trl(short)
    >>> [s.value for s in reward.score_batch(["tiny", "far too long to pass"])]
    [1.0, 0.0]
    """
    return BatchFunctionReward(func, name=name, timeout=timeout)
