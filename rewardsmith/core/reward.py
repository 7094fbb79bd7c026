"""`Reward`: the one interface, with sync and async faces over one implementation.

A subclass implements `_score(sample)` (sync) or `async _ascore(sample)` and returns a
number or a Score; everything else (batching, timeouts, error capture, composition) is
inherited. `kind` tells the batch engine how to run it:

- "inline": cheap pure-Python checks, scored in-process in a plain loop;
- "cpu": work that can be slow or hang (SymPy, code), scored in killable worker processes;
- "io": async work (judges), scored concurrently on asyncio with a bound on requests in flight.

Where a batch actually runs is a backend's choice (`rewardsmith.core.backends`); `score_batch(...,
backend=...)` picks another one (a process pool with other limits, later Ray or a reward server).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from rewardsmith.core import interrupts
from rewardsmith.core import score as S
from rewardsmith.core.errors import UsageError
from rewardsmith.core.sample import Sample, as_sample
from rewardsmith.core.score import Score, coerce_value

if TYPE_CHECKING:
    from rewardsmith.core.backends import Backend
    from rewardsmith.core.engine import BatchOptions

Kind = Literal["inline", "cpu", "io"]
SampleLike = Sample | Mapping[str, Any] | str


class Reward:
    """Base class of every verifier, reward, judge and composite."""

    name: str = "reward"
    kind: Kind = "inline"
    #: default hard per-item time limit (seconds) the batch engine enforces; None = no limit
    #: (async rewards then get the engine's default deadline, 120 s, so nothing waits forever)
    timeout: float | None = None
    #: value given to an item that ran out of time: 0.0 when slowness is the model's fault
    #: (a verifier, status `timeout`), None when it is the infrastructure's (a judge that does not
    #: answer: status `unscored`)
    timeout_value: float | None = 0.0
    #: async requests in flight at once for this reward (None: the engine's default, 32)
    max_concurrency: int | None = None
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

    @property
    def batches_itself(self) -> bool:
        """True for a leaf that runs its own local batches (`_batch_locally`), such as the code
        verifier fanning out over its sandbox pool; the local backend then lets it."""
        return type(self)._batch_locally is not Reward._batch_locally

    def _batch_locally(self, samples: list[Sample], options: BatchOptions) -> list[Score]:
        raise NotImplementedError

    def _quick_score(self, sample: Sample) -> Score | float | None:
        """A cheap stage the process backend tries in the caller's process before the killable pool:
        a Score when it decides the item (a plain number equals the reference), None to send the item
        to a worker. Must be fast and unable to hang; the default decides nothing."""
        return None

    @property
    def has_quick_stage(self) -> bool:
        return type(self)._quick_score is not Reward._quick_score

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
        backend: Backend | None = None,
    ) -> list[Score]:
        """Score many samples; results come back in input order.

        `workers`: worker processes for CPU-bound rewards (default: the core count for
        kind "cpu", in-process otherwise). `timeout`: hard per-item limit in seconds that
        kills the worker (default: the reward's own `timeout`). `max_concurrency`: async
        requests in flight. `strict`: re-raise a reward's exception instead of recording it.
        `backend`: where the work runs (default: the process-wide `LocalBackend`).
        """
        from rewardsmith.core.engine import BatchOptions

        opts = BatchOptions(workers, timeout, progress, strict, max_concurrency, backend)
        return self._batch([as_sample(s) for s in samples], opts)

    async def ascore_batch(self, samples: Iterable[SampleLike], **options: Any) -> list[Score]:
        """`score_batch` for async callers: never blocks the running event loop."""
        from rewardsmith.core.engine import batch_options

        opts = batch_options(**options)
        return await self._abatch([as_sample(s) for s in samples], opts)

    def score_iter(self, samples: Iterable[SampleLike], *, chunk_size: int = 1024, **options: Any) -> Iterator[Score]:
        """Score a long or endless iterable lazily, in input order, holding one chunk at a time.

        >>> import rewardsmith as rs
        >>> rows = ({"completion": str(i), "answer": "3"} for i in range(5))
        >>> [s.value for s in rs.load("exact").score_iter(rows, chunk_size=2)]
        [0.0, 0.0, 0.0, 1.0, 0.0]
        """
        from rewardsmith.core.engine import batch_options, score_stream

        opts = batch_options(**options)
        for chunk in score_stream(self, (as_sample(s) for s in samples), opts, chunk_size=chunk_size):
            yield from chunk

    def __call__(self, sample: SampleLike) -> Score:
        return self.score(sample)

    # -- the engine's hooks; composites override these -------------------------------------
    def _batch(self, samples: list[Sample], opts: BatchOptions) -> list[Score]:
        return opts.resolved_backend().run(self, samples, opts)

    async def _abatch(self, samples: list[Sample], opts: BatchOptions) -> list[Score]:
        return await opts.resolved_backend().arun(self, samples, opts)

    def _score_one(self, sample: Sample, strict: bool) -> Score:
        if self.is_async:
            from rewardsmith.core.aio import run_sync

            return run_sync(self._ascore_one(sample, strict))
        try:
            return self._finish(self._score(sample))
        except UsageError:
            raise
        except BaseException as exc:  # noqa: B036  (sys.exit or KeyboardInterrupt in a reward: that row's error)
            if strict or interrupts.is_real_interrupt(exc):
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
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: B036
            if strict or interrupts.is_real_interrupt(exc):
                from rewardsmith.core.aio import escape

                raise escape(exc) from None
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
    """The Score of an item whose reward raised: value None, status `error`, the traceback in details.

    A raising reward is a bug in the reward, not a sample outcome: the traceback travels with the
    Score so that `to_trl` and the CLI can show it (see `rewardsmith.core.report`).
    """
    return Score(
        None,
        f"{reward.name} raised {type(exc).__name__}: {exc}",
        S.ERROR,
        {
            "exception": type(exc).__name__,
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:],
        },
    )


_UNSET: Any = object()


class FunctionReward(Reward):
    """A plain function `f(sample) -> float | Score` (sync or async) as a Reward.

    An async function is kind "io": its items that run out of time are unscored (value None)
    unless `timeout_value` says otherwise, since a slow call is the infrastructure's fault.
    """

    def __init__(
        self,
        fn: Callable[[Sample], Any] | Callable[[Sample], Awaitable[Any]],
        *,
        name: str | None = None,
        kind: Kind | None = None,
        timeout: float | None = None,
        timeout_value: float | None = _UNSET,
        max_concurrency: int | None = None,
    ) -> None:
        if not callable(fn):
            raise UsageError(f"@reward needs a function, got {type(fn).__name__}")
        if kind is not None and kind not in ("inline", "cpu", "io"):
            raise UsageError(f"@reward(kind=...) must be 'inline', 'cpu' or 'io', got {kind!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise UsageError(f"@reward(timeout=...) must be a positive number of seconds, got {timeout!r}")
        if max_concurrency is not None and (not isinstance(max_concurrency, int) or max_concurrency < 1):
            raise UsageError(f"@reward(max_concurrency=...) must be a positive integer, got {max_concurrency!r}")
        self.fn = fn
        self.name = name or str(getattr(fn, "__name__", "reward"))
        self._async = inspect.iscoroutinefunction(fn)
        self.kind = kind or ("io" if self._async else "inline")
        self.timeout = timeout
        self.timeout_value = (None if self._async else 0.0) if timeout_value is _UNSET else timeout_value
        self.max_concurrency = max_concurrency
        self.__doc__ = getattr(fn, "__doc__", None)

    @property
    def is_async(self) -> bool:
        return self._async

    def _score(self, sample: Sample) -> Score | float:
        return self.fn(sample)  # type: ignore[return-value]

    async def _ascore(self, sample: Sample) -> Score | float:
        return await self.fn(sample)

    def _options(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "timeout": self.timeout,
            "timeout_value": self.timeout_value,
            "max_concurrency": self.max_concurrency,
        }

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
        return (_rebuild_function_reward, (self.fn, self._options()))


def _import_attr(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _rebuild_function_reward(fn: Callable[..., Any], options: dict[str, Any]) -> FunctionReward:
    return FunctionReward(fn, **options)


def reward(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    kind: Kind | None = None,
    timeout: float | None = None,
    timeout_value: float | None = _UNSET,
    max_concurrency: int | None = None,
) -> Any:
    """Turn `def f(sample) -> float | Score` (or `async def`) into a Reward.

    `kind`: "inline" (default for sync), "cpu" (worker processes), "io" (default for async).
    `timeout`: hard per-item limit in seconds; `timeout_value`: the value of an item that ran out
    of time (default 0.0 for sync functions, None = unscored for async ones).
    `max_concurrency`: async calls in flight at once.

    >>> import rewardsmith
    >>> @rewardsmith.reward
    ... def short(sample):
    ...     return 1.0 if len(sample.text) < 20 else 0.0
    >>> short.score({"completion": "42"}).value
    1.0
    """

    def wrap(f: Callable[..., Any]) -> FunctionReward:
        return FunctionReward(
            f, name=name, kind=kind, timeout=timeout, timeout_value=timeout_value, max_concurrency=max_concurrency
        )

    return wrap(fn) if fn is not None else wrap


def as_reward(obj: Any, *, what: str = "reward") -> Reward:
    """A Reward, or a function wrapped as one; anything else is a UsageError.

    A function with a `completions` parameter is a TRL reward function (called once per batch with
    column lists, see `rewardsmith.trainer_adapter.from_trl`); any other is `f(sample) -> float | Score`.
    """
    if isinstance(obj, Reward):
        return obj
    if callable(obj) and not isinstance(obj, type):
        from rewardsmith.core.batch_function import BatchFunctionReward, takes_columns

        if takes_columns(obj):
            return BatchFunctionReward(obj)
        return FunctionReward(obj)
    raise UsageError(
        f"{what}: expected a rewardsmith.Reward, a function f(sample) -> float | Score, or a TRL reward function "
        f"f(prompts, completions, **kwargs) -> list[float | None], got {type(obj).__name__}"
    )
