"""Fixtures shared by the verifier tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _stop_zygotes_afterwards():
    """Warm code-sandbox zygotes are children of this process: stop them after each module so
    that later tests which check for leftover child processes (the engine's, the math
    timeouts') start clean. A no-op for modules that started none."""
    yield
    from rewardsmith.verifiers.code.executor import shutdown

    shutdown()
