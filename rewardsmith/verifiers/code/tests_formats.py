"""Test formats of the code verifier: parse the `tests` column, judge raw observations.

Three formats, recognised from the shape of the value (a JSON string is parsed first):

- assert-style source: a string (one test source) or a list of strings, split into units
  by `units.find_units` (top-level asserts, HumanEval `check(candidate)`, pytest-style
  `test_*` functions, `unittest.TestCase` methods; a source that checks nothing is refused).
- stdin/stdout cases: a list of {"input", "output"}, APPS' {"inputs": [...], "outputs": [...]},
  CodeContests' {"input": [...], "output": [...]} or open-r1's {"test_cases": [...]}; the
  solution runs as a script once per case, and its real exit status decides.
- function-call cases: a list of {"args": [...], "kwargs": {...}, "expected": ...} (or
  {"entry_point"/"fn_name": ..., "cases": [...]}, or APPS {"fn_name", "inputs", "outputs"}),
  calling the entry point with each (a method of `class Solution` when there is no such
  top-level function, as in LeetCode-style problems). As APPS' own checker does, an APPS
  expected value wrapped in a one-element list also matches the bare value.

Where verdicts are decided (`details["verdict"]`):
- "out-of-process": stdin/stdout cases, function-call cases, and every assert unit whose
  shape `probes.plan` accepts. The sandbox reports only what the program printed, its real
  exit status, or the plain-data values its functions returned; the verifier compares.
  Expected values never reach the program.
- "in-process": assert units that need the program's interpreter (loops over helpers,
  TestCase classes, custom objects with `type_check=False`); the sandbox runs them hardened
  (see `harness`), and a determined program could still forge them.

Comparison policy (documented in docs/code.md):
- stdin/stdout: whitespace-tolerant: compared line by line as whitespace-separated tokens,
  blank lines ignored; a token whose expected form is a decimal/float literal (has ".", "e")
  matches a number within `float_tolerance` (relative or absolute).
- function-call cases: returned values must be plain data, compared with Python `==`
  semantics except that lists and tuples are interchangeable (JSON has no tuples) and floats
  match within `float_tolerance`. Probed asserts keep the test's own Python semantics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardsmith.core.errors import InputError
from rewardsmith.verifiers.code.codec import safe_repr
from rewardsmith.verifiers.code.probes import ProbeResult, judge_plan
from rewardsmith.verifiers.code.units import Unit, find_units, plan_unit, prompt_helpers

Mode = Literal["assert", "call", "io"]
# Outcome statuses of one test.
PASSED, FAILED, ERROR, TIMEOUT, NOT_RUN = "passed", "failed", "error", "timeout", "not_run"
OUT_OF_PROCESS, IN_PROCESS = "out-of-process", "in-process"


@dataclass(slots=True)
class TestOutcome:
    name: str
    status: str
    message: str = ""
    time_s: float | None = None
    verdict: str = OUT_OF_PROCESS

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "time_s": self.time_s,
            "verdict": self.verdict,
        }


@dataclass(slots=True)
class TestSuite:
    """Parsed tests. `untrusted()` is what may enter the sandbox; expected values never do."""

    mode: Mode
    names: list[str]
    sources: list[str] = field(default_factory=list)
    cases: list[tuple[list[Any], dict[str, Any]]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    expected: list[Any] = field(default_factory=list)
    entry_point: str | None = None
    #: APPS call-based problems wrap some expected values in a one-element list; accept both
    lenient_wrapping: bool = False
    units: list[Unit] = field(default_factory=list)
    #: the prompt's own helper functions (source), given to in-process tests after the solution
    helpers: str = ""

    def __len__(self) -> int:
        return len(self.names)

    def plan(self, *, prompt: Any = None, type_check: bool = True) -> TestSuite:
        """Decide, unit by unit, which verdicts the verifier takes itself (probe plans).
        With `type_check=False` every unit runs in-process (custom objects must be compared)."""
        if self.mode != "assert":
            return self
        names: frozenset[str] = frozenset()
        if isinstance(prompt, str) and prompt.strip():
            self.helpers, names = prompt_helpers(prompt, self.entry_point)
        for unit in self.units:
            if type_check:
                plan_unit(unit, self.sources[unit.source], names)
            else:
                unit.plan, unit.why_in_process = None, "type_check=False: custom objects are compared in-process"
        return self

    @property
    def verdict(self) -> str:
        return IN_PROCESS if any(u.plan is None for u in self.units) else OUT_OF_PROCESS

    def untrusted(self, *, type_check: bool = True) -> dict[str, Any]:
        """What the sandbox needs: the calls to answer, in-process units with their sources,
        stdin of each case. Expected values and probed tests stay here."""
        if self.mode == "io":
            return {"mode": "io", "inputs": self.inputs}
        if self.mode == "call":
            probes = [(self.entry_point, args, kwargs) for args, kwargs in self.cases]
            return {"mode": "steps", "steps": [("probes", probes)], "entry_point": self.entry_point}
        steps: list[Any] = []
        sources: dict[int, str] = {}
        for i, unit in enumerate(self.units):
            if unit.plan is not None:
                steps.append(("probes", [p.to_wire() for p in unit.plan.probes]))
            else:
                sources[unit.source] = self.sources[unit.source]
                steps.append(("unit", i, *unit.wire()))
        job: dict[str, Any] = {"mode": "steps", "steps": steps, "entry_point": self.entry_point}
        if sources:
            job.update(sources=sources, helpers=self.helpers, guard=type_check, hardened=True)
        return job

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
        return _assert_suite([tests], entry_point, where)
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
            return _assert_suite(tests, entry_point, where)
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


def _assert_suite(sources: list[str], entry_point: str | None, where: str) -> TestSuite:
    units: list[Unit] = []
    for i, source in enumerate(sources):
        try:
            compile(source, f"test_{i}.py", "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
        except SyntaxError as exc:
            raise InputError(f"{where}: test {i} is not valid Python ({exc.msg}, line {exc.lineno})") from None
        except ValueError as exc:
            raise InputError(f"{where}: test {i} is not valid Python ({exc})") from None
        units += find_units(source, i, entry_point, where)
    return TestSuite("assert", [u.name for u in units], sources=list(sources), entry_point=entry_point, units=units)


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
    return safe_repr(value, n)


# -- judging ----------------------------------------------------------------------------------


def _infra(run: dict[str, Any]) -> str:
    return f"the sandboxed process failed before running the program ({run['exit']}): {run['stderr'][-500:]}"


def judge(
    suite: TestSuite, runs: list[dict[str, Any]], *, float_tolerance: float = 1e-6
) -> tuple[list[TestOutcome], str | None]:
    """Per-test outcomes from the sandbox's raw observations, plus an infrastructure error
    (the sandbox failed before the program started) or None.

    A run's observations: `frames` [(kind, index, payload)] decoded within limits, the real
    `exit`/`exit_code`/`signal`, `timed_out`, `stdout`, `stderr`. Everything in them that the
    program controls is hostile: any error while judging is the program's failure."""
    if suite.mode == "io":
        return _judge_io(suite, runs, float_tolerance)
    run = runs[0]
    frames: dict[tuple[str, int], Any] = {}
    tampered: set[tuple[str, int]] = set()
    for frame in run["frames"]:
        kind, index, payload = frame
        if (kind, index) in frames:
            tampered.add((kind, index))  # the harness writes each frame once: a second one is forged
        frames.setdefault((kind, index), payload)
    if ("ready", 0) not in frames:
        return [], _infra(run)
    load = frames.get(("load", 0))
    ended = _ended(run)
    verdicts = [OUT_OF_PROCESS] * len(suite.names)
    if suite.mode == "assert":
        verdicts = [OUT_OF_PROCESS if u.plan is not None else IN_PROCESS for u in suite.units]
    if load is None:
        status = TIMEOUT if run["timed_out"] else ERROR
        why = (
            "the program's top level ran past the time limit"
            if run["timed_out"]
            else f"the program ended before its tests ran ({ended})"
        )
        return [TestOutcome(n, status, why, None, v) for n, v in zip(suite.names, verdicts, strict=True)], None
    if not isinstance(load, dict) or not load.get("ok"):
        msg = f"the solution failed to load: {_field(load, 'error')}"
        return [TestOutcome(n, ERROR, msg, None, v) for n, v in zip(suite.names, verdicts, strict=True)], None
    state = _Progress(run, ended)
    if suite.mode == "call":
        return [_judge_case(suite, i, frames, tampered, state, float_tolerance) for i in range(len(suite.names))], None
    outcomes = []
    k = 0
    for i, unit in enumerate(suite.units):
        if unit.plan is not None:
            n = len(unit.plan.probes)
            outcomes.append(_judge_probed(unit, range(k, k + n), frames, tampered, state))
            k += n
        else:
            outcomes.append(_judge_in_process(unit, i, frames, tampered, state))
    return outcomes, None


class _Progress:
    """The first test that did not report is a timeout or an error; the ones after it did not run."""

    def __init__(self, run: dict[str, Any], ended: str) -> None:
        self.run, self.ended, self.stopped = run, ended, False

    def missing(self, name: str, verdict: str) -> TestOutcome:
        if self.stopped:
            return TestOutcome(name, NOT_RUN, "not run: an earlier test did not finish", None, verdict)
        self.stopped = True
        if self.run["timed_out"]:
            return TestOutcome(name, TIMEOUT, "ran past the time limit", None, verdict)
        return TestOutcome(name, ERROR, f"the program ended during this test ({self.ended})", None, verdict)


def _field(payload: Any, key: str, default: Any = "") -> Any:
    return payload.get(key, default) if isinstance(payload, dict) else default


def _time(payload: Any) -> float | None:
    t = _field(payload, "time", None)
    return float(t) if type(t) in (int, float) else None


def _judge_case(
    suite: TestSuite, i: int, frames: dict[Any, Any], tampered: set[Any], state: _Progress, tol: float
) -> TestOutcome:
    name = suite.names[i]
    payload = frames.get(("value", i))
    if payload is None:
        return state.missing(name, OUT_OF_PROCESS)
    t = _time(payload)
    if ("value", i) in tampered:
        return TestOutcome(name, FAILED, "two answers for one call: the program wrote on the result channel", t)
    if not isinstance(payload, dict) or not payload.get("ok"):
        return TestOutcome(name, _crash_status(payload), _short(_field(payload, "error"), 500), t)
    got, want = payload.get("value"), suite.expected[i]
    unwrapped = suite.lenient_wrapping and isinstance(want, list) and len(want) == 1
    try:
        equal = values_equal(got, want, tol) or (unwrapped and values_equal(got, want[0], tol))
    except Exception as exc:  # a hostile value (10**400 against a float): the program's failure
        return TestOutcome(name, FAILED, f"cannot compare the returned value ({type(exc).__name__}: {exc})", t)
    if equal:
        return TestOutcome(name, PASSED, "", t)
    return TestOutcome(name, FAILED, f"expected {_short(want)}, got {_short(got)}", t)


def _judge_probed(
    unit: Unit, slots: range, frames: dict[Any, Any], tampered: set[Any], state: _Progress
) -> TestOutcome:
    assert unit.plan is not None
    results: list[ProbeResult] = []
    elapsed = 0.0
    for k in slots:
        payload = frames.get(("value", k))
        if payload is None:
            return state.missing(unit.name, OUT_OF_PROCESS)
        if ("value", k) in tampered:
            return TestOutcome(unit.name, FAILED, "two answers for one call: the program wrote on the result channel")
        elapsed += _time(payload) or 0.0
        if isinstance(payload, dict) and payload.get("ok"):
            results.append(ProbeResult(True, payload.get("value")))
        else:
            results.append(ProbeResult(False, error=_short(_field(payload, "error"), 500)))
    verdict = judge_plan(unit.plan, results)
    t = round(elapsed, 6)
    if verdict is None:
        return TestOutcome(unit.name, PASSED, "", t)
    crashed, why = verdict
    return TestOutcome(unit.name, ERROR if crashed else FAILED, why, t)


def _judge_in_process(unit: Unit, i: int, frames: dict[Any, Any], tampered: set[Any], state: _Progress) -> TestOutcome:
    payload = frames.get(("test", i))
    if payload is None:
        return state.missing(unit.name, IN_PROCESS)
    t = _time(payload)
    if ("test", i) in tampered:
        return TestOutcome(unit.name, FAILED, "two verdicts for one test: the program forged one", t, IN_PROCESS)
    if isinstance(payload, dict) and payload.get("ok") is True:
        return TestOutcome(unit.name, PASSED, "", t, IN_PROCESS)
    status = NOT_RUN if _field(payload, "skipped") else _crash_status(payload)
    return TestOutcome(unit.name, status, _short(_field(payload, "error"), 500), t, IN_PROCESS)


def _crash_status(payload: Any) -> str:
    """A test that raised anything but an assertion or a plain-data refusal crashed: error."""
    text = str(_field(payload, "error"))
    if text.startswith(("AssertionError", "NotPlainData", "ValueTooLarge", "skipped")) or "NotPlainData" in text[:80]:
        return FAILED
    return ERROR if text else FAILED


def _ended(run: dict[str, Any]) -> str:
    if run["signal"] is not None:
        return run["exit"]
    return f"{run['exit']}, without reporting"


def _judge_io(suite: TestSuite, runs: list[dict[str, Any]], tol: float) -> tuple[list[TestOutcome], str | None]:
    """The real exit status decides (a frame the program forged cannot hide a crash)."""
    outcomes = []
    for name, run, expected in zip(suite.names, runs, suite.expected, strict=False):
        if run.get("skipped"):
            outcomes.append(TestOutcome(name, NOT_RUN, "not run: an earlier case ran past the time limit"))
            continue
        if not any(f[0] == "ready" for f in run["frames"]):
            return [], _infra(run)
        t = run["time_s"]
        if run["timed_out"]:
            outcomes.append(TestOutcome(name, TIMEOUT, "ran past the time limit", t))
        elif run["signal"] is not None or run["exit_code"] != 0:
            tail = run["stderr"].strip().splitlines()[-1:] or [""]
            outcomes.append(TestOutcome(name, ERROR, _short(f"{run['exit']}: {tail[0]}", 500), t))
        elif run["stdout_truncated"]:
            outcomes.append(TestOutcome(name, FAILED, "output exceeded the capture limit", t))
        elif outputs_match(run["stdout"], expected, tol):
            outcomes.append(TestOutcome(name, PASSED, "", t))
        else:
            outcomes.append(
                TestOutcome(name, FAILED, f"expected {_short(expected)!r}, got {_short(run['stdout'])!r}", t)
            )
    return outcomes, None
