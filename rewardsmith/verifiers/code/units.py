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

Where each unit is judged (`classify`), never in the interpreter the program controls when
its shape allows:

- VERIFIER: its probe plan (`probes.plan`) holds; the verifier evaluates it on the values the
  program returned;
- TESTS: everything else runs in the tests' process (`trusted`), where the solution's names
  are proxies into the program's process;
- PROGRAM ("in-process", loud, with the reason): only what needs the program's own
  interpreter: `type_check=False` (the tests compare the program's own objects), a test source
  that shares state with the program (unittest.mock patches, random seeds, files, the working
  directory, the environment, standard streams, interpreter settings: `shared_state`) or that
  executes what it is given (eval, exec, pickle, doctest: program-made data would become
  code in the tests' process), or one that hands its own functions or objects to the program
  (`hands_over_objects`). Both are
  decided per source from its text alone, never from anything the program does, so a program
  cannot choose to be judged in-process; and a source is either entirely in-process or not at
  all, so no probed or tests'-process unit's expected values travel with in-process code.

`prompt_helpers` extracts the functions a prompt defines (HumanEval's `poly`), from Python
prompts and from the code blocks of chat prompts: the tests get them from the prompt, after the
solution's names, so a solution cannot redefine them, and no call of them is the program's to
answer.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.verifiers.code.extract import code_blocks
from rewardsmith.verifiers.code.probes import NotProbeable, ProbePlan, plan

MODULE, CHECK, FUNCTION, METHOD = "module", "check", "function", "method"
TESTS_MODULE_NAME = "rewardsmith_tests"
#: where a unit is judged
VERIFIER, TESTS, PROGRAM = "verifier", "tests' process", "program's process"


class PlanningError(RuntimeError):
    """An internal error: a test that was judged outside the program would now run inside it."""


@dataclass(slots=True)
class Unit:
    name: str
    source: int
    kind: str
    #: the function to call (check / test function), "Class.method", or None for MODULE
    target: str | None = None
    #: for CHECK: the program name passed as `candidate`
    argument: str | None = None
    #: set when the verifier decides the verdict itself
    plan: ProbePlan | None = None
    #: VERIFIER, TESTS or PROGRAM (see the module docstring)
    where: str = TESTS
    #: why the unit runs in the program's process (PROGRAM)
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
def parse_source(source: str) -> ast.Module:
    """Shared between calls: never change the tree it returns (`probes.plan` copies)."""
    return ast.parse(source)


_parse = parse_source


def classify(
    unit: Unit,
    source: str,
    helpers: frozenset[str] = frozenset(),
    *,
    entry_point: str | None = None,
    type_check: bool = True,
    helper_callables: frozenset[str] = frozenset(),
    helpers_source: str = "",
) -> None:
    """Decide where `unit` is judged (see the module docstring) and attach its probe plan.
    `helpers_source`: the prompt's helper code, which runs with the tests."""
    unit.plan, unit.why_in_process, unit.where = None, "", TESTS
    if not type_check:
        unit.where = PROGRAM
        unit.why_in_process = "type_check=False: the tests compare the program's own objects, in its interpreter"
        return
    shared = shared_state(source) or (helpers_source and shared_state(helpers_source))
    if shared:
        unit.where, unit.why_in_process = PROGRAM, f"the test {shared}, which lives in the program's interpreter"
        return
    handed = hands_over_objects(source, helper_callables)
    if handed:
        unit.where, unit.why_in_process = (
            PROGRAM,
            f"the test hands {handed} to the program, which needs its interpreter",
        )
        return
    try:
        unit.plan = _probe_plan(unit, source, helpers, entry_point)
        unit.where = VERIFIER
    except NotProbeable:
        pass


def _probe_plan(unit: Unit, source: str, helpers: frozenset[str], entry_point: str | None) -> ProbePlan:
    tree = _parse(source)
    local = _defined_names(tree)
    setup = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign))]
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
        raise NotProbeable("unittest.TestCase methods run in the tests' process")
    blocked = (local - set(aliases)) | set(helpers)
    program_name = entry_point or (unit.argument if unit.kind == CHECK else None)
    key = (unit.kind, unit.target, unit.argument, source, helpers, program_name)
    return _plan_cached(key, statements, aliases, blocked, program_name)


def _calls(stmt: ast.stmt, name: str) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Name)
        and stmt.value.func.id == name
    )


_PLANS: OrderedDict[str, ProbePlan | str] = OrderedDict()
#: keys that once gave a plan (bounded): planning them again must give one again
_PROBED: OrderedDict[str, None] = OrderedDict()
_CACHE_SIZE, _PROBED_SIZE = 4096, 1 << 16


def _plan_cached(
    key: tuple[Any, ...],
    statements: list[ast.stmt],
    aliases: Mapping[str, str | None],
    blocked: set[str],
    entry_point: str | None,
) -> ProbePlan:
    """Plans are pure functions of the test: GRPO scores many completions per prompt. A key
    that once gave a plan and now does not is an internal error (PlanningError), never a
    silent move of that test into another process."""
    digest = hashlib.blake2b(repr(key).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    hit = _PLANS.get(digest)
    if hit is None:
        try:
            hit = plan(
                statements, aliases={k: v for k, v in aliases.items() if v}, helpers=blocked, entry_point=entry_point
            )
        except NotProbeable as exc:
            hit = str(exc)
        _PLANS[digest] = hit
        if len(_PLANS) > _CACHE_SIZE:
            _PLANS.popitem(last=False)
    else:
        _PLANS.move_to_end(digest)
    if isinstance(hit, str):
        if digest in _PROBED:
            raise PlanningError(f"a test judged by the verifier before can no longer be planned ({hit})")
        raise NotProbeable(hit)
    _PROBED[digest] = None
    if len(_PROBED) > _PROBED_SIZE:
        _PROBED.popitem(last=False)
    return hit


# -- what only the program's own interpreter can run -----------------------------------------------

_SHARED_MODULES = {
    "os": "uses files, the working directory or the environment",
    "shutil": "uses files",
    "tempfile": "uses files",
    "pathlib": "uses files",
    "glob": "uses files",
    "io": "uses files or the standard streams",
    "csv": "uses files",
    "sqlite3": "uses files",
    "subprocess": "starts processes",
    "multiprocessing": "starts processes",
    "threading": "uses threads",
    "contextlib": "captures standard streams",
    "sys": "changes interpreter settings or standard streams",
    "builtins": "changes builtins",
    "importlib": "imports the program's module",
    "inspect": "inspects the program's code",
    "gc": "inspects the program's memory",
    "mock": "patches what the program uses (mock)",
    "pickle": "deserializes data (which runs code)",
    "marshal": "deserializes code",
    "shelve": "deserializes data (which runs code)",
    "dill": "deserializes data (which runs code)",
    "cloudpickle": "deserializes data (which runs code)",
    "yaml": "deserializes data (which may run code)",
    "timeit": "executes code it is given",
    "code": "executes code it is given",
    "codeop": "compiles code it is given",
    "runpy": "executes code it is given",
    "doctest": "executes the program's docstrings",
    "ctypes": "reaches into the interpreter",
}
_SHARED_NAMES = {
    "patch": "patches what the program uses (unittest.mock)",
    "Mock": "patches what the program uses (unittest.mock)",
    "MagicMock": "patches what the program uses (unittest.mock)",
    "mock": "patches what the program uses (unittest.mock)",
    "monkeypatch": "patches what the program uses",
    "seed": "seeds a random generator the program may use",
    "setrecursionlimit": "changes interpreter settings",
    "open": "uses files",
    "globals": "uses the module's globals",
    "locals": "uses namespaces as data",
    "vars": "uses namespaces as data",
    "exec": "executes code it is given",
    "eval": "executes code it is given",
    "compile": "compiles code it is given",
    "breakpoint": "starts a debugger",
    "setattr": "patches attributes",
    "__import__": "imports modules dynamically",
}


@functools.lru_cache(maxsize=4096)
def shared_state(source: str) -> str:
    """How a test source shares state with the program that a separate tests' process could not
    share ("" when it does not): its imports and the names it uses, from its text alone."""
    try:
        tree = _parse(source)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                why = _SHARED_MODULES.get(a.name.split(".")[0])
                if why or a.name.startswith("unittest.mock"):
                    return why or _SHARED_NAMES["patch"]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            top = node.module.split(".")[0]
            if top in _SHARED_MODULES:
                return _SHARED_MODULES[top]
            if node.module.startswith("unittest.mock") or any(a.name == "mock" for a in node.names):
                return _SHARED_NAMES["patch"]
            for a in node.names:
                if a.name in _SHARED_NAMES:
                    return _SHARED_NAMES[a.name]
        elif isinstance(node, ast.Name) and node.id in _SHARED_NAMES:
            return _SHARED_NAMES[node.id]
        elif isinstance(node, ast.Attribute) and node.attr in _SHARED_NAMES:
            return _SHARED_NAMES[node.attr]
    return ""


@functools.lru_cache(maxsize=4096)
def hands_over_objects(source: str, helper_callables: frozenset[str] = frozenset()) -> str:
    """What a test source hands the program that cannot cross as plain data ("" when nothing):
    a lambda, one of its own (or the prompt's) functions or classes, or an instance of one of
    its classes, as an argument of a call of a name it does not define."""
    try:
        tree = _parse(source)
    except SyntaxError:
        return ""
    own = {
        n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    } | set(helper_callables)
    classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id in own or hasattr(builtins, node.func.id):
            continue
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(arg, ast.Lambda):
                return "a lambda"
            if isinstance(arg, ast.Name) and arg.id in own:
                return f"its own {arg.id}"
            if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id in classes:
                return f"an instance of its class {arg.func.id}"
    return ""


# -- the prompt's helpers ----------------------------------------------------------------------


def _is_stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return all(isinstance(s, ast.Pass) for s in body)


def prompt_code(prompt: Any) -> str:
    """The Python a prompt shows: the prompt itself when it is Python (HumanEval), else the
    code blocks of its text or of its chat messages (the model's own turns excluded)."""
    if isinstance(prompt, str):
        texts = [prompt]
    elif isinstance(prompt, list):
        texts = [
            str(m["content"])
            for m in prompt
            if isinstance(m, Mapping) and m.get("role") != "assistant" and isinstance(m.get("content"), str)
        ]
    else:
        return ""
    return "\n\n".join(code for text in texts for code in _python_in(text))


@functools.lru_cache(maxsize=1024)
def _python_in(text: str) -> tuple[str, ...]:
    """`text` itself if it is Python, else its Python code blocks (cached: prompts repeat)."""
    if not text.strip():
        return ()
    try:
        ast.parse(text)
        return (text,)
    except (SyntaxError, ValueError):
        pass
    out = []
    for tag, code in code_blocks(text):
        if tag in ("", "python", "py", "python3", "py3"):
            try:
                ast.parse(code)
            except (SyntaxError, ValueError):
                continue
            out.append(code)
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def prompt_helpers(prompt: str, entry_point: str | None) -> tuple[str, frozenset[str]]:
    """(source, names) of what Python prompt code defines besides the function to write: its
    complete functions and classes, imports and constants. ("", {}) when it defines none."""
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


def helper_callables(helpers: str) -> frozenset[str]:
    """The functions and classes among the prompt's helpers."""
    if not helpers:
        return frozenset()
    tree = _parse(helpers)
    return frozenset(s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


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
