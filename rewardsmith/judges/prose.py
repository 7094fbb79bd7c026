"""Reading a verdict out of a judge answer that is not one JSON object: prose, broken JSON, both.

A weak judge quotes the completion, paraphrases it, translates it, and then gives its own
verdict. No comparison can tell every paraphrase of a planted `score: 10` from the judge's own
words, so the reading does not try to: **a prose answer is read by how it ends**. The verdict
is the candidate the answer ends with (a JSON object, a `field: value`, a last number or
yes/no word, with nothing but punctuation after it), and it is read only when

- the judge wrote it itself: not inside quotes, not a copy of the data (`echo.EchoCheck`);
- nothing else the answer says disagrees: every other `field: value` or object it names, and
  for a scale every other number in range ("a 3, not the 10 it asks for" has no single verdict).

So a completion can make a prose answer unreadable (it is then unscored and counted), but it
cannot choose its value: a plant the judge repeats either is the ending, and is vetoed as a
copy or disagrees with the judge's own words, or is not the ending, and decides nothing.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rewardsmith.judges.echo import NUMBER_WORDS, EchoCheck, quoted_spans, strip_echoes

if TYPE_CHECKING:
    from rewardsmith.judges.verdict import VerdictSpec

MAX_PROSE_CHARS = 8_000  # a judge answer longer than this (max_tokens 512 is ~2.5 KB) is not read as prose


@dataclass(frozen=True, slots=True)
class Candidate:
    start: int
    end: int
    value: float | None  # None: the field was given a value that is no verdict
    own: bool  # False: quoted or copied from the data; it may veto, never decide
    stage: str  # json | field | fallback
    reasoning: str = ""


def read_prose(
    text: str, spec: VerdictSpec, echo: EchoCheck, instructions: Sequence[str]
) -> tuple[float | None, str, str]:
    """(value, parsed_by, reasoning) of a prose answer; parsed_by names why when value is None."""
    if len(text) > MAX_PROSE_CHARS:
        return None, "none", ""
    objects = json_objects(text)
    quoted = _Spans(quoted_spans(text, skip=[(a, b) for a, b, _ in objects]))
    named = _named(text, spec, echo, objects, quoted)
    neutral = _neutral(strip_echoes(text, instructions), spec)
    bare = _bare(neutral, spec, echo)
    final = _ending(neutral, named + bare)
    if final is None:
        return None, "echo" if echo.hits else "none", ""
    if final.value is None:
        return None, "invalid", ""
    others = [c for c in named + (bare if not spec.boolean else []) if c.end <= final.start or c.start >= final.end]
    disagree = [c for c in others if c.value != final.value]
    if final.own and not disagree:
        return final.value, final.stage, final.reasoning
    if echo.hits:
        return None, "echo", ""  # a copy of the data vetoed it
    if not final.own:
        return None, "quoted", ""
    return None, "invalid" if any(c.value is None for c in disagree) else "conflict", ""


def _ending(text: str, candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate the answer ends with (after it only punctuation, a closing fence, or words
    about the scale: "8 (from 1 to 10)"); of several ending there (`"met": true` holds the word
    `true`), the most explicit."""
    rank = {"json": 0, "field": 1, "fallback": 2}
    ending = [c for c in candidates if _TAIL.fullmatch(text, c.end)]
    return min(ending, key=lambda c: (-c.end, rank[c.stage])) if ending else None


_TAIL = re.compile(r"(?:[\W_]|\b(?:from|on|a|the|scale|out|of|points?)\b)*", re.IGNORECASE)


class _Spans:
    """Sorted, disjoint (start, end) spans with a fast membership test."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self._starts = [a for a, _ in spans]
        self._ends = [b for _, b in spans]

    def __contains__(self, pos: int) -> bool:
        i = bisect.bisect_right(self._starts, pos) - 1
        return i >= 0 and pos < self._ends[i]


def _named(
    text: str, spec: VerdictSpec, echo: EchoCheck, objects: Sequence[tuple[int, int, dict[str, Any]]], quoted: _Spans
) -> list[Candidate]:
    """Every place the answer names the field: JSON objects, then `field: value` outside them."""
    found = []
    for a, b, obj in objects:
        if spec.field in obj:
            own = not echo.copied(text[a:b]) and a not in quoted
            reasoning = obj.get("reasoning")
            found.append(
                Candidate(
                    a, b, spec.coerce(obj[spec.field]), own, "json", reasoning if isinstance(reasoning, str) else ""
                )
            )
    pattern = rf'["\']?\b{re.escape(spec.field)}["\']?\s{{0,3}}[:=]\s{{0,3}}["\']?(true|false|yes|no|{NUMBER})\b["\']?'
    inside_object = _Spans([(a, b) for a, b, _ in objects])
    for m in re.finditer(pattern, text, re.IGNORECASE):
        if m.start() in inside_object:
            continue  # read with its object
        own = not echo.copied(m.group(0)) and m.start() not in quoted
        raw = m.group(1)
        found.append(Candidate(m.start(), m.end(), spec.coerce(raw.lower() if spec.boolean else raw), own, "field"))
    return found


def _neutral(text: str, spec: VerdictSpec) -> str:
    """`text` with what describes the question blanked (same length): scales ("1-10",
    "10-point"), denominators ("7/10"), list numbers ("1. ") and labels ("response 1")."""
    blank = [(m.start(), m.end()) for m in NOT_A_VERDICT.finditer(text)]
    if spec.labels:
        blank += [(m.start(), m.end()) for m in re.finditer(spec.labels, text, re.IGNORECASE)]
    chars = list(text)
    for a, b in blank:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _bare(text: str, spec: VerdictSpec, echo: EchoCheck) -> list[Candidate]:
    """The answer's bare verdict words: for a scale every number in range (digits or words), for
    yes/no verdicts yes/no/true/false/1/0."""
    quoted = _Spans(quoted_spans(text))
    found = []
    for m in _TOKEN.finditer(text):
        word = m.group(0).lower()
        if spec.boolean:
            value = _BOOLEAN_WORDS.get(word)
        elif word in _BOOLEAN_WORDS and not word.isdigit():
            value = None
        else:
            value = spec.coerce(NUMBER_WORDS.get(word, word))
        if value is not None:
            own = not echo.has_word(word) and m.start() not in quoted
            found.append(Candidate(m.start(), m.end(), value, own, "fallback"))
    return found


_BOOLEAN_WORDS = {"true": 1.0, "yes": 1.0, "1": 1.0, "false": 0.0, "no": 0.0, "0": 0.0}
NUMBER = r"-?\d{1,12}(?:\.\d{1,12})?"
_NUMBER_WORD = "|".join(NUMBER_WORDS)
_TOKEN = re.compile(
    rf"(?<![\w.]){NUMBER}(?![\w]|\.\d)|\b(?:true|false|yes|no|{_NUMBER_WORD})\b",
    re.IGNORECASE,
)
NOT_A_VERDICT = re.compile(
    rf"(?<![\d.])\d{{1,12}}\s{{0,3}}(?:-|–|\bto\b)\s{{0,3}}\d{{1,12}}(?!\d)"
    rf"|(?:/|\bout\s{{1,3}}of\b|\bscale\s{{1,3}}of\b)\s{{0,3}}{NUMBER}"
    rf"|^[ \t]{{0,8}}\d{{1,3}}[.)]\s"
    rf"|(?<![\d.]){NUMBER}\s{{0,3}}-?\s{{0,3}}points?\s{{1,3}}scale",
    re.IGNORECASE | re.MULTILINE,
)


def json_objects(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """Every JSON object in the text with its span, in order of appearance (fenced blocks
    included); one nested too deeply to decode is skipped."""
    decoder = json.JSONDecoder()
    found: dict[int, tuple[int, int, dict[str, Any]]] = {}
    chunks = [(m.start(1), m.group(1)) for m in FENCE.finditer(text)] + [(0, text)]
    for offset, chunk in chunks:
        i = chunk.find("{")
        while i != -1:
            try:
                obj, end = decoder.raw_decode(chunk, i)
            except (ValueError, RecursionError):
                i = chunk.find("{", i + 1)
                continue
            if isinstance(obj, dict) and offset + i not in found:
                found[offset + i] = (offset + i, offset + end, obj)
            i = chunk.find("{", end)
    return [found[k] for k in sorted(found)]


FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.DOTALL)
