"""Class 3 of issue 21: test formats that passed vacuously (defined, never run) now run, or are
refused with an error that names the field and the fix; a wrong program never passes them."""

from __future__ import annotations

import pytest

from rewardsmith.core.errors import InputError
from rewardsmith.verifiers.code import code_tests
from rewardsmith.verifiers.code.tests_formats import parse_tests
from tests.verifiers.code_sandbox_helpers import fenced

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

GOOD = fenced("def add(a, b):\n    return a + b")
WRONG = fenced("def add(a, b):\n    return a - b")

PYTEST_STYLE = "def test_small():\n    assert add(1, 2) == 3\n\ndef test_negative():\n    assert add(-1, -1) == -2\n"
UNITTEST_STYLE = (
    "import unittest\n\nclass TestAdd(unittest.TestCase):\n"
    "    @classmethod\n    def setUpClass(cls):\n        cls.base = 10\n"
    "    def test_base(self):\n        self.assertEqual(add(self.base, 1), 11)\n"
    "    def test_zero(self):\n        self.assertEqual(add(0, 0), 0)\n"
    "    @unittest.skip('not today')\n    def test_skipped(self):\n        pass\n"
    "\nif __name__ == '__main__':\n    unittest.main()\n"
)
HUMANEVAL_STYLE = "def check(candidate):\n    assert candidate(1, 2) == 3\n"


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


def test_pytest_style_functions_run(reward):
    assert parse_tests(PYTEST_STYLE).names == ["test_small", "test_negative"]
    assert reward.score({"completion": GOOD, "tests": PYTEST_STYLE}).value == 1.0
    wrong = reward.score({"completion": WRONG, "tests": PYTEST_STYLE})
    assert wrong.value == 0.0 and wrong.details["verdict"] == "out-of-process"


def test_unittest_classes_run_and_skips_do_not_pass(reward):
    assert parse_tests(UNITTEST_STYLE).names == ["TestAdd.test_base", "TestAdd.test_zero", "TestAdd.test_skipped"]
    s = reward.score({"completion": GOOD, "tests": UNITTEST_STYLE})
    assert [t["status"] for t in s.details["tests"]] == ["passed", "passed", "not_run"], s.details["tests"]
    assert "skipped" in s.details["tests"][2]["message"]
    wrong = reward.score({"completion": WRONG, "tests": UNITTEST_STYLE})
    assert [t["status"] for t in wrong.details["tests"]] == ["failed", "passed", "not_run"]  # add(0, 0) holds


def test_humaneval_check_needs_an_entry_point(reward):
    with pytest.raises(InputError, match="entry_point"):
        reward.score({"completion": GOOD, "tests": HUMANEVAL_STYLE})
    assert reward.score({"completion": WRONG, "tests": HUMANEVAL_STYLE, "entry_point": "add"}).value == 0.0
    # a source that calls check itself needs none
    assert reward.score({"completion": WRONG, "tests": HUMANEVAL_STYLE + "check(add)\n"}).value == 0.0
    assert reward.score({"completion": GOOD, "tests": HUMANEVAL_STYLE + "check(add)\n"}).value == 1.0


@pytest.mark.parametrize(
    "tests, msg",
    [
        ("def helper():\n    assert add(1, 2) == 3\n", "runs no check"),
        ("import unittest\nclass Helper:\n    def test_x(self):\n        assert add(1, 1) == 2\n", "runs no check"),
        ("def test_with_fixture(tmp_path):\n    assert add(1, 2) == 3\n", "fixtures"),
        ("if __name__ == '__main__':\n    assert add(1, 2) == 3\n", "runs no check"),
    ],
    ids=["helper-only", "not-a-testcase", "pytest-fixture", "main-guard-only"],
)
def test_sources_that_check_nothing_are_refused(tests, msg):
    with pytest.raises(InputError, match=msg):
        parse_tests(tests)


def test_mixed_top_level_and_functions(reward):
    tests = "assert add(1, 1) == 2\n\ndef test_more():\n    assert add(2, 2) == 4\n"
    assert parse_tests(tests).names == ["test_0", "test_more"]
    assert reward.score({"completion": WRONG, "tests": tests}).value == 0.0
    assert reward.score({"completion": GOOD, "tests": tests}).value == 1.0
