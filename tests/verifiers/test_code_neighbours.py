"""Class 4 of issue 21: runs must not see each other. Every run is cloned from a template that
never held another run's data, so a copycat finds nothing of its neighbour (its source, its
output, its reply) anywhere in its own memory, even reading /proc/self/mem byte by byte."""

from __future__ import annotations

import uuid

import pytest

from rewardsmith.verifiers.code import code_tests, redteam
from tests.verifiers.code_sandbox_helpers import fenced, leftovers

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

MEMORY_SCAN = """
import re
def f():
    found = set()
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar" in line or "[vsyscall" in line:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if hi - lo > 256 << 20:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            found.update(m.decode() for m in re.findall(rb"SECRET-[0-9a-f]{32}", data))
    mine = "SECRET-" + "0" * 32
    found.discard(mine)
    return sorted(found)[0] if found else None
"""


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=10)


def test_a_copycat_finds_nothing_of_its_neighbour(reward):
    secret = f"SECRET-{uuid.uuid4().hex}"
    neighbour = {
        "completion": fenced(f"def f():\n    print({secret!r})\n    return {secret!r}"),
        "tests": [{"args": [], "expected": secret}],
        "entry_point": "f",
    }
    copycats = [
        {"completion": fenced(MEMORY_SCAN), "tests": [{"args": [], "expected": secret}], "entry_point": "f"},
        dict(neighbour, completion=redteam.copycat(neighbour)),
    ]
    # workers=1: every program runs on the same warm supervisor, one after the other
    scores = reward.score_batch([neighbour, *copycats, neighbour, *copycats], workers=1)
    assert [s.value for s in scores] == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [s.reason for s in scores]
    assert all(secret not in s.details["stdout_tail"] for s in scores[1:3] + scores[4:])
    assert leftovers() == []


def test_malicious_then_correct_then_wrong_in_the_same_warm_pool(reward):
    """A hostile program must leave nothing that changes the next verdicts of the same pool."""
    sample = {"tests": ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"], "entry_point": "add"}
    hostile = [dict(sample, completion=attack(sample)) for attack in redteam.ATTACKS.values()]
    correct = dict(sample, completion=fenced("def add(a, b):\n    return a + b"))
    wrong = dict(sample, completion=fenced("def add(a, b):\n    return a * b"))
    scores = reward.score_batch([*hostile, correct, wrong], workers=1)
    assert [s.value for s in scores[:-2]] == [0.0] * len(hostile), [s.reason for s in scores]
    assert [s.value for s in scores[-2:]] == [1.0, 0.0]
    assert scores[-2].status == "ok" and scores[-1].status == "wrong"
    assert leftovers() == []
