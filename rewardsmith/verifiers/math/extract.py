"""Stage 1: find the final answer inside a completion.

Explicit rules (names used in `ExtractionConfig.priority` and in a Score's details):

- `boxed`: the content of the last `\\boxed{...}` / `\\fbox{...}` (nested braces matched,
  `\\boxed 5` too); boxes written one after another and joined only by "and", commas or
  spacing (`\\boxed{1}, \\boxed{2}`, `\\boxed{k=45} \\quad\\text{and}\\quad \\boxed{n=2}`) are one
  list answer;
- `answer_tag`: the content of the last `<answer>...</answer>`;
- `answer_is`: what follows "the answer is" / "Final Answer:" / "Réponse :" / "答案：" /
  "الإجابة:" … (see `prose.MARKER`), cut at the end of its sentence; in a sentence ("The largest
  $n$ is 34.", "After 2 days, Tom has 5 apples.") the value after the verb is taken, not the first
  symbol or number. Only the last `_MAX_MARKERS` markers are read (a 100 KB completion of markers
  costs what eight do);
- `gsm8k`: the rest of the line after the last `#### ` (GSM8K's reference format);
- `bare`: a short one-line completion that is itself maths ("42", "\\frac{1}{2}", "28 %").

By default (`prefer="last"`) the explicit answer written *last* wins, whatever its rule: models
revise, and "Final Answer: 10,455" after an intermediate `\\boxed{255}` is the answer.

What is not an answer, in every rule (see `denials.py`): a denied or qualified value ("the answer
is not 3", "less than 3", "anything except 3", "3, which is wrong"), a marker in a conditional or
attributed clause ("Suppose the answer is 3", "one might think the answer is 3": skipped), and an
answer taken back afterwards ("\\boxed{3} Wait, that's wrong."). A denial or retraction written
after the last answer leaves *no* answer: the search does not fall back to an earlier one. A
marker whose capture is a remark with no maths ("The answer is reasonable.", "…the same as in part
2") does not override an earlier answer. On a multiple-choice row, a capture naming two or more
option letters ("A or B", "D (or C)") or only denied ones ("not D") names none.

Guessing rules, tried only when nothing explicit was found and `guess=True` (`strict=True` turns
them off); each marks the Extraction `guessed`:

- `bold`, `last_math`, `last_number`: in the last sentence that holds something answer-like
  (questions, boilerplate such as "I hope it is correct." and sentences restating the prompt are
  skipped), its last bold `**92**`, maths span or number / arithmetic run (`3 + 10 = 13` counts as
  its result; `2/3 ≈ 66.7%` as 2/3) that the sentence does not deny; a sentence that denies its
  values ("It is not 4.", "x ≠ 4", "4 is impossible") or takes back what came before ends the guess;
- `choice_letter`: on a multiple-choice row, an option letter the conclusion names ("I think it's
  B"), not one it denies ("A is wrong"), and not when it names two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rewardsmith.verifiers.math import denials, prose
from rewardsmith.verifiers.math.choices import Choices, chosen_letter, last_letter, leading_letter, named_letters
from rewardsmith.verifiers.math.config import ExtractionConfig

_MAX_ANSWER_CHARS = 1000  # an "answer" captured after a marker is cut here
_MAX_MARKERS = 8  # answer markers read, from the end of a completion
_MAX_BOXES = 50  # boxes examined from the end of a completion
_PLAIN = re.compile(r"-?[\d,]*\d(?:\.\d+)?\.?$")
_GUESS_WINDOW = 3000  # characters at the end of a completion that guessing reads
_MAX_BOX_CHARS = 5000  # a box whose content runs longer is not an answer (and is not scanned further)
_GSM8K = re.compile(r"####[ \t]*")
_JOINER = re.compile(r"\s*(?:,|;|\bor\b|\band\b|,\s*and\b|,\s*or\b|\\quad|\\qquad|\\text\{\s*(?:and|or)\s*\})\s*", re.I)
_GAP_NOISE = re.compile(r"\\(?:text|mbox|textrm)\s*\{([^{}]*)\}|\\(?:quad|qquad|[,;:! ])|\\[()\[\]]|\$")
_GAP_JOIN_WORDS = {"and", "or", "und", "oder", "et", "ou", "y", "o", "e", "и", "или", "و", "أو", "और", "या"}
_GAP_STOP_WORDS = {"wait", "but", "actually", "however", "no", "not", "instead", "correction", "mistake", "hmm"}
_GAP_STOP_WORDS |= {"oops", "sorry", "rather", "mais", "aber", "pero", "thus", "so", "therefore", "then", "again"}
_CJK_JOIN = re.compile(r"^[\s,，、;；和或与及+]*$")
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[A-Za-z]{3,}")
_SHORT_WORD = re.compile(r"(?<![\\a-zA-Z])(?:so|is|it|we|be|as|to|of|by|if|am|us)(?![a-zA-Z])", re.IGNORECASE)
_LATEX_NOISE = re.compile(
    r"\\(?:text|mbox|mathrm|textbf|textnormal)\s*\{[^{}]*\}|\\(?:begin|end)\s*\{[a-zA-Z*]+\}|\\[a-zA-Z]+"
)
_GLUED = re.compile(r"(?<=[\d)\]}])(?:or|and)(?=[-A-Z(\[\\])")
_UNIT_WORDS = re.compile(
    r"\b(?:percent|percentage|pct|per\s*cent|degrees?|cm|mm|km|meters?|metres?|inch(?:es)?|feet|foot|ft|yards?|miles?"
    r"|kg|grams?|pounds?|lbs?|ounces?|seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|liters?|litres?"
    r"|dollars?|cents?|euros?|units?|square|cubic|sq|yuan|rupees?|mph)\b",
    re.IGNORECASE,
)
#: words that may stand before a value that comes first in a capture ("approximately 5", "therefore 12")
_LEAD_IN = re.compile(
    r"[\s*_\"'“:(]*(?:(?:approximately|approx\.?|about|around|exactly|roughly|either|environ|約|约|therefore|thus"
    r"|hence|so|then|just|simply|clearly|indeed|definitely|certainly|obviously|precisely|finally|actually|probably"
    r"|likely|equal\s+to|option|choice)[\s*_\"'“:(,]*)*",
    re.I,
)
#: a clause before the main one: "After 2 days, Tom has 5 apples", "Using 2 equations, x = 5"
_LEADING_CLAUSE = re.compile(
    r"(?:after|before|using|with|when|since|because|given|for|in|at|on|from|by|assuming|considering|taking|as|once"
    r"|while|solving|substituting|plugging|adding|multiplying|dividing|subtracting|combining|applying|over|within"
    r"|during|each|every|then|so|thus|hence|therefore)\b[^,;:.]{0,80},\s*",
    re.I,
)
#: a correction after a denied value: "not 5; it is 7", "not 5 but 7"
_CORRECTION = re.compile(r"\b(?:but|rather|instead|mais|sondern|pero)\b|;", re.I)
#: "2/3 (i.e., 0.6667)", "2/3 (≈ 0.67)": the restatement of a value, checked as an approximation of it
_RESTATED = re.compile(
    r"\s*\(\s*(?:i\.?\s*e\.?|that\s+is|approx(?:imately|\.)?|about|roughly|≈|\\approx|=)\s*,?\s*([^()]{1,40})\)",
    re.I,
)
#: an alternative written right after a box or tag: "\\boxed{3} or maybe 5", "</answer> or B"
_HEDGE_AFTER = re.compile(
    r"[\s$.,]*(?:\\text\{\s*)?(?:or|ou|oder|或|或者|أو|या)\b\s*\}?\s*(?:maybe|perhaps|possibly|probably)?[\s$]*"
    r"(?:\d|\\(?!boxed|fbox)[a-z]+|\(?[A-J]\b|-\s*\d)",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\s*(?:,?\s*\(?\s*(?:or|ou|o|oder|или|或|或者|أو|या)\s+(?:maybe\s+|perhaps\s+|possibly\s+)?)\s*", re.IGNORECASE
)
_NOT_ANSWERS = {"correct", "not", "as", "that", "this", "wrong", "to", "i", "i'm", "we", "unknown", "unclear", "below"}
#: a final sentence that gives up: no guess is taken from the sentences before it
_GIVE_UP = re.compile(
    r"\b(?:cannot|can't|unable to|impossible to|not possible to|do not know|don't know|not sure)\b.{0,40}"
    r"\b(?:determine|find|solve|answer|compute|calculate|know|sure)|无法|不知道|不能确定|impossible de|je ne sais pas",
    re.IGNORECASE,
)
_MAX_TEXT_WORDS = 8  # a one-line completion of more words is a sentence, not a text answer
_MAX_GUESS_SENTENCES = 3  # only the conclusion: the last sentences that could hold an answer
_MAX_SENTENCE_VALUES = 20  # values of one sentence a guess weighs, from its end
_LABEL_TAIL = re.compile(r"(?<=\S)\s*\b[a-zA-Z](?:_\w+)?\s*=\s*$")  # "... and x = " before the next value
_BOILERPLATE = re.compile(r"hope it is correct|let me know|feel free|any questions", re.IGNORECASE)
_SHORT_FIRST_LINE = 80  # a multiple-choice completion may open with its letter on a short first line


@dataclass(frozen=True, slots=True)
class Extraction:
    """The answer found in a completion, the rule that found it, and whether that rule guesses."""

    answer: str
    rule: str
    guessed: bool = False


@dataclass(frozen=True, slots=True)
class _Found:
    """What one explicit rule found: an answer written at [start, end), or a refusal (answer None:
    a denial such as "the answer is not 3"); a `remark` states no maths ("The answer is reasonable")."""

    start: int
    end: int
    answer: str | None
    rule: str
    remark: bool = False


@dataclass(frozen=True, slots=True)
class _Capture:
    """What follows a marker, read: a value, words (a text answer or a remark), or a refusal."""

    answer: str | None
    kind: str  # "value", "weak" (a value not introduced by a verb), "text", "refused"


_REFUSED = _Capture(None, "refused")


def matching_brace(text: str, open_index: int, limit: int | None = None) -> int:
    """Index of the `}` closing the `{` at `open_index`, or -1 when it is never closed
    (or not within `limit` characters)."""
    depth = 0
    i, n = open_index, len(text) if limit is None else min(len(text), open_index + limit)
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


@dataclass(frozen=True, slots=True)
class _Box:
    content: str
    start: int
    end: int


_BRACE = re.compile(r"\\.|[{}]", re.DOTALL)
_BOX_START = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")


def brace_pairs(text: str) -> dict[int, int]:
    """Every `{` index mapped to its closing `}` (escaped braces skipped), in one linear pass."""
    pairs, stack = {}, []
    for m in _BRACE.finditer(text):
        ch = m.group(0)
        if ch == "{":
            stack.append(m.start())
        elif ch == "}" and stack:
            pairs[stack.pop()] = m.start()
    return pairs


def _box_at(text: str, pos: int, pairs: dict[int, int], unclosed: bool = False) -> _Box | None:
    j = pos + len("\\boxed" if text.startswith("\\boxed", pos) else "\\fbox")
    start = j
    while j < len(text) and text[j] == " ":
        j += 1
    if j < len(text) and text[j] == "{":
        end = pairs.get(j, -1)
        if end > 0 and end - j <= _MAX_BOX_CHARS:
            return _Box(text[j + 1 : end].strip(), pos, end + 1)
        if end < 0 and unclosed:  # a reference cut short: "\boxed{W(n) = 1 \text{ and } W(n) = -1"
            return _Box(text[j + 1 : j + 1 + _MAX_ANSWER_CHARS].strip().rstrip("$").strip(), pos, len(text))
        return None
    if j > start and j < len(text):  # "\boxed 5": one token after a space
        m = re.match(r"[^\s$.,;]+", text[j:])
        if m:
            return _Box(m.group(0), pos, j + m.end())
    return None


def _boxes_from_end(text: str, unclosed: bool = False) -> Iterator[_Box]:
    """Complete boxes, last first (at most _MAX_BOXES); `unclosed` accepts a last box never closed."""
    starts = [m.start() for m in _BOX_START.finditer(text)]
    if not starts:
        return
    pairs = brace_pairs(text)
    found, previous_start = 0, len(text) + 1
    for pos in reversed(starts):
        if found >= _MAX_BOXES:
            return
        box = _box_at(text, pos, pairs, unclosed and not found)
        if box is not None and box.content and box.end <= previous_start:
            found += 1
            previous_start = box.start
            yield box


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` / `\\fbox{...}` (braces balanced), else None."""
    box = next(_boxes_from_end(text), None)
    return box.content if box else None


def _joins(gap: str) -> bool:
    """Whether the text between two boxes only joins them ("and", ",", spacing), not revises."""
    if len(gap) > 80:
        return False
    plain = _GAP_NOISE.sub(lambda m: f" {m.group(1) or ''} ", gap)
    if _CJK_JOIN.match(plain):
        return True
    words = re.findall(r"[^\W\d_]+", plain.lower())
    if any(w in _GAP_STOP_WORDS for w in words) or re.search(r"[.!?。]\s", plain + " ") and words:
        return False
    return len([w for w in words if w not in _GAP_JOIN_WORDS]) <= 3 and (
        not words or any(w in _GAP_JOIN_WORDS for w in words)
    )


def _boxed(text: str, unclosed: bool = False) -> _Found | None:
    """The last box, with the boxes joined to it ("\\boxed{1}, \\boxed{2}" is one list answer)."""
    boxes = _boxes_from_end(text, unclosed)
    last = next(boxes, None)
    if last is None:
        return None
    run = [last]
    for box in boxes:
        if not _joins(text[box.end : run[-1].start]):
            break
        run.append(box)
    return _Found(run[0].start, run[0].end, ", ".join(b.content for b in reversed(run)), "boxed")


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for m in pattern.finditer(text):
        found = m
    return found


def _sentence(text: str) -> str:
    """The first sentence of a capture (a full stop between digits is a decimal point)."""
    spans = prose.math_spans(text)
    bounds = prose.sentences(text, spans)
    return text[: bounds[0][1]] if bounds else text


def _value(answer: str) -> _Capture:
    return _Capture(answer, "value")


def read_capture(raw: str, choices: Choices | None = None) -> _Capture | None:
    """What a marker captured: a maths span, a value (after the verb in a sentence), words, or a
    refusal when the words deny or qualify the value ("not 3", "less than 3", "3, which is wrong")."""
    raw = raw.strip().lstrip("*_: \t").strip()[:_MAX_ANSWER_CHARS]
    if not raw:
        return None
    if _PLAIN.match(raw):  # "#### 12,345": nothing to cut
        return _value(raw.rstrip("."))
    boxed = _boxed(raw)
    if boxed is not None:
        return _value(boxed.answer or "")
    raw = _sentence(raw).strip()
    if choices is not None:
        letter = chosen_letter(raw, choices)
        if letter is False:  # "A or B", "not D": no option is chosen
            return _REFUSED
        if isinstance(letter, str):
            return _value(letter)
    raw = _RESTATED.sub(lambda m: f" \\approx {m.group(1)}", raw)
    spans = prose.math_spans(raw)
    if spans and not raw[: spans[0].start].strip(" *_\"'“\\"):
        # "$x=1$ or $x=2$": several spans joined only by separators are one list of answers
        parts, last = [spans[0].text], spans[0]
        for before, span in zip(spans, spans[1:], strict=False):
            if not _JOINER.fullmatch(raw[before.end : span.start]):
                break
            parts.append(span.text)
            last = span
        if denials.denied_after(raw, last.end, len(raw)) or _contradicted(raw, parts, last.end):  # "$3$ is wrong"
            return _REFUSED
        return _value(", ".join(parts))
    if _is_prose(raw):
        return _read_prose(raw)
    trimmed = _trim(raw)
    return _value(trimmed) if trimmed else None


def _read_prose(raw: str) -> _Capture:
    """A capture in words: the value that comes first or follows a verb, unless the words deny it."""
    clause = _LEADING_CLAUSE.match(raw)
    if clause and clause.end() < len(raw) and not prose.RUN.match(raw):
        raw = raw[clause.end() :]
        if not _is_prose(raw):  # "Using 2 equations, x = 5"
            trimmed = _trim(raw)
            return _value(trimmed) if trimmed else _REFUSED
    spans = prose.math_spans(raw)
    found = prose.candidates(raw, 0, len(raw), spans)
    if not found:
        return _REFUSED if denials.denies(raw) else _Capture(_trim(raw) or None, "text")
    verbs = [m.end() for m in prose.COPULA.finditer(raw)]

    def blocked(i: int) -> bool:  # denied or qualified since its verb: "not 3", "is less than 3"
        anchor = max([v for v in verbs if v <= found[i].start], default=0)
        if denials.qualified_before(raw, anchor, found[i].start):
            return True
        return i == 0 and anchor == 0 and denials.denies(raw[: found[0].start])

    kind = "value"
    if _LEAD_IN.fullmatch(raw[: found[0].start]) or blocked(0):
        i = 0
    else:
        after_verb = [i for i, c in enumerate(found) if any(v <= c.start for v in verbs)]
        # without a verb before any value, "aura encore 220 $" (a verb we do not know) or "the same as
        # in part 2" (a remark): a weak reading, which an earlier explicit answer outranks
        i, kind = (after_verb[0], "value") if after_verb else (0, "weak")
    while blocked(i):
        corrected = [  # "not 5; it is 7", "not 5 but 7"
            j
            for j in range(i + 1, len(found))
            if _CORRECTION.search(raw, found[i].end, found[j].start)
            or any(found[i].end <= v <= found[j].start for v in verbs)
        ]
        if not corrected:
            return _REFUSED
        i = corrected[0]
    parts = [found[i]]
    for nxt in found[i + 1 :]:
        if not _joins_candidates(raw, parts[-1], nxt):
            break
        parts.append(nxt)
    following = found.index(parts[-1]) + 1
    stop = found[following].start if following < len(found) else len(raw)
    if denials.denied_after(raw, parts[-1].end, stop) or _contradicted(raw, [c.text for c in parts], parts[-1].end):
        return _REFUSED
    return _Capture(", ".join(c.text for c in parts), kind)


def _whole(raw: str, start: int, end: int) -> bool:
    """Whether raw[start:end] stands alone: "3" in "not 3", not in "35" or "3.5"."""
    before, following = raw[start - 1 : start], raw[end : end + 2]
    return not (before.isalnum() or following[:1].isalnum() or (following[:1] in ".," and following[1:].isdigit()))


def _contradicted(raw: str, values: list[str], after: int) -> bool:
    """Whether the rest of a capture denies a value it stated: "3, not 3", "$3$ (or not $3$)"."""
    for value in values:
        pos = raw.find(value, after)
        while pos >= 0:
            end = pos + len(value)
            whole = _whole(raw, pos, end)
            if whole and denials.qualified_before(raw, after, pos):
                return True
            pos = raw.find(value, end)
    return False


def _trim(raw: str) -> str:
    for _ in range(2):  # "**92**。": sentence punctuation and emphasis, in either order
        raw = re.sub(r"[.;!。]+\s*$", "", raw.strip().strip("*_\"'“”")).strip()
    return raw


def _joins_candidates(text: str, a: prose.Candidate, b: prose.Candidate) -> bool:
    """Two values given together: "3 or 5", "3, 5", "x = 3 and x = -3"."""
    gap = _LABEL_TAIL.sub("", text[a.end : b.start])
    return bool(_JOINER.fullmatch(gap) or _HEDGE.fullmatch(gap))


def _joined(text: str, found: list[prose.Candidate], i: int) -> str:
    """The candidate at `i`, with the ones joined to it by "or" / "and" / commas: "3 or 5" is two
    answers (a hedge is graded as the list it is), while "220 $ ... 12 mois" stays 220."""
    parts = [found[i]]
    for nxt in found[i + 1 :]:
        if not _joins_candidates(text, parts[-1], nxt):
            break
        parts.append(nxt)
    return ", ".join(c.text for c in parts)


def _is_prose(text: str) -> bool:
    """Words that are not maths: a letter run of 3+ outside LaTeX commands, \\text{} and unit words, a
    short English word no answer holds ("So x is 4"), or a run of non-Latin letters."""
    rest = _UNIT_WORDS.sub(" ", _LATEX_NOISE.sub(" ", _GLUED.sub(" ", text)))
    if _PROSE_WORD.search(rest) or _SHORT_WORD.search(rest):
        return True
    return bool(re.search(r"[^\x00-\x7f]{2,}", rest))


def _found(start: int, end: int, capture: _Capture | None, rule: str) -> _Found | None:
    if capture is None:
        return None
    if capture.kind == "text":
        plausible = capture.answer is not None and _plausible(capture.answer)
        return _Found(start, end, capture.answer if plausible else None, rule, remark=True)
    if capture.kind == "weak":
        return _Found(start, end, capture.answer, rule, remark=True)
    return _Found(start, end, capture.answer, rule)


def _answer_tag(text: str, choices: Choices | None = None) -> _Found | None:
    """The last <answer> block; it counts as written where it closes, so a marker inside it
    ("<answer>The answer is 5.</answer>") does not outrank it, and a box inside is the `boxed` rule's."""
    lower = text.lower()
    close = lower.rfind("</answer>")  # rfind, not a lazy regex: 10,000 unclosed tags stay linear
    opening = lower.rfind("<answer>", 0, close) if close >= 0 else -1
    if opening < 0:
        return None
    inner = text[opening + len("<answer>") : close].strip()
    if not inner or _boxed(inner) is not None:
        return None
    said = _answer_is(inner, choices)
    end = close + len("</answer>")
    if said is not None:
        return _Found(end, end, said.answer, "answer_tag", said.remark)
    return _found(end, end, read_capture(inner, choices), "answer_tag")


def _answer_is(text: str, choices: Choices | None = None) -> _Found | None:
    """The answer after the last marker that states one; a refusal ("the answer is not 3") at the last
    such marker ends the search; markers in a conditional ("Suppose the answer is 3") are skipped;
    a remark ("The answer is reasonable") gives way to an earlier value."""
    if not prose.has_marker_word(text):  # a cheap test before the large multilingual pattern
        return None
    markers = prose.last_markers(text, _MAX_MARKERS)
    remark: _Found | None = None
    for marker in reversed(markers):
        if denials.conditional(text, marker.start()) or denials.counterfactual(text, marker):
            continue
        rest = text[marker.end() : marker.end() + _MAX_ANSWER_CHARS]
        head = rest.lstrip(" *_:\t\n")
        spans = prose.math_spans(head)
        if spans and spans[0].start == 0:  # "Answer \[ \n 9 \n \]": display maths may span lines
            line = head[: spans[0].end] + head[spans[0].end :].split("\n", 1)[0]
        else:
            line = rest.split("\n", 1)[0]
            if not line.strip(" *_:\t"):  # "**Final Answer:**\n14"
                line = head.split("\n", 1)[0]
        got = _found(marker.start(), marker.end(), read_capture(line, choices), "answer_is")
        if got is None:
            continue
        if not got.remark:
            return got
        remark = remark or got
    return remark


def _plausible(answer: str) -> bool:
    """Words captured after a marker are a text answer ("Tuesday", "no solution"), not "correct"."""
    if prose.looks_like_answer(answer):
        return True
    words = answer.split()
    return 0 < len(words) <= 6 and words[0].lower() not in _NOT_ANSWERS


def _gsm8k(text: str, choices: Choices | None = None) -> _Found | None:
    last = _last(_GSM8K, text)
    if last is None:
        return None
    return _found(last.start(), last.end(), read_capture(text[last.end() :].split("\n", 1)[0], choices), "gsm8k")


def _rule(rule: str, text: str, choices: Choices | None) -> _Found | None:
    if rule == "boxed":
        return _boxed(text)
    return {"answer_tag": _answer_tag, "answer_is": _answer_is, "gsm8k": _gsm8k}[rule](text, choices)


def _explicit(text: str, config: ExtractionConfig, choices: Choices | None) -> Extraction | bool | None:
    """The explicit answer; False when the last word on it refuses or takes it back (no answer at all)."""
    found: list[tuple[_Found, int]] = []
    for rank, rule in enumerate(config.priority):
        got = _rule(rule, text, choices)
        if got is not None and (got.answer is not None or not got.remark):
            found.append((got, rank))
    if config.prefer == "last":
        found.sort(key=lambda fr: (fr[0].start, -fr[1]), reverse=True)
    decisive = [f for f, _ in found if not f.remark] or [f for f, _ in found]
    if not decisive:
        return None
    chosen = decisive[0]
    if chosen.answer is None:  # "The answer is not 3" / "The answer is A or B" as the last word
        return False
    after = text[chosen.end :]
    if any(f.answer is None and f.start > chosen.start for f, _ in found) or denials.retracted(after):
        return False
    if chosen.rule != "answer_is" and denials.alternative(after):  # "\\boxed{3}. It could also be 5."
        return False
    if chosen.rule in ("boxed", "answer_tag") and _HEDGE_AFTER.match(text, chosen.end):
        return False  # "\\boxed{3} or maybe 5": a hedge outside the box
    return Extraction(chosen.answer, chosen.rule)


def is_bare_answer(text: str, max_chars: int) -> bool:
    """A short one-line completion that is maths (not prose) is its own answer."""
    stripped = text.strip()
    return bool(stripped) and len(stripped) <= max_chars and "\n" not in stripped and not _is_prose(stripped)


def _guess(text: str, prompt: str | None) -> Extraction | None:
    text = text[-_GUESS_WINDOW:]  # the final answer is in the last sentences; this bounds the work
    spans = [s for s in prose.math_spans(text) if not _is_prose(s.text)]
    prompt_words = prose.word_set(prompt) if prompt else set()
    looked = 0
    for start, end in reversed(prose.sentences(text, spans)):
        sentence = text[start:end]
        if looked == 0 and _GIVE_UP.search(sentence):
            return None
        if prose.is_question(sentence) or _BOILERPLATE.search(sentence):
            continue
        if prompt_words and prose.restates(sentence, prompt_words):
            continue
        all_found = prose.candidates(text, start, end, spans)[-_MAX_SENTENCE_VALUES:]
        if not all_found and denials.retracted(sentence):  # "Wait, that's wrong." takes back what came before
            return None
        looked += 1
        if looked > _MAX_GUESS_SENTENCES:
            return None
        found = [c for i, c in enumerate(all_found) if _asserted(text, start, end, all_found, i)]
        if not found:
            if all_found:  # "It is not 4.", "x ≠ 4", "4 is impossible": the values are denied
                return None
            continue
        bold = [i for i, c in enumerate(found) if c.kind == "bold"]
        first = last = bold[-1] if bold else len(found) - 1
        while first > 0 and _joins_candidates(text, found[first - 1], found[first]):
            first -= 1  # "it might be 3 or 4": a hedge is graded as the list it is
        pick = found[last]
        if any(c.text == pick.text for c in all_found if c not in found):  # "it is 3, not 3"
            return None
        answer = _joined(text, found, first) if first < last else pick.text
        rule = {"math": "last_math", "bold": "bold", "run": "last_number"}[pick.kind]
        return Extraction(answer, rule, guessed=True)
    return None


def _asserted(text: str, start: int, end: int, found: list[prose.Candidate], i: int) -> bool:
    """Whether the sentence text[start:end] states candidate `i` rather than denying or qualifying it."""
    before = found[i - 1].end if i else start
    after = found[i + 1].start if i + 1 < len(found) else end
    c = found[i]
    # "if x = 3", "suppose it is 3"; a marker in a modal clause too ("one might think the answer is 3"),
    # while "it might be 3 or 4" is the model's own hedge, graded as the list it is
    marked = prose.MARKER.search(text, max(start, c.start - 100), c.start) is not None
    if denials.conditional(text, c.start, start, modals=marked):
        return False
    return not (denials.qualified_before(text, max(start, before), c.start) or denials.denied_after(text, c.end, after))


def _choice_guess(text: str, choices: Choices) -> str | None:
    """An option letter in prose: a short first line that opens with one ("B" then the reasons) and
    that the rest neither denies nor takes back, else the letter the conclusion names."""
    first_line, _, rest = text.partition("\n")
    if len(first_line) <= _SHORT_FIRST_LINE:
        letter = leading_letter(first_line, choices)
        if letter:
            tail = rest[-_GUESS_WINDOW:]
            if denials.retracted(tail) or any(x.negated and x.letter == letter for x in named_letters(tail, choices)):
                return None  # "B", then "Actually, it is not B."
            return letter
    return last_letter(text[-300:], choices)


def extract_answer(
    text: str, config: ExtractionConfig | None = None, *, prompt: str | None = None, choices: Choices | None = None
) -> Extraction | None:
    """The final answer in `text`: explicit rules first, then a short maths-only text, then guesses.

    `prompt` (the problem) keeps a guess from picking a number out of a sentence that restates
    it; `choices` (a multiple-choice row) lets a letter in prose be the answer.

    >>> extract_answer(r"so $x=2$, hence \\boxed{\\frac{1}{2}}.")
    Extraction(answer='\\\\frac{1}{2}', rule='boxed', guessed=False)
    >>> extract_answer("Natalia sold 48 clips.\\n#### 72").answer
    '72'
    >>> extract_answer("…so there are 6*4/2 = 12 edges.")
    Extraction(answer='6*4/2 = 12', rule='last_number', guessed=True)
    >>> extract_answer("I am not sure about this problem at all, sorry.\\nMaybe later.") is None
    True
    >>> extract_answer("The answer is 3. Hmm, wait. The answer is not 3.") is None
    True
    """
    config = config or ExtractionConfig()
    text = prose.prepare(text)
    found = _explicit(text, config, choices)
    if found is False:
        return None
    if isinstance(found, Extraction):
        return found
    stripped = text.strip()
    if config.bare and is_bare_answer(stripped, config.bare_max_chars):
        capture = read_capture(stripped, choices)
        if capture is None or capture.answer is None:
            return None
        return Extraction(capture.answer, "bare")
    if config.guess and choices is not None:
        letter = _choice_guess(stripped, choices)
        if letter:
            return Extraction(letter, "choice_letter", guessed=True)
    if config.guess:
        before = prose.before_soft_turn(text)  # "So he has 22 sheep.\nQuestion: A farmer has 3 cows."
        guessed = (before is not None and _guess(before, prompt)) or _guess(text, prompt)
        if guessed:
            return guessed
    if config.bare and stripped and len(stripped) <= config.bare_max_chars and "\n" not in stripped:
        words = len(stripped.split()) <= _MAX_TEXT_WORDS and not _GIVE_UP.search(stripped)
        if words and not re.search(r"\d", stripped) and not denials.denies(stripped):
            return Extraction(_trim(stripped) or stripped, "bare")  # a short text answer ("Tuesday")
    return None


_REFERENCE = ExtractionConfig(guess=False, bare=False)


def extract_reference(text: str) -> str | None:
    """The answer inside a reference solution: explicit rules only, and a last `\\boxed{` that a
    truncated reference never closed still counts (a prediction's would not: it may be cut short).

    >>> extract_reference(r"so \\boxed{W(n) = 1 \\text{ or } W(n) = -1")
    'W(n) = 1 \\\\text{ or } W(n) = -1'
    """
    text = prose.prepare(text)
    found = _explicit(text, _REFERENCE, None)
    if isinstance(found, Extraction):
        return found.answer
    boxed = _boxed(text, unclosed=True)
    return boxed.answer if boxed else None
