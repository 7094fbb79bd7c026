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


@pytest.fixture
def no_stray_processes():
    """`tests.processes.no_stray_processes`, for tests that take their checks as fixtures."""
    from tests.processes import no_stray_processes

    return no_stray_processes
