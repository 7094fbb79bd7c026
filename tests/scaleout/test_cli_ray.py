"""`rewardsmith score --backend ray [--ray-address ADDR]` (rewardsmith/cli.py): the same rows as the
local backend; a local Ray is started only because the Ray backend was asked for, and says so."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

ROWS = [
    {"id": 1, "completion": "\\boxed{2}", "answer": "2"},
    {"id": 2, "completion": "7", "answer": "2"},
    {"id": 3, "completion": "no number at all", "answer": "2"},
]


@pytest.fixture
def rows_file(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_joins_a_running_cluster_and_matches_the_local_backend(run_cli, rows_file, ray_cluster, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    address = ray_cluster.get_runtime_context().gcs_address
    local = run_cli("score", "--reward", "math", "--input", str(rows_file))
    ray = run_cli("score", "--reward", "math", "--input", str(rows_file), "--backend", "ray", "--ray-address", address)
    assert local.returncode == 0 and ray.returncode == 0, ray.stderr
    assert ray.stdout == local.stdout
    assert "starting a local Ray" not in ray.stderr


def test_starts_a_local_ray_only_when_asked_and_says_so(run_cli, rows_file, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = run_cli("score", "--reward", "exact", "--input", str(rows_file), "--backend", "ray", timeout=180)
    assert out.returncode == 0, out.stderr
    assert "starting a local Ray instance" in out.stderr
    local = run_cli("score", "--reward", "exact", "--input", str(rows_file))
    assert out.stdout == local.stdout and len(out.stdout.splitlines()) == 3


def test_ray_address_needs_the_ray_backend(run_cli, rows_file):
    out = run_cli("score", "--reward", "exact", "--input", str(rows_file), "--ray-address", "127.0.0.1:1")
    assert out.returncode == 2 and "--ray-address is for --backend ray" in out.stderr
