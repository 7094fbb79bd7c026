"""Stage 2b: parse a normalized answer (LaTeX or plain text) into a `MathValue`.

Our own small Pratt parser over one token stream for both LaTeX and plain text, building
SymPy objects. We do not use SymPy's `parse_latex`: its lark grammar is ambiguous (100 ms to
600 ms per answer) and evaluates `10^{10^{10}}` eagerly, and its ANTLR backend is a heavy
optional dependency. Owning the grammar also lets every guard sit where the cost is made.

Supported: integers, decimals, scientific notation (`1.5e3`, `1.5\\times10^{3}`), `\\frac`
(also `\\frac12`), `\\sqrt[n]{}`, `^`, `!`, `%`, `\\binom`, `\\pi`, `e`, `i` (imaginary unit),
`\\infty`, `\\sin \\cos \\tan \\ln \\log \\exp` (and `\\log_b`), plain `sqrt() exp() pi`, `**`,
`|x|`, `\\lfloor \\rfloor`, `\\lceil \\rceil`, Greek letters, subscripted symbols (`x_1`),
implicit multiplication (`2x`, `2\\pi r`), `\\pm` (a set of two answers), relations
`= < > \\le \\ge \\ne` (chains too), sets `\\{ \\}`, tuples `( , )`, intervals `[a, b)` and
unions with `\\cup`, matrices (`pmatrix`, `bmatrix`, `matrix`, `array`), bare comma lists.
Anything else (words, unknown commands) becomes a text answer compared as text.

Guards: a power of numbers whose result would have more than `max_digits` digits, or a
factorial above `max_factorial`, is kept unevaluated and marked `huge` (compared numerically,
never expanded); nesting deeper than `max_depth` and answers longer than `max_chars` are
refused (ParseFailure) before any SymPy work.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy as sp

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.verifiers.math.config import GuardConfig
from rewardsmith.verifiers.math.normalize import normalize


class ParseFailure(RewardsmithError):
    """The answer is not maths we can read (it is then compared as text)."""


@dataclass(frozen=True, slots=True)
class MathValue:
    """A parsed answer.

    kind: "scalar" (expr), "rel" (items = sides, ops = relation symbols), "tuple", "set",
    "list" (a bare comma list), "interval" (items = ends, ops = (left_open, right_open)),
    "union", "matrix" (items = rows as tuples), "text" (text = normalized words).
    `decimals`: places of a scalar written as one decimal literal (the precision it claims).
    `percent`: the scalar was written with `%` (expr holds x/100). `huge`: a guard kept part
    of the expression unevaluated.
    """

    kind: str
    expr: Any = None
    items: tuple[Any, ...] = ()
    ops: tuple[Any, ...] = ()
    text: str = ""
    decimals: int | None = None
    percent: bool = False
    huge: bool = False

    def __str__(self) -> str:
        if self.kind == "scalar":
            return short(self.expr) + ("%" if self.percent else "")
        if self.kind == "text":
            return repr(self.text)
        if self.kind == "rel":
            out = str(self.items[0])
            for op, side in zip(self.ops, self.items[1:], strict=True):
                out += f" {op} {side}"
            return out
        if self.kind == "interval":
            return ("(" if self.ops[0] else "[") + f"{self.items[0]}, {self.items[1]}" + (")" if self.ops[1] else "]")
        if self.kind == "union":
            return " U ".join(map(str, self.items))
        if self.kind == "matrix":
            return "Matrix(" + "; ".join(", ".join(map(str, row)) for row in self.items) + ")"
        inner = ", ".join(map(str, self.items))
        return {"tuple": f"({inner})", "set": f"{{{inner}}}", "list": inner}[self.kind]


def short(expr: Any, limit: int = 200) -> str:
    """A printable form of an expression for details, safe for numbers with 10^4 digits."""
    try:
        text = sp.sstr(expr)
    except ValueError:  # Python refuses int -> str past 4300 digits
        return f"<{type(expr).__name__} too large to print>"
    except Exception:  # the printer sorts terms, and NaN terms refuse to be compared
        return f"<unprintable {type(expr).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scalar(expr: Any, **kw: Any) -> MathValue:
    return MathValue("scalar", expr=expr, **kw)


_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<env>\\(?:begin|end)\s*\{[a-zA-Z*]+\}(?:\{[lcr|\s]*\})?)"
    r"|(?P<cmd>\\(?:[a-zA-Z]+|[{}|%\\]))"
    r"|(?P<word>[a-zA-Z]+)"
    r"|(?P<op>\*\*|<=|>=|!=|=<|=>|[-+*/^_!=<>()\[\]{},|&%':;])"
)
_WORDS = {  # plain-text names, matched greedily inside a letter run
    "sqrt": "sqrt",
    "pi": "pi",
    "exp": "exp",
    "ln": "ln",
    "log": "log",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "sec": "sec",
    "csc": "csc",
    "cot": "cot",
    "arcsin": "arcsin",
    "arccos": "arccos",
    "arctan": "arctan",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "infinity": "infty",
    "inf": "infty",
    "oo": "infty",
    "abs": "abs",
}
_WORD_ORDER = sorted(_WORDS, key=len, reverse=True)
_FUNCS = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sec": sp.sec,
    "csc": sp.csc,
    "cot": sp.cot,
    "arcsin": sp.asin,
    "arccos": sp.acos,
    "arctan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "ln": sp.log,
    "log": sp.log,
    "exp": sp.exp,
    "abs": sp.Abs,
    "sqrt": sp.sqrt,
}
_GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
}
_RELOPS = {
    "=": "=",
    "<": "<",
    ">": ">",
    "<=": "<=",
    ">=": ">=",
    "=<": "<=",
    "=>": ">=",
    "!=": "!=",
    "\\le": "<=",
    "\\leq": "<=",
    "\\leqslant": "<=",
    "\\ge": ">=",
    "\\geq": ">=",
    "\\geqslant": ">=",
    "\\ne": "!=",
    "\\neq": "!=",
    "\\lt": "<",
    "\\gt": ">",
    "\\approx": "=",
}
_MULOPS = {"*", "\\cdot", "\\times", "\\ast"}
_DIVOPS = {"/", "\\div"}
_MATRIX_ENVS = {"pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array", "vmatrix"}
_E, _I = sp.E, sp.I
#: the sign of `\\pm` while parsing: `a \\pm b` is a + PM*b, later the two answers PM = 1, -1
PM = sp.Symbol("PLUSMINUS")


def expand_pm(value: MathValue) -> MathValue:
    """Replace a scalar holding `\\pm` by the set of its two answers (also inside containers)."""
    if value.kind == "scalar" and value.expr is not None and PM in value.expr.free_symbols:
        if value.huge:
            raise ParseFailure("\\pm in an unevaluated expression")
        return MathValue("set", items=(scalar(value.expr.subs(PM, 1)), scalar(value.expr.subs(PM, -1))))
    if value.kind in ("list", "set", "tuple") and any(v.kind == "scalar" for v in value.items):
        items = []
        for v in value.items:
            e = expand_pm(v)
            items.extend(e.items if e.kind == "set" and v.kind == "scalar" and e is not v else [e])
        return MathValue(value.kind, items=tuple(items))
    if value.kind == "rel":
        return MathValue("rel", items=tuple(expand_pm(v) for v in value.items), ops=value.ops)
    return value


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs; letter runs are split into known names and single letters."""
    out: list[tuple[str, str]] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseFailure(f"unexpected character {text[pos]!r}")
        kind, value = m.lastgroup or "", m.group(0)
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "env":  # \begin{pmatrix}{cc}: names are not maths letters
            cmd, _, rest = value.partition("{")
            out.append(("cmd", cmd.strip()))
            for name in rest.replace("}", "").split("{"):
                out.extend([("op", "{"), ("envname", name), ("op", "}")])
            continue
        if kind == "word":
            i, loose = 0, 0
            while i < len(value):
                if loose >= 4:  # "Devon": a word, not the product D*e*v*o*n (anagrams would match)
                    raise ParseFailure(f"{value!r} is a word")
                for w in _WORD_ORDER:
                    if value.startswith(w, i) and (len(value) == len(w) or w not in ("in", "ln")):
                        out.append(("name", _WORDS[w]))
                        i += len(w)
                        loose = 0
                        break
                else:
                    out.append(("letter", value[i]))
                    i += 1
                    loose += 1
            if loose >= 4:
                raise ParseFailure(f"{value!r} is a word")
            continue
        out.append((kind, value))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], guards: GuardConfig) -> None:
        self.toks, self.i, self.g = tokens, 0, guards
        self.depth = 0
        self.huge: set[Any] = set()

    # -- token helpers -------------------------------------------------------------------
    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        return self.peek()[1] in values and self.peek()[0] != "end"

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise ParseFailure(f"expected {value!r}, found {tok[1]!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.g.max_depth:
            raise ParseFailure(f"nested deeper than {self.g.max_depth} levels")

    # -- arithmetic with guards ------------------------------------------------------------
    def is_huge(self, *xs: Any) -> bool:
        return any(x in self.huge for x in xs if isinstance(x, sp.Basic))

    def small(self, x: Any) -> Any:
        """`x`, or ParseFailure when a function of it would evaluate a guarded huge number."""
        if self.is_huge(x):
            raise ParseFailure("a function of an unevaluably large number")
        return x

    def mark(self, x: Any) -> Any:
        self.huge.add(x)
        return x

    def binop(self, op: str, a: Any, b: Any) -> Any:
        if self.is_huge(a, b):
            if op == "+":
                return self.mark(sp.Add(a, b, evaluate=False))
            if op == "*":
                return self.mark(sp.Mul(a, b, evaluate=False))
            if op == "/":
                return self.mark(sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False))
        if op == "+":
            return a + b
        if op == "*":
            return a * b
        return a / b

    def power(self, base: Any, exp: Any) -> Any:
        if self.is_huge(exp):  # 10^{10^{10^{10}}}: even its number of digits has 10^10 digits
            raise ParseFailure("a power with an unevaluably large exponent")
        if self.is_huge(base):
            return self.mark(sp.Pow(base, exp, evaluate=False))
        if isinstance(exp, sp.Number) and isinstance(base, sp.Number) and not base.is_zero:
            bits = max(int(p).bit_length() for p in sp.fraction(base)) if base.is_Rational else 1100
            size = abs(float(exp)) * max(1.0, bits * math.log10(2))
            if size > self.g.max_digits:
                return self.mark(sp.Pow(base, exp, evaluate=False))
        if isinstance(exp, sp.Number) and abs(exp) > 1000 and not isinstance(base, sp.Number):
            return self.mark(sp.Pow(base, exp, evaluate=False))  # (sqrt 2)^(10^10) would be computed
        return base**exp

    def factorial(self, x: Any) -> Any:
        if self.is_huge(x):
            raise ParseFailure("the factorial of an unevaluably large number")
        if isinstance(x, sp.Integer) and x > self.g.max_factorial:
            return self.mark(sp.factorial(x, evaluate=False))
        if isinstance(x, sp.Number) and not x.is_integer:
            return sp.gamma(x + 1)
        return sp.factorial(x)

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> MathValue:
        value = self.top()
        if self.peek()[0] != "end":
            raise ParseFailure(f"unexpected {self.peek()[1]!r}")
        return expand_pm(value)

    def top(self) -> MathValue:
        items = [self.relation()]
        while self.at(",", ";"):
            self.take()
            if self.peek()[0] == "end":
                break
            items.append(self.relation())
        return items[0] if len(items) == 1 else MathValue("list", items=tuple(items))

    def relation(self) -> MathValue:
        parts, ops = [self.union()], []
        while self.peek()[1] in _RELOPS and self.peek()[0] in ("op", "cmd"):
            ops.append(_RELOPS[self.take()[1]])
            parts.append(self.union())
        if not ops:
            return parts[0]
        return MathValue("rel", items=tuple(parts), ops=tuple(ops))

    def union(self) -> MathValue:
        items = [self.value()]
        while self.at("\\cup"):
            self.take()
            items.append(self.value())
        if len(items) == 1:
            return items[0]
        return MathValue("union", items=tuple(items))

    def value(self) -> MathValue:
        """A scalar, or a container that stands alone (set, tuple, interval, matrix)."""
        start = self.i
        tok = self.peek()
        if tok[1] in ("(", "[", "\\{", "\\emptyset", "\\varnothing") or (tok[1] == "\\begin"):
            container = self.container()
            ends = self.peek()[0] == "end" or self.peek()[1] in (",", ";", "\\cup", ")", "]", "\\}", "&", "\\\\")
            if container is not None and (ends or self.peek()[1] in _RELOPS):
                return container
            self.i = start
        return self.additive()

    def container(self) -> MathValue | None:
        tok = self.take()
        if tok[1] in ("\\emptyset", "\\varnothing"):
            return MathValue("set", items=())
        if tok[1] == "\\begin":
            return self.matrix()
        if tok[1] == "\\{":
            self.enter()
            items = [] if self.at("\\}") else list(self.top_items())
            self.expect("\\}")
            self.depth -= 1
            return MathValue("set", items=tuple(items))
        self.enter()
        items = list(self.top_items())
        close = self.take()[1]
        self.depth -= 1
        if close not in (")", "]"):
            raise ParseFailure(f"unclosed {tok[1]!r}")
        if len(items) == 1 and tok[1] == "(" and close == ")":
            return None  # a parenthesised scalar: let the arithmetic parser take it
        if len(items) == 2 and all(x.kind == "scalar" for x in items) and (tok[1] == "[" or close == "]"):
            return MathValue("interval", items=tuple(items), ops=(tok[1] == "(", close == ")"))
        if tok[1] == "(" and close == ")":
            return MathValue("tuple", items=tuple(items))
        return MathValue("tuple" if len(items) != 1 else "list", items=tuple(items))

    def top_items(self) -> tuple[MathValue, ...]:
        items = [self.relation()]
        while self.at(","):
            self.take()
            items.append(self.relation())
        return tuple(items)

    def matrix(self) -> MathValue:
        self.expect("{")
        env = ""
        while not self.at("}"):
            env += self.take()[1]
            if self.peek()[0] == "end":
                raise ParseFailure("unclosed environment name")
        self.take()
        if env not in _MATRIX_ENVS:
            raise ParseFailure(f"environment {env!r} is not a matrix")
        if env == "array" and self.at("{"):  # column spec {cc}
            while not self.at("}"):
                self.take()
                if self.peek()[0] == "end":
                    raise ParseFailure("unclosed array column spec")
            self.take()
        rows: list[list[Any]] = [[]]
        self.enter()
        while True:
            if self.at("\\end"):
                self.take()
                self.expect("{")
                while not self.at("}"):
                    self.take()
                    if self.peek()[0] == "end":
                        raise ParseFailure("unclosed \\end")
                self.take()
                break
            rows[-1].append(self.scalar_expr())
            if self.at("&"):
                self.take()
            elif self.at("\\\\"):
                self.take()
                rows.append([])
            elif not self.at("\\end"):
                raise ParseFailure(f"unexpected {self.peek()[1]!r} in a matrix")
        self.depth -= 1
        rows = [r for r in rows if r]
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseFailure("matrix rows have different lengths")
        if env == "vmatrix":
            return scalar(sp.Matrix(rows).det())
        return MathValue("matrix", items=tuple(tuple(r) for r in rows))

    def scalar_expr(self) -> Any:
        value = self.additive()
        return value.expr

    def additive(self) -> MathValue:
        """Sums; `\\pm` is a placeholder sign, expanded to two answers by `expand_pm`."""
        first = self.unary()
        terms, percent, decimals = first.expr, first.percent, first.decimals
        while self.at("+", "-", "\\pm", "\\mp"):
            op = self.take()[1]
            rhs = self.unary().expr
            decimals, percent = None, False
            sign = {"+": sp.Integer(1), "-": sp.Integer(-1), "\\pm": PM, "\\mp": -PM}[op]
            terms = self.binop("+", terms, rhs if op == "+" else self.binop("*", sign, rhs))
        return scalar(terms, decimals=decimals, percent=percent, huge=self.is_huge(terms))

    def unary(self) -> MathValue:
        if self.at("-", "\\pm", "\\mp"):
            sign = {"-": sp.Integer(-1), "\\pm": PM, "\\mp": -PM}[self.take()[1]]
            inner = self.unary()
            expr = self.binop("*", sign, inner.expr)
            return scalar(expr, decimals=inner.decimals, percent=inner.percent)
        if self.at("+"):
            self.take()
            return self.unary()
        return self.product()

    _STARTS = {"num", "letter", "name"}

    def starts_factor(self) -> bool:
        kind, value = self.peek()
        if kind in self._STARTS:
            return True
        if kind == "cmd":
            return (
                value
                in (
                    "\\frac",
                    "\\sqrt",
                    "\\pi",
                    "\\infty",
                    "\\binom",
                    "\\lfloor",
                    "\\lceil",
                    "\\exp",
                    "\\ln",
                    "\\log",
                    "\\e",
                    "\\imath",
                )
                or value[1:] in _GREEK
                or value[1:] in _FUNCS
            )
        return value in ("(", "{")

    def product(self) -> MathValue:
        first = self.power_level()
        expr, decimals, percent = first.expr, first.decimals, first.percent
        while True:
            if self.at(*_MULOPS) and self.peek()[0] in ("op", "cmd"):
                self.take()
                rhs = self.power_level().expr
                expr, decimals, percent = self.binop("*", expr, rhs), None, False
            elif self.at(*_DIVOPS) and self.peek()[0] in ("op", "cmd"):
                self.take()
                rhs = self.power_level().expr
                expr, decimals, percent = self.binop("/", expr, rhs), None, False
            elif self.starts_factor():
                rhs = self.power_level().expr
                expr, decimals, percent = self.binop("*", expr, rhs), None, False
            else:
                break
        return scalar(expr, decimals=decimals, percent=percent)

    def power_level(self) -> MathValue:
        base = self.postfix()
        if self.at("^"):
            self.take()
            self.enter()
            if self.at("-", "+"):
                sign = -1 if self.take()[1] == "-" else 1
                exp = self.power_level().expr * sign
            else:
                exp = self.power_level().expr
            self.depth -= 1
            return self.postfix_ops(scalar(self.power(base.expr, exp)))
        return base

    def postfix(self) -> MathValue:
        return self.postfix_ops(self.primary())

    def postfix_ops(self, value: MathValue) -> MathValue:
        while self.at("!", "%", "'", "\\degree"):
            op = self.take()[1]
            if op == "\\degree":
                value = scalar(self.binop("*", value.expr, sp.pi / 180))
            elif op == "!":
                value = scalar(self.factorial(value.expr))
            elif op == "%":
                value = scalar(self.binop("/", value.expr, sp.Integer(100)), percent=True)
            else:
                raise ParseFailure("primes are not supported")
        return value

    def group(self) -> Any:
        """A `{...}` argument, or a single token (`\\frac12`, `\\sqrt2`, `x^2`)."""
        if self.at("{"):
            self.take()
            self.enter()
            value = self.relation() if not self.at("}") else None
            self.expect("}")
            self.depth -= 1
            if value is None or value.kind != "scalar":
                raise ParseFailure("a group holds something other than an expression")
            return value.expr
        kind, text = self.peek()
        if kind == "num":
            self.take()
            if len(text) > 1 and text.isdigit():  # \frac12 = 1/2: one digit per argument
                self.toks[self.i - 1 : self.i] = [("num", text[0]), ("num", text[1:])]
                self.i -= 1
                self.take()
                return sp.Integer(text[0])
            return self.number(text).expr
        return self.primary().expr

    def number(self, text: str) -> MathValue:
        if "e" in text or "E" in text:
            mantissa, _, exp = text.lower().partition("e")
            if abs(int(exp)) > self.g.max_digits:
                raise ParseFailure("exponent too large")
            value = sp.Rational(mantissa) * sp.Integer(10) ** int(exp)
            return scalar(value)
        if "." in text:
            whole, _, frac = text.partition(".")
            return scalar(sp.Rational(text if frac else whole), decimals=len(frac) if frac else None)
        return scalar(sp.Integer(text))

    def primary(self) -> MathValue:
        self.enter()
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> MathValue:
        kind, text = self.take()
        if kind == "num":
            return self.number(text)
        if kind == "letter":
            return scalar(self.symbol(text))
        if kind == "name":
            return self.named(text)
        if kind == "op":
            if text == "(":
                inner = self.relation()
                self.expect(")")
                if inner.kind != "scalar":
                    raise ParseFailure("a bracket holds something other than an expression")
                return inner
            if text == "[":
                inner = self.relation()
                self.expect("]")
                if inner.kind != "scalar":
                    raise ParseFailure("a bracket holds something other than an expression")
                return inner
            if text == "{":
                self.i -= 1
                return scalar(self.group())
            if text == "|":
                inner = self.additive()
                self.expect("|")
                return scalar(sp.Abs(self.small(inner.expr)))
            raise ParseFailure(f"unexpected {text!r}")
        if kind == "cmd":
            return self.command(text)
        raise ParseFailure("the answer ends too early")

    def symbol(self, name: str) -> Any:
        if name == "e" and not self.at("_"):
            return _E
        if name == "i" and not self.at("_"):
            return _I
        if self.at("_"):
            self.take()
            kind, sub = self.peek()
            if sub == "{":
                self.take()
                parts = []
                while not self.at("}"):
                    if self.peek()[0] == "end":
                        raise ParseFailure("unclosed subscript")
                    parts.append(self.take()[1])
                self.take()
                sub = "".join(parts)
            else:
                self.take()
            return sp.Symbol(f"{name}_{sub}")
        return sp.Symbol(name)

    def call_arg(self) -> Any:
        """The argument of a function: (...), {...}, or an implicit product (`\\sin 2x`)."""
        if self.at("("):
            self.take()
            inner = self.additive()
            self.expect(")")
            return inner.expr
        if self.at("{"):
            return self.group()
        expr = self.power_level().expr
        while self.peek()[0] in ("letter", "num") or (self.peek()[0] == "cmd" and self.peek()[1][1:] in _GREEK):
            expr = expr * self.power_level().expr
        return expr

    def named(self, name: str) -> MathValue:
        if name == "pi":
            return scalar(sp.pi)
        if name == "infty":
            return scalar(sp.oo)
        return scalar(self.apply(name))

    def apply(self, name: str) -> Any:
        power = None
        if name not in ("sqrt", "abs") and self.at("^"):  # \sin^2 x
            self.take()
            power = self.group()
        base = None
        if name == "log" and self.at("_"):
            self.take()
            base = self.group()
        arg = self.call_arg()
        if self.is_huge(arg):  # sin(10^{10^{10}}) needs 10^10 digits of pi
            raise ParseFailure(f"{name} of an unevaluably large number")
        if name == "log" and base is not None:
            out = sp.log(arg, base)
        elif name == "exp":
            out = self.power(_E, arg)
        elif name == "sqrt":
            out = self.power(arg, sp.Rational(1, 2))
        else:
            out = _FUNCS[name](arg)
        return out if power is None else self.power(out, power)

    def command(self, cmd: str) -> MathValue:
        name = cmd[1:]
        if name == "frac":
            num = self.group()
            den = self.group()
            return scalar(self.binop("/", num, den))
        if name == "binom":
            n, k = self.group(), self.group()
            return scalar(sp.binomial(self.small(n), self.small(k)))
        if name == "sqrt":
            index = None
            if self.at("["):
                self.take()
                index = self.additive().expr
                self.expect("]")
            arg = self.group()
            return scalar(self.power(arg, sp.Rational(1, 2) if index is None else 1 / index))
        if name in ("pi",):
            return scalar(sp.pi)
        if name == "infty":
            return scalar(sp.oo)
        if name == "imath":
            return scalar(_I)
        if name in _GREEK:
            return scalar(sp.Symbol(name.replace("var", "")))
        if name in _FUNCS:
            return scalar(self.apply(name))
        if name in ("lfloor", "lceil"):
            inner = self.additive()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            return scalar((sp.floor if name == "lfloor" else sp.ceiling)(self.small(inner.expr)))
        if name in ("|", "vert", "lvert", "mid"):
            inner = self.additive()
            if not self.at("\\|", "\\vert", "\\rvert", "|", "\\mid"):
                raise ParseFailure("unclosed absolute value")
            self.take()
            return scalar(sp.Abs(self.small(inner.expr)))
        raise ParseFailure(f"unsupported command {cmd}")


_WORDY = re.compile(r"^[A-Za-z][A-Za-z '\-]*[A-Za-z]$")
_CHOICE = re.compile(r"^\(?\s*([A-Ja-j])\s*\)?$")


def text_form(answer: str) -> str:
    """The normalized words of an answer that is text, for text comparison."""
    return re.sub(r"\s+", " ", answer.replace("\\", "").strip().lower()).strip(" .")


@lru_cache(maxsize=4096)
def parse_answer(answer: str, guards: GuardConfig = GuardConfig()) -> MathValue:
    """Parse one answer string (normalized first); never raises for bad maths: text instead.

    >>> str(parse_answer(r"\\dfrac{\\pi}{2}")), str(parse_answer("pi/2"))
    ('pi/2', 'pi/2')
    >>> parse_answer("[1, 2)").kind, parse_answer(r"\\{1,2\\}").kind, parse_answer("Tuesday").kind
    ('interval', 'set', 'text')
    """
    if len(answer) > guards.max_chars:
        raise ParseFailure(f"answer longer than {guards.max_chars} characters")
    text = normalize(answer)
    if _WORDY.match(text) and text.lower() not in _WORDS:  # words, not a product of letters
        return MathValue("text", text=text_form(text))
    try:
        tokens = tokenize(text)
        if not tokens:
            return MathValue("text", text="")
        value = _Parser(tokens, guards).parse()
    except (
        ParseFailure,
        RecursionError,
        TypeError,
        ValueError,
        ZeroDivisionError,
        AttributeError,
        OverflowError,
    ) as exc:
        return MathValue("text", text=text_form(text), ops=(str(exc)[:120],))
    return value


def choice_letter(answer: str) -> str | None:
    """The letter of a multiple-choice answer: "(B)", "B", "b)", "\\text{(B)}", "Option B", "(E) 12"."""
    text = normalize(answer)
    text = re.sub(r"^(?:option|choice|answer)\s*:?\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^(\([A-J]\))\s+\S.*$", r"\1", text)  # "(E) 12": the letter, then the option's text
    m = _CHOICE.match(text.strip().rstrip(")").strip() + (")" if text.strip().endswith(")") else ""))
    return m.group(1).upper() if m else None
