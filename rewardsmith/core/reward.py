"""`Reward`: the one interface, with sync and async faces over one implementation.

A subclass implements `_score(sample)` (sync) or `async _ascore(sample)` and returns a
number or a Score; everything else (batching, timeouts, error capture, composition) is
inherited. `kind` tells the batch engine how to run it:

- "inline": cheap pure-Python checks, scored in-process in a plain loop;
- "cpu": work that can be slow or hang (SymPy, code), scored in killable worker processes;
- "io": async work (judges), scored concurrently on asyncio with a bound on requests in flight.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal

from rewardsmith.core import score as S
from rewardsmith.core.errors import UsageError
from rewardsmith.core.sample import Sample, as_sample
from rewardsmith.core.score import Score, coerce_value

Kind = Literal["inline", "cpu", "io"]
SampleLike = Sample | Mapping[str, Any] | str


class Reward:
    """Base class of every verifier, reward, judge and composite."""

    name: str = "reward"
    kind: Kind = "inline"
    #: default hard per-item time limit (seconds) the batch engine enforces; None = no limit
    timeout: float | None = None
    #: value given to an item that ran out of time: 0.0 when slowness is the model's fault
    #: (a verifier), None when it is the infrastructure's (a judge that does not answer)
    timeout_value: float | None = 0.0
    #: the SPEC string this reward was built from, so it can be rebuilt (`rewardsmith.load`)
    spec: str | None = None

    # -- what subclasses implement -------------------------------------------------------
    def _score(self, sample: Sample) -> Score | float:
        raise NotImplementedError(f"{type(self).__name__} implements neither _score nor _ascore")

    async def _ascore(self, sample: Sample) -> Score | float:
        raise NotImplementedError

    @property
    def is_async(self) -> bool:
        return type(self)._ascore is not Reward._ascore

    @property
    def parts(self) -> list[Reward]:
        """Sub-rewards of a composite (empty for a leaf)."""
        return []

    # -- public faces ----------------------------------------------------------------------
    def score(self, sample: SampleLike, *, strict: bool = False) -> Score:
        """Score one sample in this process. An exception becomes status `error` unless strict."""
        return self._score_one(as_sample(sample), strict)

    async def ascore(self, sample: SampleLike, *, strict: bool = False) -> Score:
        """Score one sample from async code; sync CPU-bound rewards run in a thread."""
        return await self._ascore_one(as_sample(sample), strict)

    def score_batch(
        self,
        samples: Iterable[SampleLike],
        *,
        workers: int | None = None,
        timeout: float | None = None,
        progress: bool = False,
        strict: bool = False,
        max_concurrency: int | None = None,
    ) -> list[Score]:
        """Score many samples; results come back in input order.

        `workers`: worker processes for CPU-bound rewards (default: the core count for
        kind "cpu", in-process otherwise). `timeout`: hard per-item limit in seconds that
        kills the worker (default: the reward's own `timeout`). `max_concurrency`: async
        requests in flight. `strict`: re-raise a reward's exception instead of recording it.
        """
        from rewardsmith.core.engine import BatchOptions

        opts = BatchOptions(workers, timeout, progress, strict, max_concurrency)
        return self._batch([as_sample(s) for s in samples], opts)

    async def ascore_batch(self, samples: Iterable[SampleLike], **options: Any) -> list[Score]:
        """`score_batch` for async callers: never blocks the running event loop."""
        from rewardsmith.core.engine import BatchOptions, abatch_leaf

        opts = BatchOptions(**options)
        items = [as_sample(s) for s in samples]
        if self.is_async and not self.parts:
            return await abatch_leaf(self, items, opts)
        return await asyncio.to_thread(self._batch, items, opts)

    def __call__(self, sample: SampleLike) -> Score:
        return self.score(sample)

    # -- the engine's hooks; composites override these -------------------------------------
    def _batch(self, samples: list[Sample], opts: Any) -> list[Score]:
        from rewardsmith.core.engine import batch_leaf

        return batch_leaf(self, samples, opts)

    def _score_one(self, sample: Sample, strict: bool) -> Score:
        if self.is_async:
            from rewardsmith.core.engine import run_sync

            return run_sync(self._ascore_one(sample, strict))
        try:
            return self._finish(self._score(sample))
        except UsageError:
            raise
        except Exception as exc:
            if strict:
                raise
            return error_score(self, exc)

    async def _ascore_one(self, sample: Sample, strict: bool) -> Score:
        if not self.is_async:
            if self.kind == "inline":
                return self._score_one(sample, strict)
            return await asyncio.to_thread(self._score_one, sample, strict)
        try:
            return self._finish(await self._ascore(sample))
        except UsageError:
            raise
        except Exception as exc:
            if strict:
                raise
            return error_score(self, exc)

    def _finish(self, result: Score | float) -> Score:
        if isinstance(result, Score):
            if result.value is not None:
                result.value = coerce_value(result.value, who=self.name)
            return result
        return Score(coerce_value(result, who=self.name))

    # -- composition -----------------------------------------------------------------------
    def __add__(self, other: Reward | float) -> Reward:
        from rewardsmith.core.compose import weighted_sum

        return weighted_sum(self, other)

    def __radd__(self, other: Reward | float) -> Reward:
        if isinstance(other, (int, float)) and other == 0:  # lets sum([a, b]) work
            return self
        from rewardsmith.core.compose import weighted_sum

        return weighted_sum(other, self)

    def __sub__(self, other: Reward | float) -> Reward:
        return self + (-other)

    def __rsub__(self, other: Reward | float) -> Reward:
        return (-self) + other

    def __mul__(self, weight: float) -> Reward:
        from rewardsmith.core.compose import Weighted

        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            return NotImplemented
        return Weighted([(self, float(weight))])

    __rmul__ = __mul__

    def __neg__(self) -> Reward:
        return self * -1.0

    def clip(self, lo: float | None = None, hi: float | None = None) -> Reward:
        """This reward with its value clipped to [lo, hi]."""
        from rewardsmith.core.compose import Clip

        return Clip(self, lo, hi)

    def named(self, name: str) -> Reward:
        """Rename in place (the name TRL logs and a composite lists the part under)."""
        self.name = name
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def error_score(reward: Reward, exc: BaseException) -> Score:
    """The Score of an item whose reward raised: unscored (value None), status `error`."""
    return Score(
        None,
        f"{reward.name} raised {type(exc).__name__}: {exc}",
        S.ERROR,
        {"exception": type(exc).__name__},
    )


def timeout_score(reward: Reward, limit: float) -> Score:
    return Score(
        reward.timeout_value,
        f"{reward.name} ran past its {limit:g} s time limit and was stopped",
        S.TIMEOUT,
        {"timeout_s": limit},
    )


class FunctionReward(Reward):
    """A plain function `f(sample) -> float | Score` (sync or async) as a Reward."""

    def __init__(
        self,
        fn: Callable[[Sample], Any] | Callable[[Sample], Awaitable[Any]],
        *,
        name: str | None = None,
        kind: Kind | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(fn):
            raise UsageError(f"@reward needs a function, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "reward")
        self._async = inspect.iscoroutinefunction(fn)
        self.kind = kind or ("io" if self._async else "inline")
        self.timeout = timeout
        self.__doc__ = getattr(fn, "__doc__", None)

    @property
    def is_async(self) -> bool:
        return self._async

    def _score(self, sample: Sample) -> Score | float:
        return self.fn(sample)

    async def _ascore(self, sample: Sample) -> Score | float:
        return await self.fn(sample)

    def __reduce__(self) -> Any:
        # `@reward` replaces the module attribute with this object, so pickle by reference
        # to that attribute (TRL's async trainer pickles reward functions across processes).
        module, qualname = getattr(self.fn, "__module__", None), getattr(self.fn, "__qualname__", "")
        if module and "<" not in qualname:
            try:
                if _import_attr(module, qualname) is self:
                    return (_import_attr, (module, qualname))
            except (ImportError, AttributeError):
                pass
        return (_rebuild_function_reward, (self.fn, self.name, self.kind, self.timeout))


def _import_attr(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _rebuild_function_reward(fn: Callable[..., Any], name: str, kind: Kind, timeout: float | None) -> FunctionReward:
    return FunctionReward(fn, name=name, kind=kind, timeout=timeout)


def reward(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    kind: Kind | None = None,
    timeout: float | None = None,
) -> Any:
    """Turn `def f(sample) -> float | Score` (or `async def`) into a Reward.

    >>> import rewardsmith
    >>> @rewardsmith.reward
    ... def short(sample):
    ...     return 1.0 if len(sample.text) < 20 else 0.0
    >>> short.score({"completion": "42"}).value
    1.0
    """

    def wrap(f: Callable[..., Any]) -> FunctionReward:
        return FunctionReward(f, name=name, kind=kind, timeout=timeout)

    return wrap(fn) if fn is not None else wrap


def as_reward(obj: Any, *, what: str = "reward") -> Reward:
    """A Reward, or a plain function wrapped as one; anything else is a UsageError."""
    if isinstance(obj, Reward):
        return obj
    if callable(obj) and not isinstance(obj, type):
        return FunctionReward(obj)
    raise UsageError(
        f"{what}: expected a rewardsmith.Reward or a function f(sample) -> float | Score, got {type(obj).__name__}"
    )
