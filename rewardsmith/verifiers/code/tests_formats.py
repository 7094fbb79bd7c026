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

Where verdicts are decided (`details["verdict"]`, and per test `judged_by`):
- "out-of-process": stdin/stdout cases, function-call cases, every assert unit whose shape
  `probes.plan` accepts (judged by the verifier on the plain-data values the program's
  functions returned), and every other assert unit but the few below (judged in the tests'
  process, `trusted`, which never runs the program's code). Expected values never reach the
  program's process.
- "in-process": only units that need the program's own interpreter (`units.classify`:
  `type_check=False`, tests that patch, seed or share files with the program, tests that
  hand it their own functions); they run there hardened (see `harness`), a determined
  program could still forge them, and `details["in_process"]` says why for each.

Comparison policy (documented in docs/code.md):
- stdin/stdout: whitespace-tolerant: compared line by line as whitespace-separated tokens,
  blank lines ignored; a token whose expected form is a decimal/float literal (has ".", "e")
  matches a number within `float_tolerance` (relative or absolute).
- function-call cases: returned values must be plain data, compared with Python `==`
  semantics except that lists and tuples are interchangeable (JSON has no tuples), floats
  match within `float_tolerance`, and an exact expected int (or bool) needs a returned int
  (or bool): a float close to a large integer answer is not that integer. Probed asserts
  keep the test's own Python semantics.

Everything the program's run reports is hostile: frames are decoded here within `codec`'s
limits (one memory budget per run), validated field by field, and any error while judging one
test fails that test with the reason; nothing the program sends makes a Score unscored.
"""

from __future__ import annotations

import json
import math
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rewardsmith.core.errors import InputError
from rewardsmith.verifiers.code import codec
from rewardsmith.verifiers.code.codec import safe_repr
from rewardsmith.verifiers.code.probes import ProbeResult, judge_plan
from rewardsmith.verifiers.code.units import (
    PROGRAM,
    TESTS,
    VERIFIER,
    PlanningError,
    Unit,
    classify,
    find_units,
    helper_callables,
    parse_source,
    prompt_code,
    prompt_helpers,
)

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
    #: who decided: the verifier, the tests' process, or the program's process
    judged_by: str = VERIFIER

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
            "judged_by": self.judged_by,
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
        """Decide, unit by unit, where each verdict is taken (`units.classify`). `prompt`: the
        sample's prompt (Python, or text or chat messages with code blocks), for its helpers."""
        if self.mode != "assert":
            return self
        names: frozenset[str] = frozenset()
        code = prompt_code(prompt)
        if code.strip():
            self.helpers, names = prompt_helpers(code, self.entry_point)
        callables = helper_callables(self.helpers)
        for unit in self.units:
            classify(
                unit,
                self.sources[unit.source],
                names,
                entry_point=self.entry_point,
                type_check=type_check,
                helper_callables=callables,
                helpers_source=self.helpers,
            )
        return self

    @property
    def verdict(self) -> str:
        return IN_PROCESS if any(u.where == PROGRAM for u in self.units) else OUT_OF_PROCESS

    def in_process(self) -> dict[str, str]:
        """Each in-process unit's name and why it needs the program's interpreter."""
        return {u.name: u.why_in_process for u in self.units if u.where == PROGRAM}

    def untrusted(self, *, type_check: bool = True) -> dict[str, Any]:
        """What the program's run needs: the calls to answer, the in-process units with their
        sources, stdin of each case. Expected values, probed tests and the tests' process's
        sources stay out of it."""
        if self.mode == "io":
            return {"mode": "io", "inputs": self.inputs}
        if self.mode == "call":
            probes = [(self.entry_point, args, kwargs) for args, kwargs in self.cases]
            return {"mode": "steps", "steps": [("probes", probes)], "entry_point": self.entry_point}
        steps: list[Any] = []
        sources: dict[int, str] = {}
        for i, unit in enumerate(self.units):
            if unit.where == VERIFIER:
                assert unit.plan is not None
                steps.append(("probes", [p.to_wire() for p in unit.plan.probes]))
            elif unit.where == PROGRAM:
                sources[unit.source] = self.sources[unit.source]
                steps.append(("unit", i, *unit.wire()))
        if any(u.source in sources and u.where != PROGRAM for u in self.units):
            raise PlanningError("an in-process test shares its source with tests judged outside the program")
        job: dict[str, Any] = {"mode": "steps", "steps": steps, "entry_point": self.entry_point}
        if sources:
            job.update(sources=sources, helpers=self.helpers, guard=type_check, hardened=True)
        if any(u.where == TESTS for u in self.units):
            job["serve"] = True
        return job

    def trusted(self) -> dict[str, Any] | None:
        """The job of the tests' process (None when no unit runs there): trusted, never sent to
        the program's run."""
        units = [("unit", i, *u.wire()) for i, u in enumerate(self.units) if u.where == TESTS]
        if self.mode != "assert" or not units:
            return None
        sources = {u.source: self.sources[u.source] for u in self.units if u.where == TESTS}
        return {
            "mode": "tests",
            "units": units,
            "sources": sources,
            "helpers": self.helpers,
            "entry_point": self.entry_point,
        }

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
            parse_source(source)  # cached: a GRPO group scores many completions against one test
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
    """The comparison policy of function-call cases (module docstring). Never raises."""
    try:
        return _equal(got, expected, tol, 0)
    except Exception:
        return False


def _equal(got: Any, expected: Any, tol: float, depth: int) -> bool:
    if depth > codec.MAX_DEPTH:
        return False
    if type(expected) is bool or type(expected) is int:
        return type(got) is type(expected) and got == expected
    if isinstance(expected, float) or (isinstance(got, float) and isinstance(expected, (int, float))):
        if isinstance(got, bool) or not isinstance(got, (int, float)) or isinstance(expected, bool):
            return got == expected
        if math.isnan(expected) and math.isnan(got):
            return True
        return got == expected or (tol > 0 and math.isclose(got, expected, rel_tol=tol, abs_tol=tol))
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(expected) and all(
            _equal(g, e, tol, depth + 1) for g, e in zip(got, expected, strict=False)
        )
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(_equal(got[k], expected[k], tol, depth + 1) for k in expected)
    return bool(got == expected)


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


def _infra(run: dict[str, Any], who: str = "sandboxed process") -> str:
    return f"the {who} failed before running the program ({run['exit']}): {run['stderr'][-500:]}"


_KINDS = frozenset({"ready", "load", "value", "test", "end", "harness_error"})


def decode_frames(
    raw: list[Any], budget: codec.Budget
) -> tuple[dict[tuple[str, int], dict[str, Any]], set[tuple[str, int]], int]:
    """A run's frames, decoded within `codec`'s limits and validated: (first payload of each
    (kind, index), the (kind, index) reported more than once, frames dropped as malformed).
    Remote executors may pass frames already decoded as (kind, index, payload) tuples."""
    frames: dict[tuple[str, int], dict[str, Any]] = {}
    tampered: set[tuple[str, int]] = set()
    bad = 0
    for item in raw:
        try:
            frame = codec.decode(item, budget=budget) if type(item) is bytes else item
        except codec.DecodeError:
            bad += 1
            continue
        if not (
            type(frame) is tuple
            and len(frame) == 3
            and type(frame[0]) is str
            and frame[0] in _KINDS
            and type(frame[1]) is int
            and 0 <= frame[1] < 1 << 24
            and type(frame[2]) is dict
        ):
            bad += 1
            continue
        key = (frame[0], frame[1])
        if key in frames:
            tampered.add(key)  # the harness writes each frame once: a second one is forged
        else:
            frames[key] = frame[2]
    return frames, tampered, bad


def judge(
    suite: TestSuite, runs: list[dict[str, Any]], *, float_tolerance: float = 1e-6
) -> tuple[list[TestOutcome], str | None]:
    """Per-test outcomes from the sandbox's raw observations, plus an infrastructure error
    (the sandbox failed before the program started, or the tests' process failed) or None.

    A run's observations: `frames` (bodies to decode, or decoded (kind, index, payload)), the
    real `exit`/`exit_code`/`signal`, `timed_out`, `stdout`, `stderr`, and with a tests'
    process its own observations under `tests`. Everything in the program's run is hostile:
    any error while judging a test is that test's failure."""
    if suite.mode == "io":
        return _judge_io(suite, runs, float_tolerance)
    run = runs[0]
    budget = codec.Budget()
    frames, tampered, _ = decode_frames(run["frames"], budget)
    if ("ready", 0) not in frames:
        return [], _infra(run)
    tests_run = run.get("tests")
    tframes: dict[tuple[str, int], dict[str, Any]] = {}
    ttampered: set[tuple[str, int]] = set()
    if tests_run is None and any(u.where == TESTS for u in suite.units):
        return [], "the executor ran no tests' process for the tests that need one (see Executor in docs/code.md)"
    if tests_run is not None:
        tframes, ttampered, _ = decode_frames(tests_run["frames"], codec.Budget())
        if ("ready", 0) not in tframes:
            return [], _infra(tests_run, "tests' process")
        if ("harness_error", 0) in tframes:  # our own code failed there: never the program's doing
            return [], "the tests' process failed: " + _field_text(tframes[("harness_error", 0)], "error", 1000)
    load = frames.get(("load", 0))
    ended = _ended(run)
    units = suite.units if suite.mode == "assert" else []
    verdicts = [IN_PROCESS if u.where == PROGRAM else OUT_OF_PROCESS for u in units] or [OUT_OF_PROCESS] * len(
        suite.names
    )
    judges = [u.where for u in units] or [VERIFIER] * len(suite.names)
    if load is None:
        status = TIMEOUT if run["timed_out"] else ERROR
        why = (
            "the program's top level ran past the time limit"
            if run["timed_out"]
            else f"the program ended before its tests ran ({ended})"
        )
        return [
            TestOutcome(n, status, why, None, v, j) for n, v, j in zip(suite.names, verdicts, judges, strict=True)
        ], None
    if load.get("ok") is not True:
        msg = f"the solution failed to load: {_field_text(load, 'error', 500)}"
        return [
            TestOutcome(n, ERROR, msg, None, v, j) for n, v, j in zip(suite.names, verdicts, judges, strict=True)
        ], None
    state = _Progress(run, ended, PROGRAM)
    values = _Values(budget)
    if suite.mode == "call":
        return [
            _guarded(suite.names[i], VERIFIER, _judge_case, suite, i, frames, tampered, state, values, float_tolerance)
            for i in range(len(suite.names))
        ], None
    tstate = _Progress(tests_run or run, _ended(tests_run) if tests_run else ended, TESTS)
    outcomes = []
    k = 0
    for i, unit in enumerate(suite.units):
        if unit.where == VERIFIER:
            assert unit.plan is not None
            n = len(unit.plan.probes)
            outcomes.append(
                _guarded(unit.name, VERIFIER, _judge_probed, unit, range(k, k + n), frames, tampered, state, values)
            )
            k += n
        elif unit.where == TESTS:
            outcomes.append(_guarded(unit.name, TESTS, _judge_unit, unit, i, tframes, ttampered, tstate))
        else:
            outcomes.append(_guarded(unit.name, PROGRAM, _judge_unit, unit, i, frames, tampered, state))
    return outcomes, None


def _guarded(name: str, where: str, judge_one: Any, *args: Any) -> TestOutcome:
    """Any error while judging one test (a hostile value nobody foresaw) fails that test, and
    says so loudly: it may also be a bug of ours."""
    try:
        outcome: TestOutcome = judge_one(*args)
    except Exception as exc:
        where_ = traceback.extract_tb(exc.__traceback__)[-1]
        warnings.warn(
            f"code verifier: judging test {name!r} raised {type(exc).__name__} at {where_.name}:{where_.lineno}; "
            "the test counts as failed",
            RuntimeWarning,
            stacklevel=2,
        )
        outcome = TestOutcome(name, FAILED, f"could not judge this test's result ({type(exc).__name__})")
    outcome.judged_by = where
    if where == PROGRAM:
        outcome.verdict = IN_PROCESS
    return outcome


class _Progress:
    """The first test that did not report is a timeout or an error; the ones after it did not run."""

    def __init__(self, run: dict[str, Any], ended: str, where: str) -> None:
        self.run, self.ended, self.stopped = run, ended, False
        self.who = "the tests' process" if where == TESTS else "the program"

    def missing(self, name: str, verdict: str) -> TestOutcome:
        if self.stopped:
            return TestOutcome(name, NOT_RUN, "not run: an earlier test did not finish", None, verdict)
        self.stopped = True
        if self.run["timed_out"]:
            return TestOutcome(name, TIMEOUT, "ran past the time limit", None, verdict)
        return TestOutcome(name, ERROR, f"{self.who} ended during this test ({self.ended})", None, verdict)


def _field_text(payload: Any, key: str, limit: int = 500) -> str:
    """A text field of a payload: only a str counts, never longer than `limit`."""
    value = payload.get(key) if type(payload) is dict else None
    return safe_repr(value, limit) if type(value) is str else ""


def _time(payload: Any) -> float | None:
    t = payload.get("time") if type(payload) is dict else None
    if type(t) is int:
        t = float(t) if abs(t) < 1 << 53 else None
    if type(t) is not float or not 0.0 <= t <= 1e6:  # also NaN
        return None
    return round(t, 6)


class _Values:
    """Returned values as the program's run sends them: each encoded on its own (`codec`), and
    decoded here within the run's memory budget, so a value that cannot be read fails its own
    test with the reason."""

    def __init__(self, budget: codec.Budget) -> None:
        self.budget = budget

    def read(self, payload: dict[str, Any]) -> tuple[bool, Any]:
        raw = payload.get("value")
        if type(raw) is not bytes:
            return False, "the returned value is missing from the program's report"
        try:
            return True, codec.decode(raw, budget=self.budget)
        except codec.DecodeError as exc:
            return False, f"NotPlainData: the returned value cannot be read within limits ({exc})"


def _judge_case(
    suite: TestSuite,
    i: int,
    frames: dict[Any, Any],
    tampered: set[Any],
    state: _Progress,
    values: _Values,
    tol: float,
) -> TestOutcome:
    name = suite.names[i]
    payload = frames.get(("value", i))
    if payload is None:
        return state.missing(name, OUT_OF_PROCESS)
    t = _time(payload)
    if ("value", i) in tampered:
        return TestOutcome(name, FAILED, "two answers for one call: the program wrote on the result channel", t)
    if payload.get("ok") is not True:
        return TestOutcome(name, _crash_status(payload), _field_text(payload, "error"), t)
    readable, got = values.read(payload)
    if not readable:
        return TestOutcome(name, FAILED, got, t)
    want = suite.expected[i]
    unwrapped = suite.lenient_wrapping and isinstance(want, list) and len(want) == 1
    equal = values_equal(got, want, tol) or (unwrapped and values_equal(got, want[0], tol))
    if equal:
        return TestOutcome(name, PASSED, "", t)
    return TestOutcome(name, FAILED, f"expected {_short(want)}, got {_short(got)}", t)


def _judge_probed(
    unit: Unit, slots: range, frames: dict[Any, Any], tampered: set[Any], state: _Progress, values: _Values
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
        if payload.get("ok") is True:
            readable, value = values.read(payload)
            results.append(ProbeResult(True, value) if readable else ProbeResult(False, error=value))
        else:
            results.append(ProbeResult(False, error=_field_text(payload, "error") or "the call reported no answer"))
    verdict = judge_plan(unit.plan, results)
    t = round(elapsed, 6)
    if verdict is None:
        return TestOutcome(unit.name, PASSED, "", t)
    crashed, why = verdict
    return TestOutcome(unit.name, ERROR if crashed else FAILED, why, t)


def _judge_unit(unit: Unit, i: int, frames: dict[Any, Any], tampered: set[Any], state: _Progress) -> TestOutcome:
    """A unit run by a harness (in the tests' process, or in-process in the program's run)."""
    verdict = IN_PROCESS if unit.where == PROGRAM else OUT_OF_PROCESS
    payload = frames.get(("test", i))
    if payload is None:
        return state.missing(unit.name, verdict)
    t = _time(payload)
    if ("test", i) in tampered:
        return TestOutcome(unit.name, FAILED, "two verdicts for one test: the program forged one", t, verdict)
    if payload.get("ok") is True:
        return TestOutcome(unit.name, PASSED, "", t, verdict)
    status = NOT_RUN if payload.get("skipped") is True else _crash_status(payload)
    return TestOutcome(unit.name, status, _field_text(payload, "error"), t, verdict)


def _crash_status(payload: Any) -> str:
    """A test that raised anything but an assertion or a plain-data refusal crashed: error."""
    text = _field_text(payload, "error", 100)
    if text.startswith(("AssertionError", "NotPlainData", "ValueTooLarge", "skipped")) or "NotPlainData" in text[:80]:
        return FAILED
    return ERROR if text else FAILED


def _ended(run: dict[str, Any]) -> str:
    if run["signal"] is not None:
        return str(run["exit"])
    return f"{run['exit']}, without reporting"


def _judge_io(suite: TestSuite, runs: list[dict[str, Any]], tol: float) -> tuple[list[TestOutcome], str | None]:
    """The real exit status decides (a frame the program forged cannot hide a crash)."""
    outcomes = []
    for name, run, expected in zip(suite.names, runs, suite.expected, strict=False):
        if run.get("skipped"):
            outcomes.append(TestOutcome(name, NOT_RUN, "not run: an earlier case ran past the time limit"))
            continue
        if ("ready", 0) not in decode_frames(run["frames"], codec.Budget(1 << 20))[0]:
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
