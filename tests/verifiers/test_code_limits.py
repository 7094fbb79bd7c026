"""Class 8 of issue 21: limits are per run, not shared across runs or users. A fork bomb in one
run does not starve a concurrent run; memory held in tmpfs or memfd pages counts against the
run (cgroup); `details["isolation"]["accounting"]` says which mechanism is active."""

from __future__ import annotations

import os

import pytest

from rewardsmith.verifiers.code import code_tests
from tests.verifiers.code_sandbox_helpers import fenced, leftovers, marker, sleeper, wait_gone

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=8, max_processes=16, memory_mb=256)


def test_a_fork_bomb_does_not_starve_a_concurrent_run(reward):
    mark = marker()
    bomb = f"""
    import os, sys, time
    for _ in range(200):
        try:
            if os.fork() == 0:
                {sleeper(mark)}
        except OSError:
            break
    time.sleep(3)
    def f():
        return 0
    """
    needs_processes = """
    import os, time
    time.sleep(0.5)  # while the bomb holds its processes
    kids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    def f():
        return len(kids)
    """
    rows = [
        {"completion": fenced(bomb), "tests": "assert f() == 1"},
        {"completion": fenced(needs_processes), "tests": "assert f() == 8"},
    ]
    bombed, legit = reward.score_batch(rows, workers=2)
    assert bombed.value == 0.0
    assert legit.value == 1.0, legit.reason
    assert wait_gone(mark) == []
    assert leftovers() == []


@pytest.mark.skipif(os.getuid() != 0, reason="cgroups need root; without them limits are per process (documented)")
def test_memory_in_memfd_counts_against_the_run(reward):
    code = """
    import os
    fds = []
    chunk = b"x" * (8 << 20)
    for _ in range(24):  # 24 x 16 MB (the file-size limit) = 384 MB in memfd pages, over 256 MB
        fd = os.memfd_create("hog")
        os.write(fd, chunk)
        os.write(fd, chunk)
        fds.append(fd)
    def f():
        return 1
    """
    s = reward.score({"completion": fenced(code), "tests": "assert f() == 1"})
    iso = s.details["isolation"]
    if not iso["accounting"].startswith("cgroup"):
        pytest.skip(f"no cgroup on this machine: {iso['accounting']}")
    assert s.value == 0.0 and s.status != "unscored", s.reason
    assert "memory" in s.reason or "MemoryError" in s.reason or "SIGKILL" in s.reason, s.reason
    legit = reward.score({"completion": fenced("def f():\n    return 1"), "tests": "assert f() == 1"})
    assert legit.value == 1.0


def test_the_accounting_mechanism_is_reported(reward):
    s = reward.score({"completion": fenced("def f():\n    return 1"), "tests": "assert f() == 1"})
    accounting = s.details["isolation"]["accounting"]
    if os.getuid() == 0:
        assert accounting.startswith("cgroup v") or "per slot uid" in accounting
        assert "dropped from root" in s.details["isolation"]["user"]
