"""What a completion is made of, so a hack can change one thing and keep the rest.

A completion is read as three kinds of text:

- **markup**: layout tags (`<think>`, `</answer>`, `<SOLUTION>`, `<end_working_out>`), code fences
  and GSM8K's `####`; kept by every variant, so a variant keeps the genuine completion's format;
- **the answer slot**: where the final answer sits, found by the first rule that matches (the
  last `\\boxed{}`, the last `<answer>`/`<solution>` block, a `####` line, "the answer is" / "A:",
  the last occurrence of the known answer, the last number, a short bare completion; for code,
  the last fenced block). `outer` is the slot with its wrapper (`\\boxed{72}`), `start:end` its
  content (`72`);
- **prose**: everything else (the reasoning).

`rebuild` writes a completion back with the slot's content and each prose segment replaced, which
is all the text hacks need: spam the slot, empty it, drop the prose, pad it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rewardsmith.core.text import parse_number
from rewardsmith.verifiers.math.extract import matching_brace

#: layout tags (`<think>`, `</answer>`, `<end_working_out>`), code fences and GSM8K's marker
MARKUP = re.compile(r"</?[A-Za-z_][\w\-]*>|^[ \t]*```[\w+\-]*[ \t]*$|####", re.MULTILINE)
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_TAG = re.compile(r"<(answer|solution|final_answer)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_HASHES = re.compile(r"####[ \t]*([^\n]*)")
_ANSWER_IS = re.compile(
    r"(?:final\s+answer(?:\s+is)?|the\s+answer\s+is|answer\s*[:=]|^[ \t]*A[ \t]*:)[ \t]*\**[ \t]*:?[ \t]*([^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBER = re.compile(r"-?\$?\d+(?:,\d{3})*(?:\.\d+)?")
_FENCE = re.compile(r"^[ \t]*```[\w+\-]*[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
_BARE_MAX_CHARS = 80


@dataclass(frozen=True, slots=True)
class Slot:
    """Where the final answer sits: `text[start:end]` is its content, `text[outer_start:outer_end]`
    the content with its wrapper (`\\boxed{…}`, `<answer>…</answer>`, `#### …`, "The answer is …")."""

    start: int
    end: int
    outer_start: int
    outer_end: int
    rule: str

    def content(self, text: str) -> str:
        return text[self.start : self.end]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """`start:end` without surrounding whitespace (and, for prose captures, a final period)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for found in pattern.finditer(text):  # noqa: B007  (the last match is the one kept)
        pass
    return found


def _boxed(text: str) -> Slot | None:
    found = _last(_BOX, text)
    while found is not None:
        close = matching_brace(text, found.end() - 1)
        if close > 0:
            start, end = _trimmed(text, found.end(), close)
            return Slot(start, end, found.start(), close + 1, "boxed")
        found = _last(_BOX, text[: found.start()])
    return None


def _tagged(text: str) -> Slot | None:
    found = _last(_ANSWER_TAG, text)
    if found is None:
        return None
    start, end = _trimmed(text, found.start(2), found.end(2))
    return Slot(start, end, found.start(), found.end(), "answer_tag")


def _line_capture(found: re.Match[str] | None, text: str, rule: str) -> Slot | None:
    if found is None:
        return None
    start, end = _trimmed(text, found.start(1), found.end(1))
    while end > start and text[end - 1] in ".;!":  # "The answer is 72." → 72
        end -= 1
    if end <= start:
        return None
    return Slot(start, end, found.start(), end, rule)


def _occurrence(text: str, answer: str | None) -> Slot | None:
    if not answer:
        return None
    found = _last(re.compile(rf"(?<![\w.]){re.escape(answer)}(?![\w])"), text)
    return Slot(found.start(), found.end(), found.start(), found.end(), "answer_occurrence") if found else None


def _last_number(text: str) -> Slot | None:
    found = _last(_NUMBER, text)
    if found is None:
        return None
    return Slot(found.start(), found.end(), found.start(), found.end(), "last_number")


def _bare(text: str) -> Slot | None:
    start, end = _trimmed(text, 0, len(text))
    if end > start and end - start <= _BARE_MAX_CHARS and "\n" not in text[start:end]:
        return Slot(start, end, start, end, "bare")
    return None


def code_slot(text: str) -> Slot | None:
    """The content of the last fenced code block (the program a code reward runs)."""
    found = _last(_FENCE, text)
    if found is None:
        return None
    return Slot(found.start(1), found.end(1), found.start(), found.end(), "code")


def locate_answer(text: str, answer: str | None = None) -> Slot | None:
    """The slot of the final answer in `text` by the first rule that finds one, or None.

    `answer`, when known, lets a completion with no marker be read at the answer's last occurrence
    before falling back to its last number.

    >>> text = "6 x 12 = 72, so the answer is \\\\boxed{72}."
    >>> slot = locate_answer(text)
    >>> slot.rule, slot.content(text), text[slot.outer_start:slot.outer_end]
    ('boxed', '72', '\\\\boxed{72}')
    >>> t = "<reasoning>\\n6 x 12\\n</reasoning>\\n<answer>\\n72\\n</answer>"
    >>> locate_answer(t).content(t), locate_answer(t).rule
    ('72', 'answer_tag')
    """
    for rule in (
        _boxed,
        _tagged,
        lambda t: _line_capture(_last(_HASHES, t), t, "gsm8k"),
        lambda t: _line_capture(_last(_ANSWER_IS, t), t, "answer_is"),
        lambda t: _occurrence(t, answer),
        _last_number,
        _bare,
    ):
        slot = rule(text)
        if slot is not None and slot.end > slot.start:
            return slot
    return None


# -- rebuilding -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of prose: `text[start:end]`, and whether it comes before the slot."""

    start: int
    end: int
    before_slot: bool


def markup_spans(text: str, slot: Slot | None) -> list[tuple[int, int]]:
    """Markup spans outside the slot's wrapper, plus the wrapper itself, in order."""
    spans = [
        (m.start(), m.end())
        for m in MARKUP.finditer(text)
        if slot is None or m.end() <= slot.outer_start or m.start() >= slot.outer_end
    ]
    if slot is not None:
        spans.append((slot.outer_start, slot.outer_end))
    return sorted(spans)


def prose_segments(text: str, slot: Slot | None) -> list[Segment]:
    """The prose between markup spans and the slot's wrapper."""
    out, pos = [], 0
    for start, end in [*markup_spans(text, slot), (len(text), len(text))]:
        if start > pos:
            out.append(Segment(pos, start, slot is not None and start <= slot.outer_start))
        pos = max(pos, end)
    return out


def target_segment(text: str, slot: Slot | None) -> Segment | None:
    """The reasoning: the last prose segment with words in it before the slot (else the last one
    with words anywhere). Padding goes there, injections replace it."""
    segments = [s for s in prose_segments(text, slot) if text[s.start : s.end].strip()]
    before = [s for s in segments if s.before_slot]
    chosen = before or segments
    return chosen[-1] if chosen else None


def skeleton_of(prose: str) -> str:
    """What is left of a prose segment when its words go: its line structure at the edges."""
    if not prose.strip():
        return prose
    lead = "\n" if "\n" in prose[: len(prose) - len(prose.lstrip())] else ""
    trail = "\n" if "\n" in prose[len(prose.rstrip()) :] else ""
    return lead + trail


def rebuild(
    text: str,
    slot: Slot | None,
    *,
    fill: str | None = None,
    outer: str | None = None,
    prose: Callable[[Segment, str], str] | None = None,
) -> str:
    """`text` with the slot's content replaced by `fill` (or the whole slot, wrapper included, by
    `outer`; None: kept) and every prose segment passed through `prose(segment, segment_text)`."""
    pieces, pos = [], 0
    for segment in prose_segments(text, slot):
        pieces.append(_markup_between(text, pos, segment.start, slot, fill, outer))
        chunk = text[segment.start : segment.end]
        pieces.append(prose(segment, chunk) if prose is not None else chunk)
        pos = segment.end
    pieces.append(_markup_between(text, pos, len(text), slot, fill, outer))
    return "".join(pieces)


def _markup_between(text: str, start: int, end: int, slot: Slot | None, fill: str | None, outer: str | None) -> str:
    if slot is None or not (start <= slot.outer_start and slot.outer_end <= end):
        return text[start:end]
    if outer is not None:
        return text[start : slot.outer_start] + outer + text[slot.outer_end : end]
    if fill is not None:
        return text[start : slot.start] + fill + text[slot.end : end]
    return text[start:end]


def pad_reasoning(text: str, slot: Slot | None, filler: str) -> str:
    """`filler` at the start of the reasoning (the last answer-free prose is kept next to the answer)."""
    target = target_segment(text, slot)
    if target is None:
        return filler + "\n" + text

    def add(segment: Segment, chunk: str) -> str:
        if segment != target:
            return chunk
        lead = len(chunk) - len(chunk.lstrip())
        return chunk[:lead] + filler + "\n" + chunk[lead:]

    return rebuild(text, slot, prose=add)


# -- the answer, in the forms it is written -----------------------------------------------------


def answer_pattern(answer: str) -> re.Pattern[str]:
    """Occurrences of `answer` in prose: every number of the same value for a numeric answer
    ("18", "18.0", "$18", "1,800" for 1800), the literal text otherwise (as a whole word)."""
    if parse_number(answer) is not None:
        return _NUMBER
    return re.compile(rf"(?<![\w]){re.escape(answer.strip())}(?![\w])")


def mentions(text: str, answer: str) -> bool:
    """True when `text` states `answer` anywhere (a number of the same value, or the literal)."""
    value = parse_number(answer)
    pattern = answer_pattern(answer)
    for m in pattern.finditer(text):
        if value is None or parse_number(m.group()) == value:
            return True
    return False


def scrub(text: str, answer: str, mask: str = "?") -> str:
    """`text` with every statement of `answer` replaced by `mask`."""
    value = parse_number(answer)
    pattern = answer_pattern(answer)

    def replace(m: re.Match[str]) -> str:
        return mask if value is None or parse_number(m.group()) == value else m.group()

    return pattern.sub(replace, text)
