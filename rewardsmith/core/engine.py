"""The batch engine: options, the default backend, and streaming in bounded chunks.

Where a leaf's batch runs is a backend's business (`rewardsmith.core.backends`): by default async
rewards run concurrently on one long-lived event loop, CPU-bound or time-limited ones in persistent
killable worker processes, cheap ones in a plain loop. Results always come back in input order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from rewardsmith.core.aio import run_sync
from rewardsmith.core.errors import UsageError

if TYPE_CHECKING:
    from rewardsmith.core.backends import Backend
    from rewardsmith.core.reward import Reward
    from rewardsmith.core.sample import Sample
    from rewardsmith.core.score import Score

__all__ = ["BatchOptions", "cpu_count", "run_sync", "score_stream"]

DEFAULT_CHUNK = 1024


@dataclass(slots=True)
class BatchOptions:
    """How one `score_batch` call runs; every field defaults to the reward's or backend's own choice."""

    workers: int | None = None
    timeout: float | None = None
    progress: bool = False
    strict: bool = False
    max_concurrency: int | None = None
    backend: Backend | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise UsageError(f"workers must be a positive integer, got {self.workers!r}")
        if self.timeout is not None and (isinstance(self.timeout, bool) or not self.timeout > 0):
            raise UsageError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if self.max_concurrency is not None and (
            isinstance(self.max_concurrency, bool)
            or not isinstance(self.max_concurrency, int)
            or self.max_concurrency < 1
        ):
            raise UsageError(f"max_concurrency must be a positive integer, got {self.max_concurrency!r}")
        if self.backend is not None:
            from rewardsmith.core.backends import Backend

            if not isinstance(self.backend, Backend):
                raise UsageError(
                    f"backend must be a rewardsmith Backend (LocalBackend(), ProcessBackend(), …), "
                    f"got {type(self.backend).__name__}"
                )

    def resolved_backend(self) -> Backend:
        if self.backend is not None:
            return self.backend
        from rewardsmith.core.backends import default_backend

        return default_backend()


def cpu_count() -> int:
    """Cores this process may use (its CPU affinity, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def score_stream(
    reward: Reward,
    samples: Iterable[Sample],
    options: BatchOptions,
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[list[Score]]:
    """Score an iterable in chunks of `chunk_size`, yielding each chunk's Scores in input order.

    At most one chunk of samples and Scores is held at a time, so memory stays flat however long
    the input is; the pools and the event loop behind the chunks stay up between them.
    """
    if chunk_size < 1:
        raise UsageError(f"chunk_size must be at least 1, got {chunk_size!r}")
    iterator = iter(samples)
    offset = 0
    while True:
        chunk = list(islice(iterator, chunk_size))
        if not chunk:
            return
        try:
            yield reward._batch(chunk, options)
        except UsageError as exc:
            index = getattr(exc, "sample_index", None)
            if index is not None:
                exc.sample_index = offset + index  # type: ignore[attr-defined]
            raise
        offset += len(chunk)


def batch_options(**options: Any) -> BatchOptions:
    """BatchOptions from keywords, with an error that names an unknown one."""
    known = set(BatchOptions.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(f"unknown batch option {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
    return BatchOptions(**options)
