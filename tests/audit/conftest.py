"""Fixtures for the audit tests: the fake OpenAI-compatible judge server of tests/judges."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "judges"))


@pytest.fixture(scope="module")
def judge_server():
    from fake_server import FakeServer

    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _judge_cache(monkeypatch, tmp_path):
    """Every test gets its own judge cache directory (verdicts must come from the server)."""
    monkeypatch.setenv("REWARDSMITH_CACHE", str(tmp_path / "cache"))
