"""Offline scoring of large datasets on Ray Data: `score_dataset(dataset, spec)`.

`dataset.map_batches` runs a pool of actors (`_DatasetScorer`), each building the reward once and
scoring its batches with the local engine, so a billion-row parquet scores with the same per-item
limits and statuses as `rewardsmith score`. Each row gains `score` (null when unscored), `status`,
`reason` and `details` (a JSON string: the details of different rows have different shapes, which one
Arrow schema cannot hold). Rows are read as the CLI reads them: `completion` (required), `prompt`,
`answer`, `tests`, and every other column as metadata; `columns=` maps other column names onto these.

Ray is reused when initialised, else joined at `RAY_ADDRESS`, else started locally with a warning
(`rewardsmith.core.ray_backend.connect`): Ray Data would otherwise start one silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rewardsmith.core.errors import UsageError
from rewardsmith.core.reward import Reward

__all__ = ["score_dataset"]

RESULT_COLUMNS = ("score", "status", "reason", "details")


class _DatasetScorer:
    """The `map_batches` actor: one reward per actor, a pyarrow batch in, the same batch plus scores out."""

    def __init__(self, reward: str | Reward, columns: dict[str, str], options: dict[str, Any]) -> None:
        from rewardsmith.core.spec import load

        self.reward = load(reward) if isinstance(reward, str) else reward
        self.columns = columns
        self.options = options

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        from rewardsmith.core.sample import Sample

        rows = batch.to_pylist()
        samples = []
        for i, row in enumerate(rows):
            view = dict(row)
            for field, column in self.columns.items():
                if column in row:
                    view[field] = row[column]
            samples.append(Sample.from_row(view, where=f"dataset row {i} of this batch"))
        scores = self.reward.score_batch(samples, **self.options)
        out = batch
        for name in RESULT_COLUMNS:
            if name in out.column_names:
                out = out.drop_columns([name])
        out = out.append_column("score", pa.array([s.value for s in scores], type=pa.float64()))
        out = out.append_column("status", pa.array([s.status for s in scores], type=pa.string()))
        out = out.append_column("reason", pa.array([s.reason for s in scores], type=pa.string()))
        details = [json.dumps(s.details, ensure_ascii=False, default=str) for s in scores]
        return out.append_column("details", pa.array(details, type=pa.string()))


def score_dataset(
    dataset: Any,
    spec: str | Reward,
    *,
    columns: Mapping[str, str] | None = None,
    batch_size: int = 256,
    concurrency: int | None = None,
    num_cpus: float = 1,
    workers: int | None = None,
    timeout: float | None = None,
) -> Any:
    """`dataset` (a `ray.data.Dataset`) with `score`, `status`, `reason`, `details` columns added, lazily.

    `spec`: a SPEC string (or a picklable Reward). `columns`: Sample field → dataset column, e.g.
    `{"completion": "response", "answer": "ground_truth"}`. `concurrency`: scoring actors (default:
    the free CPUs divided by `num_cpus`). `num_cpus`: CPUs each actor reserves; each runs that many
    local worker processes unless `workers` says otherwise. `timeout`: per-item limit in seconds.

    For example (tests/scaleout/test_ray_dataset.py runs it on a small dataset)::

        ds = ray.data.read_json("completions.jsonl")
        rewardsmith.ray.score_dataset(ds, "math").write_json("scored/")
    """
    from rewardsmith.core.ray_backend import connect, import_ray

    if not isinstance(spec, (str, Reward)):
        raise UsageError(f"score_dataset(spec=...) must be a SPEC string or a Reward, got {type(spec).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"score_dataset(batch_size=...) must be a positive integer, got {batch_size!r}")
    fields = dict(columns or {})
    unknown = sorted(set(fields) - {"completion", "prompt", "answer", "tests"})
    if unknown:
        raise UsageError(
            f"score_dataset(columns=...) maps Sample fields (completion, prompt, answer, tests) to columns; "
            f"unknown field(s): {', '.join(unknown)}"
        )
    if isinstance(spec, str):
        from rewardsmith.core.spec import load

        load(spec)  # a bad SPEC fails here, with its message, not inside an actor
    ray = import_ray()
    connect()
    if concurrency is None:
        free = float(ray.available_resources().get("CPU", 1.0))
        concurrency = max(1, int(free // (num_cpus or 1)))
    options = {"workers": workers or max(1, int(num_cpus or 1)), "timeout": timeout}
    return dataset.map_batches(
        _DatasetScorer,
        fn_constructor_kwargs={"reward": spec, "columns": fields, "options": options},
        batch_size=batch_size,
        batch_format="pyarrow",
        concurrency=concurrency,
        num_cpus=num_cpus,
    )
