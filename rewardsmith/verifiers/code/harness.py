"""The code that runs inside the sandboxed child: load the solution, run the tests, report.

It is imported by the zygote before any fork, so it costs nothing per run. The child runs
it after `sandbox` has set limits and dropped privileges; from then on everything in this
process is untrusted, so the harness is written to make generic cheating useless:

- Verdicts travel over a private result pipe (fd 3), one line per event, each prefixed
  with a per-run random nonce. Only lines with the nonce count; the zygote requires a
  "load ok" line and one line per test, so exiting early (`exit(0)`, `os._exit`, a signal,
  killing the parent), printing "all tests passed", closing or spamming file descriptors
  or crashing the harness all end as failed or unreported tests, never as passes.
- Function-call and stdin/stdout cases are never judged here: the harness only reports
  return values (as plain data, see `encode`) and the zygote compares them with expected
  values that never enter this process. Those verdicts cannot be forged at all.
- Assert-style tests must run in the solution's interpreter (they call its functions), so
  a program that deliberately reverse-engineers this harness (finds the nonce in memory,
  inspects its caller's frame) could still forge them; see docs/code.md for that limit.
  Generic hacks are defeated: tests run with a pristine copy of the builtins (so a
  patched `len`/`isinstance`/`print` does not reach them), and every operand of a
  comparison in a test (==, !=, <, <=, >, >=, in, not in) must be plain data of exact
  builtin types (the AlwaysEqual guard: `tests_formats.guard_comparisons` rewrites the
  test source) unless `type_check` is off.
"""

from __future__ import annotations

import builtins
import json
import linecache
import os
import sys
import time
import traceback
import types
from typing import Any

from rewardsmith.verifiers.code.tests_formats import GUARD_NAME, guard_comparisons

RESULT_FD = 3
_PRISTINE_BUILTINS = dict(builtins.__dict__)
_write, _perf = os.write, time.perf_counter


class NotPlainData(TypeError):
    """A solution function returned an object that is not plain data (AlwaysEqual guard)."""


# Everything the checks below use is bound here, at import time, by identity: a solution may
# patch `builtins.type`, or define a metaclass whose `__eq__` says every class is `int`.
_type, _id, _repr_int, _repr_float, _hex = type, id, int.__repr__, float.__repr__, bytes.hex
_dict_items = dict.items
_bool, _int, _float, _complex, _str, _bytes = bool, int, float, complex, str, bytes
_SCALAR_IDS = frozenset(map(id, (int, float, complex, str, bytes, bool, type(None))))
_TAGS = {id(list): "l", id(tuple): "t", id(set): "S", id(frozenset): "S"}
_DICT_ID = id(dict)


def _not_plain(t: Any) -> NotPlainData:
    return NotPlainData(
        f"returned a {t.__module__}.{t.__qualname__}, not plain data (int, float, str, list, dict, ...)"
    )


def check_plain(value: Any, depth: int = 0) -> None:
    """Raise NotPlainData unless `value` is built only from exact builtin types.

    Exact types, not isinstance: a subclass of int or str can override `__eq__`.
    """
    tid = _id(_type(value))
    if tid in _SCALAR_IDS:
        return
    if depth > 100:
        raise NotPlainData("value nested more than 100 levels deep")
    if tid in _TAGS:
        for v in value:
            check_plain(v, depth + 1)
        return
    if tid == _DICT_ID:
        for k, v in _dict_items(value):
            check_plain(k, depth + 1)
            check_plain(v, depth + 1)
        return
    raise _not_plain(_type(value))


def encode(value: Any, depth: int = 0) -> Any:
    """Tagged JSON for plain data, decoded by `tests_formats.decode` on the trusted side."""
    t = _type(value)
    if depth > 100:
        raise NotPlainData("value nested more than 100 levels deep")
    if t is _bool:
        return ["b", value is True]
    if t is _int:
        return ["i", _repr_int(value)]
    if t is _float:
        return ["f", _repr_float(value)]
    if t is _complex:
        return ["c", [_repr_float(value.real), _repr_float(value.imag)]]
    if t is _str:
        return ["s", value]
    if t is _bytes:
        return ["y", _hex(value)]
    if value is None:
        return ["n"]
    tag = _TAGS.get(_id(t))
    if tag is not None:
        return [tag, [encode(v, depth + 1) for v in value]]
    if _id(t) == _DICT_ID:
        return ["d", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in _dict_items(value)]]
    raise _not_plain(t)


def _reporter(nonce: str):
    prefix = nonce + " "
    dumps = json.dumps

    def report(kind: str, index: int, payload: dict[str, Any]) -> None:
        line = (prefix + kind + " " + str(index) + " " + dumps(payload) + "\n").encode()
        view = memoryview(line)
        while view:
            try:
                n = _write(RESULT_FD, view)
            except InterruptedError:
                continue
            except OSError:
                return  # the solution closed our pipe: its tests will count as unreported
            view = view[n:]

    return report


def _error_text(exc: BaseException, limit: int = 2000) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-limit:]


def _plain_guard(violations: list[str]) -> Any:
    """The check every comparison operand of a guarded test goes through."""

    def plain(value: Any) -> Any:
        try:
            check_plain(value)
        except NotPlainData as exc:
            violations.append(str(exc).replace("returned", "compared", 1))
            raise
        return value

    return plain


def _flush() -> None:
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def run(spec: dict[str, Any]) -> None:
    """Entry point in the sandboxed child; never returns (exits with os._exit)."""
    report = _reporter(spec["nonce"])
    mode = spec["mode"]
    report("ready", 0, {})
    try:
        if mode == "io":
            _run_script(spec, report)
        else:
            _run_tests(spec, report)
    except BaseException as exc:  # the harness itself failed: report what we can
        try:
            report("harness_error", 0, {"error": _error_text(exc)})
        except BaseException:
            pass
    _flush()
    os._exit(0)


_dict_clear, _dict_update = dict.clear, dict.update


def _restore_builtins() -> None:
    """Undo whatever the solution did to the builtins module (harness code uses it too).
    Unconditionally: comparing first would call `__eq__` of whatever the solution put there."""
    current = builtins.__dict__
    _dict_clear(current)
    _dict_update(current, _PRISTINE_BUILTINS)


def _where(exc: BaseException, filename: str) -> str:
    """' at line N: <source>' of the deepest frame in `filename` (which assert failed)."""
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            found = f" at line {frame.lineno}: {(frame.line or '').strip()[:200]}"
    return found


def _remember_source(filename: str, source: str) -> None:
    """So that tracebacks in stderr_tail show the offending lines."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _load(spec: dict[str, Any], name: str) -> tuple[dict[str, Any] | None, str, int]:
    """Run the solution's top level: (namespace or None, error text, exit code)."""
    # A real module in sys.modules: dataclasses, typing and pickle look classes up through it.
    module = types.ModuleType(name)
    module.__file__ = "solution.py"
    sys.modules[name] = module
    ns: dict[str, Any] = module.__dict__
    ns["__builtins__"] = builtins
    _remember_source("solution.py", spec["code"])
    try:
        code = compile(spec["code"], "solution.py", "exec")
        exec(code, ns)
    except SystemExit as exc:
        _restore_builtins()
        code_ = exc.code
        status = 0 if code_ is None else code_ if type(code_) is int else 1
        return None, f"the solution called exit({code_!r})", status
    except BaseException as exc:
        _restore_builtins()
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)  # from solution.py on
        return None, _error_text(exc), 1
    _restore_builtins()
    return ns, "", 0


def _run_script(spec: dict[str, Any], report: Any) -> None:
    """A stdin/stdout program: run it as __main__; exit(0) is a normal end for a script."""
    t0 = _perf()
    ns, error, exit_code = _load(spec, "__main__")
    if exit_code == 0:
        error = ""
    _flush()
    report("end", 0, {"exit": exit_code, "error": error, "time": _perf() - t0})


def _run_tests(spec: dict[str, Any], report: Any) -> None:
    # Compile the tests before any solution code runs, so it cannot tamper with `ast`/`compile`.
    compiled: list[Any] = []
    for i, source in enumerate(spec.get("tests") or []):
        _remember_source(f"test_{i}.py", source)
        tree = guard_comparisons(source) if spec.get("guard", True) else source
        compiled.append(compile(tree, f"test_{i}.py", "exec"))
    ns, error, _ = _load(spec, "__main__" if spec.get("main_name") else "solution")
    if ns is None:
        report("load", 0, {"ok": False, "error": error})
        return
    report("load", 0, {"ok": True})
    entry = spec.get("entry_point")
    violations: list[str] = []
    fn = ns.get(entry) if entry else None
    if spec["mode"] == "call":
        missing = f"the solution defines no function {entry!r}"
        holder = ns.get("Solution")
        if fn is None and entry and isinstance(holder, type) and hasattr(holder, entry):
            try:  # LeetCode / APPS style: the entry point is a method of `class Solution`
                fn = getattr(holder(), entry)
            except BaseException as exc:
                missing = "Solution() failed: " + _error_text(exc)
            _restore_builtins()
        for i, (args, kwargs) in enumerate(spec["cases"]):
            t0 = _perf()
            try:
                if not callable(fn):
                    raise NameError(missing)
                value = fn(*args, **kwargs)
                elapsed = _perf() - t0
                _restore_builtins()
                payload = {"ok": True, "value": encode(value), "time": elapsed}
            except BaseException as exc:
                _restore_builtins()
                payload = {"ok": False, "error": _error_text(exc), "time": _perf() - t0}
            report("test", i, payload)
        report("end", 0, {})
        return
    # assert-style tests: each runs in a copy of the solution namespace with pristine builtins
    test_ns_base = dict(ns)
    test_ns_base["__builtins__"] = dict(_PRISTINE_BUILTINS)
    test_ns_base["__name__"] = "__main__"
    test_ns_base[GUARD_NAME] = _plain_guard(violations)
    for i, (source, code) in enumerate(zip(spec["tests"], compiled, strict=True)):
        before = len(violations)
        t0 = _perf()
        test_ns = dict(test_ns_base)
        try:
            exec(code, test_ns)
            if entry:
                check = test_ns.get("check")
                if callable(check) and "def check" in source:
                    candidate = test_ns.get(entry)
                    if candidate is None:
                        raise NameError(f"the solution defines no function {entry!r}")
                    check(candidate)
            _restore_builtins()  # before `len` & co. below: the solution may have patched them mid-test
            payload: dict[str, Any] = {"ok": len(violations) == before, "time": _perf() - t0}
            if len(violations) != before:
                payload["error"] = "NotPlainData: " + violations[before]
        except BaseException as exc:
            _restore_builtins()
            if len(violations) != before:
                payload = {"ok": False, "error": "NotPlainData: " + violations[before], "time": _perf() - t0}
            else:
                payload = {"ok": False, "error": _error_text(exc) + _where(exc, f"test_{i}.py"), "time": _perf() - t0}
        _restore_builtins()
        report("test", i, payload)
    report("end", 0, {})
