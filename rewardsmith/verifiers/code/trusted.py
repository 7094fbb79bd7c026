"""The tests' process: runs the test units that need an interpreter, and never a line of the
program's code.

It is a sandboxed run of its own, cloned from the same template as the program's run, with
its own PID, IPC and mount namespaces (the program's process cannot see it, signal it or
read its memory; it is not dumpable either, for the levels without PID namespaces), its own
result channel to the supervisor and a per-run nonce the program never had. Its namespace:

- the solution's top-level names as the program's process lists them (`rpc.Server.manifest`):
  plain values by value, functions, classes and other objects as `rpc.Remote` proxies, a
  module imported under its own name (`import math`) as this process's own copy when it has
  already imported it; names that shadow a builtin are left out (the tests mean the
  builtin), except the entry point;
- the prompt's helpers (HumanEval/32 `poly`), defined here from the prompt, after the
  solution's names: a solution cannot redefine them for the tests;
- each test source, executed in a copy of that.

Every comparison, truth test and assertion therefore runs on plain data in an interpreter the
program has no way into; see `rpc` for what a test can do with the program's objects.
"""

from __future__ import annotations

import builtins
import sys
import types
from typing import Any

from rewardsmith.verifiers.code import rpc
from rewardsmith.verifiers.code.probes import SOLUTION_MODULE
from rewardsmith.verifiers.code.unitrun import UnitRunner, error_text
from rewardsmith.verifiers.code.units import TESTS_MODULE_NAME


def namespace(conn: rpc.Connection, manifest: Any, entry_point: str | None) -> dict[str, Any]:
    """The tests' view of the solution's names (see the module docstring). Also registered as
    the module `solution`, for tests that import from it (`from solution import f`)."""
    solution: dict[str, Any] = {}
    names = manifest.get("names") if type(manifest) is dict else None
    for name, item in (names or {}).items() if type(names) is dict else ():
        if type(name) is not str or not name.isidentifier() or name.startswith("__"):
            continue
        if type(item) is not tuple or len(item) != 2:
            continue
        kind, payload = item
        if kind == "value":
            solution[name] = payload
        elif kind == "ref" and type(payload) is str:
            solution[name] = rpc.Remote(conn, ("n", name), payload[:200])
        elif kind == "module" and payload == name and name in sys.modules:
            # `import math` in the solution: this process's own math, already imported (the program
            # names nothing here, and cannot make `math` stand for another module)
            solution[name] = sys.modules[name]
    if entry_point:
        solution[entry_point] = rpc.Remote(conn, ("n", entry_point), f"function {entry_point}")
    module = types.ModuleType(SOLUTION_MODULE)
    module.__dict__.update(solution)
    sys.modules[SOLUTION_MODULE] = module
    return {k: v for k, v in solution.items() if k == entry_point or not hasattr(builtins, k)}


def run(spec: dict[str, Any], report: Any) -> None:
    """Run the units of `spec["units"]`, reporting each (see `unitrun`)."""
    conn = rpc.Connection(rpc.READ_FD, rpc.WRITE_FD)
    units = spec["units"]
    try:
        rpc.send_go(rpc.WRITE_FD)  # only now may the program's code start (see zygote.Supervisor.run)
        manifest = conn.request("manifest")
    except BaseException as exc:  # the program never got to serve: every unit fails with why
        why = f"the program's process did not answer ({error_text(exc, 300)})"
        for step in units:
            report("test", step[1], {"ok": False, "error": why})
        return
    try:
        base = namespace(conn, manifest, spec.get("entry_point"))
    except Exception as exc:  # a manifest nobody foresaw: the program's failure, not the sandbox's
        why = f"the program's process described its names unreadably ({error_text(exc, 300)})"
        for step in units:
            report("test", step[1], {"ok": False, "error": why})
        return
    base["__builtins__"] = builtins
    base["__name__"] = TESTS_MODULE_NAME
    helpers = spec.get("helpers") or ""
    if helpers:
        try:
            exec(compile(helpers, "prompt.py", "exec"), base)
        except BaseException as exc:
            why = f"the prompt's helper code failed: {error_text(exc, 500)}"
            for step in units:
                report("test", step[1], {"ok": False, "error": why})
            return
    runner = UnitRunner(base, spec["sources"], units)
    for step in units:
        try:
            runner.run_unit(step, report)
        except BaseException as exc:  # MemoryError while reporting, say: that test fails, the rest go on
            report("test", step[1], {"ok": False, "error": f"the test could not be run: {error_text(exc, 300)}"})
