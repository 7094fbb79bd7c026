"""Reading a completion written as prose, in any language: the text work behind extraction.

- `prepare()` makes every script's digits ASCII (Arabic-Indic ٣, Devanagari ३, full-width ３…),
  maps full-width operators and superscripts, repairs doubly escaped LaTeX (`\\\\frac` in a
  JSON-escaped completion) and cuts the text at a chat-template turn marker
  (`<|im_start|>user`…), after which a model is writing the next problem, not its answer;
- `math_spans()` finds `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` (display maths may span lines,
  inline maths may not; `\\$` is an escaped dollar; `$5 and $10` is money, not maths);
- `MARKER` matches "the answer is" / "final answer:" in English, French, Spanish, Portuguese,
  German, Italian, Russian, Chinese, Japanese, Korean, Arabic and Hindi;
- `sentences()` and `candidates()` cut prose into sentences and find what in a sentence can be
  an answer (a maths span, a bold `**92**`, a number or a short arithmetic run `3 + 10 = 13`).

Every scan is a linear regular expression over the text, so a 100 KB completion costs
milliseconds.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# -- characters ---------------------------------------------------------------------------
_ZEROS: tuple[int, ...] = (
    0x660,
    0x6F0,
    0x7C0,
    0x966,
    0x9E6,
    0xA66,
    0xAE6,
    0xB66,
    0xBE6,
    0xC66,
    0xCE6,
    0xD66,
    0xE50,
    0xED0,
)
_ZEROS += (0xF20, 0x1040, 0x17E0, 0x1810, 0xFF10)
_CHARS = {chr(z + d): str(d) for z in _ZEROS for d in range(10)}
_CHARS.update(
    {
        "\u066b": ".",  # Arabic decimal separator
        "\u066c": ",",  # Arabic thousands separator
        "\u066a": "%",
        "\u060c": ", ",  # Arabic comma
        "\u061b": "; ",
        "\uff0b": "+",
        "\uff0d": "-",
        "\uff1d": "=",
        "\uff08": "(",
        "\uff09": ")",
        "\uff05": "%",
        "\uff0f": "/",
        "\uff0e": ".",
        "\uff1a": ": ",
        "\u00d7": "\\times ",
        "\u00f7": "\\div ",
        "\u2212": "-",
        "\u2013": "-",
        "\u00b2": "^2",
        "\u00b3": "^3",
        "\u00b9": "^1",
        "\u2070": "^0",
        "\u2074": "^4",
        "\u2075": "^5",
        "\u2076": "^6",
        "\u2077": "^7",
        "\u2078": "^8",
        "\u2079": "^9",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u3000": " ",
    }
)
_TRANSLATE = str.maketrans(_CHARS)

#: LaTeX commands whose doubled backslash (`\\frac`, from JSON-escaped text) is a typo, not a line break
_COMMANDS = (
    "frac|dfrac|tfrac|cfrac|sqrt|left|right|boxed|fbox|text|textbf|textnormal|mathrm|mathbf|mbox|pi|cdot|times|div"
    "|le|ge|leq|geq|neq|ne|lt|gt|infty|begin|end|in|cup|cap|pm|mp|circ|sin|cos|tan|cot|sec|csc|log|ln|exp|quad|qquad"
    "|overline|sum|prod|binom|dbinom|alpha|beta|gamma|theta|lambda|mu|sigma|omega|phi|approx|emptyset|varnothing"
    "|mathbb|setminus|angle|degree|displaystyle|lfloor|rfloor|lceil|rceil|vert|dots|ldots|cdots"
)
_DOUBLE_ESCAPE = re.compile(rf"(?<!\\)\\\\(?=(?:{_COMMANDS})(?![a-zA-Z]))")
_TURN = re.compile(
    r"<\|(?:im_start|im_end|endoftext|eot_id|end|user|start_header_id|end_of_turn)\|>|</s>|<end_of_turn>"
    r"|\n[ \t]*(?:Human|User|Question|Problem|Q)[ \t]*\d*[ \t]*[:：]",
    re.IGNORECASE,
)


def _one_backslash(_: re.Match[str]) -> str:
    return "\\"


def prepare(text: str) -> str:
    """ASCII digits and operators, repaired escapes, and only the model's own turn.

    >>> prepare("٣ + ١٠ = ١٣")
    '3 + 10 = 13'
    >>> prepare("So \\\\boxed{5}.<|im_start|>user\\nNext problem: 7 + 8")
    'So \\\\boxed{5}.'
    """
    text = text.translate(_TRANSLATE)
    if "\\\\" in text:
        text = _DOUBLE_ESCAPE.sub(_one_backslash, text)
    for m in _TURN.finditer(text):
        if text[: m.start()].strip():
            return text[: m.start()]
    return text


# -- maths spans --------------------------------------------------------------------------
_SPAN = re.compile(  # bounded lengths: a span never closed costs at most 4000 characters of search
    r"(?<!\\)\$\$(?P<d>.{1,4000}?)(?<!\\)\$\$"
    r"|(?<![\\$])\$(?!\$)(?P<i>[^\n$]{0,2000}?(?:\\\$[^\n$]{0,2000}?){0,5})(?<!\\)\$"
    r"|\\\((?P<p>.{1,2000}?)\\\)"
    r"|\\\[(?P<b>.{1,4000}?)\\\]",
    re.DOTALL,
)
_WORDY = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class Span:
    """A maths span: its content and where it starts and ends in the text."""

    text: str
    start: int
    end: int


def math_spans(text: str) -> list[Span]:
    """Maths spans in order; inline spans stay on one line, and money (`$5 and $10`) is skipped.

    >>> [s.text for s in math_spans("cost $5 and then $10 for it. So $x = 1/2$ and $$\\n3\\n$$")]
    ['x = 1/2', '3']
    """
    out: list[Span] = []
    pos = 0
    while (m := _SPAN.search(text, pos)) is not None:
        kind = m.lastgroup or ""
        inner = m.group(kind)
        pos = m.end()
        if kind == "i" and inner[:1].isdigit() and "\\" not in inner and _WORDY.search(inner):
            pos = m.end() - 1  # "$5 and then $x$": a price; its closing "$" may open real maths
            continue
        if not inner.strip() or (kind == "p" and "\n" in inner):  # \( ... \) is inline maths
            continue
        out.append(Span(inner.strip(), m.start(), m.end()))
    return out


# -- answer markers -----------------------------------------------------------------------
_COPULA_EN = r"(?:is|are|was|will\s+be|would\s+be|equals|=)"
MARKER = re.compile(
    r"(?:\bfinal\s+answer\b\s*\**\s*(?:[:：]|\bis\b|=)?"
    r"|\b(?:the|my|our|correct|final)\s+(?:correct\s+)?answer\s*\**\s*(?:" + _COPULA_EN + r"|[:：])"
    r"|\banswer\s*\**\s*(?:" + _COPULA_EN + r"|[:：])"
    r"|^[ \t]*\**answer\**(?=\s*(?:\$|\\\(|\\\[))"
    r"|\b(?:la\s+)?r[ée]ponse\s*(?:finale\s*)?(?:est|[:：])"
    r"|\b(?:la\s+)?respuesta\s*(?:final\s*)?(?:es|[:：])"
    r"|\b(?:a\s+)?resposta\s*(?:final\s*)?(?:é|[:：])"
    r"|\b(?:die\s+)?(?:endg[üu]ltige\s+)?antwort\s*(?:ist|lautet|[:：])"
    r"|\b(?:la\s+)?risposta\s*(?:finale\s*)?(?:è|[:：])"
    r"|\bответ\s*(?:[:：]|—|-)"
    r"|(?:最终)?答案\s*(?:是|为|[:：])?"
    r"|答え\s*(?:は|[:：])"
    r"|정답\s*(?:은|[:：])"
    r"|(?:ال)?(?:إجابة|اجابة|جواب)\s*(?:النهائية\s*)?(?:هي|هو|[:：])"
    r"|(?:अंतिम\s+)?उत्तर\s*(?:है|[:：])"
    r")[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_MARKER_WORDS: tuple[str, ...] = (
    "answer",
    "réponse",
    "reponse",
    "respuesta",
    "resposta",
    "antwort",
    "risposta",
    "ответ",
    "答案",
    "答え",
)
_MARKER_WORDS += ("정답", "إجابة", "اجابة", "جواب", "उत्तर")


def has_marker_word(text: str) -> bool:
    """Whether `text` can hold a MARKER at all (a substring test, much cheaper than the pattern)."""
    lower = text.lower()
    return any(word in lower for word in _MARKER_WORDS)


#: words between a subject and its value: "the probability ... is 2/3", "体重是192公斤"
COPULA = re.compile(
    r"\b(?:is|are|was|were|equals|becomes|gives|est|sont|vaut|égale?|es|son|ist|sind|beträgt|é|são|è|равно|равен"
    r"|составляет|هو|هي|يساوي)\b|(?:是|为|等于|得到|有)",
    re.IGNORECASE,
)

# -- sentences and what is in them ---------------------------------------------------------
_SENTENCE_END = re.compile(
    r"(?<!\d)[.!?](?=\s|$|\*)|(?<=\d)[.!?](?=\s+[A-Z\u0600-\u06ff\u4e00-\u9fff]|\s*$)|[。！？।؟\n]"
)
_BOLD = re.compile(r"\*\*([^*\n]{1,60})\*\*")
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?![0-9])|\d+)(?:[.,]\d+)?(?:\s?(?:%|percent\b|per\s?cent\b|pct\b))?"
_LATEX_ATOM = r"\\(?:[dtc]?frac\s*\{[^{}]*\}\s*\{[^{}]*\}|sqrt\s*(?:\[[^\]]*\])?\s*\{[^{}]*\}|pi(?![a-zA-Z]))"
_ATOM = rf"(?:{_LATEX_ATOM}|{_NUM}(?:\s*{_LATEX_ATOM})?)"
_OP = r"\s*(?:[-+*/^=]|\\times|\\cdot|\\div)\s*"
_ASCII_BEFORE = r"(?<![A-Za-z0-9_.\\^])"  # not inside a word (AZYUK2A) nor after ^; any script may touch it (13只)
#: a number, or numbers and operators in a row ("6*4/2 = 12")
RUN = re.compile(rf"{_ASCII_BEFORE}-?\s?(?:{_ATOM})(?:{_OP}-?(?:{_ATOM}))*(?![0-9])|{_ASCII_BEFORE}{_LATEX_ATOM}")
_QUESTION = re.compile(r"\?\s*$")
_DIGIT_OR_MATH = re.compile(r"\d|\\(?:frac|sqrt|pi|infty|emptyset|varnothing|begin)|[π∞√]")


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something in a sentence that can be an answer, and what kind of thing it is."""

    text: str
    start: int
    kind: str  # "math" (a maths span), "bold", "run" (a number or arithmetic run)


def looks_like_answer(text: str) -> bool:
    """A guessed answer must hold a number or maths, not just a variable name (`$n$`, `$(x, y)$`)."""
    return bool(_DIGIT_OR_MATH.search(text)) and len(text) <= 200


def sentences(text: str, spans: list[Span]) -> list[tuple[int, int]]:
    """(start, end) of each sentence; a full stop inside a maths span does not end one."""
    inside = [(s.start, s.end) for s in spans]
    bounds, j = [], 0
    for m in _SENTENCE_END.finditer(text):
        while j < len(inside) and inside[j][1] <= m.start():
            j += 1
        if j < len(inside) and inside[j][0] <= m.start() < inside[j][1]:
            continue
        bounds.append(m.end())
    out, start = [], 0
    for end in [*bounds, len(text)]:
        if text[start:end].strip():
            out.append((start, end))
        start = end
    return out


def candidates(text: str, start: int, end: int, spans: list[Span]) -> list[Candidate]:
    """Candidates in text[start:end], in order: maths spans, bold text, numbers and runs outside spans."""
    inside = [s for s in spans if s.end > start and s.start < end]
    found = [Candidate(s.text, s.start, "math") for s in inside if s.start >= start and looks_like_answer(s.text)]
    covered = sorted((s.start, s.end) for s in inside)
    for m in _BOLD.finditer(text, start, end):
        if looks_like_answer(m.group(1)) and not _within(covered, m.start()):
            inner = RUN.search(m.group(1))  # **3页** -> 3, **25%** -> 25%
            found.append(Candidate(inner.group(0).strip() if inner else m.group(1).strip(), m.start(), "bold"))
            bisect.insort(covered, (m.start(), m.end()))
    for m in RUN.finditer(text, start, end):
        if not _within(covered, m.start()):
            lead = len(m.group(0)) - len(m.group(0).lstrip())
            found.append(Candidate(m.group(0).strip(), m.start() + lead, "run"))
    return sorted(found, key=lambda c: c.start)


def _within(ranges: list[tuple[int, int]], pos: int) -> bool:
    """Whether `pos` falls in one of the sorted, non-overlapping (start, end) ranges."""
    i = bisect.bisect_right(ranges, (pos, float("inf"))) - 1
    return i >= 0 and ranges[i][0] <= pos < ranges[i][1]


def is_question(sentence: str) -> bool:
    return bool(_QUESTION.search(sentence))


def word_set(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def restates(sentence: str, prompt_words: set[str]) -> bool:
    """A sentence copied from the problem: nearly all of its words are the prompt's words."""
    words = word_set(sentence)
    return len(words) >= 4 and len(words & prompt_words) >= 0.85 * len(words)
