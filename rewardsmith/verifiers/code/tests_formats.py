"""Test formats of the code verifier: parse the `tests` column, judge raw observations.

Three formats, recognised from the shape of the value (a JSON string is parsed first):

- assert-style source: a string (one test) or a list of strings (one test each), run
  after the solution in its namespace. HumanEval-style source that defines
  `check(candidate)` is called with the entry point when one is known.
- stdin/stdout cases: a list of {"input", "output"}, APPS' {"inputs": [...], "outputs": [...]},
  CodeContests' {"input": [...], "output": [...]} or open-r1's {"test_cases": [...]}; the
  solution runs as a script once per case.
- function-call cases: a list of {"args": [...], "kwargs": {...}, "expected": ...} (or
  {"entry_point"/"fn_name": ..., "cases": [...]}, or APPS {"fn_name", "inputs", "outputs"}),
  calling the entry point with each (a method of `class Solution` when there is no such
  top-level function, as in LeetCode-style problems). As APPS' own checker does, an APPS
  expected value wrapped in a one-element list also matches the bare value.

Judging happens here, in the verifier's process: the sandbox only reports what the program
printed or returned, so expected values never reach untrusted code.

Comparison policy (documented in docs/code.md):
- stdin/stdout: whitespace-tolerant: compared line by line as whitespace-separated tokens,
  blank lines ignored; a token whose expected form is a decimal/float literal (has ".", "e")
  matches a number within `float_tolerance` (relative or absolute).
- returned values: must be plain data (checked in the sandbox; AlwaysEqual objects fail
  there), compared with Python `==` semantics except that lists and tuples are
  interchangeable (JSON has no tuples) and floats match within `float_tolerance`.
"""

from __future__ import annotations

import ast
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardsmith.core.errors import InputError

Mode = Literal["assert", "call", "io"]
# Outcome statuses of one test.
PASSED, FAILED, ERROR, TIMEOUT, NOT_RUN = "passed", "failed", "error", "timeout", "not_run"


@dataclass(slots=True)
class TestOutcome:
    name: str
    status: str
    message: str = ""
    time_s: float | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "message": self.message, "time_s": self.time_s}


@dataclass(slots=True)
class TestSuite:
    """Parsed tests. `untrusted()` is what may enter the sandbox; `expected` never does."""

    mode: Mode
    names: list[str]
    sources: list[str] = field(default_factory=list)
    cases: list[tuple[list[Any], dict[str, Any]]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    expected: list[Any] = field(default_factory=list)
    entry_point: str | None = None
    #: APPS call-based problems wrap some expected values in a one-element list; accept both
    lenient_wrapping: bool = False

    def __len__(self) -> int:
        return len(self.names)

    def untrusted(self, *, type_check: bool = True) -> dict[str, Any]:
        """What the sandbox needs. `guard`: compile assert tests with every comparison
        operand wrapped in the plain-data check (see `guard_comparisons`)."""
        if self.mode == "assert":
            return {"mode": "assert", "tests": self.sources, "entry_point": self.entry_point, "guard": type_check}
        if self.mode == "call":
            return {"mode": "call", "cases": self.cases, "entry_point": self.entry_point}
        return {"mode": "io", "inputs": self.inputs}

    @property
    def runs(self) -> int:
        return len(self.inputs) if self.mode == "io" else 1


def parse_tests(tests: Any, *, entry_point: str | None = None, where: str = "tests") -> TestSuite:
    """Recognise the format of a `tests` value; InputError (naming `where`) when it fits none."""
    if tests is None or (isinstance(tests, (str, list, dict)) and not tests):
        raise InputError(f"{where}: the sample has no tests; the code verifier needs a non-empty '{where}' column")
    if isinstance(tests, str):
        text = tests.strip()
        if text[:1] in "[{":
            try:
                return parse_tests(json.loads(text), entry_point=entry_point, where=where)
            except ValueError:
                pass  # Python source that starts with a bracket
        _check_source(tests, where, 0)
        return TestSuite("assert", [_assert_name(tests, entry_point, 0)], sources=[tests], entry_point=entry_point)
    if isinstance(tests, Mapping):
        fn = tests.get("entry_point") or tests.get("fn_name") or entry_point
        if "cases" in tests:
            return _call_suite(tests["cases"], fn, where)
        if "test_cases" in tests:  # open-r1 verifiable-coding-problems: {"language", "test_cases": [...]}
            return parse_tests(tests["test_cases"], entry_point=fn, where=where)
        for ins_key, outs_key in (("inputs", "outputs"), ("input", "output")):  # APPS, CodeContests
            if ins_key not in tests or outs_key not in tests:
                continue
            ins, outs = tests[ins_key], tests[outs_key]
            if not isinstance(ins, list) or not isinstance(outs, list) or len(ins) != len(outs):
                raise InputError(f"{where}: '{ins_key}' and '{outs_key}' must be lists of the same length")
            if tests.get("fn_name"):
                cases = [
                    {"args": i if isinstance(i, list) else [i], "expected": o} for i, o in zip(ins, outs, strict=True)
                ]
                suite = _call_suite(cases, fn, where)
                suite.lenient_wrapping = True
                return suite
            return _io_suite([{"input": i, "output": o} for i, o in zip(ins, outs, strict=True)], where)
        raise InputError(
            f"{where}: a dict of tests needs 'cases' (function calls), 'inputs' and 'outputs' (APPS), "
            f"'input' and 'output' (CodeContests) or 'test_cases', got keys {sorted(tests)}"
        )
    if isinstance(tests, list):
        if all(isinstance(t, str) for t in tests):
            for i, t in enumerate(tests):
                _check_source(t, where, i)
            return TestSuite(
                "assert",
                [_assert_name(t, entry_point, i) for i, t in enumerate(tests)],
                sources=list(tests),
                entry_point=entry_point,
            )
        if all(isinstance(t, Mapping) for t in tests):
            if all("input" in t and "output" in t for t in tests):
                return _io_suite(tests, where)
            if all("expected" in t for t in tests):
                return _call_suite(tests, entry_point, where)
        raise InputError(
            f"{where}: a list of tests must hold assert-style source strings, {{'input', 'output'}} cases "
            "or {'args', 'expected'} cases"
        )
    raise InputError(f"{where}: expected test source, a list or a dict, got {type(tests).__name__}")


GUARD_NAME = "__rewardsmith_plain__"
_GUARDED_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class _GuardCompares(ast.NodeTransformer):
    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if not all(isinstance(op, _GUARDED_OPS) for op in node.ops):
            return node  # `is` / `is not` compare identities, which no object can fake

        def wrap(expr: ast.expr) -> ast.expr:
            return ast.Call(func=ast.Name(id=GUARD_NAME, ctx=ast.Load()), args=[expr], keywords=[])

        return ast.copy_location(
            ast.Compare(left=wrap(node.left), ops=node.ops, comparators=[wrap(c) for c in node.comparators]), node
        )


def guard_comparisons(source: str) -> ast.Module:
    """The test source's syntax tree with every operand of ==, !=, <, <=, >, >=, in, not in
    sent through the sandbox's plain-data check first: an AlwaysEqual object (or one with a
    rigged `__lt__`, or reached through a method or attribute) fails the test instead of
    passing it. Line numbers are kept, so tracebacks point at the original test lines. The
    harness compiles the tests with it before the solution's code runs."""
    tree = _GuardCompares().visit(ast.parse(source))
    return ast.fix_missing_locations(tree)


@functools.lru_cache(maxsize=1024)
def _syntax_error(source: str) -> str | None:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return f"{exc.msg}, line {exc.lineno}"
    return None


def _check_source(source: str, where: str, i: int) -> None:
    error = _syntax_error(source)
    if error:
        raise InputError(f"{where}: test {i} is not valid Python ({error})")


def _assert_name(source: str, entry_point: str | None, i: int) -> str:
    return "check" if entry_point and "def check" in source else f"test_{i}"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _io_suite(cases: list[Any], where: str) -> TestSuite:
    inputs = [_text(c["input"]) for c in cases]
    outputs = [_text(c["output"]) for c in cases]
    return TestSuite("io", [f"case_{i}" for i in range(len(cases))], inputs=inputs, expected=outputs)


def _call_suite(cases: Any, entry_point: str | None, where: str) -> TestSuite:
    if not entry_point or not isinstance(entry_point, str):
        raise InputError(
            f"{where}: function-call cases need an entry point: give entry_point=... to the verifier, an "
            "'entry_point' column, or 'entry_point'/'fn_name' in the tests"
        )
    if not isinstance(cases, list) or not cases:
        raise InputError(f"{where}: 'cases' must be a non-empty list")
    parsed, expected, names = [], [], []
    for i, c in enumerate(cases):
        if not isinstance(c, Mapping) or "expected" not in c:
            raise InputError(f"{where}: case {i} needs 'expected' (and 'args' / 'kwargs')")
        args, kwargs = c.get("args", []), c.get("kwargs", {})
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, Mapping):
            raise InputError(f"{where}: case {i}: 'args' must be a list and 'kwargs' a dict")
        parsed.append((list(args), dict(kwargs)))
        expected.append(c["expected"])
        shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        names.append(f"{entry_point}({shown[:60]}{'…' if len(shown) > 60 else ''})")
    return TestSuite("call", names, cases=parsed, expected=expected, entry_point=entry_point)


# -- comparison -----------------------------------------------------------------------------


def decode(node: Any) -> Any:
    """Inverse of `harness.encode` (untrusted input: only builds plain data)."""
    tag = node[0]
    if tag == "n":
        return None
    if tag == "b":
        return bool(node[1])
    if tag == "i":
        return int(node[1])
    if tag == "f":
        return float(node[1])
    if tag == "c":
        return complex(float(node[1][0]), float(node[1][1]))
    if tag == "s":
        return str(node[1])
    if tag == "y":
        return bytes.fromhex(node[1])
    if tag in ("l", "t"):
        items = [decode(v) for v in node[1]]
        return items if tag == "l" else tuple(items)
    if tag == "S":
        return {decode(v) for v in node[1]}
    if tag == "d":
        return {decode(k): decode(v) for k, v in node[1]}
    raise ValueError(f"unknown value tag {tag!r}")


def values_equal(got: Any, expected: Any, tol: float) -> bool:
    if isinstance(expected, float) or (isinstance(got, float) and isinstance(expected, (int, float))):
        if isinstance(got, bool) or not isinstance(got, (int, float)) or isinstance(expected, bool):
            return got == expected
        if math.isnan(expected) and math.isnan(got):
            return True
        return got == expected or (tol > 0 and math.isclose(got, expected, rel_tol=tol, abs_tol=tol))
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(expected) and all(values_equal(g, e, tol) for g, e in zip(got, expected, strict=False))
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(values_equal(got[k], expected[k], tol) for k in expected)
    try:
        return bool(got == expected)
    except Exception:
        return False


def _float_literal(token: str) -> bool:
    if not any(c in token for c in ".eE"):
        return False
    try:
        float(token)
        return True
    except ValueError:
        return False


def outputs_match(got: str, expected: str, tol: float) -> bool:
    g = [line.split() for line in got.splitlines() if line.strip()]
    e = [line.split() for line in expected.splitlines() if line.strip()]
    if len(g) != len(e):
        return False
    for gl, el in zip(g, e, strict=False):
        if len(gl) != len(el):
            return False
        for gt, et in zip(gl, el, strict=False):
            if gt == et:
                continue
            if tol > 0 and _float_literal(et):
                try:
                    if math.isclose(float(gt), float(et), rel_tol=tol, abs_tol=tol):
                        continue
                except ValueError:
                    pass
            return False
    return True


def _short(value: Any, n: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= n else text[:n] + "…"


# -- judging ----------------------------------------------------------------------------------


def judge(
    suite: TestSuite, runs: list[dict[str, Any]], *, float_tolerance: float = 1e-6
) -> tuple[list[TestOutcome], str | None]:
    """Per-test outcomes from the sandbox's raw observations, plus an infrastructure error
    (the sandbox failed before the program started) or None."""
    if suite.mode == "io":
        return _judge_io(suite, runs, float_tolerance)
    run = runs[0]
    frames: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, index, payload in run["frames"]:
        frames.setdefault((kind, index), payload)
    if ("ready", 0) not in frames:
        return [], f"the sandboxed process failed before running the program ({run['exit']}): {run['stderr'][-500:]}"
    load = frames.get(("load", 0))
    ended = _ended(run)
    if load is None:
        status = TIMEOUT if run["timed_out"] else ERROR
        why = (
            "the program's top level ran past the time limit"
            if run["timed_out"]
            else (f"the program ended before its tests ran ({ended})")
        )
        return [TestOutcome(n, status, why) for n in suite.names], None
    if not load.get("ok"):
        msg = f"the solution failed to load: {load.get('error', '')}"
        return [TestOutcome(n, ERROR, msg) for n in suite.names], None
    outcomes: list[TestOutcome] = []
    stopped = False
    for i, name in enumerate(suite.names):
        payload = frames.get(("test", i))
        if payload is None:
            if stopped:
                outcomes.append(TestOutcome(name, NOT_RUN, "not run: an earlier test did not finish"))
            elif run["timed_out"]:
                outcomes.append(TestOutcome(name, TIMEOUT, "ran past the time limit"))
            else:
                outcomes.append(TestOutcome(name, ERROR, f"the program ended during this test ({ended})"))
            stopped = True
            continue
        t = payload.get("time")
        if not payload.get("ok"):
            outcomes.append(TestOutcome(name, FAILED, _short(payload.get("error", ""), 500), t))
        elif suite.mode == "call":
            try:
                got = decode(payload["value"])
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                outcomes.append(TestOutcome(name, FAILED, f"unreadable return value ({exc})", t))
                continue
            want = suite.expected[i]
            unwrapped = suite.lenient_wrapping and isinstance(want, list) and len(want) == 1
            if values_equal(got, want, float_tolerance) or (unwrapped and values_equal(got, want[0], float_tolerance)):
                outcomes.append(TestOutcome(name, PASSED, "", t))
            else:
                outcomes.append(
                    TestOutcome(name, FAILED, f"expected {_short(suite.expected[i])}, got {_short(got)}", t)
                )
        else:
            outcomes.append(TestOutcome(name, PASSED, "", t))
    return outcomes, None


def _ended(run: dict[str, Any]) -> str:
    if run["signal"] is not None:
        return run["exit"]
    return f"{run['exit']}, without reporting"


def _judge_io(suite: TestSuite, runs: list[dict[str, Any]], tol: float) -> tuple[list[TestOutcome], str | None]:
    outcomes = []
    for name, run, expected in zip(suite.names, runs, suite.expected, strict=False):
        if run.get("skipped"):
            outcomes.append(TestOutcome(name, NOT_RUN, "not run: an earlier case ran past the time limit"))
            continue
        frames = {(k, i): p for k, i, p in run["frames"]}
        if ("ready", 0) not in frames:
            return (
                [],
                f"the sandboxed process failed before running the program ({run['exit']}): {run['stderr'][-500:]}",
            )
        end = frames.get(("end", 0))
        t = run["time_s"]
        if run["timed_out"]:
            outcomes.append(TestOutcome(name, TIMEOUT, "ran past the time limit", t))
        elif run["signal"] is not None:
            outcomes.append(TestOutcome(name, ERROR, f"{run['exit']}; stderr: {run['stderr'][-300:]}", t))
        elif (end and end.get("exit")) or (not end and run["exit_code"] != 0):
            err = (end or {}).get("error") or run["exit"]
            outcomes.append(TestOutcome(name, ERROR, _short(err, 500), t))
        elif run["stdout_truncated"]:
            outcomes.append(TestOutcome(name, FAILED, "output exceeded the capture limit", t))
        elif outputs_match(run["stdout"], expected, tol):
            outcomes.append(TestOutcome(name, PASSED, "", t))
        else:
            outcomes.append(
                TestOutcome(name, FAILED, f"expected {_short(expected)!r}, got {_short(run['stdout'])!r}", t)
            )
    return outcomes, None
