"""Stage 3: decide whether two parsed answers (`MathValue`) are the same answer.

Every decision returns the name of the rule that made it (it goes into a Score's details):

- numbers: exact rational equality first (`exact`); a decimal *reference* with d places
  accepts a prediction that rounds to it at d places (`rounded_to_reference`); a decimal on
  either side otherwise gets `rel_tol` (`rel_tol`); exact fractions never get a tolerance,
  so 1000000 is not 1000001 and 1/2004! is not 1/2006!;
- constant expressions: equal values at 60 significant digits (`numeric_value`), which is how
  `e^{16}-1` matches `-1+exp(16)` and `2\\sqrt{2}` matches `\\sqrt{8}`;
- expressions with symbols: `expand(a - b) == 0` (`symbolic_expand`), else evaluation at
  random points of both signs (`numeric_probe`) as evidence, with bounded `simplify` only
  when the points cannot decide (`symbolic_simplify`);
- `%` (lenient policy): "60%" matches 0.6 and 60; without `%`, 60 does not match 0.6;
- equations: a lone symbol on the left is a label ("x = 3" is 3); otherwise both sides
  moved to one side must be non-zero multiples of each other (`equation_proportional`);
  an equation that collapses to 0 = 0 matches nothing (`trivial_equation`);
- inequalities: same direction after moving terms, or the same interval (`x > 3` is (3, oo));
- sets and bare lists compare order-free; tuples, intervals (open/closed ends too) and
  matrices compare in order; `(a, b)` also matches the open interval (a, b).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import sympy as sp

from rewardsmith.verifiers.math.config import EquivalenceConfig
from rewardsmith.verifiers.math.parse import MathValue, scalar

_DIGITS = 60
_PROBE_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether two answers match, and the rule that decided."""

    equal: bool
    rule: str


def _num(x: Any) -> complex | None:
    """A complex float of a constant expression, or None when it is not a finite number."""
    try:
        v = sp.N(x, 30)
        c = complex(v)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None
    if c != c or abs(c) == float("inf"):
        return None
    return c


def _close_hp(a: Any, b: Any, rel: float) -> bool | None:
    """High-precision closeness of two constants (works for 10^{10^{10}} and 1/2004!)."""
    try:
        va, vb = sp.N(a, _DIGITS), sp.N(b, _DIGITS)
        if not (va.is_number and vb.is_number) or va.has(sp.zoo, sp.nan) or vb.has(sp.zoo, sp.nan):
            return None
        if va.is_infinite or vb.is_infinite:
            return bool(va == vb)
        diff = abs(sp.N(va - vb, _DIGITS))
        scale = max(abs(va), abs(vb))
        if scale == 0:
            return True
        return bool(diff <= sp.Float(rel, _DIGITS) * scale)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None


def _cheap_to_expand(expr: Any) -> bool:
    """Expanding (x+1)^{1000} takes seconds: only small powers and small trees are expanded."""
    if sp.count_ops(expr) > 300:
        return False
    return all(not (p.exp.is_Number and abs(p.exp) > 24) for p in expr.atoms(sp.Pow))


class Comparer:
    def __init__(self, config: EquivalenceConfig) -> None:
        self.cfg = config
        self.rng = random.Random(20240)

    # -- scalars ---------------------------------------------------------------------------
    def scalars(self, gold: MathValue, pred: MathValue) -> Verdict:
        if gold.percent != pred.percent and self.cfg.percent == "lenient":
            # "60%" is the value 0.6 and also the count 60 written with its unit
            for g, p in ((gold.expr, pred.expr), *self._percent_variants(gold, pred)):
                v = self.exprs(g, p, gold, pred)
                if v.equal:
                    return Verdict(True, v.rule + "+percent")
            return Verdict(False, "percent_mismatch")
        return self.exprs(gold.expr, pred.expr, gold, pred)

    @staticmethod
    def _percent_variants(gold: MathValue, pred: MathValue) -> list[tuple[Any, Any]]:
        if gold.percent:
            return [(gold.expr * 100, pred.expr)]
        return [(gold.expr, pred.expr * 100)]

    def exprs(self, a: Any, b: Any, gold: MathValue, pred: MathValue) -> Verdict:
        if a == b:
            return Verdict(True, "exact")
        if a.has(sp.oo, -sp.oo, sp.zoo) or b.has(sp.oo, -sp.oo, sp.zoo):
            return Verdict(False, "different_infinity")
        inexact = gold.decimals is not None or pred.decimals is not None
        if isinstance(a, sp.Number) and isinstance(b, sp.Number):
            return self._numbers(a, b, gold, pred, inexact)
        free = a.free_symbols | b.free_symbols
        if not free:
            close = _close_hp(a, b, 1e-45)
            if close and (gold.huge or pred.huge):
                # 10^{10^{10}} and 10^{10^{10}} + 1 agree to every digit we can afford: no proof
                return Verdict(False, "huge_undecided")
            if close:
                return Verdict(True, "numeric_value")
            if inexact:
                return self._approx(a, b, gold)
            return Verdict(False, "numeric_value" if close is not None else "not_a_number")
        if gold.huge or pred.huge:
            return Verdict(False, "huge_symbolic")
        return self._symbolic(a, b, free)

    def _numbers(self, a: Any, b: Any, gold: MathValue, pred: MathValue, inexact: bool) -> Verdict:
        if a == b:
            return Verdict(True, "exact")
        if inexact:
            return self._approx(a, b, gold)
        return Verdict(False, "exact")

    def _approx(self, a: Any, b: Any, gold: MathValue) -> Verdict:
        """Decimals: the reference's places decide, else a relative tolerance."""
        if gold.decimals is not None and not gold.percent:
            pv = _num(b)
            if pv is not None and abs(pv.imag) < 1e-12:
                rounded = sp.Rational(round(sp.Rational(str(sp.N(b, 40))), gold.decimals))
                if rounded == a:
                    return Verdict(True, "rounded_to_reference")
        close = _close_hp(a, b, self.cfg.rel_tol)
        return Verdict(bool(close), "rel_tol")

    def _symbolic(self, a: Any, b: Any, free: set[Any]) -> Verdict:
        try:
            if _cheap_to_expand(a - b) and sp.expand(a - b) == 0:
                return Verdict(True, "symbolic_expand")
        except Exception:  # SymPy raises many things on odd input; the probe decides then
            pass
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
        symbols = sorted(free, key=str)
        points = []
        for _ in range(self.cfg.probes):
            points.append({s: sp.Float(self.rng.choice((-1, 1)) * self.rng.uniform(0.3, 2.9), 30) for s in symbols})
        return points

    def _probe(self, a: Any, b: Any, free: set[Any]) -> bool | None:
        """True/False when the random points decide; None when too few points evaluate."""
        valid = 0
        for point in self._points(free):
            va, vb = _num(a.xreplace(point)), _num(b.xreplace(point))
            if va is None or vb is None:
                continue
            valid += 1
            if abs(va - vb) > _PROBE_TOL * max(1.0, abs(va), abs(vb)):
                return False
        return True if valid >= 2 else None

    def ratio_constant(self, a: Any, b: Any) -> bool:
        """a / b is one non-zero constant: a = 0 and b = 0 are the same equation."""
        free = a.free_symbols | b.free_symbols
        try:
            ratio = sp.cancel(a / b)
            if ratio.is_number:
                return bool(ratio != 0 and ratio.is_finite)
        except Exception:
            pass
        if not free:
            return False
        values = []
        for point in self._points(free):
            va, vb = _num(a.xreplace(point)), _num(b.xreplace(point))
            if va is None or vb is None or abs(vb) < 1e-12:
                continue
            values.append(va / vb)
        if len(values) < 2 or abs(values[0]) < 1e-12:
            return False
        return all(abs(v - values[0]) <= 1e-8 * abs(values[0]) for v in values)

    # -- relations ---------------------------------------------------------------------------
    @staticmethod
    def label_value(rel: MathValue) -> MathValue | None:
        """`x = 3` → 3 when the left side is a lone symbol not used on the right (a label)."""
        if rel.kind != "rel" or any(op != "=" for op in rel.ops):
            return None
        first, last = rel.items[0], rel.items[-1]
        if first.kind == "scalar" and isinstance(first.expr, sp.Symbol):
            if last.kind != "scalar" or first.expr not in last.expr.free_symbols:
                return last
        return None

    @staticmethod
    def as_interval(rel: MathValue) -> MathValue | None:
        """`x > 3` → (3, oo); `1 < x <= 2` → (1, 2]; None when it is no such relation."""
        if rel.kind != "rel" or any(op in ("=", "!=") for op in rel.ops) or any(p.kind != "scalar" for p in rel.items):
            return None
        parts = [p.expr for p in rel.items]
        if len(parts) == 2:
            lhs, rhs = parts
            op = rel.ops[0]
            if isinstance(rhs, sp.Symbol) and not isinstance(lhs, sp.Symbol):  # 3 < x
                lhs, rhs, op = rhs, lhs, {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op]
            if not isinstance(lhs, sp.Symbol) or rhs.free_symbols:
                return None
            if op in (">", ">="):
                return MathValue("interval", items=(scalar(rhs), scalar(sp.oo)), ops=(op == ">", True))
            return MathValue("interval", items=(scalar(-sp.oo), scalar(rhs)), ops=(True, op == "<"))
        if len(parts) == 3 and isinstance(parts[1], sp.Symbol) and not (parts[0].free_symbols | parts[2].free_symbols):
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
        if len(gold.ops) != len(pred.ops):
            return Verdict(False, "relation_shape")
        if any(v.huge for v in gold.items + pred.items):  # moving terms would expand them
            return Verdict(gold == pred, "huge_relation")
        if all(o == "=" for o in gold.ops + pred.ops) and len(gold.ops) == 1:
            gl, gr = gold.items[0].expr, gold.items[1].expr
            pl, pr = pred.items[0].expr, pred.items[1].expr
            if gold.items[0].kind != "scalar" or pred.items[0].kind != "scalar":
                return Verdict(False, "relation_shape")
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
        if len(gold.ops) == 1:
            flip = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "!=": "!=", "=": "="}
            dg = gold.items[0].expr - gold.items[1].expr
            dp = pred.items[0].expr - pred.items[1].expr
            if dg == 0 or dp == 0:
                return Verdict(False, "trivial_equation")
            same = pred.ops[0] == gold.ops[0] and self._signed_ratio(dg, dp, 1)
            flipped = pred.ops[0] == flip[gold.ops[0]] and self._signed_ratio(dg, dp, -1)
            return Verdict(bool(same or flipped), "inequality_sides")
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

    # -- containers -------------------------------------------------------------------------
    def ordered(self, gold: tuple[MathValue, ...], pred: tuple[MathValue, ...], rule: str) -> Verdict:
        if len(gold) != len(pred):
            return Verdict(False, f"{rule}_length")
        return Verdict(all(self.compare(g, p).equal for g, p in zip(gold, pred, strict=True)), rule)

    def unordered(self, gold: tuple[MathValue, ...], pred: tuple[MathValue, ...], rule: str) -> Verdict:
        if len(gold) != len(pred):
            return Verdict(False, f"{rule}_size")
        left = list(pred)
        for g in gold:
            for j, p in enumerate(left):
                if self.compare(g, p).equal:
                    del left[j]
                    break
            else:
                return Verdict(False, rule)
        return Verdict(True, rule)

    def intervals(self, gold: MathValue, pred: MathValue) -> Verdict:
        if gold.ops != pred.ops:
            return Verdict(False, "interval_ends_open_closed")
        return self.ordered(gold.items, pred.items, "interval")

    def compare(self, gold: MathValue, pred: MathValue) -> Verdict:
        gk, pk = gold.kind, pred.kind
        if gk == "text" or pk == "text":
            return Verdict(gk == pk and gold.text == pred.text and bool(gold.text), "text")
        if gk == "rel" and pk == "rel":
            return self.relations(gold, pred)
        if pk == "rel" and (label := self.label_value(pred)) is not None:
            v = self.compare(gold, label)
            return Verdict(v.equal, v.rule + "+label")
        if gk == "rel" and (label := self.label_value(gold)) is not None:
            v = self.compare(label, pred)
            return Verdict(v.equal, v.rule + "+label")
        if gk == "rel" or pk == "rel":
            rel, other = (gold, pred) if gk == "rel" else (pred, gold)
            as_int = self.as_interval(rel)
            if as_int is not None and other.kind in ("interval", "tuple"):
                g, p = (as_int, other) if gk == "rel" else (other, as_int)
                v = self.compare(g, p)
                return Verdict(v.equal, "inequality_as_interval")
            return Verdict(False, "relation_vs_value")
        if gk == "scalar" and pk == "scalar":
            return self.scalars(gold, pred)
        if gk in ("set", "list") and pk in ("set", "list"):
            return self.unordered(gold.items, pred.items, "set" if "set" in (gk, pk) else "list")
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
            return self.unordered(gold.items, pred.items, "union")
        if gk == "matrix" and pk == "matrix":
            if len(gold.items) != len(pred.items):
                return Verdict(False, "matrix_shape")
            return self._matrix_rows(gold.items, pred.items)
        if "matrix" in (gk, pk) and {gk, pk} <= {"matrix", "tuple", "list"}:
            mat, seq = (gold, pred) if gk == "matrix" else (pred, gold)
            flat = [x for row in mat.items for x in row]
            if len(mat.items) != 1 and any(len(r) != 1 for r in mat.items):
                return Verdict(False, "matrix_shape")
            g = [scalar(x) for x in flat] if gk == "matrix" else list(seq.items)
            p = list(seq.items) if gk == "matrix" else [scalar(x) for x in flat]
            return Verdict(self.ordered(tuple(g), tuple(p), "vector").equal, "vector_as_tuple")
        return Verdict(False, f"{gk}_vs_{pk}")

    def _matrix_rows(self, gold: tuple[Any, ...], pred: tuple[Any, ...]) -> Verdict:
        for grow, prow in zip(gold, pred, strict=True):
            if len(grow) != len(prow):
                return Verdict(False, "matrix_shape")
            for g, p in zip(grow, prow, strict=True):
                if not self.exprs(g, p, scalar(g), scalar(p)).equal:
                    return Verdict(False, "matrix_entries")
        return Verdict(True, "matrix_entries")


def equivalent(gold: MathValue, pred: MathValue, config: EquivalenceConfig | None = None) -> Verdict:
    """Compare two parsed answers; the reference goes first (it sets decimal precision).

    >>> from rewardsmith.verifiers.math.parse import parse_answer
    >>> equivalent(parse_answer(r"\\sqrt{2}+\\sqrt{3}"), parse_answer(r"\\sqrt{5+2\\sqrt{6}}"))
    Verdict(equal=True, rule='numeric_value')
    >>> equivalent(parse_answer("[1, 2)"), parse_answer("[1, 2]")).equal
    False
    """
    return Comparer(config or EquivalenceConfig()).compare(gold, pred)
