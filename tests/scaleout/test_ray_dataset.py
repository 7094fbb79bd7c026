"""`rewardsmith.ray.score_dataset` (rewardsmith/ray.py) on Ray Data with the test's local Ray."""

from __future__ import annotations

import json

import pytest

import rewardsmith as rs
from rewardsmith.core.errors import SpecError, UsageError
from rewardsmith.ray import score_dataset

pytestmark = pytest.mark.integration


def test_scores_every_row_like_the_local_engine(ray_cluster):
    rows = [
        {"id": i, "response": f"so \\boxed{{{i % 3}}}", "answer": "1", "prompt": [{"role": "user", "content": "q"}]}
        for i in range(60)
    ]
    ds = ray_cluster.data.from_items(rows)
    out = sorted(
        score_dataset(
            ds, "math", columns={"completion": "response"}, batch_size=16, concurrency=1, num_cpus=0.5
        ).take_all(),
        key=lambda r: r["id"],
    )
    local = rs.load("math").score_batch([{**r, "completion": r["response"]} for r in rows])
    assert [r["id"] for r in out] == list(range(60))
    assert [(r["score"], r["status"], r["reason"]) for r in out] == [(s.value, s.status, s.reason) for s in local]
    assert json.loads(out[1]["details"])["extracted"] == "1"
    assert out[0]["prompt"] == rows[0]["prompt"]  # other columns pass through


def test_refuses_a_bad_spec_or_mapping_before_starting(ray_cluster):
    ds = ray_cluster.data.from_items([{"completion": "x"}])
    with pytest.raises(SpecError):
        score_dataset(ds, "no_such_preset")
    with pytest.raises(UsageError, match="unknown field"):
        score_dataset(ds, "exact", columns={"answr": "gold"})
