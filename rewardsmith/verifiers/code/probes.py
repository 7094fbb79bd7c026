"""Out-of-process verdicts for assert tests: split each test into the calls the program must
answer ("probes") and the judgement, which the verifier evaluates itself.

`assert candidate([1, 2]) == 3` becomes the probe `candidate([1, 2])`: the sandbox only runs
that call and sends back its return value as plain data (`codec`); the comparison with `3`
happens here, in the verifier's process, where the program cannot reach it. No frame trick,
patched module, forged report or always-equal object can move such a verdict: the program
never sees the expected value, the test or the comparison.

A test qualifies when every statement is an `assert`, an assignment of a name, `pass`, a
docstring or `import math`, and every expression is built from literals, probes, the safe
builtins and `math` functions below, and non-mutating methods of str/list/dict/set. A probe
is a call of a *program name*: the entry point (or the name `check(candidate)` binds to it),
or, for tests without an entry point, a name the test calls that is neither a Python builtin,
nor the test's own, nor a helper of the prompt (`pow(2, 10)` always means the builtin, which
no program may answer). Arguments must be computable before the program runs (no probe inside
another probe's arguments) and must not be names of lists, dicts or sets (the program could
change them in place, and the test could look). Everything else runs in the tests' process
(`trusted`), never in the verifier.

The evaluator is a small interpreter over the test's syntax tree, so a hostile value can
only make a comparison false or raise (TypeError, OverflowError...): the test then fails
with that reason. It runs in the verifier's process, so its cost is bounded whatever the
program returns: sizes are guarded where an operator could blow up (`**`, `*`, `<<`,
`bytes(n)`, `round(x, -n)`), and sets and dicts are built only of members that do not share
one hash value (`codec.check_hashes`: ints crafted to collide would make `set(...)` quadratic).
The syntax trees it is given are never changed (they are copied first): trees are cached by
source, and a plan made from a tree changed by an earlier plan would differ.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math
import operator
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.verifiers.code.codec import NotPlainData, ValueTooLarge, check_hashes, encode, safe_set

#: the name of the solution's module, for tests that import from it (`from solution import f`)
SOLUTION_MODULE = "solution"


class NotProbeable(RewardsmithError):
    """This test needs the program's interpreter (it runs in-process)."""


@dataclass(frozen=True, slots=True)
class Probe:
    """One call the sandbox must answer: `name(*args, **kwargs)` with plain-data arguments."""

    name: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]

    def to_wire(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.name, list(self.args), dict(self.kwargs)


@dataclass(slots=True)
class ProbePlan:
    """A test whose verdict the verifier decides: statements with calls replaced by probe slots."""

    statements: list[ast.stmt]
    probes: list[Probe] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)


_MATH = object()  # stands for the `math` module inside evaluated tests
_PROBE_PREFIX = "\x00probe"  # not a valid identifier: no test name can collide

MAX_BITS = 1 << 22
MAX_ITEMS = 1_000_000  # a sequence the evaluator builds


def _set(items: Any = ()) -> set[Any]:
    return safe_set(items)  # type: ignore[no-any-return,unused-ignore]


def _frozenset(items: Any = ()) -> frozenset[Any]:
    return safe_set(items, frozen=True)  # type: ignore[no-any-return,unused-ignore]


def _safe_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
    if len(args) == 1 and type(args[0]) is not dict:
        pairs = list(args[0])
        if len(pairs) > MAX_ITEMS:
            raise ValueTooLarge("dict too large to evaluate")
        check_hashes(k for k, _ in (tuple(p) for p in pairs))
        return dict(pairs, **kwargs)
    return dict(*args, **kwargs)


def _bytes(*args: Any) -> bytes:
    if args and type(args[0]) in (int, bool) and args[0] > MAX_ITEMS:
        raise ValueTooLarge("bytes too large to evaluate")
    return bytes(*args)


def _round(number: Any, ndigits: Any = None) -> Any:
    if type(ndigits) is int and abs(ndigits) > 400:  # round(n, -10**7) computes 10**10**7
        raise ValueTooLarge("round() with too many digits to evaluate")
    return round(number) if ndigits is None else round(number, ndigits)


def _sum(items: Any, start: Any = 0) -> Any:
    if type(start) in (list, tuple, str, bytes):  # sum(lists, []) copies at every step: quadratic
        parts = list(items)
        if sum(len(p) for p in parts) + len(start) > MAX_ITEMS:
            raise ValueTooLarge("sum too large to evaluate")
        out = type(start)().join(parts) if type(start) in (str, bytes) else None
        if out is not None:
            return start + out
        joined = list(start)
        for p in parts:
            if type(p) is not type(start):
                raise TypeError(f"can only concatenate {type(start).__name__} to {type(start).__name__}")
            joined.extend(p)
        return joined if type(start) is list else tuple(joined)
    return sum(items, start)


def _set_method(base: set[Any] | frozenset[Any], name: str) -> Any:
    """A set method whose iterable arguments become sets in linear time first (`set.union`
    takes any iterable: a list of colliding ints would make it quadratic)."""
    method = getattr(base, name)

    def call(*others: Any) -> Any:
        return method(*(o if type(o) in (set, frozenset) else safe_set(o) for o in others))

    return call


_GUARDED = {
    "set": _set,
    "frozenset": _frozenset,
    "dict": _safe_dict,
    "bytes": _bytes,
    "round": _round,
    "sum": _sum,
}

_SAFE_BUILTINS: dict[str, Any] = {
    f.__name__: _GUARDED.get(f.__name__, f)
    for f in (
        abs,
        all,
        any,
        bool,
        chr,
        divmod,
        enumerate,
        float,
        frozenset,
        int,
        isinstance,
        len,
        list,
        max,
        min,
        ord,
        range,
        repr,
        reversed,
        round,
        set,
        sorted,
        str,
        sum,
        tuple,
        type,
        zip,
        dict,
        bytes,
        complex,
        hex,
        oct,
        bin,
    )  # fmt: skip
}
# every pure math function, except those that take a long time on moderate ints
_MATH_FUNCS = {
    n: getattr(math, n)
    for n in dir(math)
    if not n.startswith("_") and n not in ("factorial", "comb", "perm", "lcm", "gcd", "prod")
}
_MATH_FUNCS.update(gcd=math.gcd, lcm=math.lcm)
_METHODS = {
    str: set(
        "lower upper strip lstrip rstrip split rsplit splitlines startswith endswith count find rfind index "
        "rindex join isdigit isalpha isalnum isupper islower isspace isnumeric isdecimal title capitalize "
        "casefold swapcase".split()
    ),
    bytes: {"decode", "startswith", "endswith", "count"},
    list: {"count", "index"},
    tuple: {"count", "index"},
    dict: {"keys", "values", "items", "get"},
    set: {"issubset", "issuperset", "isdisjoint", "union", "intersection", "difference", "symmetric_difference"},
    frozenset: {"issubset", "issuperset", "isdisjoint", "union", "intersection", "difference", "symmetric_difference"},
}
_ATTRIBUTES = set(_MATH_FUNCS) | {"real", "imag"} | set().union(*_METHODS.values())
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
_CMPOPS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert}


def _guarded_binop(op: type, a: Any, b: Any) -> Any:
    ints = type(a) in (int, bool) and type(b) in (int, bool)
    if op is ast.Pow and type(b) is int and type(a) in (int, float, complex):
        if type(a) is int and abs(a) > 1 and b > 0 and a.bit_length() * b > MAX_BITS:
            raise ValueTooLarge("power too large to evaluate")
    elif op is ast.LShift and ints and b > MAX_BITS:
        raise ValueTooLarge("shift too large to evaluate")
    elif op is ast.Mult:
        if ints and a.bit_length() + b.bit_length() > MAX_BITS:
            raise ValueTooLarge("product too large to evaluate")
        for seq, n in ((a, b), (b, a)):
            if type(n) is int and isinstance(seq, (str, bytes, list, tuple)) and len(seq) * n > MAX_ITEMS:
                raise ValueTooLarge("repetition too large to evaluate")
    return _BINOPS[op](a, b)  # type: ignore[index]


class _Evaluator:
    """Evaluates one expression tree over plain data (see the module docstring)."""

    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env

    def eval(self, node: ast.AST) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NotProbeable(f"{type(node).__name__} expressions are not evaluated outside the sandbox")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        if node.value is Ellipsis:
            raise NotProbeable("Ellipsis")
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[node.id]
        raise NotProbeable(f"name {node.id!r}")

    def _List(self, node: ast.List) -> Any:
        return [self.eval(e) for e in node.elts]

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.eval(e) for e in node.elts)

    def _Set(self, node: ast.Set) -> Any:
        return safe_set(self.eval(e) for e in node.elts)

    def _Dict(self, node: ast.Dict) -> Any:
        if any(k is None for k in node.keys):
            raise NotProbeable("dict unpacking")
        pairs = [(self.eval(k), self.eval(v)) for k, v in zip(node.keys, node.values, strict=True)]  # type: ignore[arg-type]
        check_hashes(k for k, _ in pairs)
        return dict(pairs)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        return _UNARY[type(node.op)](self.eval(node.operand))  # type: ignore[operator]

    def _BinOp(self, node: ast.BinOp) -> Any:
        if type(node.op) not in _BINOPS:
            raise NotProbeable(type(node.op).__name__)
        return _guarded_binop(type(node.op), self.eval(node.left), self.eval(node.right))

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for e in node.values:
            value = self.eval(e)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def _Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comp)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _Subscript(self, node: ast.Subscript) -> Any:
        return self.eval(node.value)[self.eval(node.slice)]

    def _Slice(self, node: ast.Slice) -> Any:
        parts = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def _Attribute(self, node: ast.Attribute) -> Any:
        base = self.eval(node.value)
        if base is _MATH and node.attr in _MATH_FUNCS:
            return _MATH_FUNCS[node.attr]
        allowed: Any = _METHODS.get(type(base), ())  # type: ignore[call-overload]
        if node.attr in allowed:
            if type(base) in (set, frozenset):
                return _set_method(base, node.attr)
            return getattr(base, node.attr)
        if type(base) is complex and node.attr in ("real", "imag"):
            return getattr(base, node.attr)
        raise NotProbeable(f"attribute {node.attr!r}")

    def _Call(self, node: ast.Call) -> Any:
        func = self.eval(node.func)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise NotProbeable("star arguments")
        args = [self.eval(a) for a in node.args]
        kwargs = {str(k.arg): self.eval(k.value) for k in node.keywords}
        if func is range and len(range(*args)) > MAX_ITEMS:
            raise ValueTooLarge("range too large to evaluate")
        return func(*args, **kwargs)

    def _JoinedStr(self, node: ast.JoinedStr) -> Any:
        raise NotProbeable("f-strings")


def evaluate(node: ast.AST, env: dict[str, Any]) -> Any:
    return _Evaluator(env).eval(node)


class _Planner(ast.NodeTransformer):
    """Replace each call of a program name by a probe slot, computing its arguments now."""

    def __init__(
        self, env: dict[str, Any], dynamic: set[str], aliases: dict[str, str], helpers: set[str], targets: Targets
    ) -> None:
        self.env, self.dynamic, self.aliases, self.helpers, self.targets = env, dynamic, aliases, helpers, targets
        self.probes: list[Probe] = []
        self.imported: set[str] = set()  # `from solution import f`: the test itself says f is the program's

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        raise NotProbeable("lambda")

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        # Only math's functions and the whitelisted methods: an attribute of a returned object
        # (`make(1, 2).x`) needs the object itself, which lives in the sandbox.
        if node.attr not in _ATTRIBUTES:
            raise NotProbeable(f"attribute {node.attr!r}")
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> Any:
        if isinstance(node.ctx, ast.Load) and not (
            node.id in self.env or node.id in self.dynamic or node.id in _SAFE_BUILTINS
        ):
            raise NotProbeable(f"name {node.id!r} is not a call")
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        target = node.func.id if isinstance(node.func, ast.Name) else None
        if target is None or target in self.env or target in self.dynamic:
            return self.generic_visit(node)
        name = self.aliases.get(target, target)
        if not (self.targets.allows(name) or name in self.imported):
            if target in _SAFE_BUILTINS:
                return self.generic_visit(node)
            raise NotProbeable(f"{name}() is not the program's to answer")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise NotProbeable("star arguments")
        static = _Evaluator(self.env)
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            names = [n.id for n in ast.walk(arg) if isinstance(n, ast.Name)]
            if any(n in self.dynamic for n in names):
                raise NotProbeable("a call's argument depends on another call")
            if any(type(self.env.get(n)) in (list, dict, set) for n in names):
                raise NotProbeable("a list, dict or set the program could change in place")
        try:
            args = tuple(static.eval(a) for a in node.args)
            kwargs = tuple((k.arg, static.eval(k.value)) for k in node.keywords)
            encode((args, kwargs))  # plain data only: it must travel to the sandbox
        except NotProbeable:
            raise
        except (NotPlainData, ValueTooLarge, Exception) as exc:
            raise NotProbeable(f"argument not computable here ({type(exc).__name__})") from None
        slot = f"{_PROBE_PREFIX}{len(self.probes)}"
        self.probes.append(Probe(name, args, kwargs))  # type: ignore[arg-type]
        return ast.copy_location(ast.Name(id=slot, ctx=ast.Load()), node)


@dataclass(frozen=True, slots=True)
class Targets:
    """Which called names are the program's to answer (see the module docstring): the entry
    point and its aliases when there is one; else any name that is not a builtin, the test's
    own or a helper of the prompt."""

    entry_point: str | None = None
    local: frozenset[str] = frozenset()

    def allows(self, name: str) -> bool:
        if self.entry_point:
            return name == self.entry_point
        return not hasattr(builtins, name) and name not in self.local


def _is_docstring_or_noop(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    return isinstance(stmt, ast.Expr) and (
        isinstance(stmt.value, ast.Constant) or (isinstance(stmt.value, ast.Name) and stmt.value.id == "print")
    )


def plan(
    statements: list[ast.stmt],
    *,
    aliases: dict[str, str] | None = None,
    helpers: set[str] | frozenset[str] = frozenset(),
    entry_point: str | None = None,
) -> ProbePlan:
    """The probe plan of a test body, or NotProbeable. `aliases` maps local names to program
    names (`candidate` -> the entry point); `helpers` are names the program must not answer
    (the test's own and the prompt's); `entry_point`, when known, is the only name it may.
    The statements are not changed (the plan is made on a copy)."""
    statements = copy.deepcopy(statements)
    env: dict[str, Any] = {}
    dynamic: set[str] = set()
    out: list[ast.stmt] = []
    targets = Targets(entry_point, frozenset(helpers))
    planner = _Planner(env, dynamic, dict(aliases or {}), set(helpers), targets)
    for stmt in statements:
        if _is_docstring_or_noop(stmt):
            continue
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name != "math":
                    raise NotProbeable(f"import {alias.name}")
                env[alias.asname or "math"] = _MATH
            continue
        if isinstance(stmt, ast.ImportFrom) and stmt.module == SOLUTION_MODULE and not stmt.level:
            for alias in stmt.names:
                if alias.name == "*":
                    raise NotProbeable("from solution import *")
                planner.aliases[alias.asname or alias.name] = alias.name
                planner.imported.add(alias.name)
            continue
        if isinstance(stmt, ast.ImportFrom):
            if stmt.module != "math" or stmt.level:
                raise NotProbeable(f"from {stmt.module} import")
            for alias in stmt.names:
                if alias.name not in _MATH_FUNCS:
                    raise NotProbeable(f"math.{alias.name}")
                env[alias.asname or alias.name] = _MATH_FUNCS[alias.name]
            continue
        if isinstance(stmt, ast.Assert):
            test = planner.visit(stmt.test)
            out.append(ast.copy_location(ast.Assert(test=test, msg=None), stmt))
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            out.append(ast.copy_location(ast.Expr(value=planner.visit(stmt.value)), stmt))
            continue
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            before = len(planner.probes)
            value = planner.visit(stmt.value)
            uses_dynamic = len(planner.probes) > before or any(
                isinstance(n, ast.Name) and n.id in dynamic for n in ast.walk(value)
            )
            if uses_dynamic:
                dynamic.add(name)
                env.pop(name, None)
                out.append(ast.copy_location(ast.Assign(targets=[stmt.targets[0]], value=value), stmt))
            else:
                try:
                    env[name] = evaluate(value, env)
                except NotProbeable:
                    raise
                except Exception as exc:
                    raise NotProbeable(f"cannot compute {name} ({type(exc).__name__})") from None
                dynamic.discard(name)
            continue
        raise NotProbeable(f"{type(stmt).__name__} statements need the interpreter")
    return ProbePlan(out, planner.probes, env)


@dataclass(slots=True)
class ProbeResult:
    """What the sandbox answered for one probe: a value, or the error it raised."""

    ok: bool
    value: Any = None
    error: str = ""


class ProbeFailed(RewardsmithError):
    """A probe the test needs raised in the program (the test fails with that error)."""


def judge_plan(p: ProbePlan, results: list[ProbeResult]) -> tuple[bool, str] | None:
    """Evaluate the plan with the probes' answers: None when every assert holds, else
    (the program crashed, why not). Exceptions from the evaluation (a hostile value's
    TypeError, OverflowError...) are the program's failures and come back as reasons."""
    env = dict(p.env)
    for i, r in enumerate(results):
        env[f"{_PROBE_PREFIX}{i}"] = r
    ev = _ProbeEvaluator(env)
    for stmt in p.statements:
        try:
            if isinstance(stmt, ast.Assert):
                if not ev.eval(stmt.test):
                    return False, f"AssertionError at line {stmt.lineno}"
            elif isinstance(stmt, ast.Expr):
                ev.eval(stmt.value)
            elif isinstance(stmt, ast.Assign):
                env[stmt.targets[0].id] = ev.eval(stmt.value)  # type: ignore[attr-defined]
        except ProbeFailed as exc:
            text = str(exc)
            return not text.startswith(("NotPlainData", "ValueTooLarge")), f"{text} (at line {stmt.lineno})"
        except (NotProbeable, RecursionError, MemoryError) as exc:
            return False, f"{type(exc).__name__} while judging line {stmt.lineno}: {exc}"[:500]
        except Exception as exc:
            text = str(exc)[:300] if not isinstance(exc, ValueError) or len(str(exc)) < 300 else "value error"
            return False, f"{type(exc).__name__} while judging line {stmt.lineno}: {text}"
    return None


class _ProbeEvaluator(_Evaluator):
    def _Name(self, node: ast.Name) -> Any:
        value = super()._Name(node)
        if isinstance(value, ProbeResult):
            if not value.ok:
                raise ProbeFailed(value.error)
            return value.value
        return value
