"""Stage 3: decide whether two parsed answers (`MathValue`) are the same answer.

Every decision returns the name of the rule that made it (it goes into a Score's details):

- numbers: exact rational equality first (`exact`). A decimal *reference* states its precision:
  an exact prediction that rounds to it at the reference's places matches
  (`rounded_to_reference`: `0.33` accepts 1/3, `1.5\\times10^{3}` accepts 1523). Two decimals, or
  an exact reference and a decimal prediction, must be equal within `rel_tol` (default 1e-12:
  float round-off, no approximation) or `abs_tol` (default 0) (`rel_tol` / `abs_tol`): `2.72` is
  not `2.7`, `1` is not `1.0000001`, `3.14159` is not `\\pi`. Exact values never get a tolerance;
- constant expressions: equal values at 60 significant digits (`numeric_value`), which is how
  `e^{16}-1` matches `-1+exp(16)` and `2\\sqrt{2}` matches `\\sqrt{8}`;
- expressions with symbols: `expand(a - b) == 0` (`symbolic_expand`), else evaluation at random
  points of both signs (`numeric_probe`), with bounded `simplify` when the points cannot decide
  (`symbolic_simplify`). A too-large number is an opaque symbol, so `10^{10^{10}} - 10^{10^{10}}`
  cancels while `10^{10^{10}} + 1` never equals `10^{10^{10}}`;
- conventions, each an option (see `EquivalenceConfig`): percent, degrees, units, sets vs
  elements, inequalities vs intervals, text synonyms;
- equations: a *label* on one side is dropped ("x = 3", "f^{-1}(x) = \\frac{x-3}{2}",
  "(p,q) = (3,2)", "|AB| = 1", "2 = y"): the value is graded (`+label`). In a chain the last
  side is the value ("x = 5+5+1 = 11"), and what follows `\\approx` is only an approximation of
  the exact value before it. Otherwise both sides moved to one side must be non-zero multiples
  of each other (`equation_proportional`); an equation that collapses to 0 = 0 matches nothing;
- inequalities: the same after moving terms, or (intervals="lenient") the same solution set as
  an interval, union or set difference (`solution_set`: `|x| < 2` is `(-2, 2)`);
- lists and sets compare as sets (order and repeats do not matter); tuples, intervals (open or
  closed ends too), ratios and matrices compare in order; `(a, b)` also matches the open
  interval (a, b); a list of labelled values matches by label when the labels differ.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from rewardsmith.verifiers.math.config import EquivalenceConfig
from rewardsmith.verifiers.math.numeric import (
    ROUND_OFF,
    approximates,
    float_print,
    has_long_rational,
    numerically_zero,
)
from rewardsmith.verifiers.math.parse import HUGE_PREFIX, PM, MathValue, is_huge, scalar
from rewardsmith.verifiers.math.units import parse_unit

_DIGITS = 60
_MAX_ITEMS = 40
_SYNONYMS = {
    "does not exist": ("dne", "does not exist", "doesn't exist", "not exist", "no such", "nonexistent"),
    "no solution": ("no solution", "no solutions", "no real solution", "no real solutions", "none", "no answer"),
    "undefined": ("undefined", "not defined", "is undefined"),
    "yes": ("yes", "true", "y"),
    "no": ("no", "false", "n"),
}
_CANONICAL_TEXT = {form: key for key, forms in _SYNONYMS.items() for form in forms}
_ALL_REALS = {  # the normalizer drops a trailing "numbers" as a noun: "all real numbers" is read "all real"
    "all real",
    "any real",
    "every real",
    "the set of all real",
    "the set of real",
    "all real numbers",
    "all reals",
    "all real values",
    "all real x",
    "any real number",
    "every real number",
    "the real numbers",
    "real numbers",
    "the set of real numbers",
    "the set of all real numbers",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether two answers match, and the rule that decided."""

    equal: bool
    rule: str


def _num(x: Any) -> complex | None:
    """A complex float of a constant expression, or None when it is not a finite number."""
    if isinstance(x, sp.Basic) and x.has(sp.Sum, sp.Product):  # evalf of a sum to 1.7 terms crawls
        return None
    try:
        v = sp.N(x, 30)
        c = complex(v)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None
    if c != c or abs(c) == float("inf"):
        return None
    return c


def _hp(x: Any) -> Any:
    value = sp.N(x, _DIGITS)
    if not value.is_number or value.has(sp.zoo, sp.nan):
        return None
    return value


def _close_hp(a: Any, b: Any, rel: float, abs_tol: float = 0.0) -> bool | None:
    """High-precision closeness of two constants (works for 1/2004! and sums of surds)."""
    try:
        va, vb = _hp(a), _hp(b)
        if va is None or vb is None:
            return None
        if va.is_infinite or vb.is_infinite:
            return bool(va == vb)
        diff = abs(sp.N(va - vb, _DIGITS))
        scale = max(abs(va), abs(vb))
        if scale == 0:
            return True
        return bool(diff <= sp.Float(rel, _DIGITS) * scale or diff <= sp.Float(abs_tol, _DIGITS))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None


def _cheap_to_expand(expr: Any) -> bool:
    """Expanding (x+1)^{1000} takes seconds: only small powers and small trees are expanded."""
    if sp.count_ops(expr) > 300:
        return False
    return all(not (p.exp.is_Number and abs(p.exp) > 24) for p in expr.atoms(sp.Pow))


def _fraction(x: Any) -> Fraction | None:
    """An exact Fraction of a number, or of a constant's 50-digit value (for rounding)."""
    if isinstance(x, sp.Rational):
        return Fraction(int(x.p), int(x.q))
    value = _hp(x)
    if value is None or not value.is_real or value.is_infinite:
        return None
    return Fraction(str(sp.N(value, 50)))


def is_label(expr: Any) -> bool:
    """A name rather than a value: a symbol, a function of symbols (`f(x)`, `f^{-1}(x)`), a product or
    quotient of those (`AB`, `NO/BO`), or its absolute value (`|AB|`)."""
    if isinstance(expr, sp.Symbol):
        return not expr.name.startswith(HUGE_PREFIX) and expr != PM
    if isinstance(expr, AppliedUndef):
        return all(isinstance(a, (sp.Symbol, sp.Number)) for a in expr.args)
    if isinstance(expr, sp.Abs):
        return is_label(expr.args[0])
    if isinstance(expr, sp.Pow):
        return expr.exp in (-1, 1) and is_label(expr.base)
    if isinstance(expr, sp.Mul):
        return all(is_label(a) for a in expr.args)
    return False


def _unknown(expr: Any) -> bool:
    """What an inequality bounds: a symbol or a named function value (`x`, `f(x)`), not `|x|`."""
    return isinstance(expr, AppliedUndef) or (isinstance(expr, sp.Symbol) and is_label(expr))


def _label_value(value: MathValue) -> bool:
    if value.kind == "scalar":
        return is_label(value.expr)
    if value.kind in ("tuple", "ratio", "list"):
        return bool(value.items) and all(v.kind == "scalar" and is_label(v.expr) for v in value.items)
    return False


def _symbols(value: MathValue) -> set[Any]:
    """The names a value uses; a function application counts by its name (f in f(x)), not its argument."""
    if value.kind == "scalar" and isinstance(value.expr, sp.Basic):
        calls = value.expr.atoms(AppliedUndef)
        plain = value.expr.xreplace({c: sp.Symbol(f"{c.func.__name__}()") for c in calls})
        return set(plain.free_symbols)
    out: set[Any] = set()
    for v in value.items:
        if isinstance(v, MathValue):
            out |= _symbols(v)
        elif isinstance(v, tuple):
            for x in v:
                out |= _symbols(x)
    return out


def chain_label(rel: MathValue) -> MathValue | None:
    """The label of `x = 3` / `(p,q) = (3,2)` / `2 = y`, or None."""
    if rel.kind != "rel" or any(op not in ("=", "≈") for op in rel.ops):
        return None
    first, rest = rel.items[0], rel.items[1:]
    if _label_value(first) and not (_symbols(first) & set().union(*(_symbols(v) for v in rest))):
        return first
    if len(rel.items) == 2 and _label_value(rel.items[1]) and not _symbols(first) & _symbols(rel.items[1]):
        if not _symbols(first):
            return rel.items[1]
    return None


def chain_value(rel: MathValue) -> MathValue | None:
    """The value a chain of `=` / `\\approx` states, or None for a genuine equation.

    `x = 5+5+1 = 11` -> 11; `x = 1/3 \\approx 0.33` -> 1/3; `\\frac{9.5}{3.14} \\approx 3.03` -> 9.5/3.14;
    `2 = y` -> 2; `y = 2x + 1` -> 2x + 1; `2x + 1 = 5` -> None.
    """
    if rel.kind != "rel" or any(op not in ("=", "≈") for op in rel.ops):
        return None
    label = chain_label(rel)
    if label is not None and label is rel.items[-1] and len(rel.items) == 2 and label is not rel.items[0]:
        return rel.items[0]
    if label is not None:
        values, joins = list(rel.items[1:]), list(rel.ops[1:])
    else:
        if any(_symbols(v) for v in rel.items):
            return None
        values, joins = list(rel.items), list(rel.ops)
        same = all(v.kind == "scalar" and v.literal for v in values) and len({v.expr for v in values}) == 1
        if same and all(op == "=" for op in joins):
            return None  # "5 = 5" states nothing (while "3 + 10 = 13" states its result)
    stated = len(values) - 1
    for k, op in enumerate(joins):
        holds = _side_holds(values[k], values[k + 1], op)
        if holds is False:
            return None  # "9 = 3", "1 + 1 = 3", "x = 3 \approx 5": a false chain states no value
        if holds == "approx":  # "x = 1/3 \\approx 0.33", "2/3 = 0.667": the exact side is the value
            stated = min(stated, k)
        elif holds == "approx_before":  # "x = 0.333 = 1/3": the exact side comes second
            stated = min(stated, k + 1)
    return values[stated]


def _side_holds(x: MathValue, y: MathValue, op: str) -> bool | str | None:
    """Whether `x op y` holds for two constant sides: True (equal), "approx" (y approximates x at the
    places y states), "approx_before" (`0.333 = 1/3`: x approximates y), False; None when it cannot be
    checked."""
    if x.kind != "scalar" or y.kind != "scalar" or not isinstance(x.expr, sp.Basic) or not isinstance(y.expr, sp.Basic):
        return None
    if x.expr.free_symbols or y.expr.free_symbols or isinstance(x.expr, sp.MatrixBase):
        return None
    if op == "=":
        zero = numerically_zero(x.expr - y.expr)
        if zero is None or zero:
            return None if zero is None else True
    flipped = op == "=" and x.decimals is not None and y.decimals is None
    exact, approx = (y, x) if flipped else (x, y)
    fe, fa = _fraction(exact.expr), _fraction(approx.expr)
    if fe is None or fa is None:
        return None
    places = approx.decimals if approx.decimals is not None else (0 if approx.literal else None)
    if op == "=" and places is None:
        return False  # two exact values that differ
    if not approximates(fe, fa, places):
        return False
    return "approx_before" if flipped else "approx"


class Comparer:
    def __init__(self, config: EquivalenceConfig) -> None:
        self.cfg = config
        self.rng = random.Random(20240)
        self.labels_matter = False

    # -- scalars ---------------------------------------------------------------------------
    def scalars(self, gold: MathValue, pred: MathValue) -> Verdict:
        if gold.unit and pred.unit and self.cfg.units == "convert":
            converted = self._convert_units(gold, pred)
            if converted is not None:
                return converted
        if gold.base is not None or pred.base is not None:
            return self._based(gold, pred)
        if gold.degrees is not None or pred.degrees is not None:
            return self._degrees(gold, pred)
        if gold.percent != pred.percent and self.cfg.percent == "lenient":
            # "60%" is the value 0.6 and also the count 60 written with its unit
            plain_gold = replace(gold, expr=gold.expr * 100, percent=False, decimals=_shift(gold.decimals, -2))
            plain_pred = replace(pred, expr=pred.expr * 100, percent=False, decimals=_shift(pred.decimals, -2))
            readings = [(gold, pred), (plain_gold, pred) if gold.percent else (gold, plain_pred)]
            if pred.percent:
                # a plain reference is either a fraction (0.05: "5%" is its value) or a count of percent
                # (5: "5%" is 5 with its unit), never both: then "0.05%" cannot pass for 0.05, nor "500%" for 5
                size = _num(gold.expr)
                readings = readings[:1] if size is not None and abs(size) <= 1 else readings[1:]
            for g, p in readings:
                v = self.exprs(g.expr, p.expr, g, p)
                if v.equal:
                    return Verdict(True, v.rule + "+percent")
            return Verdict(False, "percent_mismatch")
        return self.exprs(gold.expr, pred.expr, gold, pred)

    def _convert_units(self, gold: MathValue, pred: MathValue) -> Verdict | None:
        ug, up = parse_unit(gold.unit or ""), parse_unit(pred.unit or "")
        if ug is None or up is None:
            return None
        if ug.dims != up.dims:
            return Verdict(False, "unit_mismatch")
        if ug.factor == up.factor:
            return None
        g = replace(gold, expr=gold.expr * sp.Rational(ug.factor.numerator, ug.factor.denominator), decimals=None)
        p = replace(pred, expr=pred.expr * sp.Rational(up.factor.numerator, up.factor.denominator), decimals=None)
        v = self.exprs(g.expr, p.expr, g, p)
        return Verdict(v.equal, v.rule + "+unit")

    def _based(self, gold: MathValue, pred: MathValue) -> Verdict:
        """`4210_7` is matched by `4210_{7}` and by `4210` (its digits), not by 1477 (the same number
        in base ten: the problem asked for base 7); a base-ten reference accepts any base's value."""
        if gold.base is not None:
            if pred.base is not None:
                return Verdict(gold.base == pred.base, "base")
            digits = str(pred.expr) if isinstance(pred.expr, sp.Integer) and pred.expr >= 0 else None
            return Verdict(digits is not None and digits.lstrip("0") == gold.base[0].lstrip("0"), "base_digits")
        return Verdict(self.exprs(gold.expr, pred.expr, gold, replace(pred, base=None)).equal, "base_value")

    def _degrees(self, gold: MathValue, pred: MathValue) -> Verdict:
        """`45^\\circ`: the angle π/4 (degrees="lenient") and the number 45 written with its unit."""
        g_num = gold.degrees if gold.degrees is not None else gold.expr
        p_num = pred.degrees if pred.degrees is not None else pred.expr
        pairs = [(g_num, p_num)]
        if self.cfg.degrees == "lenient" or (gold.degrees is not None and pred.degrees is not None):
            pairs.append((gold.expr, pred.expr))
        for a, b in pairs:
            v = self.exprs(a, b, replace(gold, degrees=None), replace(pred, degrees=None))
            if v.equal:
                return Verdict(True, v.rule + "+degrees")
        return Verdict(False, "degrees")

    def exprs(self, a: Any, b: Any, gold: MathValue, pred: MathValue) -> Verdict:
        if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
            return Verdict(False, "matrix_vs_scalar")
        if a == b:
            return Verdict(True, "exact")
        if a.has(sp.oo, -sp.oo, sp.zoo) or b.has(sp.oo, -sp.oo, sp.zoo):
            return Verdict(False, "different_infinity")
        inexact = gold.decimals is not None or pred.decimals is not None
        free = a.free_symbols | b.free_symbols
        if free:
            return self._symbolic(a, b, free)
        if inexact:
            return self._approx(a, b, gold, pred)
        if isinstance(a, sp.Number) and isinstance(b, sp.Number):
            return Verdict(False, "exact")
        zero = numerically_zero(a - b)  # exact values compare exactly: no tolerance, at any scale
        if zero and not has_long_rational(a, b):
            return Verdict(True, "numeric_value")
        if zero is not False and self.cfg.symbolic and _cheap_to_expand(a - b):
            # zero to 400 digits, but a long rational (sin(10^100)^2 + cos(10^100)^2 - 1) or a sum of terms
            # further apart than that (sqrt(25 + e^{-1000}) - 5) could hide a difference: algebra decides
            try:
                if sp.simplify(a - b) == 0:
                    return Verdict(True, "symbolic_simplify")
            except Exception:
                pass
        if zero is False:
            return Verdict(False, "numeric_value")
        return Verdict(False, "numeric_undecided" if _num(a) is not None and _num(b) is not None else "not_a_number")

    def _approx(self, a: Any, b: Any, gold: MathValue, pred: MathValue) -> Verdict:
        """Decimals: the reference's stated precision for an exact prediction, else the tolerances."""
        if gold.decimals is not None and pred.decimals is None:
            fb, fa = _fraction(b), _fraction(a)
            if fb is not None and fa is not None and round(fb, gold.decimals) == fa:
                return Verdict(True, "rounded_to_reference")
        fa, fb = _fraction(a), _fraction(b)
        if fa is not None and fb is not None:
            places, decimal = (pred.decimals, fb) if pred.decimals is not None else (gold.decimals, fa)
            if float_print(fa, fb, places, self.cfg.rel_tol, decimal):
                return Verdict(True, "rel_tol")
        elif _close_hp(a, b, self.cfg.rel_tol if self.cfg.rel_tol > ROUND_OFF else 1e-15):
            return Verdict(True, "rel_tol")  # complex values: round-off only
        if self.cfg.abs_tol and _close_hp(a, b, 0.0, self.cfg.abs_tol):
            return Verdict(True, "abs_tol")
        return Verdict(False, "decimal_mismatch")

    def _symbolic(self, a: Any, b: Any, free: set[Any]) -> Verdict:
        try:
            if _cheap_to_expand(a - b) and sp.expand(a - b) == 0:
                return Verdict(True, "symbolic_expand")
        except Exception:  # SymPy raises many things on odd input; the probe decides then
            pass
        if a.has(sp.Sum, sp.Product) or b.has(sp.Sum, sp.Product):
            return Verdict(False, "symbolic_undecided")  # a sum to n terms: only written-alike sums are equal
        probe = self._probe(a, b, free)
        if probe is not None:
            return Verdict(probe, "numeric_probe")
        if self.cfg.symbolic and _cheap_to_expand(a - b) and sp.count_ops(a - b) <= 80:
            try:
                if sp.simplify(a - b) == 0:
                    return Verdict(True, "symbolic_simplify")
            except Exception:
                pass
        return Verdict(False, "symbolic_undecided")

    def _points(self, free: set[Any]) -> list[dict[Any, Any]]:
        """Random exact rational points of both signs in [0.3, 2.9] (exact, so that a difference is
        evaluated to its own digits, never rounded away)."""
        symbols = sorted(free, key=str)
        points = []
        for _ in range(self.cfg.probes):
            points.append(
                {s: sp.Rational(self.rng.choice((-1, 1)) * self.rng.randint(300, 2900), 1000) for s in symbols}
            )
        return points

    def _probe(self, a: Any, b: Any, free: set[Any]) -> bool | None:
        """True/False when the random points decide; None when too few points evaluate.

        At each point where both sides are finite numbers, a - b must be zero to 400 digits: a
        relative tolerance would let `10^{12}x + 1` pass for `10^{12}x`."""
        zeros = []
        for point in self._points(free):
            pa, pb = a.xreplace(point), b.xreplace(point)
            if _num(pa) is None or _num(pb) is None:
                continue
            zero = numerically_zero(pa - pb, confirm=False)
            if zero is None:
                continue
            if not zero:
                return False
            zeros.append(pa - pb)
        if len(zeros) < 2:
            return None
        return numerically_zero(zeros[0]) or None  # zero to 60 digits everywhere: confirmed at one point

    def ratio_constant(self, a: Any, b: Any) -> bool:
        """a / b is one non-zero constant: a = 0 and b = 0 are the same equation.

        Random points decide when they evaluate (cheap, and a ratio that is constant at six random
        points is constant); `cancel` is the fallback for expressions the points cannot evaluate.
        """
        free = a.free_symbols | b.free_symbols
        if free:
            pairs = []
            for point in self._points(free):
                pa, pb = a.xreplace(point), b.xreplace(point)
                va, vb = _num(pa), _num(pb)
                if va is None or vb is None or abs(vb) < 1e-12:
                    continue
                pairs.append((pa, pb))
            if len(pairs) >= 3:
                ratio = pairs[0][0] / pairs[0][1]  # exact: a - ratio * b must vanish at every other point
                if numerically_zero(ratio) is not False:
                    return False
                rest = [pa - ratio * pb for pa, pb in pairs[1:]]
                quick = all(numerically_zero(d, confirm=False) is True for d in rest)
                return quick and bool(numerically_zero(rest[0]))
        try:
            ratio = sp.cancel(a / b)
            return bool(ratio.is_number and ratio != 0 and ratio.is_finite)
        except Exception:
            return False

    # -- relations ---------------------------------------------------------------------------
    @staticmethod
    def as_interval(rel: MathValue) -> MathValue | None:
        """`x > 3` → (3, oo); `1 < x <= 2` → (1, 2]; None when it is no such relation."""
        if (
            rel.kind != "rel"
            or any(op in ("=", "!=", "≈") for op in rel.ops)
            or any(p.kind != "scalar" for p in rel.items)
        ):
            return None
        parts = [p.expr for p in rel.items]
        if len(parts) == 2:
            lhs, rhs = parts
            op = rel.ops[0]
            if _unknown(rhs) and not _unknown(lhs):  # 3 < x
                lhs, rhs, op = rhs, lhs, {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op]
            if not _unknown(lhs) or rhs.free_symbols:
                return None
            if op in (">", ">="):
                return MathValue("interval", items=(scalar(rhs), scalar(sp.oo)), ops=(op == ">", True))
            return MathValue("interval", items=(scalar(-sp.oo), scalar(rhs)), ops=(True, op == "<"))
        if len(parts) == 3 and _unknown(parts[1]) and not (parts[0].free_symbols | parts[2].free_symbols):
            ops = rel.ops
            if all(o in ("<", "<=") for o in ops):
                return MathValue(
                    "interval", items=(scalar(parts[0]), scalar(parts[2])), ops=(ops[0] == "<", ops[1] == "<")
                )
            if all(o in (">", ">=") for o in ops):
                return MathValue(
                    "interval", items=(scalar(parts[2]), scalar(parts[0])), ops=(ops[1] == ">", ops[0] == ">")
                )
        return None

    def relations(self, gold: MathValue, pred: MathValue) -> Verdict:
        shaped = self._relation_sides(gold, pred)
        if shaped.equal:
            return shaped
        gv, pv = chain_value(gold), chain_value(pred)
        if gv is not None and pv is not None:
            if self.labels_matter:
                gl, pl = chain_label(gold), chain_label(pred)
                if gl is None or pl is None or not self.compare(gl, pl).equal:
                    return Verdict(False, "label_mismatch")
            v = self.compare(gv, pv)
            return Verdict(v.equal, v.rule + "+label")
        simple = self.as_interval(gold) is not None and self.as_interval(pred) is not None
        if self.cfg.intervals == "lenient" and not simple:  # two plain intervals were compared above
            sets = self._as_sets(gold, pred)
            if sets is not None:
                return sets
        return shaped

    def _relation_sides(self, gold: MathValue, pred: MathValue) -> Verdict:
        if len(gold.ops) != len(pred.ops) or "≈" in gold.ops + pred.ops:
            return Verdict(False, "relation_shape")
        if any(v.kind != "scalar" for v in gold.items + pred.items):
            return Verdict(False, "relation_shape")
        if all(o == "=" for o in gold.ops + pred.ops) and len(gold.ops) == 1:
            gl, gr = gold.items[0].expr, gold.items[1].expr
            pl, pr = pred.items[0].expr, pred.items[1].expr
            if gl == pl and self.compare(gold.items[1], pred.items[1]).equal:
                return Verdict(True, "equation_sides")
            dg, dp = sp.expand(gl - gr), sp.expand(pl - pr)
            if dg == 0 or dp == 0:
                return Verdict(False, "trivial_equation")
            return Verdict(self.ratio_constant(dg, dp), "equation_proportional")
        gi, pi = self.as_interval(gold), self.as_interval(pred)
        if gi is not None and pi is not None:
            v = self.intervals(gi, pi)
            return Verdict(v.equal, "inequality_as_interval")
        if len(gold.ops) == 1 and "=" not in gold.ops + pred.ops:
            flip = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "!=": "!="}
            dg = gold.items[0].expr - gold.items[1].expr
            dp = pred.items[0].expr - pred.items[1].expr
            if dg == 0 or dp == 0:
                return Verdict(False, "trivial_equation")
            same = pred.ops[0] == gold.ops[0] and self._signed_ratio(dg, dp, 1)
            flipped = pred.ops[0] == flip[gold.ops[0]] and self._signed_ratio(dg, dp, -1)
            return Verdict(bool(same or flipped), "inequality_sides")
        if gold.ops == pred.ops and all(
            self.compare(g, p).equal for g, p in zip(gold.items, pred.items, strict=True)
        ):  # f(2) < f(1) < f(4)
            return Verdict(True, "relation_sides")
        return Verdict(False, "relation_shape")

    def _signed_ratio(self, a: Any, b: Any, sign: int) -> bool:
        if not self.ratio_constant(a, b):
            return False
        try:
            r = sp.cancel(a / b)
            value = _num(r) if r.is_number else None
        except Exception:
            value = None
        if value is None:
            free = a.free_symbols | b.free_symbols
            point = self._points(free)[0]
            va, vb = _num(a.xreplace(point)), _num(b.xreplace(point))
            if va is None or vb is None or vb == 0:
                return False
            value = va / vb
        return value.real * sign > 0

    # -- sets of reals -----------------------------------------------------------------------
    def to_set(self, value: MathValue) -> Any:
        """A SymPy set of reals for an interval, union, finite set or one-variable inequality."""
        kind = value.kind
        if kind == "realset":
            return value.expr
        if kind == "tuple" and len(value.items) == 2:  # (a, b) next to a set is the open interval
            value, kind = MathValue("interval", items=value.items, ops=(True, True)), "interval"
        if kind == "interval":
            (lo, hi), (lo_open, hi_open) = value.items, value.ops
            if lo.kind != "scalar" or hi.kind != "scalar" or lo.expr.free_symbols or hi.expr.free_symbols:
                return None
            return sp.Interval(lo.expr, hi.expr, lo_open, hi_open)
        if kind == "union":
            parts = [self.to_set(v) for v in value.items]
            return None if any(p is None for p in parts) else sp.Union(*parts)
        if kind in ("set", "list") and all(v.kind == "scalar" and not v.expr.free_symbols for v in value.items):
            return sp.FiniteSet(*(v.expr for v in value.items))
        if kind == "list" and all(v.kind == "rel" and "=" not in v.ops and "≈" not in v.ops for v in value.items):
            return self._disjoint_union(value.items)
        if kind == "rel" and not any(op in ("=", "≈") for op in value.ops):
            return self._solution_set(value)
        return None

    @staticmethod
    def _solution_set(rel: MathValue) -> Any:
        if any(v.kind != "scalar" for v in rel.items):
            return None
        sides = [v.expr for v in rel.items]
        free = set().union(*(s.free_symbols for s in sides))
        var: Any = None
        if len(free) == 1:
            var = next(iter(free))
        elif len(sides) == 3 and is_label(sides[1]) and not (sides[0].free_symbols | sides[2].free_symbols):
            var = sp.Dummy("t")  # 0 < f(x) < 1: the named quantity is the unknown
            sides[1] = var
        if var is None or var.name.startswith(HUGE_PREFIX):
            return None
        real = sp.Dummy("r", real=True)
        out: Any = sp.S.Reals
        make = {"<": sp.Lt, ">": sp.Gt, "<=": sp.Le, ">=": sp.Ge, "!=": sp.Ne}
        for op, a, b in zip(rel.ops, sides, sides[1:], strict=False):
            cond = make[op](a.xreplace({var: real}), b.xreplace({var: real}))
            out = sp.Intersection(out, sp.solveset(cond, real, sp.S.Reals))
        return out

    def _is_reals(self, value: MathValue) -> bool:
        try:
            return bool(self.to_set(value) == sp.S.Reals)
        except Exception:  # solveset gives up on some inequalities
            return False

    def _disjoint_union(self, items: tuple[MathValue, ...]) -> Any:
        """`x < 1, x > 2` ("x < 1 or x > 2"): inequalities of one unknown whose solutions do not overlap
        can only mean their union (a conjunction of them would be empty); overlapping ones are not read."""
        parts = [self._solution_set(v) for v in items]
        if (
            any(p is None for p in parts)
            or len({str(v.items[0].expr.free_symbols | v.items[-1].expr.free_symbols) for v in items}) != 1
        ):
            return None
        for i, a in enumerate(parts):
            for b in parts[i + 1 :]:
                if sp.Intersection(a, b) != sp.S.EmptySet:
                    return None
        return sp.Union(*parts)

    def _as_sets(self, gold: MathValue, pred: MathValue) -> Verdict | None:
        try:
            a, b = self.to_set(gold), self.to_set(pred)
            if a is None or b is None or isinstance(a, sp.ConditionSet) or isinstance(b, sp.ConditionSet):
                return None
            same = a == b or (sp.Complement(a, b) == sp.S.EmptySet and sp.Complement(b, a) == sp.S.EmptySet)
        except Exception:  # solveset gives up on some inequalities
            return None
        return Verdict(bool(same), "solution_set")

    # -- containers -------------------------------------------------------------------------
    def ordered(self, gold: tuple[MathValue, ...], pred: tuple[MathValue, ...], rule: str) -> Verdict:
        if len(gold) != len(pred):
            return Verdict(False, f"{rule}_length")
        return Verdict(all(self.compare(g, p).equal for g, p in zip(gold, pred, strict=True)), rule)

    @staticmethod
    def _distinct(items: tuple[MathValue, ...]) -> list[MathValue]:
        """Repeats dropped: the same parsed value written twice (`(3,17,3,7)` and `(3, 17, 3, 7)`)."""
        seen: dict[str, MathValue] = {}
        for v in items:
            seen.setdefault(str(v), v)
        return list(seen.values())

    def unordered(self, gold: tuple[MathValue, ...], pred: tuple[MathValue, ...], rule: str) -> Verdict:
        """Sets: order and repeats do not matter; labelled values pair up by label when labels differ."""
        before = self.labels_matter
        self.labels_matter = _distinct_labels(gold) and _distinct_labels(pred)
        try:
            g, p = self._distinct(gold), self._distinct(pred)
            if len(g) != len(p):
                return Verdict(False, f"{rule}_size")
            left = list(p)
            for item in g:
                for j, candidate in enumerate(left):
                    if self.compare(item, candidate).equal:
                        del left[j]
                        break
                else:
                    return Verdict(False, rule)
            return Verdict(True, rule)
        finally:
            self.labels_matter = before

    def intervals(self, gold: MathValue, pred: MathValue) -> Verdict:
        if gold.ops != pred.ops:
            return Verdict(False, "interval_ends_open_closed")
        return self.ordered(gold.items, pred.items, "interval")

    def texts(self, gold: MathValue, pred: MathValue) -> Verdict:
        if gold.kind == pred.kind == "text":
            if gold.text and gold.text == pred.text:
                return Verdict(True, "text")
            if self.cfg.text == "lenient":
                cg, cp = _CANONICAL_TEXT.get(gold.text), _CANONICAL_TEXT.get(pred.text)
                if cg is not None and cg == cp:
                    return Verdict(True, "text_synonym")
            return Verdict(False, "text")
        if self.cfg.text == "lenient":  # "no solution" and the empty set, "all real numbers" and R
            text, other = (gold, pred) if gold.kind == "text" else (pred, gold)
            if _CANONICAL_TEXT.get(text.text) == "no solution" and other.kind == "set" and not other.items:
                return Verdict(True, "text_synonym")
            if text.text in _ALL_REALS and self._is_reals(other):
                return Verdict(True, "text_synonym")
        return Verdict(False, "text")

    def compare(self, gold: MathValue, pred: MathValue) -> Verdict:
        gk, pk = gold.kind, pred.kind
        named = _named(gold), _named(pred)
        if named[0] is not None and named[1] is not None and set(named[0]) == set(named[1]):
            # "(x, y) = (1, 2)", "y = 2, x = 1": both sides name their values, so values pair by name
            ok = all(self.compare(named[0][k], named[1][k]).equal for k in named[0])
            return Verdict(ok, "by_name")
        if gk == "text" or pk == "text":
            return self.texts(gold, pred)
        if gk == "rel" and pk == "rel":
            return self.relations(gold, pred)
        if "rel" in (gk, pk):
            return self._relation_vs_value(gold, pred)
        if gk == "scalar" and pk == "scalar":
            return self.scalars(gold, pred)
        if gk in ("set", "list") and pk in ("set", "list"):
            rule = "set" if "set" in (gk, pk) else "list"
            direct = self.unordered(gold.items, pred.items, rule)
            regrouped = _regroup(gold.items), _regroup(pred.items)
            if direct.equal or regrouped == (None, None):
                return direct
            v = self.unordered(regrouped[0] or gold.items, regrouped[1] or pred.items, rule)
            return Verdict(v.equal, v.rule + "+grouped")
        if gk == "interval" and pk == "interval":
            return self.intervals(gold, pred)
        if {gk, pk} == {"interval", "tuple"}:
            tup, itv = (gold, pred) if gk == "tuple" else (pred, gold)
            if itv.ops == (True, True) and len(tup.items) == 2:
                return Verdict(self.ordered(gold.items, pred.items, "interval").equal, "tuple_as_open_interval")
            return Verdict(False, "interval_vs_tuple")
        if gk in ("tuple", "list") and pk in ("tuple", "list"):
            return self.ordered(gold.items, pred.items, "tuple")
        if gk == "union" and pk == "union":
            direct = self.unordered(gold.items, pred.items, "union")
            if direct.equal:
                return direct
        if gk == "ratio" and pk == "ratio":
            return self.ordered(gold.items, pred.items, "ratio")
        if gk == "matrix" and pk == "matrix":
            return self._matrices(gold, pred)
        if "matrix" in (gk, pk) and {gk, pk} <= {"matrix", "tuple", "list"}:
            mat, seq = (gold, pred) if gk == "matrix" else (pred, gold)
            if len(mat.items) != 1 and any(len(r) != 1 for r in mat.items):
                return Verdict(False, "matrix_shape")
            flat = tuple(x for row in mat.items for x in row)
            g, p = (flat, seq.items) if gk == "matrix" else (seq.items, flat)
            return Verdict(self.ordered(g, p, "vector").equal, "vector_as_tuple")
        if self.cfg.sets == "lenient" and ({gk, pk} & {"set", "list"}) and "scalar" in (gk, pk):
            coll, one = (gold, pred) if gk in ("set", "list") else (pred, gold)
            items = self._distinct(coll.items)
            if len(items) == 1:  # {2} and 2; "x = 2, x = 2" (a double root) and 2
                v = self.compare(items[0], one) if coll is pred else self.compare(one, items[0])
                return Verdict(v.equal, v.rule + "+singleton")
        if {gk, pk} & {"interval", "union", "realset"}:
            sets = self._as_sets(gold, pred)
            if sets is not None:
                return sets
        return Verdict(False, f"{gk}_vs_{pk}")

    def _relation_vs_value(self, gold: MathValue, pred: MathValue) -> Verdict:
        rel, other = (gold, pred) if gold.kind == "rel" else (pred, gold)
        value = chain_value(rel)
        if value is not None:
            v = self.compare(value, other) if rel is gold else self.compare(other, value)
            return Verdict(v.equal, v.rule + "+label")
        if self.cfg.intervals == "lenient" and other.kind in ("interval", "tuple", "union", "realset", "set"):
            as_int = self.as_interval(rel)
            if as_int is not None and other.kind in ("interval", "tuple"):
                g, p = (as_int, other) if rel is gold else (other, as_int)
                return Verdict(self.compare(g, p).equal, "inequality_as_interval")
            sets = self._as_sets(gold, pred)
            if sets is not None:
                return sets
        return Verdict(False, "relation_vs_value")

    def _matrices(self, gold: MathValue, pred: MathValue) -> Verdict:
        if len(gold.items) != len(pred.items) or any(
            len(g) != len(p) for g, p in zip(gold.items, pred.items, strict=True)
        ):
            return Verdict(False, "matrix_shape")
        for grow, prow in zip(gold.items, pred.items, strict=True):
            for g, p in zip(grow, prow, strict=True):
                if not self.compare(g, p).equal:
                    return Verdict(False, "matrix_entries")
        return Verdict(True, "matrix_entries")


def _shift(decimals: int | None, by: int) -> int | None:
    return None if decimals is None else decimals + by


def _regroup(items: tuple[MathValue, ...]) -> tuple[MathValue, ...] | None:
    """`p=5, q=2, p=7, q=2`: labels repeating in a cycle are solutions written flat -> (5,2), (7,2)."""
    labels = [chain_label(v) if v.kind == "rel" else None for v in items]
    if len(items) < 4 or any(label is None for label in labels):
        return None
    names = [str(label) for label in labels]
    for k in range(2, len(items) // 2 + 1):
        if (
            len(items) % k == 0
            and len(set(names[:k])) == k
            and all(names[i] == names[i % k] for i in range(len(names)))
        ):
            return tuple(MathValue("tuple", items=items[i : i + k]) for i in range(0, len(items), k))
    return None


def _named(value: MathValue) -> dict[str, MathValue] | None:
    """Values by name when a value names two or more of them: `(x, y) = (1, 2)`, `a = 1, b = 2`."""
    if value.kind == "rel" and value.ops == ("=",) and value.items[0].kind in ("tuple", "list"):
        names, values = value.items
        if values.kind in ("tuple", "list") and len(names.items) == len(values.items) >= 2:
            keys = [str(n.expr) if n.kind == "scalar" and isinstance(n.expr, sp.Symbol) else "" for n in names.items]
            if all(keys) and len(set(keys)) == len(keys):
                return dict(zip(keys, values.items, strict=True))
    if value.kind in ("list", "tuple", "set") and len(value.items) >= 2:
        out: dict[str, MathValue] = {}
        for item in value.items:
            label = chain_label(item) if item.kind == "rel" else None
            stated = chain_value(item) if label is not None else None
            if label is None or stated is None or label.kind != "scalar" or not isinstance(label.expr, sp.Symbol):
                return None
            if str(label.expr) in out:
                return None
            out[str(label.expr)] = stated
        return out
    return None


def _distinct_labels(items: tuple[MathValue, ...]) -> bool:
    """Two or more different labels ("a = 1, b = 2"): then which value goes with which name matters."""
    labels = [str(chain_label(v)) for v in items if v.kind == "rel" and chain_label(v) is not None]
    return len(set(labels)) >= 2


def equivalent(gold: MathValue, pred: MathValue, config: EquivalenceConfig | None = None) -> Verdict:
    """Compare two parsed answers; the reference goes first (it sets decimal precision).

    >>> from rewardsmith.verifiers.math.parse import parse_answer
    >>> equivalent(parse_answer(r"\\sqrt{2}+\\sqrt{3}"), parse_answer(r"\\sqrt{5+2\\sqrt{6}}"))
    Verdict(equal=True, rule='numeric_value')
    >>> equivalent(parse_answer("[1, 2)"), parse_answer("[1, 2]")).equal
    False
    >>> equivalent(parse_answer("|x| < 2"), parse_answer("(-2, 2)")).rule
    'solution_set'
    """
    return Comparer(config or EquivalenceConfig()).compare(gold, pred)


__all__ = ["Comparer", "Verdict", "chain_value", "equivalent", "is_huge", "is_label"]
