"""The code that runs inside the sandboxed runs: load the solution, answer the probes, serve
the tests' process, run the in-process tests, report.

It is imported by the supervisor before the template is forked, so it costs nothing per
run. A job runs in one of three roles:

- **the program's run** ("steps"): loads the solution, answers the probes (function-call
  cases and probed asserts: the harness calls the function and reports the return value as
  plain data, `codec.encode`, exact builtin types only; the verifier compares it with an
  expected value this process never sees), then serves the tests' process (`rpc.Server`)
  until it hangs up. From the moment the solution's code starts, everything in this process
  is untrusted, and nothing it reports is believed beyond "this is what the program says".
- **the tests' process** ("tests", `trusted`): runs the units that need an interpreter,
  with proxies for the solution's names; it never executes the program's code.
- **a script** ("io"): a stdin/stdout program runs as `__main__`; the process exits with the
  script's own status, which the supervisor reads from the kernel.

What is left in the program's own interpreter ("in-process" units: `type_check=False`,
tests that patch what the program uses with unittest.mock, tests that hand their own
functions to the program) is hardened, not unforgeable: the prompt's helpers are defined after
the solution, every value a solution function returns is type-checked at the call (unless
`type_check=False`), the builtins and the modules the tests use are restored after the
solution loads and after every call into it, an audit hook refuses what reaches into the
harness (frames, gc, tracing, ctypes, patching classes and functions that existed before the
solution, /proc/*/mem), threads and signal handlers are refused, and garbage collection is off.
Their verdicts say `in-process` in the Score, with the reason.

Reports travel on a private pipe (fd 3) as frames prefixed with a per-run random nonce; the
supervisor requires a `ready` frame (else the sandbox failed: unscored), and the verifier
treats every frame of the program's run as the program's own claim.
"""

from __future__ import annotations

import builtins
import gc
import os
import struct
import sys
import time
import traceback
import types
import unittest
from typing import Any

from rewardsmith.verifiers.code import codec, rpc, trusted
from rewardsmith.verifiers.code.probes import SOLUTION_MODULE
from rewardsmith.verifiers.code.unitrun import UnitRunner, error_text, remember_source
from rewardsmith.verifiers.code.units import GUARD_NAME, TESTS_MODULE_NAME
from rewardsmith.verifiers.code.units import guard_comparisons as _guard_comparisons

RESULT_FD = 3
_PRISTINE_BUILTINS = dict(builtins.__dict__)
_write, _perf, _encode = os.write, time.perf_counter, codec.encode
_pack_len = struct.Struct("!I").pack
_type, _id = type, id
_dict_clear, _dict_update = dict.clear, dict.update
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: builtin types, which nothing can patch
NotPlainData, ValueTooLarge = codec.NotPlainData, codec.ValueTooLarge


def _reporter(nonce: bytes) -> Any:
    def report(kind: str, index: int, payload: dict[str, Any]) -> None:
        try:
            body = _encode((kind, index, payload))
        except (NotPlainData, ValueTooLarge) as exc:
            body = _encode((kind, index, {"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        view = memoryview(nonce + _pack_len(len(body)) + body)
        while view:
            try:
                n = _write(RESULT_FD, view)
            except InterruptedError:
                continue
            except OSError:
                return  # the solution closed our pipe: its tests will count as unreported
            view = view[n:]

    return report


_error_text = error_text


def _flush() -> None:
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()  # type: ignore[union-attr]
        except BaseException:
            pass


def run(spec: dict[str, Any]) -> None:
    """Entry point in a sandboxed run; never returns (exits with os._exit)."""
    report = _reporter(spec.pop("nonce"))
    report("ready", 0, {})
    if spec["mode"] == "io":
        _run_script(spec)
    try:
        if spec["mode"] == "tests":
            trusted.run(spec, report)
        else:
            _run_steps(spec, report)
    except BaseException as exc:  # the harness itself failed: report what we can
        try:
            report("harness_error", 0, {"error": _error_text(exc)})
        except BaseException:
            pass
    _flush()
    os._exit(0)


def _restore_builtins() -> None:
    """Undo whatever the solution did to the builtins module (harness code uses it too).
    Unconditionally: comparing first would call `__eq__` of whatever the solution put there."""
    current = builtins.__dict__
    _dict_clear(current)
    _dict_update(current, _PRISTINE_BUILTINS)


_remember_source = remember_source


def _load(code: str, name: str) -> tuple[dict[str, Any] | None, str, int]:
    """Run the solution's top level: (namespace or None, error text, exit code)."""
    # A real module in sys.modules: dataclasses, typing and pickle look classes up through it.
    module = types.ModuleType(name)
    module.__file__ = "solution.py"
    sys.modules[name] = module
    ns: dict[str, Any] = module.__dict__
    ns["__builtins__"] = builtins
    _remember_source("solution.py", code)
    try:
        exec(compile(code, "solution.py", "exec"), ns)
    except SystemExit as exc:
        _restore_builtins()
        code_ = exc.code
        status = 0 if code_ is None else code_ if type(code_) is int else 1
        return None, f"the solution called exit({codec.safe_repr(code_, 100)})", status
    except BaseException as exc:
        _restore_builtins()
        with _trusted():
            tb = exc.__traceback__
            traceback.print_exception(type(exc), exc, tb.tb_next if tb else None)  # from solution.py on
        return None, _error_text(exc), 1
    _restore_builtins()
    return ns, "", 0


def _run_script(spec: dict[str, Any]) -> None:
    """A stdin/stdout program: run it as __main__ and exit with its own status."""
    _, error, status = _load(spec["code"], "__main__")
    _flush()
    os._exit(status & 0xFF if status >= 0 else 1)


def _function(ns: dict[str, Any], name: str) -> tuple[Any, str]:
    fn = ns.get(name)
    if callable(fn):
        return fn, ""
    holder = ns.get("Solution")
    if isinstance(holder, type) and hasattr(holder, name):
        try:  # LeetCode / APPS style: the entry point is a method of `class Solution`
            return getattr(holder(), name), ""
        except BaseException as exc:
            return None, "Solution() failed: " + _error_text(exc)
    return None, f"the solution defines no function {name!r}"


def _run_steps(spec: dict[str, Any], report: Any) -> None:
    if spec.get("serve") and not rpc.await_go(rpc.READ_FD):
        return  # the tests' process never started: the sandbox's failure, not the program's
    hardening = _Hardening(spec) if spec.get("hardened") else None
    ns, error, _ = _load(spec["code"], SOLUTION_MODULE)
    if hardening is not None:
        hardening.restore()
    if ns is None:
        report("load", 0, {"ok": False, "error": error})
        return
    report("load", 0, {"ok": True})
    k = 0
    tests: _InProcess | None = None
    for step in spec["steps"]:
        if step[0] == "probes":
            for name, args, kwargs in step[1]:
                t0 = _perf()
                try:
                    fn, missing = _function(ns, name)
                    if fn is None:
                        raise NameError(missing)
                    value = fn(*args, **kwargs)
                except BaseException as exc:
                    payload = {"ok": False, "error": _error_text(exc), "time": _perf() - t0}
                else:
                    payload = {"time": _perf() - t0}
                    try:  # on its own: the verifier reads it within limits and blames this call
                        payload.update(ok=True, value=_encode(value))
                    except (NotPlainData, ValueTooLarge) as exc:
                        payload.update(ok=False, error=f"{type(exc).__name__}: {exc}")
                    except BaseException as exc:
                        payload.update(ok=False, error=_error_text(exc))
                _restore_builtins()
                if hardening is not None:
                    hardening.restore()
                report("value", k, payload)
                k += 1
        else:
            if tests is None:
                assert hardening is not None
                tests = _InProcess(spec, ns, hardening)
            tests.run_unit(step, report)
    report("end", 0, {})
    if spec.get("serve"):  # the tests' process calls in from here on
        _flush()
        rpc.Server(ns, lambda name: _resolve(ns, name)).serve(rpc.READ_FD, rpc.WRITE_FD)


def _resolve(ns: dict[str, Any], name: str) -> Any:
    """A solution name the tests use: the entry point may be a method of `class Solution`."""
    value = ns.get(name)
    if value is not None and callable(value):
        return value
    fn, missing = _function(ns, name)
    if fn is not None:
        return fn
    if name in ns:
        return ns[name]
    raise NameError(missing)


# -- hardening of in-process tests ---------------------------------------------------------------

_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_code", "gi_code", "cr_code", "ag_code"})
_BLOCKED_EVENTS = frozenset(
    {
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "sys.addaudithook",
        "sys._getframe",
        "code.__new__",
        "function.__new__",
        "sys.monitoring.register_callback",
        "sys._getframemodulename",
    }
)
_COMMON_MODULES = (
    "math cmath operator functools itertools collections collections.abc re string random copy json typing decimal "
    "fractions statistics heapq bisect unittest unittest.case unittest.util difflib"
).split()
_BEHAVIOUR = frozenset(
    "__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __bool__ __len__ __contains__ __iter__ __getattr__ "
    "__getattribute__ __class__ __instancecheck__ __subclasscheck__ __add__ __radd__ __sub__ __rsub__ __mul__ "
    "__rmul__ __truediv__ __rtruediv__ __floordiv__ __mod__ __pow__ __abs__ __neg__ __pos__ __float__ __int__ "
    "__index__ __round__ __str__ __repr__ __format__ __getitem__ __del__ __set_name__ __init_subclass__".split()
)
_ITERATORS = frozenset(
    id(t)
    for t in (
        types.GeneratorType,
        type(iter([])),
        type(iter(())),
        type(iter("")),
        type(iter(range(0))),
        type(iter({})),
        type(iter(set())),
        map,
        filter,
        zip,
        enumerate,
        reversed,
        range,
    )
)
_trust_depth = [0]


class _trusted:
    """Within: the harness's own code may use what the audit hook refuses to the solution."""

    def __enter__(self) -> None:
        _trust_depth[0] += 1

    def __exit__(self, *exc: object) -> None:
        _trust_depth[0] -= 1


class _Hardening:
    """Everything that makes in-process tests hard to forge (see the module docstring)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.trusted_types: set[int] = set()
        for name in _COMMON_MODULES + _imported_modules(spec):
            try:
                __import__(name)
            except BaseException:
                pass
        # Nothing of ours, and no raw memory access, stays importable for the solution.
        for name in list(sys.modules):
            if name.split(".")[0] in ("rewardsmith", "ctypes", "_ctypes", "pyseccomp"):
                del sys.modules[name]
        _refuse_threads_and_signals()
        self.modules = {n: m for n, m in sys.modules.items() if n in _COMMON_MODULES or n == "builtins"}
        for n in _imported_modules(spec):
            if n in sys.modules:
                self.modules[n] = sys.modules[n]
        self.saved = {n: dict(m.__dict__) for n, m in self.modules.items() if hasattr(m, "__dict__")}
        # objects the modules hold (random's Random instance): their attributes too
        self.objects: list[tuple[Any, dict[str, Any]]] = []
        for saved in self.saved.values():
            for v in saved.values():
                d = getattr(v, "__dict__", None)
                if type(d) is dict and not isinstance(v, (type, types.ModuleType, types.FunctionType)):
                    self.objects.append((v, dict(d)))
        # classes of unittest and of the modules the tests import (unittest.TestCase): their attributes
        # too, since setting a class attribute raises no audit event the hook could refuse
        self.classes: list[tuple[type, dict[str, Any]]] = []
        for n in ["unittest.case", *_imported_modules(spec)]:
            for v in list(getattr(sys.modules.get(n), "__dict__", {}).values()):
                if isinstance(v, type) and not v.__flags__ & _IMMUTABLE_TYPE:
                    self.snapshot_class(v)
        self.protected: set[int] = set()
        for m in list(sys.modules.values()):
            for v in list(getattr(m, "__dict__", {}).values()):
                if isinstance(v, (type, types.FunctionType)):
                    self.protected.add(_id(v))
        gc.disable()
        sys.addaudithook(self._audit)

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if _trust_depth[0]:
            return
        if event in _BLOCKED_EVENTS:
            raise ValueError(f"{event} is not allowed in the sandbox")
        if event.startswith("ctypes."):
            raise ImportError(f"{event} is not allowed in the sandbox")
        if event == "object.__getattr__" and args[1] in _FRAME_ATTRS:
            raise AttributeError(f"{args[1]} is not allowed in the sandbox")
        if event == "object.__getattr__" and args[1] == "__code__" and _id(args[0]) in self.protected:
            raise AttributeError("__code__ of the tests and the standard library is not readable in the sandbox")
        if event in ("object.__setattr__", "object.__delattr__") and _id(args[0]) in self.protected:
            raise AttributeError(f"{args[0]!r} cannot be changed in the sandbox")
        if event == "open" and isinstance(args[0], str) and args[0].startswith("/proc/") and "/mem" in args[0]:
            raise PermissionError("process memory is not readable in the sandbox")

    def restore(self) -> None:
        """Put back the builtins and the modules tests use, as they were before the solution."""
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
            saved = self.saved.get(name)
            if saved is not None:
                d = module.__dict__
                _dict_clear(d)
                _dict_update(d, saved)
        for obj, saved in self.objects:
            d = obj.__dict__
            _dict_clear(d)
            _dict_update(d, saved)
        for cls, saved in self.classes:
            current = cls.__dict__
            if len(current) == len(saved) and all(current.get(k) is v for k, v in saved.items()):
                continue
            with _trusted():
                for k in [k for k in current if k not in saved]:
                    type.__delattr__(cls, k)
                for k, v in saved.items():
                    if current.get(k) is not v:
                        type.__setattr__(cls, k, v)
        _restore_builtins()

    def snapshot_class(self, cls: type) -> None:
        """Remember `cls`'s attributes as they are now; `restore` puts them back."""
        self.classes = [(c, d) for c, d in self.classes if c is not cls]
        self.classes.append((cls, dict(cls.__dict__)))

    def protect(self, ns: dict[str, Any]) -> None:
        """Classes and functions the tests or the prompt define: trusted, and unchangeable."""
        for v in list(ns.values()):
            if isinstance(v, type):
                self.trusted_types.add(_id(v))
                self.protected.add(_id(v))
            elif isinstance(v, types.FunctionType):
                self.protected.add(_id(v))

    # -- plain-data checks --------------------------------------------------------------------
    def check(self, value: Any, what: str, depth: int = 0) -> Any:
        t = _type(value)
        if _id(t) in self.trusted_types:
            return value
        if depth > 100:
            raise NotPlainData(f"{what} is nested more than 100 levels deep")
        if t in (int, float, complex, str, bytes, bool, type(None)):
            return value
        if t in (list, tuple, set, frozenset):
            for v in value:
                self.check(v, what, depth + 1)
            return value
        if t is dict:
            for k, v in dict.items(value):
                self.check(k, what, depth + 1)
                self.check(v, what, depth + 1)
            return value
        raise NotPlainData(f"{what} a {codec.describe_type(t)}, not plain data (int, float, str, list, dict, ...)")

    def returned(self, value: Any, name: str) -> Any:
        """A solution function's return value, checked at the call."""
        t = _type(value)
        if t is types.BuiltinFunctionType:
            return value
        if _id(t) in _ITERATORS:  # its body is solution code: restore and check after each step
            return self._iterate(value, name)
        if t is types.FunctionType or t is types.MethodType:
            return self.wrap(value, getattr(value, "__name__", name))
        try:
            return self.check(value, f"{name}() returned")
        except NotPlainData:
            if self._plain_record(t):
                return value
            raise

    @staticmethod
    def _plain_record(t: type) -> bool:
        """An instance of a solution class that only holds attributes (no behaviour of its own)."""
        if type(t) is not type:
            return False
        mro = t.__mro__
        if mro[-1] is not object or any(c.__module__ in ("builtins",) for c in mro[:-1]):
            return False
        return all(not (_BEHAVIOUR & set(c.__dict__)) - _generated(c) for c in mro[:-1])

    def _iterate(self, iterator: Any, name: str) -> Any:
        it = iter(iterator)
        while True:
            try:
                value = next(it)
            except StopIteration:
                self.restore()
                return
            finally:
                self.restore()
            yield self.returned(value, name)

    def wrap(self, fn: Any, name: str, *, check: bool = True) -> Any:
        """`fn` as the tests see it: after every call the modules are restored (solution code
        may have patched them) and, with `check`, the returned value is checked."""
        checked = self

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                value = fn(*args, **kwargs)
            finally:
                checked.restore()
            return checked.returned(value, name) if check else value

        call.__name__ = name
        call.__wrapped_solution__ = True  # type: ignore[attr-defined]
        return call

    def wrap_class(self, cls: type) -> None:
        """Every method of a solution class (`Solution().twoSum`): the same treatment as its
        functions, so no solution code runs from a test without a restore after it."""
        generated = _generated(cls)  # dataclasses' own code: recognised by `_plain_record`
        for attr, value in list(cls.__dict__.items()):
            if attr in generated:
                continue
            check = not attr.startswith("__")
            new: Any = None
            if _type(value) is types.FunctionType:
                new = self.wrap(value, attr, check=check)
            elif isinstance(value, (staticmethod, classmethod)):
                new = type(value)(self.wrap(value.__func__, attr, check=check))
            elif isinstance(value, property):
                fget = self.wrap(value.fget, attr) if value.fget else None
                fset = self.wrap(value.fset, attr, check=False) if value.fset else None
                new = property(fget, fset, value.fdel, value.__doc__)
            if new is not None:
                try:
                    setattr(cls, attr, new)
                except (AttributeError, TypeError):
                    pass

    def guard(self, violations: list[str]) -> Any:
        def plain(value: Any) -> Any:
            try:
                self.check(value, "compared")
            except NotPlainData as exc:
                violations.append(str(exc))
                raise
            return value

        return plain


import dataclasses as _dataclasses  # noqa: E402

_DATACLASSES_FILE = _dataclasses.__file__


def _generated(cls: type) -> set[str]:
    """Dunders `dataclasses` wrote for a dataclass (compared field by field: plain data decides)."""
    if "__dataclass_fields__" not in cls.__dict__:
        return set()
    out = set()
    for name in ("__eq__", "__repr__", "__hash__", "__lt__", "__le__", "__gt__", "__ge__"):
        fn = cls.__dict__.get(name)
        code = getattr(fn, "__code__", None)
        if fn is None or (code is not None and code.co_filename in ("<string>", _DATACLASSES_FILE)):
            out.add(name)
    return out


def _imported_modules(spec: dict[str, Any]) -> list[str]:
    import ast

    names = []
    for source in [*(spec.get("sources") or {}).values(), spec.get("helpers") or ""]:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return names


def _refuse_threads_and_signals() -> None:
    import _thread
    import signal
    import threading

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("threads and signal handlers are not allowed in in-process tests")

    for module, attrs in (
        (_thread, ("start_new_thread", "start_new")),
        (threading, ("_start_new_thread",)),
        (signal, ("signal", "sigaction", "setitimer", "alarm")),
    ):
        for attr in attrs:
            if hasattr(module, attr):
                setattr(module, attr, refuse)
    import _signal

    for attr in ("signal", "setitimer", "alarm"):
        if hasattr(_signal, attr):
            setattr(_signal, attr, refuse)


_ASSERT_METHODS = (
    "assertEqual assertNotEqual assertTrue assertFalse assertIn assertNotIn assertAlmostEqual "
    "assertNotAlmostEqual assertGreater assertGreaterEqual assertLess assertLessEqual assertListEqual "
    "assertTupleEqual assertDictEqual assertSetEqual assertSequenceEqual assertCountEqual assertMultiLineEqual"
).split()


class _InProcess(UnitRunner):
    """Runs the in-process units of one program (see `_Hardening`)."""

    def __init__(self, spec: dict[str, Any], solution: dict[str, Any], hardening: _Hardening) -> None:
        self.h = hardening
        self.guard = bool(spec.get("guard", True))
        self.violations: list[str] = []
        # The tests see the solution's names, but never one that shadows a builtin they use.
        base = {k: v for k, v in solution.items() if k not in _PRISTINE_BUILTINS or k.startswith("__")}
        if self.guard:
            for name, value in list(base.items()):
                if getattr(value, "__module__", None) != SOLUTION_MODULE:
                    continue
                if _type(value) is types.FunctionType:
                    base[name] = hardening.wrap(value, name)
                elif _type(value) is type:
                    hardening.wrap_class(value)
        base["__builtins__"] = dict(_PRISTINE_BUILTINS)
        base["__name__"] = TESTS_MODULE_NAME
        base[GUARD_NAME] = hardening.guard(self.violations) if self.guard else (lambda v: v)
        helpers = spec.get("helpers") or ""
        if helpers:  # the prompt's own functions, after the solution: they cannot be redefined
            before = dict(base)
            exec(compile(helpers, "prompt.py", "exec"), base)
            hardening.protect({k: v for k, v in base.items() if k not in before or before[k] is not v})
        super().__init__(base, spec.get("sources") or {}, spec["steps"])
        if self.guard:
            self._guard_unittest()
        hardening.restore()

    def _guard_unittest(self) -> None:
        case = unittest.TestCase
        h = self.h
        for name in _ASSERT_METHODS:
            original = getattr(case, name)

            def guarded(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
                for v in args[:2]:
                    h.check(v, "compared")
                return __original(self, *args, **kwargs)

            with _trusted():
                setattr(case, name, guarded)
        h.saved["unittest.case"] = dict(sys.modules["unittest.case"].__dict__)
        h.snapshot_class(case)

    # -- the hooks of UnitRunner: restore after solution code, guard comparisons --------------
    def compile_source(self, source: str, filename: str) -> Any:
        return compile(_guard_comparisons(source) if self.guard else source, filename, "exec")

    def settle(self) -> None:
        self.h.restore()

    def protect(self, names: dict[str, Any]) -> None:
        self.h.protect(names)

    def violation(self) -> str | None:
        return "NotPlainData: " + self.violations[0] if self.violations else None

    def clear_violations(self) -> None:
        self.violations.clear()

    def failure(self, exc: BaseException, filename: str) -> str:
        with _trusted():  # reading the traceback's frames: refused to the solution's code
            return super().failure(exc, filename)
