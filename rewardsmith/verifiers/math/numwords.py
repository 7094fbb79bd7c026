"""English number words as numbers, for answers written out: "twenty-five", "one hundred and
two", "minus seven", "two thirds", "a half".

Only a whole answer is read (the normalizer asks with the whole answer text), so "one" inside
a sentence is never a number. Ordinals other than fraction words are not numbers ("the third").
"""

from __future__ import annotations

import re

_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
#: denominators of fraction words ("second" is left out: "one second" is a time)
_DENOMINATORS = {"half": 2, "halves": 2, "quarter": 4, "quarters": 4}
_DENOMINATORS.update(
    {
        w + s: d
        for d, w in enumerate(
            "third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(),
            start=3,
        )
        for s in ("", "s")
    }
)
_SPLIT = re.compile(r"[\s\-]+")


def _integer(words: list[str]) -> int | None:
    """ "one hundred and two" -> 102; None when a word is not a number word or the order is wrong."""
    total, current, seen = 0, 0, False
    for w in words:
        if w == "and" and seen:
            continue
        if w in _SMALL:
            if current % 10 or current % 100 >= 10 and current % 100 < 20:
                return None  # "five three"
            current += _SMALL[w]
        elif w in _TENS:
            if current % 100:
                return None  # "five twenty"
            current += _TENS[w]
        elif w == "hundred":
            if current == 0 or current >= 100:
                return None
            current *= 100
        elif w in _SCALES:
            if current == 0:
                return None
            total += current * _SCALES[w]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def number_from_words(text: str) -> str | None:
    """The number a whole answer spells, as maths text, else None.

    >>> [number_from_words(t) for t in ("twenty-five", "One hundred and two", "minus seven", "two thirds", "a half")]
    ['25', '102', '-7', '\\\\frac{2}{3}', '\\\\frac{1}{2}']
    >>> number_from_words("the third") is None and number_from_words("five three") is None
    True
    """
    words = [w for w in _SPLIT.split(text.strip().lower().rstrip(".")) if w]
    if not words or len(words) > 12:
        return None
    sign = ""
    if words[0] in ("minus", "negative"):
        sign, words = "-", words[1:]
    if len(words) >= 2 and words[-1] in _DENOMINATORS:
        numerator = 1 if words[:-1] in (["a"], ["an"]) else _integer(words[:-1])
        plural = words[-1].endswith("s")
        if numerator is None or (numerator == 1) == plural:  # "one third", "two thirds"; not "two third"
            return None
        return f"{sign}\\frac{{{numerator}}}{{{_DENOMINATORS[words[-1]]}}}"
    value = _integer(words)
    return None if value is None else f"{sign}{value}"
