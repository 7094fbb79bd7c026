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
import collections
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
        "\u2010": "-",  # hyphen, non-breaking hyphen, figure dash, small hyphen-minus: written as minus signs
        "\u2011": "-",
        "\u2012": "-",
        "\ufe63": "-",
        "\uff0c": ", ",  # full-width comma
        "\u3001": ", ",  # ideographic comma
        "\u200b": "",  # zero-width space, joiners, word joiner, byte-order mark, soft hyphen
        "\u200c": "",
        "\u200d": "",
        "\u2060": "",
        "\ufeff": "",
        "\u00ad": "",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u3000": " ",
    }
)
_VULGAR = "½ 1 2 ⅓ 1 3 ⅔ 2 3 ¼ 1 4 ¾ 3 4 ⅕ 1 5 ⅖ 2 5 ⅗ 3 5 ⅘ 4 5 ⅙ 1 6 ⅚ 5 6 ⅐ 1 7 ⅛ 1 8 ⅜ 3 8 ⅝ 5 8 ⅞ 7 8 ⅑ 1 9 ⅒ 1 10"
_VULGAR_PARTS = _VULGAR.split()
_CHARS.update({c: f"\\frac{{{n}}}{{{d}}}" for c, n, d in zip(*[iter(_VULGAR_PARTS)] * 3, strict=True)})
_TRANSLATE = str.maketrans(_CHARS)
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+", strict=True))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789", strict=True))
_SCRIPT_RUN = re.compile(r"[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+|[₀₁₂₃₄₅₆₇₈₉]+")


def _script(m: re.Match[str]) -> str:
    """x¹² -> x^{12}, x⁻¹ -> x^{-1}, a₁₀ -> a_{10}: a run of script digits is one exponent or index."""
    run = m.group(0)
    mark, table = ("_", _SUBSCRIPTS) if run[-1] in _SUBSCRIPTS else ("^", _SUPERSCRIPTS)
    digits = "".join(table[c] for c in run)
    return mark + (digits if len(digits) == 1 else "{" + digits + "}")


def to_ascii(text: str) -> str:
    """Every script's digits, full-width operators, vulgar fractions and super/subscripts in ASCII/LaTeX.

    >>> to_ascii("x² + ٣½ − x₁₂ + y⁻¹")
    'x^2 + 3\\\\frac{1}{2} - x_{12} + y^{-1}'
    """
    if not text.isascii():
        text = _SCRIPT_RUN.sub(_script, text).translate(_TRANSLATE)
    return text


#: LaTeX commands whose doubled backslash (`\\frac`, from JSON-escaped text) is a typo, not a line break
_COMMANDS = (
    "frac|dfrac|tfrac|cfrac|sqrt|left|right|boxed|fbox|text|textbf|textnormal|mathrm|mathbf|mbox|pi|cdot|times|div"
    "|le|ge|leq|geq|neq|ne|lt|gt|infty|begin|end|in|cup|cap|pm|mp|circ|sin|cos|tan|cot|sec|csc|log|ln|exp|quad|qquad"
    "|overline|sum|prod|binom|dbinom|alpha|beta|gamma|theta|lambda|mu|sigma|omega|phi|approx|emptyset|varnothing"
    "|mathbb|setminus|angle|degree|displaystyle|lfloor|rfloor|lceil|rceil|vert|dots|ldots|cdots"
)
_DOUBLE_ESCAPE = re.compile(rf"(?<!\\)\\\\(?=(?:{_COMMANDS})(?![a-zA-Z]))")
#: a chat-template turn: after it the model writes the next problem, never its answer
_TURN = re.compile(
    r"<\|(?:im_start|im_end|endoftext|eot_id|end|user|start_header_id|end_of_turn)\|>|</s>|<end_of_turn>"
    r"|\n[ \t]*(?:Human|User)[ \t]*\d*[ \t]*[:：]",
    re.IGNORECASE,
)
#: "\nQuestion:", "\nProblem 2:": a new problem only once an answer was given ("Problem 1:" may be a part)
_SOFT_TURN = re.compile(r"\n[ \t]*(?:Question|Problem|Q)[ \t]*\d*[ \t]*[:：]", re.IGNORECASE)
_ANSWER_HINT = re.compile(r"\\boxed|\\fbox|####|</answer>", re.IGNORECASE)


def _one_backslash(_: re.Match[str]) -> str:
    return "\\"


def before_soft_turn(text: str) -> str | None:
    """The text before a "\\nQuestion:" / "\\nProblem 2:" line that follows some text, else None: where a
    guess looks first (the explicit rules read past it, since "Problem 1:" may label a part)."""
    first = len(text) - len(text.lstrip())
    m = _SOFT_TURN.search(text, first + 1) if "\n" in text else None
    return text[: m.start()] if m is not None else None


def prepare(text: str) -> str:
    """ASCII digits and operators, repaired escapes, and only the model's own turn: the text is cut at
    a chat-template turn, and at a "\\nQuestion:" / "\\nProblem 2:" line written after an explicit answer.

    >>> prepare("٣ + ١٠ = ١٣")
    '3 + 10 = 13'
    >>> prepare("So \\\\boxed{5}.<|im_start|>user\\nNext problem: 7 + 8")
    'So \\\\boxed{5}.'
    """
    text = to_ascii(text)
    if "\\\\" in text:
        text = _DOUBLE_ESCAPE.sub(_one_backslash, text)
    first = len(text) - len(text.lstrip())  # a turn marker before any text is not a turn of ours
    for m in _TURN.finditer(text):
        if m.start() > first:
            text = text[: m.start()]
            break
    if "\n" in text and _SOFT_TURN.search(text):
        hints = [m.start() for m in (_ANSWER_HINT.search(text), MARKER.search(text)) if m is not None]
        if hints:
            soft = _SOFT_TURN.search(text, min(hints))
            if soft is not None:
                text = text[: soft.start()]
    return text


# -- maths spans --------------------------------------------------------------------------
#: every delimiter in one pass; an escaped dollar `\\$` is a token too, so that it never opens or closes
_DELIM = re.compile(r"\\\$|\\\(|\\\)|\\\[|\\\]|\$\$|\$")
_CLOSER = {"$$": ("$$",), "$": ("$", "$$"), "\\(": ("\\)",), "\\[": ("\\]",)}
_SPAN_LIMIT = {"$$": 4000, "$": 2000, "\\(": 2000, "\\[": 4000}
_WORDY = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class Span:
    """A maths span: its content and where it starts and ends in the text."""

    text: str
    start: int
    end: int


def math_spans(text: str) -> list[Span]:
    """Maths spans in order; inline spans stay on one line, and money (`$5 and $10`) is skipped.

    One pass over the delimiters, each closer found by bisection, so the cost is linear in the
    text's length whatever it holds (10,000 unclosed `\\[` cost no more than one).

    >>> [s.text for s in math_spans("cost $5 and then $10 for it. So $x = 1/2$ and $$\\n3\\n$$")]
    ['x = 1/2', '3']
    """
    if "$" not in text and "\\" not in text:
        return []
    tokens = [(m.start(), m.group(0)) for m in _DELIM.finditer(text)]
    where: dict[str, list[int]] = {}
    for k, (_, tok) in enumerate(tokens):
        where.setdefault(tok, []).append(k)
    newlines = [m.start() for m in re.finditer("\n", text)] if "\n" in text else []
    out: list[Span] = []
    k = 0
    while k < len(tokens):
        pos, tok = tokens[k]
        if tok not in _CLOSER:
            k += 1
            continue
        close = _next_closer(where, tok, k)
        if close is None or tokens[close][0] - pos > _SPAN_LIMIT[tok]:
            k += 1
            continue
        end_pos, end_tok = tokens[close]
        inner = text[pos + len(tok) : end_pos]
        one_line = bisect.bisect_right(newlines, pos) == bisect.bisect_right(newlines, end_pos)
        if tok == "$" and not one_line:  # an inline `$` never spans lines: this one is a literal dollar
            k += 1
            continue
        if tok == "$" and inner[:1].isdigit() and "\\" not in inner and _WORDY.search(inner):
            k = close  # "$5 and then $x$": a price; its closing "$" may open real maths
            if end_tok == "$$":
                k += 1
            continue
        k = close + 1
        if inner.strip() and (tok != "\\(" or one_line):  # \( ... \) is inline maths
            out.append(Span(inner.strip(), pos, end_pos + (1 if tok == "$" else len(end_tok))))
    return out


def _next_closer(where: dict[str, list[int]], opener: str, k: int) -> int | None:
    """Index of the first token after `k` that closes `opener` (a `$` is closed by a `$` or `$$`)."""
    best = None
    for tok in _CLOSER[opener]:
        indices = where.get(tok, [])
        i = bisect.bisect_right(indices, k)
        if i < len(indices) and (best is None or indices[i] < best):
            best = indices[i]
    return best


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
    r"|\b(?:the|my|our)\s+(?:correct\s+|final\s+|best\s+)?(?:option|choice|answer\s+choice)\s*\**\s*(?:is|would\s+be|[:：])"
    r"|\bcorrect\s+(?:option|choice)\s*\**\s*(?:is|[:：])"
    r"|(?:最终)?答案\s*(?:是|为|[:：])?"
    r"|(?<![\u4e00-\u9fff])答\s*[:：]"
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
    "答：",
    "答:",
    "option",
    "choice",
)
_MARKER_WORDS += ("정답", "إجابة", "اجابة", "جواب", "उत्तर")


def last_markers(text: str, n: int) -> list[re.Match[str]]:
    """The last `n` answer markers in `text`, in order (one linear scan, whatever their number)."""
    return list(collections.deque(MARKER.finditer(text), maxlen=n))


def has_marker_word(text: str) -> bool:
    """Whether `text` can hold a MARKER at all (a substring test, much cheaper than the pattern)."""
    lower = text.lower()
    return any(word in lower for word in _MARKER_WORDS)


#: words between a subject and its value: "the probability ... is 2/3", "体重是192公斤"
COPULA = re.compile(
    r"\b(?:is|are|was|were|equals|becomes|gives|est|sont|vaut|égale?|es|son|ist|sind|beträgt|é|são|è|равно|равен"
    r"|составляет|هو|هي|يساوي|has|have|had|gets|got|makes|made|costs|needs|takes|took|weighs|measures|contains"
    r"|holds|totals|remain|remains|yields|reaches|reached|sold|bought|spent|earned|paid|saved|ran|walked|drove"
    r"|received|collected|scored|won|lost|owes|pays|earns|spends|buys|sells|saves|uses|used|gave|travels|traveled"
    r"|travelled|comes\s+to|amounts\s+to|will\s+be|would\s+be|must\s+be)\b|(?:是|为|等于|得到|有)|=",
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
_OP = r"\s*(?:[-+*/^=≈]|\\times|\\cdot|\\div|\\approx)\s*"
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
    end: int = -1  # where it ends in the text

    def __post_init__(self) -> None:
        if self.end < 0:
            object.__setattr__(self, "end", self.start + len(self.text))


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
    found = [
        Candidate(s.text, s.start, "math", s.end) for s in inside if s.start >= start and looks_like_answer(s.text)
    ]
    covered = sorted((s.start, s.end) for s in inside)
    for m in _BOLD.finditer(text, start, end):
        if looks_like_answer(m.group(1)) and not _within(covered, m.start()):
            inner = RUN.search(m.group(1))  # **3页** -> 3, **25%** -> 25%
            found.append(Candidate(inner.group(0).strip() if inner else m.group(1).strip(), m.start(), "bold", m.end()))
            bisect.insort(covered, (m.start(), m.end()))
    for m in RUN.finditer(text, start, end):
        if not _within(covered, m.start()):
            lead = len(m.group(0)) - len(m.group(0).lstrip())
            found.append(Candidate(m.group(0).strip(), m.start() + lead, "run", m.start() + len(m.group(0).rstrip())))
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
    """A sentence copied from the problem: nearly all of its words are the prompt's words, and every
    number in it is the prompt's (a sentence with a number of its own states a result)."""
    words = word_set(sentence)
    if any(w.isdigit() and w not in prompt_words for w in words):
        return False
    return len(words) >= 4 and len(words & prompt_words) >= 0.85 * len(words)
