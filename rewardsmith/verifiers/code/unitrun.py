"""Running test units (see `units`) and reporting each outcome: the part shared by the tests'
process (`trusted`, where solution names are `rpc.Remote` proxies) and the in-process runs
(`harness`, hardened, where they are the solution's own objects).

A unit is `("unit", index, source, kind, target, argument)`: a test source's top level
(MODULE), `check(candidate)` (CHECK), a pytest-style function (FUNCTION) or one method of a
unittest.TestCase class (METHOD; all of a class's units run together, so that setUpClass
runs once, and each reports as soon as it finishes). Each report is `("test", index,
{"ok", "error", "time", ["skipped"]})`.
"""

from __future__ import annotations

import linecache
import time
import traceback
import unittest
from typing import Any

from rewardsmith.verifiers.code.units import CHECK, FUNCTION, METHOD, MODULE

_perf = time.perf_counter


def error_text(exc: BaseException, limit: int = 2000) -> str:
    try:
        if type(exc).__module__.startswith("rewardsmith."):  # ours: NotPlainData, not a dotted path
            text = f"{type(exc).__name__}: {exc}"
        else:
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    except BaseException:
        text = f"{type(exc).__name__} (unprintable)"
    return text[-limit:]


def remember_source(filename: str, source: str) -> None:
    """So that tracebacks show the offending lines."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


class UnitResult(unittest.TestResult):
    """Records each unittest outcome as it happens (so a timeout keeps earlier verdicts)."""

    def __init__(self, on_done: Any) -> None:
        super().__init__()
        self.on_done = on_done
        self.outcome: dict[str, Any] = {}

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self.outcome = {"ok": True, "t0": _perf()}

    def _fail(self, err: Any) -> None:
        if self.outcome.get("ok"):
            self.outcome.update(ok=False, error=error_text(err[1]))

    def addFailure(self, test: Any, err: Any) -> None:
        self._fail(err)

    def addError(self, test: Any, err: Any) -> None:
        self._fail(err)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            self._fail(err)

    def addSkip(self, test: Any, reason: str) -> None:
        self.outcome.update(ok=False, skipped=True, error=f"skipped: {reason}"[:300])

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        self.outcome.update(ok=False, error="expected failure: does not count as passed")

    def addUnexpectedSuccess(self, test: Any) -> None:
        self.outcome.update(ok=False, error="unexpected success")

    def stopTest(self, test: Any) -> None:
        super().stopTest(test)
        self.on_done(test._testMethodName, self.outcome)


class UnitRunner:
    """Runs units in namespaces made from `base` (a copy per test source). Subclasses hook in
    what their setting needs (the in-process runs restore modules after solution code)."""

    def __init__(self, base: dict[str, Any], sources: dict[int, str], steps: list[Any]) -> None:
        self.base = base
        self.sources = sources
        self.modules: dict[int, tuple[dict[str, Any] | None, str]] = {}
        self.classes_done: set[tuple[int, str]] = set()
        self.class_units: dict[tuple[int, str], dict[str, int]] = {}
        for step in steps:
            if step[0] == "unit" and step[3] == METHOD:
                cls_name, method = step[4].split(".", 1)
                self.class_units.setdefault((step[2], cls_name), {})[method] = step[1]

    # -- hooks -------------------------------------------------------------------------------
    def compile_source(self, source: str, filename: str) -> Any:
        return compile(source, filename, "exec")

    def settle(self) -> None:
        """After test code ran (and maybe called solution code)."""

    def protect(self, names: dict[str, Any]) -> None:
        """Names a test source defined (classes and functions of the tests)."""

    def violation(self) -> str | None:
        """Why the unit that just ran must fail although it raised nothing."""
        return None

    def clear_violations(self) -> None:
        pass

    # -- running ------------------------------------------------------------------------------
    def module(self, index: int) -> tuple[dict[str, Any] | None, str]:
        """Execute a test source's top level once (its module unit, or setup for the others)."""
        if index not in self.modules:
            source = self.sources[index]
            filename = f"test_{index}.py"
            remember_source(filename, source)
            ns = dict(self.base)
            try:
                exec(self.compile_source(source, filename), ns)
                self.protect({k: v for k, v in ns.items() if k not in self.base or ns[k] is not self.base[k]})
                self.modules[index] = (ns, "")
            except BaseException as exc:
                self.modules[index] = (None, self.failure(exc, filename))
            self.settle()
        return self.modules[index]

    def failure(self, exc: BaseException, filename: str) -> str:
        violation = self.violation()
        if violation:
            return violation
        where = ""
        try:
            for frame in traceback.extract_tb(exc.__traceback__):
                if frame.filename == filename:
                    where = f" at line {frame.lineno}: {(frame.line or '').strip()[:200]}"
        except BaseException:
            pass
        return error_text(exc) + where

    def run_unit(self, step: Any, report: Any) -> None:
        _, index, source, kind, target, argument = step
        self.report = report
        t0 = _perf()
        self.clear_violations()
        if kind == MODULE:
            ns, error = self.module(source)
            violation = self.violation()
            ok = ns is not None and not violation
            report("test", index, {"ok": ok, "error": error or violation or "", "time": _perf() - t0})
            return
        ns, error = self.module(source)
        if ns is None:
            report("test", index, {"ok": False, "error": f"the test module failed: {error}", "time": _perf() - t0})
            return
        if kind == METHOD:
            self.run_method(ns, source, target)
            return
        payload: dict[str, Any]
        try:
            fn = ns[target]
            if kind == CHECK:
                candidate = self.base.get(argument) if argument else None
                if candidate is None:
                    raise NameError(f"the solution defines no function {argument!r}")
                fn(candidate)
            elif kind == FUNCTION:
                fn()
            self.settle()
            violation = self.violation()
            payload = {"ok": not violation, "time": _perf() - t0}
            if violation:
                payload["error"] = violation
        except BaseException as exc:
            self.settle()
            payload = {"ok": False, "error": self.failure(exc, f"test_{source}.py"), "time": _perf() - t0}
        report("test", index, payload)

    def run_method(self, ns: dict[str, Any], source: int, target: str) -> None:
        cls_name = target.split(".", 1)[0]
        key = (source, cls_name)
        if key in self.classes_done:
            return
        self.classes_done.add(key)
        wanted = self.class_units.get(key, {})
        cls = ns.get(cls_name)
        report = self.report

        def done(name: str, outcome: dict[str, Any]) -> None:
            self.settle()
            i = wanted.get(name)
            if i is None:
                return
            t = _perf() - outcome.pop("t0", _perf())
            violation = self.violation()
            if outcome.get("ok") and violation:
                outcome.update(ok=False, error=violation)
            self.clear_violations()
            report("test", i, dict(outcome, time=t))

        if not isinstance(cls, type) or not issubclass(cls, unittest.TestCase):
            for i in wanted.values():
                report("test", i, {"ok": False, "error": f"{cls_name} is not a unittest.TestCase here"})
            return
        suite = unittest.TestSuite([cls(m) for m in wanted])
        suite.run(UnitResult(done))
        self.settle()
