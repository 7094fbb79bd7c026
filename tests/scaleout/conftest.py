"""Fixtures for the scale-out tests: one local Ray for the whole directory, and real reward servers.

Ray starts once, when the first test here needs it (2 CPUs, no dashboard, about 5 s), and stops after
the last test of this directory, before later test modules count this process's children.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from scaleout_servers import Server

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray whose workers can import `scaleout_helpers` (as a cluster's would import the
    user's reward module)."""
    import ray

    if not ray.is_initialized():
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), str(REPO), saved) if p)
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
    return ray


def pytest_runtest_teardown(item, nextitem):
    """Stop Ray after the last test of this directory (a directory without __init__.py is no
    package to pytest, so a package-scoped fixture would keep Ray up for the whole session)."""
    if nextitem is None or HERE not in Path(nextitem.path).parents:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()


@pytest.fixture(scope="module", autouse=True)
def _stop_pools_afterwards():
    """The adapters keep their rewards for the process, and with them worker pools and code
    sandboxes: release them after each module, before later tests count this process's children."""
    yield
    import rewardsmith as rs
    from rewardsmith.trainer_adapter import common, openrlhf, verl
    from rewardsmith.verifiers.code.executor import shutdown

    common._rewards.clear()
    verl._choices.clear()
    openrlhf._scorers.clear()
    rs.shutdown()
    shutdown()


@pytest.fixture
def serve():
    """Start servers with `serve(*args)`; each is stopped (SIGTERM) when the test ends."""
    started: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Server:
        server = Server(*args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
