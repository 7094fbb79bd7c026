"""Format verifiers: regular expressions over the completion."""

from __future__ import annotations

import re
from typing import Literal

from rewardsmith.core import score as S
from rewardsmith.core.errors import SpecError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def compile_pattern(pattern: str, flags: str = "", *, what: str = "pattern") -> re.Pattern[str]:
    """Compile at construction time so a bad pattern fails before training, naming the field."""
    bad = [f for f in flags if f not in _FLAGS]
    if bad:
        raise SpecError(f"{what}: unknown regex flag(s) {''.join(bad)!r}; use any of 'i', 'm', 's', 'x'")
    value = 0
    for f in flags:
        value |= _FLAGS[f]
    try:
        return re.compile(pattern, value)
    except re.error as exc:
        raise SpecError(f"{what}: {pattern!r} is not a valid regular expression ({exc})") from None


class Regex(Reward):
    def __init__(self, pattern: str, *, mode: str, flags: str, name: str) -> None:
        if mode not in ("search", "fullmatch", "match"):
            raise SpecError(f"regex: mode must be 'search', 'match' or 'fullmatch', got {mode!r}")
        self.pattern = compile_pattern(pattern, flags, what="regex: pattern")
        self.mode = mode
        self.name = name

    def _score(self, sample: Sample) -> Score:
        text = sample.text
        found = getattr(self.pattern, self.mode)(text)
        if found:
            details = {"span": list(found.span()), "groups": list(found.groups())}
            return Score(1.0, f"{self.mode} of /{self.pattern.pattern}/ matched", S.OK, details)
        return Score(0.0, f"no {self.mode} of /{self.pattern.pattern}/", S.WRONG_FORMAT, {})


def regex(
    pattern: str,
    *,
    mode: Literal["search", "match", "fullmatch"] = "search",
    flags: str = "",
    name: str = "regex",
) -> Reward:
    """1.0 when the completion matches `pattern`, else 0.0 with status `wrong_format`.

    `mode`: "search" (anywhere), "match" (at the start) or "fullmatch" (the whole text).
    `flags`: letters of re flags, e.g. "is" for IGNORECASE | DOTALL.

    >>> regex(r"<answer>.*</answer>", flags="s").score({"completion": "<answer>4</answer>"}).value
    1.0
    """
    return Regex(pattern, mode=mode, flags=flags, name=name)
