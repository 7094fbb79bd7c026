"""What in an assert-style test source actually checks something: its *units*.

Datasets ship tests in several Python shapes, and each one must run, or be refused with a
clear error; none may pass by being defined and never called (a pytest-style `def test_x()`
nobody runs scores every program 1.0):

- top-level statements (`assert f(1) == 2`, loops, calls): one unit, named `test_<i>`;
- `def check(candidate)` (HumanEval): called with the entry point, or with the name the
  source itself passes (`check(add)`); without either it is refused (InputError);
- pytest-style `def test_*()` functions: one unit each (a function that needs arguments,
  i.e. pytest fixtures, is refused);
- `unittest.TestCase` classes (BigCodeBench): one unit per `test*` method, run by unittest
  (setUp/tearDown, setUpClass, skips: a skipped test does not pass);
- anything else (only helper definitions, `if __name__ == "__main__":` blocks) runs nothing
  and is refused.

Each unit's probe plan (`probes.plan`) decides whether its verdict can be taken outside the
sandbox; `prompt_helpers` extracts the functions a prompt defines (HumanEval's `poly`), which
in-process tests get from the prompt, after the solution, so a solution cannot redefine them.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.verifiers.code.probes import NotProbeable, ProbePlan, plan

MODULE, CHECK, FUNCTION, METHOD = "module", "check", "function", "method"
TESTS_MODULE_NAME = "rewardsmith_tests"


@dataclass(slots=True)
class Unit:
    name: str
    source: int
    kind: str
    #: the function to call (check / test function), "Class.method", or None for MODULE
    target: str | None = None
    #: for CHECK: the program name passed as `candidate`
    argument: str | None = None
    #: set when the verdict is decided outside the sandbox
    plan: ProbePlan | None = None
    why_in_process: str = ""

    def wire(self) -> tuple[int, str, str | None, str | None]:
        return self.source, self.kind, self.target, self.argument


def _is_main_guard(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.If)
        and isinstance(stmt.test, ast.Compare)
        and isinstance(stmt.test.left, ast.Name)
        and stmt.test.left.id == "__name__"
    )


def _is_setup(stmt: ast.stmt) -> bool:
    """Statements that prepare a test module without checking anything."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    return _is_main_guard(stmt)


def _base_names(cls: ast.ClassDef) -> list[str]:
    out = []
    for b in cls.bases:
        if isinstance(b, ast.Name):
            out.append(b.id)
        elif isinstance(b, ast.Attribute):
            out.append(b.attr)
    return out


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _required_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = fn.args
    positional = len(a.posonlyargs) + len(a.args) - len(a.defaults)
    return positional + sum(d is None for d in a.kw_defaults)


def find_units(source: str, index: int, entry_point: str | None, where: str) -> list[Unit]:
    """The units of one test source (InputError when it checks nothing)."""
    tree = _parse(source)
    body = tree.body
    units: list[Unit] = []
    functions = {s.name: s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    check_calls = [
        s.value
        for s in body
        if isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and isinstance(s.value.func, ast.Name)
        and s.value.func.id == "check"
        and "check" in functions
    ]
    runs_code = [s for s in body if not _is_setup(s) and not (isinstance(s, ast.Expr) and s.value in check_calls)]
    if runs_code:
        units.append(Unit(f"test_{index}", index, MODULE))
    if "check" in functions:
        if check_calls:
            for call in check_calls:
                arg = call.args[0].id if call.args and isinstance(call.args[0], ast.Name) else None
                units.append(Unit("check", index, CHECK, "check", arg))
        elif entry_point:
            units.append(Unit("check", index, CHECK, "check", entry_point))
        elif not runs_code:
            raise InputError(
                f"{where}: test {index} defines check(candidate) but the sample has no entry point, so it would "
                "never run: give entry_point=... to the verifier or add an 'entry_point' column"
            )
    for name, fn in functions.items():
        if name.startswith("test"):
            if _required_params(fn):
                raise InputError(
                    f"{where}: test {index}: {name}() takes arguments (pytest fixtures are not supported); "
                    "write the test without fixtures"
                )
            if isinstance(fn, ast.AsyncFunctionDef):
                raise InputError(f"{where}: test {index}: async test function {name}() is not supported")
            units.append(Unit(name, index, FUNCTION, name))
    for cls in body:
        if isinstance(cls, ast.ClassDef) and any(b.endswith("TestCase") for b in _base_names(cls)):
            for stmt in cls.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name.startswith("test"):
                    units.append(Unit(f"{cls.name}.{stmt.name}", index, METHOD, f"{cls.name}.{stmt.name}"))
    if not units:
        raise InputError(
            f"{where}: test {index} runs no check (it only defines things): write top-level asserts, test_* "
            "functions, unittest.TestCase classes, or check(candidate) with an entry point"
        )
    return units


@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> ast.Module:
    return ast.parse(source)


def plan_unit(unit: Unit, source: str, helpers: frozenset[str]) -> None:
    """Attach the unit's probe plan, or record why it runs in-process."""
    tree = _parse(source)
    local = _defined_names(tree)
    setup = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign))]
    try:
        if unit.kind == MODULE:
            if any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for s in tree.body):
                raise NotProbeable("the test module defines functions or classes")
            statements, aliases = tree.body, {}
        elif unit.kind in (CHECK, FUNCTION):
            fn = next(
                s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == unit.target
            )
            if any(not _is_setup(s) for s in tree.body if not (isinstance(s, ast.Expr) and _calls(s, "check"))):
                raise NotProbeable("the test module runs code of its own")
            params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            aliases = {params[0]: unit.argument} if unit.kind == CHECK and params and unit.argument else {}
            if unit.kind == CHECK and not aliases:
                raise NotProbeable("check() takes no candidate")
            statements = setup + fn.body
        else:
            raise NotProbeable("unittest.TestCase methods run in the sandbox")
        blocked = (local - set(aliases)) | set(helpers)
        unit.plan = _plan_cached(
            unit.kind,
            unit.target,
            unit.argument,
            source,
            helpers,
            statements,
            aliases,
            blocked,
        )
    except NotProbeable as exc:
        unit.plan, unit.why_in_process = None, str(exc)


def _calls(stmt: ast.stmt, name: str) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Name)
        and stmt.value.func.id == name
    )


_PLANS: dict[tuple[Any, ...], ProbePlan | str] = {}


def _plan_cached(
    kind: str,
    target: str | None,
    argument: str | None,
    source: str,
    helpers: frozenset[str],
    statements: list[ast.stmt],
    aliases: Mapping[str, str | None],
    blocked: set[str],
) -> ProbePlan:
    """Plans are pure functions of the test: GRPO scores many completions per prompt."""
    key = (kind, target, argument, source, helpers)
    hit = _PLANS.get(key)
    if hit is None:
        try:
            hit = plan(statements, aliases={k: v for k, v in aliases.items() if v}, helpers=blocked)
        except NotProbeable as exc:
            hit = str(exc)
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[key] = hit
    if isinstance(hit, str):
        raise NotProbeable(hit)
    return hit


# -- the prompt's helpers ----------------------------------------------------------------------


def _is_stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return all(isinstance(s, ast.Pass) for s in body)


@functools.lru_cache(maxsize=1024)
def prompt_helpers(prompt: str, entry_point: str | None) -> tuple[str, frozenset[str]]:
    """(source, names) of what a Python prompt defines besides the function to write: its
    complete functions and classes, imports and constants. ("", {}) when the prompt is not
    Python (a chat instruction) or defines nothing else."""
    try:
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return "", frozenset()
    keep: list[str] = []
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if stmt.name == entry_point or (not isinstance(stmt, ast.ClassDef) and _is_stub(stmt)):
                continue
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Assign)):
            names.update(_defined_names(ast.Module(body=[stmt], type_ignores=[])))
        else:
            continue
        keep.append(ast.unparse(stmt))  # decorators included, comments dropped
    if not any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for s in tree.body):
        return "", frozenset()
    return "\n\n".join(keep) + "\n", frozenset(names)


# -- the in-process guard -------------------------------------------------------------------------

GUARD_NAME = "__rewardsmith_plain__"
_GUARDED_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class _Guard(ast.NodeTransformer):
    @staticmethod
    def wrap(expr: ast.expr) -> ast.expr:
        return ast.copy_location(ast.Call(func=ast.Name(id=GUARD_NAME, ctx=ast.Load()), args=[expr], keywords=[]), expr)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if not all(isinstance(op, _GUARDED_OPS) for op in node.ops):
            return node  # `is` / `is not` compare identities, which no object can fake
        return ast.copy_location(
            ast.Compare(left=self.wrap(node.left), ops=node.ops, comparators=[self.wrap(c) for c in node.comparators]),
            node,
        )

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.generic_visit(node)
        node.test = self.wrap(node.test)  # truth value: an object's __bool__ could say yes
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        node.values = [self.wrap(v) for v in node.values]
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = self.wrap(node.operand)
        return node


def guard_comparisons(source: str) -> ast.Module:
    """The test source's syntax tree with every operand of ==, !=, <, <=, >, >=, in, not in,
    every truth-tested value (assert, and/or, not) sent through the sandbox's plain-data check
    first: an AlwaysEqual object, an int subclass, a rigged `__lt__` or `__bool__` fails the
    test instead of passing it. Line numbers are kept for tracebacks."""
    tree = _Guard().visit(ast.parse(source))
    return ast.fix_missing_locations(tree)
