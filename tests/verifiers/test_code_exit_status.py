"""Class 9 of issue 21: on stdin/stdout tests the real exit status decides; a forged "ended
fine" frame cannot hide a crash."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.code import code_tests, redteam
from tests.verifiers.code_sandbox_helpers import fenced

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

CASES = [{"input": "7\n", "output": "7"}, {"input": "9\n", "output": "9"}]


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


def test_forged_end_frame_then_crash_fails(reward):
    sample = {"tests": CASES}
    s = reward.score(dict(sample, completion=redteam.forged_exit(sample)))
    assert s.value == 0.0 and s.status == "runtime_error", s.reason
    assert all("exit code 1" in t["message"] for t in s.details["tests"])


@pytest.mark.parametrize(
    "code, value",
    [
        ("print(input())", 1.0),
        ("import sys\nprint(input())\nsys.exit(0)", 1.0),
        ("import sys\nprint(input())\nsys.exit(3)", 0.0),
        ("print(input())\nraise ValueError('after the output')", 0.0),
        ("import os\nprint(input(), flush=True)\nos._exit(2)", 0.0),
        ("import ctypes\nprint(input(), flush=True)\nctypes.string_at(0)", 0.0),
    ],
    ids=["clean", "exit-0", "exit-3", "exception", "os._exit-2", "segv"],
)
def test_exit_status_decides(reward, code, value):
    s = reward.score({"completion": fenced(code), "tests": CASES})
    assert s.value == value, s.reason
