"""Stage 1: find the final answer inside a completion.

Rules (names used in `ExtractionConfig.priority` and in a Score's details):

- `boxed`: the content of the *last* `\\boxed{...}` or `\\fbox{...}`, nested braces matched
  (`\\boxed 5` without braces also counts);
- `answer_tag`: the content of the last `<answer>...</answer>` (a `\\boxed{}` inside wins);
- `answer_is`: the rest of the line after the last "the answer is", "final answer:", "Answer:";
- `gsm8k`: the rest of the line after the last `#### ` (GSM8K's reference format);
- `last_number`: the last number in the text; off by default, because it rewards whatever
  number a model writes last;
- bare: when nothing matched, a short one-line completion is its own answer.

Why "last": models revise; the final statement is the answer. Every scan here is linear in
the text length, so a 100 KB completion costs milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rewardsmith.verifiers.math.config import ExtractionConfig

_MAX_ANSWER_CHARS = 1000  # an "answer" captured after a marker is cut here
_BOX_COMMANDS = ("\\boxed", "\\fbox")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_ANSWER_IS = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*\**\s*(?:is\s*:?|:|=)\s*",
    re.IGNORECASE,
)
_GSM8K = re.compile(r"####[ \t]*")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_JOINER = re.compile(r"\s*(?:,|;|\bor\b|\band\b|,\s*and\b|,\s*or\b)\s*", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Extraction:
    """The answer found in a completion and the rule that found it."""

    answer: str
    rule: str


def matching_brace(text: str, open_index: int) -> int:
    """Index of the `}` closing the `{` at `open_index`, or -1 when it is never closed."""
    depth = 0
    i, n = open_index, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":  # an escaped brace \{ \} does not count
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` / `\\fbox{...}` (braces balanced), else None."""
    pos = max(text.rfind(cmd) for cmd in _BOX_COMMANDS)
    while pos >= 0:
        cmd = next(c for c in _BOX_COMMANDS if text.startswith(c, pos))
        j = pos + len(cmd)
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            end = matching_brace(text, j)
            if end > 0:
                return text[j + 1 : end].strip()
        elif j > pos + len(cmd) and j < len(text):  # "\boxed 5": one token after a space
            m = re.match(r"[^\s$.,;]+", text[j:])
            if m:
                return m.group(0)
        pos = max(text.rfind(c, 0, pos) for c in _BOX_COMMANDS)
    return None


def _clean_capture(raw: str) -> str:
    """Trim a marker's capture to the answer: first math span if any, no trailing period."""
    raw = raw.strip()[:_MAX_ANSWER_CHARS]
    boxed = last_boxed(raw)
    if boxed is not None:
        return boxed
    spans = list(_MATH_SPAN.finditer(raw))
    if spans:
        # "$x=1$ or $x=2$": several spans joined only by separators are one list of answers
        parts = [next(g for g in spans[0].groups() if g is not None).strip()]
        for before, span in zip(spans, spans[1:], strict=False):
            if not _JOINER.fullmatch(raw[before.end() : span.start()]):
                break
            parts.append(next(g for g in span.groups() if g is not None).strip())
        return ", ".join(parts)
    raw = raw.strip().strip("*_").strip()
    raw = re.sub(r"[.;!]+\s*$", "", raw).strip()
    return raw


def _boxed(text: str) -> str | None:
    return last_boxed(text)


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for m in pattern.finditer(text):
        found = m
    return found


def _answer_tag(text: str) -> str | None:
    found = _last(_ANSWER_TAG, text)
    if found is None:
        return None
    inner = found.group(1).strip()
    if not inner:
        return None
    if last_boxed(inner) is None and (said := _answer_is(inner)):  # <answer>The answer is 5.</answer>
        return said
    return _clean_capture(inner)


def _answer_is(text: str) -> str | None:
    last = _last(_ANSWER_IS, text)
    if last is None:
        return None
    rest = text[last.end() : last.end() + _MAX_ANSWER_CHARS].lstrip("*_ \t")
    line = rest.split("\n", 1)[0]
    if not line.strip():  # "**Final Answer:**\n14"
        line = rest.lstrip("\n").split("\n", 1)[0]
    got = _clean_capture(line)
    return got or None


def _gsm8k(text: str) -> str | None:
    last = _last(_GSM8K, text)
    if last is None:
        return None
    got = _clean_capture(text[last.end() :].split("\n", 1)[0])
    return got or None


def _last_number(text: str) -> str | None:
    last = _last(_NUMBER, text)
    return last.group(0).rstrip(",") if last else None


_RULES = {
    "boxed": _boxed,
    "answer_tag": _answer_tag,
    "answer_is": _answer_is,
    "gsm8k": _gsm8k,
    "last_number": _last_number,
}


def extract_answer(text: str, config: ExtractionConfig | None = None) -> Extraction | None:
    """The final answer in `text` by the first rule (in priority order) that finds one.

    >>> extract_answer(r"so $x=2$, hence \\boxed{\\frac{1}{2}}.")
    Extraction(answer='\\\\frac{1}{2}', rule='boxed')
    >>> extract_answer("Natalia sold 48 clips.\\n#### 72").answer
    '72'
    >>> extract_answer("I am not sure about this problem at all, sorry.\\nMaybe later.") is None
    True
    """
    config = config or ExtractionConfig()
    for rule in config.priority:
        got = _RULES[rule](text)
        if got:
            return Extraction(got, rule)
    if config.bare:
        stripped = text.strip()
        if stripped and len(stripped) <= config.bare_max_chars and "\n" not in stripped:
            return Extraction(_clean_capture(stripped) or stripped, "bare")
    return None
