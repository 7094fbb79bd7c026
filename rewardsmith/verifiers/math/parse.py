"""Stage 2b: parse a normalized answer (LaTeX or plain text) into a `MathValue`.

Our own small Pratt parser over one token stream for both LaTeX and plain text, building
SymPy objects. We do not use SymPy's `parse_latex`: its lark grammar is ambiguous (100 ms to
600 ms per answer) and evaluates `10^{10^{10}}` eagerly, and its ANTLR backend is a heavy
optional dependency. Owning the grammar also lets every guard sit where the cost is made.

Supported: integers, decimals, scientific notation (`1.5e3`, `1.5\\times10^{3}`: the mantissa's
places set the precision), `\\frac` (also `\\frac12`), `\\sqrt[n]{}`, `^` and `**`, `!`, `%`,
`\\degree`, `\\binom`, `\\pi`, `e`, `i` (imaginary unit; `j` too where configured), `\\infty`,
`\\sin \\cos \\tan \\ln \\log \\exp` (and `\\log_b`), plain `sqrt() exp() pi`, `|x|`,
`\\lfloor \\rfloor`, `\\lceil \\rceil`, `\\sum` / `\\prod` with limits, Greek letters, subscripted
symbols (`x_1`, `F_{n-1}`), numbers in a base (`4210_{7}`), implicit multiplication (`2x`,
`2\\pi r`), `\\pm` (a set of two answers), relations `= < > \\le \\ge \\ne \\approx` (chains too),
ratios `7:32`, sets `\\{ \\}` (a bare `{1, 2}` is a list: LaTeX braces only group), tuples
`( , )` and `(0;1;2)`, intervals `[a, b)`, `\\mathbb{R}`, unions / intersections / differences
of sets, matrices (`pmatrix`, `bmatrix`, `matrix`, `array`; sums, products and scalar
multiples are computed), bare comma or semicolon lists.
Anything else (words, unknown commands) becomes a text answer compared as text.

Guards: a power of numbers whose result would have more than `max_digits` digits, or a
factorial above `max_factorial`, becomes an opaque positive symbol named after it
(`HUGE(10^10000000000)`), never expanded: `10^{10^{10}} - 10^{10^{10}} + 1` still cancels to
1, and the value is marked `huge`. Nesting deeper than `max_depth` and answers longer than
`max_chars` are refused (ParseFailure) before any SymPy work.
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
from rewardsmith.verifiers.math.normalize import normalize, split_unit


class ParseFailure(RewardsmithError):
    """The answer is not maths we can read (it is then compared as text)."""


@dataclass(frozen=True, slots=True)
class MathValue:
    """A parsed answer.

    kind: "scalar" (expr), "rel" (items = sides, ops = relation symbols), "tuple", "set",
    "list" (a bare comma list), "interval" (items = ends, ops = (left_open, right_open)),
    "union", "realset" (expr = a SymPy set: `\\mathbb{R}`, differences, intersections),
    "ratio" (items = terms of `a:b`), "matrix" (items = rows of scalars), "text" (text = words).
    `decimals`: the precision a scalar written as one decimal literal claims, as decimal places
    (negative for `1.5\\times10^{3}`: hundreds). `percent`: written with `%` (expr holds x/100).
    `degrees`: written with a degree mark (expr holds radians, `degrees` the number written).
    `base`: (digits, base) of a number written in a base (`4210_{7}`). `unit`: the unit the
    answer carried ("hours"). `huge`: an opaque symbol stands for a number too big to evaluate.
    `literal`: a number written as is ("5"), not computed ("2+3").
    """

    kind: str
    expr: Any = None
    items: tuple[Any, ...] = ()
    ops: tuple[Any, ...] = ()
    text: str = ""
    decimals: int | None = None
    percent: bool = False
    huge: bool = False
    degrees: Any = None
    base: tuple[str, int] | None = None
    unit: str | None = None
    literal: bool = False  # a number written as is, not computed ("5", not "2+3")

    def __str__(self) -> str:
        if self.kind == "scalar":
            out = short(self.degrees) + "°" if self.degrees is not None else short(self.expr)
            out = f"{self.base[0]}_{self.base[1]}" if self.base else out
            return out + ("%" if self.percent else "") + (f" {self.unit}" if self.unit else "")
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
        if self.kind == "realset":
            return short(self.expr)
        if self.kind == "ratio":
            return ":".join(map(str, self.items))
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
_GREEK = set(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta kappa lambda mu nu xi rho sigma tau upsilon "
    "phi varphi chi psi omega Gamma Delta Theta Lambda Xi Sigma Phi Psi Omega".split()
)
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
    "\\approx": "≈",
    "\\equiv": "=",
}
_MULOPS = {"*", "\\cdot", "\\times", "\\ast"}
_DIVOPS = {"/", "\\div"}
_SETOPS = {"\\cup": "cup", "\\cap": "cap", "\\setminus": "minus", "\\backslash": "minus"}
_MATRIX_ENVS = {"pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array", "vmatrix"}
_NUMBER_SETS = {
    "\\Reals": sp.S.Reals,
    "\\Integers": sp.S.Integers,
    "\\Naturals": sp.S.Naturals,
    "\\Rationals": sp.S.Rationals,
    "\\Complexes": sp.S.Complexes,
}
_E, _I = sp.E, sp.I
#: letters read as a function when applied to plain arguments: f(x), g(2), P(x, y)
_FUNCTION_LETTERS = set("fghpqrFGHPQRW")
_EVENT_OPS = {"\\cap", "\\cup", "|", "\\mid", "\\setminus", "'"}
#: the sign of `\\pm` while parsing: `a \\pm b` is a + PM*b, later the two answers PM = 1, -1
PM = sp.Symbol("PLUSMINUS")
HUGE_PREFIX = "HUGE("
_MAX_SUM_TERMS = 10_000


def huge_symbol(description: str) -> sp.Symbol:
    """The opaque positive symbol standing for one too-large number (same number, same symbol)."""
    return sp.Symbol(f"{HUGE_PREFIX}{description})", positive=True)


def is_huge(expr: Any) -> bool:
    return isinstance(expr, sp.Basic) and any(str(s).startswith(HUGE_PREFIX) for s in expr.free_symbols)


def expand_pm(value: MathValue) -> MathValue:
    """Replace a scalar holding `\\pm` by the set of its two answers (also inside containers)."""
    if value.kind == "scalar" and isinstance(value.expr, sp.Basic) and PM in value.expr.free_symbols:
        return MathValue("set", items=(scalar(value.expr.subs(PM, 1)), scalar(value.expr.subs(PM, -1))))
    if value.kind in ("list", "set", "tuple") and any(v.kind == "scalar" for v in value.items):
        items: list[Any] = []
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
        subscript = out[-1:] == [("op", "_")] or out[-2:] == [("op", "_"), ("op", "{")]
        if kind == "word" and len(value) > 1 and subscript:
            out.append(("word", value))  # S_{MBCN}: a subscript name, not a product of letters
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


def _open_interval(value: MathValue) -> MathValue:
    if value.kind == "tuple" and len(value.items) == 2 and all(v.kind == "scalar" for v in value.items):
        return MathValue("interval", items=value.items, ops=(True, True))
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], guards: GuardConfig, imaginary: str) -> None:
        self.toks, self.i, self.g = tokens, 0, guards
        self.depth = 0
        self.units = {"i": "i" in imaginary or imaginary == "both", "j": "j" in imaginary or imaginary == "both"}
        self.matrices: dict[int, tuple[tuple[MathValue, ...], ...]] = {}  # literal matrix -> its entries

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
    def binop(self, op: str, a: Any, b: Any) -> Any:
        if op == "+":
            return a + b
        if op == "*":
            return a * b
        if isinstance(b, sp.MatrixBase):
            raise ParseFailure("division by a matrix")
        return a / b

    def power(self, base: Any, exp: Any) -> Any:
        if isinstance(exp, sp.Number) and isinstance(base, sp.Number) and not base.is_zero:
            bits = max(int(p).bit_length() for p in sp.fraction(base)) if base.is_Rational else 1100
            size = abs(float(exp)) * max(1.0, bits * math.log10(2))
            if size > self.g.max_digits:
                return huge_symbol(f"{short(base, 60)}^{short(exp, 60)}")
        if isinstance(exp, sp.Number) and abs(exp) > 1000 and not isinstance(base, sp.Number):
            if isinstance(base, sp.MatrixBase) or base.free_symbols:
                raise ParseFailure("a power too large to expand")
            return huge_symbol(f"{short(base, 60)}^{short(exp, 60)}")  # (sqrt 2)^(10^10) is never computed
        if isinstance(base, sp.MatrixBase):
            if not (isinstance(exp, sp.Integer) and 0 <= exp <= 64):
                raise ParseFailure("a matrix power other than a small integer")
        return base**exp

    def factorial(self, x: Any) -> Any:
        if isinstance(x, sp.Integer) and x > self.g.max_factorial:
            return huge_symbol(f"factorial({short(x, 60)})")
        if is_huge(x):
            return huge_symbol(f"factorial({short(x, 60)})")
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
        """Comma lists; `;` separates groups: `p=5,q=2; p=7,q=2` is two pairs."""
        groups: list[list[MathValue]] = [[self.relation()]]
        while self.at(",", ";"):
            sep = self.take()[1]
            if self.peek()[0] == "end":
                break
            if sep == ";":
                groups.append([])
            groups[-1].append(self.relation())
        if len(groups) > 1 and any(len(g) > 1 for g in groups):
            items = [g[0] if len(g) == 1 else MathValue("tuple", items=tuple(g)) for g in groups]
        else:
            items = [v for g in groups for v in g]
        return items[0] if len(items) == 1 else MathValue("list", items=tuple(items))

    def relation(self) -> MathValue:
        parts, ops = [self.ratio()], []
        while self.peek()[1] in _RELOPS and self.peek()[0] in ("op", "cmd"):
            ops.append(_RELOPS[self.take()[1]])
            parts.append(self.ratio())
        if not ops:
            return parts[0]
        return MathValue("rel", items=tuple(parts), ops=tuple(ops))

    def ratio(self) -> MathValue:
        items = [self.union()]
        while self.at(":") and self.peek(1)[0] != "end":
            self.take()
            items.append(self.union())
        if len(items) == 1:
            return items[0]
        if any(v.kind != "scalar" for v in items):
            raise ParseFailure("a ratio of something other than expressions")
        return MathValue("ratio", items=tuple(items))

    def union(self) -> MathValue:
        items, ops = [self.value()], []
        while self.at(*_SETOPS):
            ops.append(_SETOPS[self.take()[1]])
            items.append(self.value())
        if not ops:
            return items[0]
        items = [_open_interval(v) for v in items]  # (2, 12) \cup (12, 102): pairs are open intervals here
        if all(op == "cup" for op in ops) and all(v.kind in ("interval", "set", "union") for v in items):
            return MathValue("union", items=tuple(items))
        sets = [self.as_set(v) for v in items]
        out = sets[0]
        for op, other in zip(ops, sets[1:], strict=True):
            out = {"cup": sp.Union, "cap": sp.Intersection, "minus": sp.Complement}[op](out, other)
        return MathValue("realset", expr=out)

    def as_set(self, value: MathValue) -> Any:
        if value.kind == "realset":
            return value.expr
        if value.kind == "interval":
            (lo, hi), (lo_open, hi_open) = value.items, value.ops
            return sp.Interval(lo.expr, hi.expr, lo_open, hi_open)
        if value.kind == "set" and all(v.kind == "scalar" for v in value.items):
            return sp.FiniteSet(*(v.expr for v in value.items))
        if value.kind == "union":
            return sp.Union(*(self.as_set(v) for v in value.items))
        raise ParseFailure("a set operation on something that is not a set")

    def value(self) -> MathValue:
        """A scalar, or a container that stands alone (set, tuple, interval, list in braces)."""
        start = self.i
        tok = self.peek()
        if tok[1] in _NUMBER_SETS:
            self.take()
            return MathValue("realset", expr=_NUMBER_SETS[tok[1]])
        if tok[1] in ("(", "[", "\\{", "{", "\\emptyset", "\\varnothing"):
            container = self.container()
            ends = self.peek()[0] == "end" or self.peek()[1] in (",", ";", ":", ")", "]", "\\}", "}", "&", "\\\\")
            if container is not None and (ends or self.peek()[1] in _RELOPS or self.peek()[1] in _SETOPS):
                return container
            self.i = start
        return self.additive()

    def container(self) -> MathValue | None:
        tok = self.take()
        if tok[1] in ("\\emptyset", "\\varnothing"):
            return MathValue("set", items=())
        if tok[1] in ("\\{", "{"):
            close = "\\}" if tok[1] == "\\{" else "}"
            self.enter()
            items = [] if self.at(close) else list(self.top_items())
            self.expect(close)
            self.depth -= 1
            if tok[1] == "{":  # LaTeX braces group: `{1,3}` is the list 1, 3
                return MathValue("list", items=tuple(items)) if len(items) > 1 else None
            return MathValue("set", items=tuple(items))
        self.enter()
        items = list(self.top_items())
        close = self.take()[1]
        self.depth -= 1
        if close not in (")", "]"):
            raise ParseFailure(f"unclosed {tok[1]!r}")
        if len(items) == 1 and (tok[1] == "(" and close == ")" or tok[1] == "[" and close == "]"):
            return None  # a bracketed scalar (or matrix): let the arithmetic parser take it
        if len(items) == 2 and all(x.kind == "scalar" for x in items) and (tok[1] == "[" or close == "]"):
            return MathValue("interval", items=tuple(items), ops=(tok[1] == "(", close == ")"))
        if tok[1] == "(" and close == ")":
            return MathValue("tuple", items=tuple(items))
        return MathValue("tuple" if len(items) != 1 else "list", items=tuple(items))

    def top_items(self) -> tuple[MathValue, ...]:
        items = [self.relation()]
        while self.at(",", ";"):
            self.take()
            items.append(self.relation())
        return tuple(items)

    def matrix(self) -> Any:
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
        rows: list[list[MathValue]] = [[]]
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
            rows[-1].append(self.additive())
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
        if any(isinstance(v.expr, sp.MatrixBase) for r in rows for v in r):
            raise ParseFailure("a matrix inside a matrix")
        matrix = sp.ImmutableMatrix([[v.expr for v in r] for r in rows])
        if env == "vmatrix":
            return matrix.det()
        self.matrices[id(matrix)] = tuple(tuple(r) for r in rows)
        return matrix

    def additive(self) -> MathValue:
        """Sums; `\\pm` is a placeholder sign, expanded to two answers by `expand_pm`."""
        first = self.unary()
        value, terms = first, first.expr
        while self.at("+", "-", "\\pm", "\\mp"):
            op = self.take()[1]
            rhs = self.unary().expr
            sign = {"+": sp.Integer(1), "-": sp.Integer(-1), "\\pm": PM, "\\mp": -PM}[op]
            terms = self.binop("+", terms, rhs if op == "+" else self.binop("*", sign, rhs))
            value = scalar(terms)
        return value

    def unary(self) -> MathValue:
        if self.at("-", "\\pm", "\\mp"):
            sign = {"-": sp.Integer(-1), "\\pm": PM, "\\mp": -PM}[self.take()[1]]
            inner = self.unary()
            expr = self.binop("*", sign, inner.expr)
            degrees = -inner.degrees if inner.degrees is not None and sign == -1 else None
            return scalar(expr, decimals=inner.decimals, percent=inner.percent, degrees=degrees)
        if self.at("+"):
            self.take()
            return self.unary()
        return self.product()

    _STARTS = {"num", "letter", "name"}
    _FACTOR_CMDS = {"\\frac", "\\sqrt", "\\pi", "\\infty", "\\binom", "\\lfloor", "\\lceil", "\\exp", "\\ln", "\\log"}
    _FACTOR_CMDS |= {"\\e", "\\imath", "\\begin", "\\sum", "\\prod"}

    def starts_factor(self) -> bool:
        kind, value = self.peek()
        if kind in self._STARTS:
            return True
        if kind == "cmd":
            return value in self._FACTOR_CMDS or value[1:] in _GREEK or value[1:] in _FUNCS
        return value in ("(", "{")

    def product(self) -> MathValue:
        first = self.power_level()
        value, expr = first, first.expr
        while True:
            if self.at(*_MULOPS) and self.peek()[0] in ("op", "cmd"):
                self.take()
                rhs = self.power_level()
                expr = self.binop("*", expr, rhs.expr)
                value = scalar(expr, decimals=self._scientific(value, rhs))
            elif self.at(*_DIVOPS) and self.peek()[0] in ("op", "cmd"):
                self.take()
                expr = self.binop("/", expr, self.power_level().expr)
                value = scalar(expr)
            elif self.starts_factor():
                if self.peek()[0] == "num" and self.toks[self.i - 1][0] == "num":
                    raise ParseFailure("two numbers side by side")  # "3 4" is not 12
                expr = self.binop("*", expr, self.power_level().expr)
                value = scalar(expr)
            else:
                break
        return value

    @staticmethod
    def _scientific(mantissa: MathValue, power: MathValue) -> int | None:
        """`1.5 \\times 10^{3}`: a decimal mantissa's places, shifted by the power, are the precision."""
        if mantissa.decimals is None or mantissa.percent or not isinstance(power.expr, sp.Rational):
            return None
        exponent = sp.log(power.expr, 10)
        if power.expr <= 0 or not exponent.is_integer:
            return None
        return mantissa.decimals - int(exponent)

    def power_level(self) -> MathValue:
        base = self.postfix()
        if self.at("^", "**"):
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
                value = scalar(self.binop("*", value.expr, sp.pi / 180), degrees=value.expr)
            elif op == "!":
                value = scalar(self.factorial(value.expr))
            elif op == "%":
                places = None if value.decimals is None else value.decimals + 2
                value = scalar(self.binop("/", value.expr, sp.Integer(100)), percent=True, decimals=places)
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
            places = len(mantissa.partition(".")[2]) - int(exp) if "." in mantissa else None
            return scalar(value, decimals=places, literal=True)
        if "." in text:
            whole, _, frac = text.partition(".")
            return scalar(sp.Rational(text if frac else whole), decimals=len(frac) if frac else None, literal=True)
        if self.at("_") and self.peek(1)[0] == "num" or self.at("_") and self.peek(1)[1] == "{":
            based = self.based(text)
            if based is not None:
                return based
        return scalar(sp.Integer(text), literal=True)

    def based(self, digits: str) -> MathValue | None:
        """`4210_{7}` / `204_5`: a number written in base 2..10 (None when the digits do not fit)."""
        start = self.i
        self.take()
        if self.at("{"):
            self.take()
            kind, base = self.take()
            if kind != "num" or not self.at("}"):
                self.i = start
                return None
            self.take()
        else:
            kind, base = self.take()
        if not base.isdigit() or not 2 <= int(base) <= 10 or any(int(d) >= int(base) for d in digits):
            self.i = start
            return None
        return scalar(sp.Integer(int(digits, int(base))), base=(digits.lstrip("0") or "0", int(base)))

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
            if text in ("(", "["):
                inner = self.relation()
                self.expect(")" if text == "(" else "]")
                if inner.kind != "scalar":
                    raise ParseFailure("a bracket holds something other than an expression")
                return scalar(inner.expr, percent=inner.percent, degrees=inner.degrees)
            if text == "{":
                self.i -= 1
                return scalar(self.group())
            if text == "|":
                inner = self.additive()
                self.expect("|")
                return scalar(sp.Abs(inner.expr))
            raise ParseFailure(f"unexpected {text!r}")
        if kind == "cmd":
            return self.command(text)
        raise ParseFailure("the answer ends too early")

    def symbol(self, name: str) -> Any:
        primes = 0
        while self.at("'"):  # f'(x), y'': a derivative's name
            self.take()
            primes += 1
        if primes:
            name += "'" * primes
            applied = self.application(name) if name[0] in _FUNCTION_LETTERS else None
            return applied if applied is not None else sp.Symbol(name)
        if name in self.units and self.units[name] and not self.at("_"):
            return _I
        if name == "e" and not self.at("_"):
            return _E
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
        if name in _FUNCTION_LETTERS:
            applied = self.application(name)
            if applied is not None:
                return applied
        return sp.Symbol(name)

    def application(self, name: str) -> Any:
        """`f(x)`, `g(2)`, `P(a, b)`, `f^{-1}(x)`: a named function of plain arguments (a label or a
        value such as f(2)); `a(x+1)` and `f(x+1)` stay products, as written maths usually means."""
        start, inverse = self.i, False
        if [t[1] for t in self.toks[self.i : self.i + 5]] == ["^", "{", "-", "1", "}"]:
            self.i += 5
            inverse = True
        elif [t[1] for t in self.toks[self.i : self.i + 3]] == ["^", "-", "1"]:
            self.i += 3
            inverse = True
        if not self.at("("):
            self.i = start
            return None
        event = self._event(name)
        if event is not None:
            return event
        args, j = [], self.i + 1
        while j < len(self.toks) and self.toks[j][0] in ("letter", "num"):
            kind, text = self.toks[j]
            args.append(sp.Symbol(text) if kind == "letter" else sp.Rational(text))
            j += 1
            if j < len(self.toks) and self.toks[j][1] == ",":
                j += 1
                continue
            break
        if not args or j >= len(self.toks) or self.toks[j][1] != ")":
            self.i = start
            return None
        self.i = j + 1
        return sp.Function(f"{name}^-1" if inverse else name)(*args)

    def _event(self, name: str) -> Any:
        """`P(A \\cap B)`, `P(A | B)`, `P(A^c)`: a probability of events, a name (label) as a whole."""
        j, parts = self.i + 1, []
        while j < len(self.toks) and self.toks[j][1] != ")":
            kind, text = self.toks[j]
            if kind not in ("letter", "num") and text not in _EVENT_OPS and text != ",":
                return None
            parts.append(text)
            j += 1
        if j >= len(self.toks) or not any(p in _EVENT_OPS for p in parts):
            return None
        self.i = j + 1
        return sp.Symbol(f"{name}({' '.join(parts)})")

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
        if isinstance(arg, sp.MatrixBase):
            raise ParseFailure(f"{name} of a matrix")
        if name == "log" and base is not None:
            out = sp.log(arg, base)
        elif name == "exp":
            out = self.power(_E, arg)
        elif name == "sqrt":
            out = self.power(arg, sp.Rational(1, 2))
        else:
            out = _FUNCS[name](arg)
        return out if power is None else self.power(out, power)

    def big_operator(self, name: str) -> Any:
        """`\\sum_{k=1}^{n} body` / `\\prod`: computed when the range is small, else kept as written."""
        self.expect("_")
        self.expect("{")
        var = self.relation()
        self.expect("}")
        if var.kind != "rel" or var.ops != ("=",) or not isinstance(var.items[0].expr, sp.Symbol):
            raise ParseFailure(f"\\{name} needs a lower limit like k=1")
        index, low = var.items[0].expr, var.items[1].expr
        self.expect("^")
        high = self.group()
        body = self.product().expr
        if isinstance(body, sp.MatrixBase):
            raise ParseFailure(f"\\{name} of matrices")
        op = sp.Sum if name == "sum" else sp.Product
        out = op(body, (index, low, high))
        if isinstance(low, sp.Integer) and isinstance(high, sp.Integer) and 0 <= high - low < _MAX_SUM_TERMS:
            return out.doit()
        return out

    def command(self, cmd: str) -> MathValue:
        name = cmd[1:]
        if name == "frac":
            num = self.group()
            den = self.group()
            return scalar(self.binop("/", num, den))
        if name == "binom":
            n, k = self.group(), self.group()
            return scalar(sp.binomial(n, k))
        if name == "sqrt":
            index = None
            if self.at("["):
                self.take()
                index = self.additive().expr
                self.expect("]")
            arg = self.group()
            if isinstance(index, sp.Integer) and index % 2 == 1 and isinstance(arg, sp.Number) and arg < 0:
                return scalar(-self.power(-arg, 1 / index))  # \sqrt[3]{-8} = -2: the real root, as schools write it
            return scalar(self.power(arg, sp.Rational(1, 2) if index is None else 1 / index))
        if name == "pi":
            return scalar(sp.pi)
        if name == "infty":
            return scalar(sp.oo)
        if name == "imath":
            return scalar(_I)
        if name == "begin":
            return scalar(self.matrix())
        if name in ("sum", "prod"):
            return scalar(self.big_operator(name))
        if name in _GREEK:
            return scalar(sp.Symbol(name.replace("var", "")))
        if name in _FUNCS:
            return scalar(self.apply(name))
        if name in ("lfloor", "lceil"):
            inner = self.additive()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            return scalar((sp.floor if name == "lfloor" else sp.ceiling)(inner.expr))
        if name in ("|", "vert", "lvert", "mid"):
            inner = self.additive()
            if not self.at("\\|", "\\vert", "\\rvert", "|", "\\mid"):
                raise ParseFailure("unclosed absolute value")
            self.take()
            return scalar(sp.Abs(inner.expr))
        raise ParseFailure(f"unsupported command {cmd}")

    def finish(self, value: MathValue) -> MathValue:
        """A matrix computed as an expression becomes a matrix answer (a literal keeps its entries)."""
        if value.kind == "scalar" and isinstance(value.expr, sp.MatrixBase):
            rows = self.matrices.get(id(value.expr))
            if rows is None:
                rows = tuple(tuple(scalar(x) for x in value.expr.row(r)) for r in range(value.expr.rows))
            return MathValue("matrix", items=rows)
        if value.kind in ("list", "set", "tuple", "rel", "ratio", "interval", "union"):
            return MathValue(value.kind, items=tuple(self.finish(v) for v in value.items), ops=value.ops)
        if value.kind == "scalar" and is_huge(value.expr):
            return MathValue(**{**_fields(value), "huge": True})
        return value


def _fields(value: MathValue) -> dict[str, Any]:
    return {f: getattr(value, f) for f in MathValue.__dataclass_fields__}


_WORDY = re.compile(r"^[A-Za-z][A-Za-z '\-]*[A-Za-z]$")
_CHOICE = re.compile(r"^\(?\s*([A-Ja-j])\s*\)?$")
_OTHER_LETTER = re.compile(r"(?<![A-Za-z])\(?[A-J]\)?(?![A-Za-z])")


def text_form(answer: str) -> str:
    """The normalized words of an answer that is text, for text comparison."""
    return re.sub(r"\s+", " ", answer.replace("\\", "").strip().lower()).strip(" .")


@lru_cache(maxsize=4096)
def parse_answer(answer: str, guards: GuardConfig = GuardConfig(), imaginary: str = "i") -> MathValue:
    """Parse one answer string (normalized first); never raises for bad maths: text instead.

    `imaginary`: which letters are the imaginary unit ("i", "j" or "both").

    >>> str(parse_answer(r"\\dfrac{\\pi}{2}")), str(parse_answer("pi/2"))
    ('pi/2', 'pi/2')
    >>> parse_answer("[1, 2)").kind, parse_answer(r"\\{1,2\\}").kind, parse_answer("Tuesday").kind
    ('interval', 'set', 'text')
    >>> str(parse_answer("3 hours")), parse_answer(r"4210_{7}").base
    ('3 hours', ('4210', 7))
    """
    if len(answer) > guards.max_chars:
        raise ParseFailure(f"answer longer than {guards.max_chars} characters")
    text, unit = split_unit(answer)
    if _WORDY.match(text) and text.lower() not in _WORDS:  # words, not a product of letters
        return MathValue("text", text=text_form(text))
    try:
        tokens = tokenize(text)
        if not tokens:
            return MathValue("text", text="")
        parser = _Parser(tokens, guards, imaginary)
        value = parser.finish(parser.parse())
    except (
        ParseFailure,
        RecursionError,
        TypeError,
        ValueError,
        ZeroDivisionError,
        AttributeError,
        OverflowError,
        NotImplementedError,
        sp.SympifyError,
    ) as exc:
        return MathValue("text", text=text_form(text), ops=(str(exc)[:120],))
    if unit and value.kind == "scalar":
        value = MathValue(**{**_fields(value), "unit": unit})
    return value


def choice_letter(answer: str) -> str | None:
    """The letter of a multiple-choice answer: "(B)", "B", "b)", "\\text{(B)}", "Option B", "(E) 12"."""
    text = normalize(answer)
    text = re.sub(r"^(?:option|choice|answer)\s*:?\s*", "", text, flags=re.IGNORECASE)
    m = re.match(r"^(\([A-J]\))\s+(\S.*)$", text)  # "(E) 12": the letter, then the option's text
    if m:
        if _OTHER_LETTER.search(m.group(2)):  # "(A) (B) (C) (D)": every option, so none
            return None
        text = m.group(1)
    m = _CHOICE.match(text.strip().rstrip(")").strip() + (")" if text.strip().endswith(")") else ""))
    return m.group(1).upper() if m else None
