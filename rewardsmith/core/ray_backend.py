"""`RayBackend`: leaf rewards scored by a fixed pool of Ray actors, for runs that outgrow one machine.

Each actor rebuilds a reward once (from its SPEC with `rewardsmith.load`, else from its pickle) and
scores the chunks it is sent with the local engine (`reward._batch(chunk, BatchOptions(...))` on the
default `LocalBackend`), so per-item time limits, statuses and error capture are exactly the local
engine's: only where the work runs changes. Chunks go to whichever actor is free; results come back
in input order. An actor that dies (or stops answering) mid-chunk is replaced and the chunk retried on
the new one; a chunk that fails again is split in two, so one item that kills its actor costs that
item alone, which is then `unscored` (value None) with the reason.

Connecting follows what verl and OpenRLHF users expect: a Ray that is already initialised (inside a
trainer it is) is reused; else `address=` or `RAY_ADDRESS`; else, since the caller asked for the Ray
backend by name, a local instance is started, with a warning saying so. `ray` is imported only here
and only when a batch runs (`pip install 'rewardsmith[ray]'`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardsmith.core import score as S
from rewardsmith.core.backends import DEFAULT_IO_TIMEOUT_S, DEFAULT_MAX_CONCURRENCY, Backend, progress_bar
from rewardsmith.core.errors import UsageError, tag_sample
from rewardsmith.core.score import Score

if TYPE_CHECKING:
    from rewardsmith.core.engine import BatchOptions
    from rewardsmith.core.reward import Reward
    from rewardsmith.core.sample import Sample

log = logging.getLogger("rewardsmith.ray")

#: how long to wait for the actors of a new pool to be placed before saying why they are not
PLACEMENT_TIMEOUT_S = 120.0
#: added to a chunk's own time budget before its actor is declared hung (a guard, not the item limit)
CHUNK_SLACK_S = 60.0
#: reward attributes carried to the actor and set on a reward rebuilt from its SPEC, so that
#: `load("math").named("acc")` or a changed `timeout` is the same reward there
_CARRIED = ("name", "kind", "timeout", "timeout_value", "max_concurrency")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "the Ray backend needs Ray: pip install 'rewardsmith[ray]' (or pip install 'ray[data]')"
        ) from None
    return ray


def connect(address: str | None = None, **init_kwargs: Any) -> str:
    """Make sure this process is connected to Ray; returns how: 'reused', 'connected' or 'started'.

    Never starts a second Ray: an initialised one is reused. `address` (else `RAY_ADDRESS`) joins a
    running cluster; with neither, a local instance is started, with a warning, because the caller
    asked for the Ray backend and there is nothing else to run it on.
    """
    ray = import_ray()
    if ray.is_initialized():
        return "reused"
    target = address or os.environ.get("RAY_ADDRESS") or None
    kwargs = {"include_dashboard": False, "log_to_driver": True, **init_kwargs}
    if target:
        try:
            ray.init(address=target, **{k: v for k, v in kwargs.items() if k != "include_dashboard"})
        except ConnectionError as exc:
            where = "address=" if address else "RAY_ADDRESS"
            raise UsageError(
                f"cannot connect to the Ray cluster at {target!r} ({where}): {exc}; start one with "
                "'ray start --head' or give the address of a running one"
            ) from None
        return "connected"
    log.warning(
        "rewardsmith: no running Ray and no address (address= or RAY_ADDRESS): starting a local Ray "
        "instance for the Ray backend; give the address of a cluster to use one"
    )
    ray.init(**kwargs)
    return "started"


# -- what runs in the actor ------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How an actor gets the reward: its SPEC (rebuilt with `rewardsmith.load`) or its pickle."""

    key: str
    spec: str | None
    blob: Any  # a Ray ObjectRef of the reward, when there is no SPEC
    attributes: tuple[tuple[str, Any], ...]


class RewardActor:
    """The actor: builds each reward once, then scores chunks with the local engine.

    Kept free of Ray so that it can be tested, pickled and wrapped with `ray.remote` lazily.
    """

    def __init__(self) -> None:
        self._rewards: dict[str, Reward] = {}

    def pid(self) -> int:
        return os.getpid()

    def build(self, recipe: Recipe, blob: Any = None) -> Reward:
        reward = self._rewards.get(recipe.key)
        if reward is not None:
            return reward
        if recipe.spec is not None:
            from rewardsmith.core.spec import load

            reward = load(recipe.spec)
            for attr, value in recipe.attributes:
                if getattr(reward, attr, None) != value:
                    try:
                        setattr(reward, attr, value)
                    except AttributeError:
                        pass
        else:
            reward = blob
        self._rewards[recipe.key] = reward
        return reward

    def score(self, recipe: Recipe, blob: Any, samples: list[Sample], options: dict[str, Any]) -> list[Score]:
        from rewardsmith.core.engine import BatchOptions

        reward = self.build(recipe, blob)
        return reward._batch(samples, BatchOptions(**options))

    def shutdown(self) -> None:
        """Stop this actor's local worker pools (before the actor itself goes)."""
        from rewardsmith.core.backends import shutdown

        shutdown()


_remote_cls: Any = None
_remote_lock = threading.Lock()


def remote_actor_class() -> Any:
    """`RewardActor` wrapped with `ray.remote`, once per process."""
    global _remote_cls
    with _remote_lock:
        if _remote_cls is None:
            _remote_cls = import_ray().remote(RewardActor)
        return _remote_cls


# -- the backend -----------------------------------------------------------------------------------


@dataclass
class _Chunk:
    start: int
    stop: int
    attempts: int = 0


@dataclass
class _Slot:
    """One place in the pool: its current actor, replaced when that actor dies."""

    index: int
    actor: Any = None
    generation: int = 0


class RayBackend(Backend):
    """Score leaf rewards on a fixed pool of Ray actors (see the module docstring).

    `address`: a Ray cluster to join (default: the Ray already initialised, else `RAY_ADDRESS`, else
    a local instance). `num_actors`: actors in the pool (default: the CPUs free on the cluster when
    the pool starts, divided by `num_cpus_per_actor`). `num_cpus_per_actor`, `resources`: what each
    actor reserves (`resources={"reward_node": 1}` pins actors to nodes that advertise it).
    `workers_per_actor`: local worker processes (or sandboxes) in each actor (default: the CPUs it
    reserves, at least 1); a batch's own `workers` is the total, shared out across the actors.
    `chunk_size`: samples per task (default: about four chunks per actor per batch, at most 512).
    `max_retries`: times a chunk is retried on a fresh actor before it is split (then unscored).
    `init_kwargs`: passed to `ray.init` when this backend starts or joins Ray.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_actors: int | None = None,
        num_cpus_per_actor: float = 1,
        resources: dict[str, float] | None = None,
        *,
        workers_per_actor: int | None = None,
        chunk_size: int | None = None,
        max_retries: int = 1,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if num_actors is not None and (
            isinstance(num_actors, bool) or not isinstance(num_actors, int) or num_actors < 1
        ):
            raise UsageError(f"RayBackend(num_actors=...) must be a positive integer, got {num_actors!r}")
        if (
            isinstance(num_cpus_per_actor, bool)
            or not isinstance(num_cpus_per_actor, (int, float))
            or num_cpus_per_actor < 0
        ):
            raise UsageError(f"RayBackend(num_cpus_per_actor=...) must be a number >= 0, got {num_cpus_per_actor!r}")
        if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
            raise UsageError(f"RayBackend(chunk_size=...) must be a positive integer, got {chunk_size!r}")
        if workers_per_actor is not None and (not isinstance(workers_per_actor, int) or workers_per_actor < 1):
            raise UsageError(f"RayBackend(workers_per_actor=...) must be a positive integer, got {workers_per_actor!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise UsageError(f"RayBackend(max_retries=...) must be an integer >= 0, got {max_retries!r}")
        self.address = address
        self.num_actors = num_actors
        self.num_cpus_per_actor = num_cpus_per_actor
        self.resources = dict(resources or {})
        self.workers_per_actor = workers_per_actor
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.init_kwargs = dict(init_kwargs or {})
        self.connection: str | None = None
        self._slots: list[_Slot] = []
        self._lock = threading.RLock()  # one batch at a time on the pool
        self._blobs: dict[int, tuple[tuple[Any, ...], Any]] = {}
        self._pid = os.getpid()
        self.replaced = 0  # actors replaced after a death or a hang, over the backend's life

    # -- the pool ------------------------------------------------------------------------------
    def start(self) -> RayBackend:
        """Connect to Ray and start the actors now (otherwise the first batch does it)."""
        with self._lock:
            self._ensure_pool()
        return self

    def _ensure_pool(self) -> None:
        if self._pid != os.getpid():  # a forked child: the actors are the parent's
            self._slots, self._blobs, self._pid = [], {}, os.getpid()
        if self._slots:
            return
        ray = import_ray()
        self.connection = connect(self.address, **self.init_kwargs)
        count = self.num_actors or self._default_actor_count(ray)
        self._slots = [_Slot(i) for i in range(count)]
        for slot in self._slots:
            slot.actor = self._new_actor()
        self._await_placement(ray)

    def _default_actor_count(self, ray: Any) -> int:
        free = float(ray.available_resources().get("CPU", 0.0))
        per = self.num_cpus_per_actor or 1
        return max(1, int(free // per))

    def _new_actor(self) -> Any:
        options: dict[str, Any] = {"num_cpus": self.num_cpus_per_actor, "max_restarts": 0}
        if self.resources:
            options["resources"] = self.resources
        return remote_actor_class().options(**options).remote()

    def _await_placement(self, ray: Any) -> None:
        pings = [slot.actor.pid.remote() for slot in self._slots]
        ready, pending = ray.wait(pings, num_returns=len(pings), timeout=PLACEMENT_TIMEOUT_S)
        if pending:
            have = ray.available_resources()
            self.close()
            raise UsageError(
                f"Ray could not place {len(pending)} of {len(pings)} reward actors within {PLACEMENT_TIMEOUT_S:g} s "
                f"(each asks for num_cpus={self.num_cpus_per_actor:g}"
                + (f", resources={self.resources}" if self.resources else "")
                + f"; free now: CPU={have.get('CPU', 0):g}); lower num_actors or num_cpus_per_actor"
            )
        ray.get(ready)

    @property
    def actors(self) -> list[Any]:
        """The current actor handles (a replaced actor's successor appears in its place)."""
        return [slot.actor for slot in self._slots]

    def _replace(self, slot: _Slot, actor: Any) -> None:
        """Replace the slot's actor, unless it has been replaced already (several chunks saw it die)."""
        if slot.actor is not actor:
            return
        ray = import_ray()
        try:
            ray.kill(actor, no_restart=True)
        except Exception:  # already gone
            pass
        slot.actor = self._new_actor()
        slot.generation += 1
        self.replaced += 1

    def close(self) -> None:
        """Stop the actors (and the local Ray instance, when this backend started it)."""
        with self._lock:
            slots, self._slots = self._slots, []
            self._blobs.clear()
            if not slots or self._pid != os.getpid():
                return
            ray = import_ray()
            if not ray.is_initialized():
                return
            for slot in slots:
                try:
                    ray.kill(slot.actor, no_restart=True)
                except Exception:
                    pass
            if self.connection == "started":
                ray.shutdown()
                self.connection = None

    # -- what the actors are sent --------------------------------------------------------------
    def _recipe(self, reward: Reward) -> tuple[Recipe, Any]:
        attributes = tuple((a, getattr(reward, a, None)) for a in _CARRIED)
        spec = _portable_spec(getattr(reward, "spec", None))
        if spec is not None:
            return Recipe(f"spec:{spec}:{hash(attributes)}", spec, None, attributes), None
        from rewardsmith.core.backends import _state_token

        token = _state_token(reward)
        cached = self._blobs.get(id(reward))
        if cached is None or cached[0] != token:
            ray = import_ray()
            try:
                ref = ray.put(reward)
            except Exception as exc:
                raise UsageError(
                    f"the Ray backend cannot ship reward {reward.name!r}: it has no SPEC and does not pickle "
                    f"({type(exc).__name__}: {exc}); build it with rewardsmith.load(SPEC) or make it picklable"
                ) from None
            cached = (token, ref)
            self._blobs[id(reward)] = cached
            weakref.finalize(reward, self._blobs.pop, id(reward), None)
        ref = cached[1]
        return Recipe(f"obj:{ref.hex()}", None, None, attributes), ref

    # -- a batch -------------------------------------------------------------------------------
    def run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        if not samples:
            return []
        with self._lock:
            self._ensure_pool()
            return self._run(reward, samples, options)

    def _run(self, reward: Reward, samples: list[Sample], options: BatchOptions) -> list[Score]:
        ray = import_ray()
        recipe, blob = self._recipe(reward)
        n = len(samples)
        size = self.chunk_size or min(512, max(1, math.ceil(n / (4 * len(self._slots)))))
        todo: deque[_Chunk] = deque(_Chunk(i, min(i + size, n)) for i in range(0, n, size))
        results: list[Score | None] = [None] * n
        actor_options = self._actor_options(reward, options)
        free = deque(self._slots)
        flight: dict[Any, tuple[_Chunk, _Slot, Any, float]] = {}
        bar = progress_bar(reward, n, options.progress)
        try:
            while todo or flight:
                while todo and free:
                    chunk, slot = todo.popleft(), free.popleft()
                    ref = slot.actor.score.remote(recipe, blob, samples[chunk.start : chunk.stop], actor_options)
                    deadline = self._chunk_budget(reward, options, chunk.stop - chunk.start, actor_options)
                    flight[ref] = (chunk, slot, slot.actor, time.monotonic() + deadline)
                wait_for = min(d for *_, d in flight.values()) - time.monotonic()
                done, _ = ray.wait(list(flight), num_returns=1, timeout=max(0.0, min(wait_for, 3600.0)))
                if not done:  # the earliest deadline passed: that actor is hung
                    now = time.monotonic()
                    for ref in [r for r, (*_, d) in flight.items() if d <= now]:
                        chunk, slot, actor, _ = flight.pop(ref)
                        self._replace(slot, actor)
                        free.append(slot)
                        self._failed(
                            reward, chunk, todo, results, "stopped answering (no result within its time budget)"
                        )
                    continue
                ref = done[0]
                chunk, slot, actor, _ = flight.pop(ref)
                try:
                    scores = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    self._replace(slot, actor)
                    free.append(slot)
                    self._failed(reward, chunk, todo, results, f"died ({type(exc).__name__})")
                    continue
                except ray.exceptions.RayTaskError as exc:
                    free.append(slot)
                    raise _original(exc, chunk.start) from None
                except ray.exceptions.RaySystemError as exc:  # the actor cannot unpickle what it was sent
                    free.append(slot)
                    raise UsageError(
                        f"a Ray actor cannot rebuild reward {reward.name!r}: {exc}; the module that defines it must be "
                        "importable on the cluster (ray.init(runtime_env={'py_modules': [...]}) or a working_dir), "
                        "or give the reward as a SPEC with a file path (path/to/file.py:attr)"
                    ) from None
                except ray.exceptions.RayError as exc:  # the worker or its objects were lost
                    self._replace(slot, actor)
                    free.append(slot)
                    self._failed(reward, chunk, todo, results, f"was lost ({type(exc).__name__})")
                    continue
                free.append(slot)
                if len(scores) != chunk.stop - chunk.start:  # never shift later items onto the wrong rows
                    raise RuntimeError(
                        f"a Ray reward actor returned {len(scores)} Scores for {chunk.stop - chunk.start} samples"
                    )
                results[chunk.start : chunk.stop] = scores
                if bar is not None:
                    bar.update(len(scores))
        except BaseException:
            for ref in flight:
                ray.cancel(ref, force=False)
            raise
        finally:
            if bar is not None:
                bar.close()
        return results  # type: ignore[return-value]

    def _failed(
        self, reward: Reward, chunk: _Chunk, todo: deque[_Chunk], results: list[Score | None], why: str
    ) -> None:
        """Retry a chunk whose actor died on a fresh actor; split it when that fails too; unscore a lone item."""
        chunk.attempts += 1
        if chunk.attempts <= self.max_retries:
            log.warning("rewardsmith: a Ray reward actor %s; retrying its %d samples", why, chunk.stop - chunk.start)
            todo.appendleft(chunk)
            return
        if chunk.stop - chunk.start > 1:
            middle = (chunk.start + chunk.stop) // 2
            todo.appendleft(_Chunk(middle, chunk.stop, chunk.attempts))
            todo.appendleft(_Chunk(chunk.start, middle, chunk.attempts))
            return
        log.warning(
            "rewardsmith: sample %d is unscored: its Ray reward actor %s %d times", chunk.start, why, chunk.attempts
        )
        results[chunk.start] = Score(
            None,
            f"{reward.name}: the Ray actor scoring this sample {why} {chunk.attempts} times; unscored",
            S.UNSCORED,
            {"cause": "ray_actor_died", "attempts": chunk.attempts},
        )

    def _actor_options(self, reward: Reward, options: BatchOptions) -> dict[str, Any]:
        if options.workers is not None:  # the batch's parallelism, shared out across the actors
            workers = max(1, math.ceil(options.workers / len(self._slots)))
        else:
            workers = self.workers_per_actor or max(1, int(self.num_cpus_per_actor or 1))
        return {
            "workers": workers,
            "timeout": options.timeout,
            "strict": options.strict,
            "max_concurrency": options.max_concurrency,
        }

    def _chunk_budget(self, reward: Reward, options: BatchOptions, size: int, actor_options: dict[str, Any]) -> float:
        """How long a chunk may take before its actor counts as hung: the items' own limits, run
        `parallel` at a time, plus slack; unbounded (as locally) for a reward with no time limit."""
        limit = options.timeout if options.timeout is not None else reward.timeout
        if reward.is_async:
            limit = limit or DEFAULT_IO_TIMEOUT_S
            parallel = options.max_concurrency or reward.max_concurrency or DEFAULT_MAX_CONCURRENCY
        else:
            parallel = actor_options["workers"]
        if limit is None:
            return math.inf
        return limit * math.ceil(size / parallel) * 1.5 + CHUNK_SLACK_S

    def __repr__(self) -> str:
        return f"<RayBackend actors={len(self._slots) or self.num_actors or 'auto'} connection={self.connection}>"


def _original(exc: Any, offset: int) -> BaseException:
    """The exception the reward raised in the actor, with a UsageError's sample index made batch-wide."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        index = getattr(cause, "sample_index", None)
        if isinstance(cause, UsageError) and index is not None:
            tag_sample(cause, offset + index)
        return cause
    return exc


def _portable_spec(spec: str | None) -> str | None:
    """The SPEC an actor can load: a `file.py:attr` path made absolute, since actors run elsewhere."""
    if not spec:
        return None
    head, sep, tail = spec.partition(":")
    if sep and (head.endswith(".py") or "/" in head) and Path(head).is_file():
        return f"{Path(head).resolve()}:{tail}"
    return spec
