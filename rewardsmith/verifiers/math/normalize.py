"""Stage 2a: turn an answer string into clean, parser-friendly text.

This is string work only (no SymPy), so it is fast and cannot hang. What it does and why:

- maths delimiters (`$`, `\\(`, `\\[`), a whole-answer `\\boxed{}`, `\\left`/`\\right`,
  `\\displaystyle` and spacing commands (`\\,` `\\;` `\\!` `\\quad` `~`) are dropped;
- `\\dfrac`/`\\tfrac`/`\\cfrac` become `\\frac`, `\\dbinom` becomes `\\binom`;
- `\\text{}`, `\\mathrm{}`, `\\textbf{}`, `\\mbox{}` are unwrapped to their content, then unit
  words after a number are dropped ("5 cm", "12 \\text{ inches}", "\\$5", "30 degrees");
- degrees `^\\circ` are a unit and dropped: 30^\\circ is 30 (inside trigonometry they are
  converted: `\\sin 30^\\circ` is sin(pi/6));
- thousands separators are removed only when the *whole* answer is one grouped number
  ("1,000,000", "1{,}000", "1 000"), because inside an expression a comma separates items;
- a mixed number that is the whole answer ("3\\frac{1}{2}", "3 1/2") is 3 + 1/2, the convention
  of competition answers, not 3 times 1/2;
- "and"/"or" between items become commas; a "x \\in" prefix is dropped; trailing periods go;
- a few Unicode symbols map to their LaTeX names (π, √, ∞, ≤, ·, −, °).
"""

from __future__ import annotations

import re

_UNICODE = {
    "−": "-",
    "–": "-",
    "×": "\\times ",
    "·": "\\cdot ",
    "÷": "\\div ",
    "π": "\\pi ",
    "∞": "\\infty ",
    "√": "\\sqrt",
    "≤": "\\le ",
    "≥": "\\ge ",
    "≠": "\\ne ",
    "°": "^\\circ",
    "∪": "\\cup ",
    "±": "\\pm ",
    "∈": "\\in ",
    "∅": "\\emptyset ",
    "\u2009": " ",
    "\u00a0": " ",
    "⁄": "/",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|textrm|texttt|mathrm|mathbf|mathit|mathsf|mathtt|mbox|hbox|boldsymbol|bm|mathbb|operatorname)\s*\{"
)
_DROP = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![a-zA-Z])"
    r"|\\displaystyle|\\textstyle|\\limits|\\nolimits"
    r"|\\(?:quad|qquad|enspace|thinspace|medspace|thickspace|negthinspace)(?![a-zA-Z])"
    r"|(?<!\\)\\[,;:! ]|\\hspace\*?\{[^}]*\}|~"
)
_FRAC_ALIASES = re.compile(r"\\(?:dfrac|tfrac|cfrac)(?![a-zA-Z])")
_TRIG = re.compile(r"(?:sin|cos|tan|sec|csc|cot)(?![a-zA-Z])")
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree(?![a-zA-Z])|\^\s*\{\s*o\s*\}")
_UNITS = (
    "cm|mm|km|meters?|metres?|centimeters?|millimeters?|kilometers?|in|inch|inches|ft|feet|foot|yards?|yd|miles?|mi"
    "|kg|grams?|kilograms?|mg|lbs?|pounds?|ounces?|oz|tons?"
    "|sec|secs|seconds?|min|mins|minutes?|hr|hrs|hours?|days?|weeks?|months?|years?"
    "|ml|liters?|litres?|gallons?|cups?|mph|kph"
    "|dollars?|cents?|euros?|units?|square|sq|cubic|degrees?|radians?|points?|people|persons?|students?|apples?|marbles?"
    "|cookies?|books?|pages?|boxes|balls?|cars?|times|ways|numbers?|items?|pieces?|percent|per"
)
_TRAILING_UNIT = re.compile(rf"(?<=[\d}}).\s])\s*(?:(?:{_UNITS})(?:\s*\^\s*\{{?[23]\}}?)?\s*)+$", re.IGNORECASE)
# one-letter units (m, s, h, g, l) only after a plain number: in "\pi r^2 h" the h is a variable
_LETTER_UNIT = re.compile(r"^(-?[\d.,]+)\s*[mshgl](?:\s*\^\s*\{?[23]\}?)?$")
# \text{ of the pizza} after some maths is words, not maths: dropped (a whole-answer \text{Tuesday} stays)
_TEXT_WORDS = re.compile(
    r"(?<=\S)\s*\\(?:text|textrm|mbox|mathrm|textit)\s*\{\s*[A-Za-z][A-Za-z.\s]*[A-Za-z.]\s*\}(?:\s*\^\s*\{?[23]\}?)?"
)
_GROUPED = re.compile(r"^-?\d{1,3}(?:(?:,|\{,\})\d{3})+(?:\.\d+)?$|^-?\d{1,3}(?: \d{3})+(?:\.\d+)?$")
_MIXED_LATEX = re.compile(r"^(-?)(\d+)\s*\\frac\s*\{(\d+)\}\s*\{(\d+)\}(%?)$|^(-?)(\d+)\s*\\frac(\d)(\d)(%?)$")
_MIXED_PLAIN = re.compile(r"^(-?)(\d+)\s+(\d+)\s*/\s*(\d+)(%?)$")
_IN_PREFIX = re.compile(r"^\s*[a-zA-Z](?:_\{?\w+\}?)?\s*\\in\s*|^\s*[a-zA-Z]\s*\(\s*[a-zA-Z]\s*\)\s*=\s*")
_CONJUNCTION = re.compile(r"\s+(?:and|or)\s+|\s*,\s*(?:and|or)\s+", re.IGNORECASE)
_DELIMS = re.compile(r"^\$\$(.*)\$\$$|^\$(.*)\$$|^\\\((.*)\\\)$|^\\\[(.*)\\\]$", re.DOTALL)


def _unwrap(text: str, opener: re.Pattern[str], keep_name: bool = False) -> str:
    """Replace `\\cmd{content}` with its content (braces matched, nesting allowed)."""
    from rewardsmith.verifiers.math.extract import matching_brace

    out, pos = [], 0
    for _ in range(200):  # bounded: each pass removes one wrapper
        m = opener.search(text, pos)
        if not m:
            break
        end = matching_brace(text, m.end() - 1)
        if end < 0:
            break
        inner = text[m.end() : end]
        out.append(text[pos : m.start()])
        out.append(f" {inner} " if not keep_name else inner)
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


def strip_delimiters(text: str) -> str:
    """Drop maths delimiters and a `\\boxed{}` that wraps the whole answer."""
    from rewardsmith.verifiers.math.extract import matching_brace

    for _ in range(5):
        before = text
        text = text.strip()
        m = _DELIMS.match(text)
        if m:
            text = next(g for g in m.groups() if g is not None)
        for cmd in ("\\boxed", "\\fbox"):
            if text.startswith(cmd):
                j = text.find("{", len(cmd))
                if j >= 0 and not text[len(cmd) : j].strip() and matching_brace(text, j) == len(text) - 1:
                    text = text[j + 1 : -1]
        if text == before:
            break
    return text.strip()


_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}


def normalize(answer: str) -> str:
    """Clean an answer string for the parser (see the module docstring for every rule).

    >>> normalize(r"$\\dfrac{1}{2}\\,\\text{cm}$")
    '\\\\frac{1}{2}'
    >>> normalize("1,000,000.")
    '1000000'
    >>> normalize(r"3\\frac{1}{2}")
    '(3+\\\\frac{1}{2})'
    """
    text = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], answer)
    text = strip_delimiters(text)
    text = text.replace("$", " ").replace("\\$", " ")
    text = text.replace("\\\\$", " ").replace("\\%", "%")
    text = _DROP.sub(" ", text)
    text = _FRAC_ALIASES.sub("\\\\frac", text)
    text = re.sub(r"\\(?:dbinom|tbinom)(?![a-zA-Z])", r"\\binom", text)
    text = re.sub(r"\\(?:text|mbox|textrm)\s*\{\s*(?:and|or)\s*\}", ", ", text)
    text = _TEXT_WORDS.sub(" ", text)
    text = _unwrap(text, _WRAPPERS)
    # degrees are a unit (dropped), except inside trigonometry: \sin 15^\circ is sin(pi/12)
    degree_mark = " \\degree " if _TRIG.search(text) else " "
    text = _DEGREES.sub(lambda _: degree_mark, text)
    text = text.strip()
    text = re.sub(r"^\\?\$\s*", "", text)  # a leading currency sign
    text = _IN_PREFIX.sub("", text)
    text = _CONJUNCTION.sub(", ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"(?<!\.)[.;,]+$|^[;,]+|^\.(?!\d)", "", text).strip()  # sentence punctuation
    for _ in range(3):
        stripped = _TRAILING_UNIT.sub("", text).strip()
        if stripped == text or not stripped:
            break
        text = stripped
    text = _LETTER_UNIT.sub(r"\1", text)
    if text.lower() in _NUMBER_WORDS:  # a whole answer "five" is 5 (only whole answers: "one" in a sentence is not)
        text = _NUMBER_WORDS[text.lower()]
    if _GROUPED.match(text):
        text = text.replace("{,}", "").replace(",", "").replace(" ", "")
    m = _MIXED_LATEX.match(text) or _MIXED_PLAIN.match(text)
    if m:
        sign, whole, num, den, pct = [g for g in m.groups() if g is not None]
        if int(num) < int(den):
            text = f"{sign}({whole}+\\frac{{{num}}}{{{den}}}){pct}"
    return text.replace("{,}", ",")
