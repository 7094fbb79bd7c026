"""Class 1 of issue 21: a verdict decided inside the interpreter the program controls.

Probed tests (function calls, `f(args) op literal` asserts) are judged in the verifier: no
trick inside the program's process can move them. In-process tests (loops, helpers,
TestCase classes) are hardened against the known tricks: shadowing the harness, reaching
the test's frame, gc, writing verdicts with the nonce."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.code import code_tests, redteam
from rewardsmith.verifiers.code.tests_formats import parse_tests
from tests.verifiers.code_sandbox_helpers import fenced, leftovers, legit_still_scores

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

PROBED = {"tests": ["assert add(1, 2) == 3", "assert abs(add(0.5, 0.25) - 0.75) < 1e-9"], "entry_point": "add"}
# A loop needs the interpreter: this test runs in-process.
IN_PROCESS = {
    "tests": "def check(candidate):\n    for a in range(3):\n        assert candidate(a, 1) == a + 1\n",
    "entry_point": "add",
}


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


def test_where_verdicts_are_decided():
    assert parse_tests(PROBED["tests"]).plan().verdict == "out-of-process"
    assert parse_tests(IN_PROCESS["tests"], entry_point="add").plan().verdict == "in-process"
    # the probed tests' expected values never enter the sandbox
    job = parse_tests(PROBED["tests"]).plan().untrusted()
    assert "3" not in repr(job["steps"]) and "0.75" not in repr(job) and "sources" not in job


@pytest.mark.parametrize("shape", [PROBED, IN_PROCESS], ids=["probed", "in-process"])
@pytest.mark.parametrize("attack", ["frame_walk", "gc_scan", "nonce_forgery", "fake_success_output", "early_exit"])
def test_harness_tricks_score_zero(reward, shape, attack):
    s = reward.score(dict(shape, completion=redteam.ATTACKS[attack](shape)))
    assert s.value == 0.0, (attack, s.reason)
    assert s.status != "unscored"
    assert leftovers() == []
    legit_still_scores(reward)


def test_shadowing_the_harness_names_does_not_help(reward):
    code = """
    __rewardsmith_plain__ = lambda v: v
    check_plain = lambda v: None
    class _Eq:
        def __eq__(self, o): return True
    def add(a, b):
        return _Eq()
    """
    for shape in (PROBED, IN_PROCESS):
        s = reward.score(dict(shape, completion=fenced(code)))
        assert s.value == 0.0, s.reason


def test_a_test_reported_twice_fails(reward):
    """The harness writes one frame per test: a second frame for the same test is forgery."""
    from rewardsmith.verifiers.code.tests_formats import judge

    suite = parse_tests(IN_PROCESS["tests"], entry_point="add").plan()
    run = {
        "frames": [("ready", 0, {}), ("load", 0, {"ok": True}), ("test", 0, {"ok": True}), ("test", 0, {"ok": False})],
        "timed_out": False,
        "signal": None,
        "exit": "exit code 0",
    }
    [outcome], infra = judge(suite, [run])
    assert infra is None and outcome.status == "failed" and "forged" in outcome.message


def test_in_process_verdict_is_labelled(reward):
    good = fenced("def add(a, b):\n    return a + b")
    s = reward.score(dict(IN_PROCESS, completion=good))
    assert s.value == 1.0 and s.details["verdict"] == "in-process"
    s = reward.score(dict(PROBED, completion=good))
    assert s.value == 1.0 and s.details["verdict"] == "out-of-process"
    assert {t["verdict"] for t in s.details["tests"]} == {"out-of-process"}
