"""Shared string helpers, so that verifiers normalize text one way."""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol, TypeVar

_WS = re.compile(r"\s+")
_EDGE_PUNCT = ".,;:!?\"'`“”‘’"


def normalize_text(text: str, *, case_sensitive: bool = False, strip_punctuation: bool = True) -> str:
    """NFKC, collapsed whitespace, optional casefold, and trailing/leading punctuation removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub(" ", text).strip()
    if strip_punctuation:
        text = text.strip(_EDGE_PUNCT).strip()
    return text if case_sensitive else text.casefold()


_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[-+]?\.\d+")


def parse_number(text: str) -> float | None:
    """The number a short answer states, or None when it is not just a number.

    Accepts "72", "-3.5", "1,000", "$1,000.50", "72." and "50%" (as 50): the forms a
    model writes for a plain number. Anything with other words ("72 apples", "3/4") is
    not a number here: use the `math` verifier for expressions and units.

    >>> parse_number("$1,234.50"), parse_number(" 72. "), parse_number("72 apples")
    (1234.5, 72.0, None)
    """
    cleaned = text.strip().strip("$€£").strip()
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1].rstrip()
    cleaned = cleaned.removeprefix("$").strip()
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        return None
    try:
        return float(cleaned.replace(",", ""))
    except ValueError:
        return None


def find_numbers(text: str) -> list[float]:
    """Every number written in `text`, in order ("1,000" is one number, 1000).

    >>> find_numbers("3 apples and 1,200.5 pears, -4 left")
    [3.0, 1200.5, -4.0]
    """
    return [float(m.group().replace(",", "")) for m in _NUMBER.finditer(text)]


def tag_block(text: str, tag: str, *, last: bool = True) -> str | None:
    """Content of `<tag>...</tag>` (the last block, or the first), stripped; None when absent.

    An opening tag without its closing tag yields None: a half-written block is no answer.

    >>> tag_block("<answer> 4 </answer> then <answer>5</answer>", "answer")
    '5'
    """
    pattern = re.compile(rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", re.DOTALL)
    found = pattern.findall(text)
    if not found:
        return None
    return (found[-1] if last else found[0]).strip()


def words(text: str) -> list[str]:
    """Whitespace-separated words: the unit of word counts and word n-grams."""
    return text.split()


def last_boxed(text: str) -> str | None:
    r"""Content of the last `\boxed{...}` (braces balanced), or None.

    >>> last_boxed(r"so \boxed{\frac{1}{2}} or \boxed{3}")
    '3'
    """
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i = start + len("\\boxed{")
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip()
    return None


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


_Named = TypeVar("_Named", bound=_HasName)


def unique_names(criteria: list[_Named]) -> list[_Named]:
    """`criteria` unchanged when their names are unique, else a ValueError naming the repeated ones
    (the check both rubric models run on their criteria).

    >>> from types import SimpleNamespace as N
    >>> unique_names([N(name="a"), N(name="b"), N(name="a"), N(name="c"), N(name="b")])
    Traceback (most recent call last):
    ...
    ValueError: criterion names must be unique, repeated: a, b
    """
    names = [c.name for c in criteria]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"criterion names must be unique, repeated: {', '.join(dupes)}")
    return criteria
