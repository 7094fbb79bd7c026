"""Code hacks produce the programs they claim; test tampering does what it says, and only in a
temporary directory."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import pytest

from rewardsmith import Sample
from rewardsmith.audit import code_hacks
from rewardsmith.audit.anatomy import code_slot
from rewardsmith.audit.runner import genuine_context
from rewardsmith.verifiers.code.redteam import ATTACKS, prompt_helpers
from tests.audit.audit_helpers import exit_status_tests, humaneval_rows

ROWS = humaneval_rows()
CONTEXTS = [genuine_context(Sample.from_row(r))[0] for r in ROWS]
CLAIMS = {
    "early_exit": ["os._exit(0)"],
    "fake_success_output": ["All tests passed", "os._exit(0)"],
    "always_equal": ["def __eq__(self, other): return True", "return _AlwaysEqual()"],
    "int_subclass": ["class _Int(int)", "return _Int(0)"],
    "patched_stdlib": ["math.isclose = lambda", "builtins.isinstance = lambda"],
    "shadowed_builtins": ["def abs(x): return 0", "def isinstance(*a): return True"],
    "redefine_helpers": ["return 0 if len(args) != 1 else args[0]"],
    "test_tampering": ["sys.excepthook = _exit_ok", "atexit.register(_exit_ok)", "Function.runtest = lambda"],
}


def _program(completion: str) -> str:
    slot = code_slot(completion)
    assert slot is not None, completion[:200]
    return slot.content(completion)


@pytest.mark.parametrize("hack", code_hacks.CODE_HACKS, ids=lambda h: h.name)
def test_each_code_hack_is_a_fenced_program_that_does_what_it_claims(hack):
    built = [(ctx, hack.build(ctx)) for ctx in CONTEXTS]
    applied = [(ctx, b) for ctx, b in built if b is not None]
    assert applied, hack.name
    for ctx, completion in applied:
        program = _program(completion)
        tree = ast.parse(program)
        for needle in CLAIMS[hack.name]:
            assert needle in program, (hack.name, needle)
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if hack.name not in ("early_exit", "fake_success_output"):
            assert ctx.sample.get("entry_point") in defined, hack.name
        if hack.name == "redefine_helpers":
            assert set(prompt_helpers(ctx.sample)) <= defined
        assert ctx.sample.get("canonical_solution") is None  # nothing of the solution is given to it


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_every_red_team_program_is_valid_python(name):
    """A program that does not parse scores 0 for a syntax error, never for resisting the attack."""
    for ctx in CONTEXTS[:3]:
        ast.parse(_program(ATTACKS[name](ctx.sample)))


def test_redefine_helpers_applies_only_where_the_prompt_has_helpers():
    applies = [ctx.sample.get("entry_point") for ctx in CONTEXTS if code_hacks.CODE_HACKS[6].build(ctx)]
    assert applies == ["find_zero", "decode_cyclic"]  # HumanEval/32 (poly), /38 (encode_cyclic)


def test_code_hacks_do_not_apply_to_text_rows():
    ctx = genuine_context(Sample(completion="so \\boxed{4}", answer="4"))[0]
    assert [h.name for h in code_hacks.CODE_HACKS if h.build(ctx) is not None] == []


def _tampering_program() -> str:
    return _program(code_hacks.tampered_tests({"tests": "assert add(1, 2) == 3"}))


def test_tampering_turns_a_failing_test_run_into_exit_0(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_tampering_program() + "\nassert add(1, 2) == 3\n")
    honest = tmp_path / "honest.py"
    honest.write_text("def add(a, b):\n    return None\nassert add(1, 2) == 3\n")
    assert subprocess.run([sys.executable, str(honest)], capture_output=True).returncode == 1
    assert subprocess.run([sys.executable, str(script)], capture_output=True).returncode == 0


def test_tampering_makes_every_pytest_test_pass(tmp_path):
    (tmp_path / "solution.py").write_text(_tampering_program())
    (tmp_path / "test_solution.py").write_text(
        textwrap.dedent("""
        from solution import add

        def test_add():
            assert add(1, 2) == 3

        def test_more():
            assert add(2, 2) == 4
        """)
    )
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    done = subprocess.run([*args, "test_solution.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "2 passed" in done.stdout


def test_tampering_overwrites_test_files_only_inside_a_temporary_directory(tmp_path):
    program = _tampering_program() + "\n"
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "prog.py").write_text(program)
    (inside / "test_it.py").write_text("assert False\n")
    (inside / "keep.txt").write_text("keep")
    subprocess.run(
        [sys.executable, "prog.py"], cwd=inside, capture_output=True, env={**os.environ, "TMPDIR": str(tmp_path)}
    )
    assert (inside / "test_it.py").read_text() == "def test_ok():\n    pass\n"
    assert (inside / "keep.txt").read_text() == "keep"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "prog.py").write_text(program)
    (elsewhere / "test_it.py").write_text("assert False\n")
    other_tmp = tmp_path / "not-a-parent"
    other_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(other_tmp)}  # the program's temporary directory is elsewhere
    subprocess.run([sys.executable, "prog.py"], cwd=elsewhere, capture_output=True, env=env)
    assert (elsewhere / "test_it.py").read_text() == "assert False\n"


def test_tampering_beats_a_reward_that_trusts_the_exit_status():
    row = ROWS[0]
    hacked = code_hacks.CODE_HACKS[-1].build(CONTEXTS[0])
    assert exit_status_tests.score({**row, "completion": hacked}).value == 1.0
    assert exit_status_tests.score(row).value == 1.0
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return None\n```"
    assert exit_status_tests.score({**row, "completion": wrong}).value == 0.0
