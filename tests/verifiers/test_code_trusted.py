"""The tests' process (`trusted`, `rpc`): tests that need an interpreter run where the program's
code never runs, and reach the program only through proxies that bring back plain data.

What honest tests do keeps working (methods of returned objects, `Solution().method`,
generators, in-place changes of the arguments, expected exceptions, isinstance); what would
let the program's code decide a judgement (comparing, truth-testing, hashing its objects, or
raising one of its own exception classes) fails the test; whatever the program does on the
channel (garbage, floods, early answers, hanging up, exiting) is at worst its own 0, never
unscored; and the program's process cannot see the tests' process at all."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.code import code_tests
from tests.verifiers.code_sandbox_helpers import fenced, leftovers, legit_still_scores

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


def score(reward, code: str, tests, entry_point: str | None = None, **extra):
    s = reward.score({"completion": fenced(code), "tests": tests, "entry_point": entry_point, **extra})
    assert s.status != "unscored", s.reason
    return s


def judged_by(s) -> set[str]:
    return {t["judged_by"] for t in s.details["tests"]}


# -- what honest tests do --------------------------------------------------------------------------


def test_methods_and_attributes_of_returned_objects(reward):
    code = """
    from dataclasses import dataclass
    @dataclass
    class Point:
        x: int
        y: int
        def norm1(self):
            return abs(self.x) + abs(self.y)
    def make(x, y):
        return Point(x, y)
    """
    tests = "def check(make):\n    for i in range(3):\n        p = make(i, -i)\n        assert p.x == i and p.norm1() == 2 * i\n"
    s = score(reward, code, tests, "make")
    assert s.value == 1.0 and judged_by(s) == {"tests' process"}, s.reason


def test_leetcode_style_solution_class_and_generators(reward):
    code = """
    class Solution:
        def twoSum(self, nums, target):
            seen = {}
            for i, n in enumerate(nums):
                if target - n in seen:
                    return [seen[target - n], i]
                seen[n] = i
    def squares(n):
        for i in range(n):
            yield i * i
    """
    tests = [
        "for nums, t, want in [([2, 7, 11], 9, [0, 1]), ([3, 3], 6, [0, 1])]:\n    assert Solution().twoSum(nums, t) == want\n",
        "assert list(squares(4)) == [0, 1, 4, 9]\nassert sum(x for x in squares(3)) == 5\n",
    ]
    s = score(reward, code, tests)
    assert s.value == 1.0 and judged_by(s) == {"tests' process"}, s.reason


def test_large_constants_of_the_solution_go_by_reference(reward):
    """A sieve of primes at module level is far larger than a message: the tests still run."""
    code = "PRIMES = [p for p in range(2, 200_000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]\n"
    code += "def nth_prime(n):\n    return PRIMES[n]\n"
    tests = "def check(f):\n    for n, p in [(0, 2), (3, 7), (9, 29)]:\n        assert f(n) == p\n"
    s = score(reward, code, tests, "nth_prime")
    assert s.value == 1.0 and judged_by(s) == {"tests' process"}, s.reason


def test_arguments_changed_in_place_come_back(reward):
    """LeetCode's "modify nums in place": the test looks at its own list after the call."""
    code = "def rotate(nums, k):\n    nums[:] = nums[-k:] + nums[:-k]\n"
    tests = "nums = [1, 2, 3, 4]\nrotate(nums, 1)\nassert nums == [4, 1, 2, 3]\n"
    assert score(reward, code, tests).value == 1.0
    assert score(reward, "def rotate(nums, k):\n    nums = nums[-k:] + nums[:-k]\n", tests).value == 0.0
    grid = "g = [[1, 2], [3, 4]]\nrow = g[0]\nzero_first(g)\nassert row == [0, 2] and g == [[0, 2], [3, 4]]\n"
    assert score(reward, "def zero_first(g):\n    g[0][0] = 0\n", grid).value == 1.0  # rows keep their identity


def test_expected_exceptions_are_the_builtin_ones(reward):
    code = """
    class BadInput(ValueError):
        pass
    def parse(s):
        if not s.isdigit():
            raise BadInput(s)
        return int(s)
    """
    tests = (
        "import unittest\nclass T(unittest.TestCase):\n"
        "    def test_ok(self):\n        self.assertEqual(parse('12'), 12)\n"
        "    def test_bad(self):\n        with self.assertRaises(ValueError):\n            parse('x')\n"
    )
    s = score(reward, code, tests)
    assert s.value == 1.0 and judged_by(s) == {"tests' process"}, s.details["tests"]


def test_prompt_helpers_are_the_prompts_even_when_the_solution_redefines_them(reward):
    prompt = "def shift(s):\n    return s[1:] + s[:1]\n\n\ndef unshift(s):\n    '''Undo shift.'''\n"
    tests = "def check(candidate):\n    for w in ['abc', 'hello']:\n        assert candidate(shift(w)) == w\n"
    honest = "def unshift(s):\n    return s[-1:] + s[:-1]\n"
    hostile = "def shift(s):\n    return s\ndef unshift(s):\n    return s\n"
    assert score(reward, honest, tests, "unshift", prompt=prompt).value == 1.0
    assert score(reward, hostile, tests, "unshift", prompt=prompt).value == 0.0
    chat = [{"role": "user", "content": "Write unshift.\n```python\n" + prompt + "```"}]
    assert score(reward, hostile, tests, "unshift", prompt=chat).value == 0.0


def test_tests_that_import_from_the_solution_module(reward):
    """KodCode-style pytest files (`from solution import f`): probed when simple, otherwise run
    in the tests' process, where `solution` is a module of proxies."""
    code = "def has_pair(nums, k):\n    return any(k - a in nums[i + 1 :] for i, a in enumerate(nums))\n"
    probed = "from solution import has_pair\n\ndef test_found():\n    assert has_pair([1, 2, 3, 9], 11) is True\n"
    looped = (
        "import pytest\nimport solution\n\ndef test_cases():\n    for nums, k in [([1, 4], 5), ([2, 2], 4)]:\n"
        "        assert solution.has_pair(nums, k)\n\n"
        "def test_raises():\n    with pytest.raises(TypeError):\n        solution.has_pair(None, 1)\n"
    )
    s = score(reward, code, probed)
    assert s.value == 1.0 and judged_by(s) == {"verifier"}, s.reason
    suite_where = {t["judged_by"] for t in score(reward, code, looped).details["tests"]}
    assert suite_where == {"tests' process"}
    pytest.importorskip("pytest")  # the sandbox imports it only where it is installed and declared
    s = code_tests(timeout=5, packages=["pytest"]).score({"completion": fenced(code), "tests": looped})
    assert s.value == 1.0, s.reason
    wrong = code_tests(timeout=5, packages=["pytest"]).score(
        {"completion": fenced("def has_pair(nums, k):\n    return True"), "tests": looped}
    )
    assert wrong.value == 0.5, wrong.reason


# -- what the program's objects may not decide ---------------------------------------------------------

RIGGED = """
class Rigged:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __bool__(self): return True
    def __hash__(self): return 0
    def __contains__(self, item): return True
    def __float__(self): return 0.0
    def __sub__(self, other): return 0
    def __rsub__(self, other): return 0
    def __len__(self): return 3
def f(x):
    return Rigged()
"""


@pytest.mark.parametrize(
    "check",
    [
        "assert f(x) == x * 2",
        "assert not f(x) != x * 2",
        "assert f(x) > x",
        "assert f(x)",
        "assert x in f(x)",
        "assert {f(x): 1}",
        "assert abs(f(x) - x * 2) < 1e-9",
        "import math\n        assert math.isclose(f(x), x * 2)",
        "assert sorted([f(x), 1]) == [1, x * 2]",
    ],
)
def test_comparisons_of_program_objects_fail(reward, check):
    tests = f"def check(f):\n    for x in [1, 2]:\n        {check}\n"
    s = score(reward, RIGGED, tests, "f")
    assert s.value == 0.0 and "not plain data" in s.reason, s.reason


def test_a_program_raising_its_own_classes_cannot_skip_or_pass(reward):
    code = """
    import unittest
    class Skip(unittest.SkipTest):
        pass
    def f(x):
        raise Skip("nothing to see")
    """
    tests = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\n"
    s = score(reward, code, tests)
    assert s.value == 0.0 and s.details["tests"][0]["status"] == "error", s.details["tests"]


# -- the channel is hostile ------------------------------------------------------------------------------

CHANNEL_ATTACKS = {
    # answers before any question: whatever it claims is only its own answer
    "early answers": """
        import os, struct
        def _send(body):
            os.write(6, struct.pack("!I", len(body)) + body)
        _send(b"t\\x02s\\x02okd\\x01s\\x05namesd\\x00")
        for _ in range(50):
            _send(b"t\\x02s\\x02okT")
        def f(x):
            return True
        """,
    "garbage": """
        import os
        os.write(6, b"\\xff" * 4 + os.urandom(512))
        def f(x):
            return x * 2
        """,
    "flood": """
        import os, struct
        try:
            os.set_blocking(6, False)
            os.write(6, struct.pack("!I", 1 << 30) + b"l" * 60000)
        except OSError:
            pass
        def f(x):
            return x * 2
        """,
    "hang up": """
        import os
        os.close(5)
        os.close(6)
        def f(x):
            return x * 2
        """,
    "exit mid-test": """
        import os
        calls = []
        def f(x):
            calls.append(x)
            if len(calls) > 1:
                os._exit(0)
            return x * 2
        """,
    "deep and colliding": """
        M = (1 << 61) - 1
        def f(x):
            return {k * M for k in range(5000)} if x == 1 else [[]] * 200000
        """,
}


@pytest.mark.parametrize("attack", sorted(CHANNEL_ATTACKS))
def test_attacks_on_the_channel_score_their_own_zero(reward, attack):
    tests = "def check(f):\n    for x in [1, 2, 3]:\n        assert f(x) == x * 2\n"
    s = score(reward, CHANNEL_ATTACKS[attack], tests, "f")
    assert s.value == 0.0, s.reason
    assert leftovers() == []
    legit_still_scores(reward)


def test_the_program_cannot_see_the_tests_process(reward):
    """Its own PID namespace: only itself under /proc; no other process to signal or trace."""
    code = """
    import os, signal
    def f(x):
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        killed = 0
        for pid in range(2, 4096):
            try:
                os.kill(pid, signal.SIGSTOP)
                killed += 1
            except OSError:
                pass
        return [pids, killed]
    """
    tests = "def check(f):\n    for _ in range(2):\n        assert f(0) == [[1], 0]\n"
    s = score(reward, code, tests, "f")
    assert s.value == 1.0 and judged_by(s) == {"tests' process"}, s.reason
