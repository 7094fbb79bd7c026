"""Units an answer may carry ("3 hours", "180 minutes", "12 cm^2", "60 km/h"), for conversion.

A unit is read into an exact factor to a base unit and its dimensions, so `3 hours` and
`180 minutes` compare as 10800 seconds each, and `5 m` never equals `5 cm`. Only these common
units are known; an unknown word after a number (`15 apples`) is not a unit and is dropped. Each
currency, calendar months/years, tons and each temperature scale is a dimension of its own, so
`5 euros` never equals `5 dollars` and `60 °C` never equals `60 °F`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_BASE: dict[str, tuple[str, Fraction]] = {}


def _add(dimension: str, factor: str, *names: str) -> None:
    for name in names:
        _BASE[name] = (dimension, Fraction(factor))


_add("time", "1", "s", "sec", "secs", "second", "seconds")
_add("time", "60", "min", "mins", "minute", "minutes")
_add("time", "3600", "h", "hr", "hrs", "hour", "hours")
_add("time", "86400", "day", "days")
_add("time", "604800", "week", "weeks")
_add("length", "0.001", "mm", "millimeter", "millimeters", "millimetre", "millimetres")
_add("length", "0.01", "cm", "centimeter", "centimeters", "centimetre", "centimetres")
_add("length", "1", "m", "meter", "meters", "metre", "metres")
_add("length", "1000", "km", "kilometer", "kilometers", "kilometre", "kilometres")
_add("length", "0.0254", "in", "inch", "inches")
_add("length", "0.3048", "ft", "foot", "feet")
_add("length", "0.9144", "yd", "yard", "yards")
_add("length", "1609.344", "mi", "mile", "miles")
_add("mass", "0.001", "mg", "milligram", "milligrams")
_add("mass", "1", "g", "gram", "grams")
_add("mass", "1000", "kg", "kilogram", "kilograms")
_add("mass", "453.59237", "lb", "lbs", "pound", "pounds")
_add("mass", "28.349523125", "oz", "ounce", "ounces")
_add("volume", "0.001", "ml", "milliliter", "milliliters", "millilitre", "millilitres")
_add("volume", "1", "l", "liter", "liters", "litre", "litres")
_add("volume", "3.785411784", "gal", "gallon", "gallons")
_add("volume", "0.2365882365", "cup", "cups")
# each currency is its own dimension: 5 euros is never 5 dollars (no exchange rates)
_add("usd", "1", "dollar", "dollars", "usd", "$")
_add("usd", "0.01", "cent", "cents")
_add("eur", "1", "euro", "euros", "eur", "€")
_add("gbp", "1", "gbp", "sterling", "£")
_add("gbp", "0.01", "pence", "penny", "pennies")
_add("jpy", "1", "yen", "jpy")
_add("cny", "1", "yuan", "rmb", "cny", "renminbi")
_add("inr", "1", "rupee", "rupees", "inr", "₹")
# calendar units: a month is not a fixed number of days, but a year is twelve months
_add("calendar", "1", "month", "months")
_add("calendar", "12", "year", "years", "yr", "yrs")
_add("tons", "1", "ton", "tons")  # short, long or metric: only tons compare with tons
_add("mass", "1000000", "tonne", "tonnes")
_add("angle", "1", "rad", "radian", "radians")
# temperatures are affine, not multiples: each scale compares only with itself
_add("celsius", "1", "degc", "celsius")
_add("fahrenheit", "1", "degf", "fahrenheit")

_POWER = re.compile(r"^(?:(square|sq|cubic)\s+)?([a-z]+|[$€£₹])\.?(?:\s*\^\s*\{?([23])\}?)?$")
_SPEEDS = {"mph": "mi/h", "kph": "km/h", "kmh": "km/h"}


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit as an exact factor to base units and the dimensions it measures."""

    factor: Fraction
    dims: tuple[tuple[str, int], ...]
    text: str


def _simple(word: str) -> tuple[Fraction, dict[str, int]] | None:
    m = _POWER.match(word.strip())
    if not m or m.group(2) not in _BASE:
        return None
    power = {"square": 2, "sq": 2, "cubic": 3}.get(m.group(1) or "", int(m.group(3) or 1))
    dimension, factor = _BASE[m.group(2)]
    return factor**power, {dimension: power}


def parse_unit(text: str) -> Unit | None:
    """The unit written after a number, or None when it is not a known unit.

    >>> parse_unit("hours").factor, parse_unit("km/h").dims
    (Fraction(3600, 1), (('length', 1), ('time', -1)))
    >>> parse_unit("apples") is None
    True
    """
    word = re.sub(r"\s+", " ", text.strip().lower())
    word = _SPEEDS.get(word, word)
    parts = re.split(r"\s*/\s*|\s+per\s+", word)
    if not 1 <= len(parts) <= 2:
        return None
    factor = Fraction(1)
    dims: dict[str, int] = {}
    for i, part in enumerate(parts):
        got = _simple(part)
        if got is None:
            return None
        sign = 1 if i == 0 else -1
        factor = factor * got[0] ** sign
        for d, p in got[1].items():
            dims[d] = dims.get(d, 0) + sign * p
    return Unit(factor, tuple(sorted((d, p) for d, p in dims.items() if p)), text.strip())
