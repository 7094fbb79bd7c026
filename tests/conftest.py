"""Shared fixtures: process checks used by the engine, sandbox and CLI tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_cli():
    """Run the real `rewardsmith` CLI in a subprocess; returns CompletedProcess."""
    import subprocess

    def run(*args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 120):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        return subprocess.run(
            [sys.executable, "-m", "rewardsmith", *args],
            capture_output=True,
            text=True,
            input=input,
            cwd=cwd or REPO,
            env=env,
            timeout=timeout,
        )

    return run


def _alive(p) -> bool:
    import psutil

    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def pool_processes() -> set[int]:
    """Pids of this process's engine pool supervisors and workers (they stay up between batches)."""
    import psutil

    found = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.name().startswith("rewardsmith-"):
                found.add(p.pid)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def no_stray_processes():
    """Call it to assert that nothing runs below the engine's pool processes but the pool processes:
    what rewards started (a hung checker, a subprocess) was killed and reaped."""
    import time

    import psutil

    def check(timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pool = pool_processes()
            stray = []
            for pid in pool:
                try:
                    below = psutil.Process(pid).children(recursive=True)
                except psutil.Error:
                    continue
                stray += [p for p in below if p.pid not in pool and _alive(p)]
            if not stray or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert stray == []

    return check
