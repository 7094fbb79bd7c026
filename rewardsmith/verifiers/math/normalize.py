"""Stage 2a: turn an answer string into clean, parser-friendly text (and the unit it carries).

This is string work only (no SymPy), so it is fast and cannot hang. What it does and why:

- every script's digits become ASCII; a doubly escaped `\\\\frac` (JSON-escaped text) is `\\frac`;
- maths delimiters (`$`, `\\(`, `\\[`), a whole-answer `\\boxed{}`, `\\left`/`\\right`,
  `\\displaystyle` and spacing commands (`\\,` `\\;` `\\!` `\\quad` `~`) are dropped;
- `\\dfrac`/`\\tfrac`/`\\cfrac` become `\\frac`, `\\dbinom` becomes `\\binom`;
- `\\text{}`, `\\textnormal{}`, `\\mathrm{}`, `\\textbf{}`, `\\mbox{}` are unwrapped; a unit after a
  number ("5 cm", "12 \\text{ inches}", "3 hours") is split off and reported, other words after
  maths ("15 apples", `\\text{ of the pizza}`) are dropped, "\\$5" loses its currency sign;
- "percent", "pct", "percentage" and `\\%` become `%`; degrees (`^\\circ`, "degrees") become the
  `\\degree` mark the parser reads (the comparison decides what a degree matches);
- thousands separators go: the MATH dataset's `1,\\!000` and `14{,}916` anywhere, plain
  `1,000,000` and `1 000` when they are the *whole* answer (inside an expression a comma
  separates items);
- a repeating decimal `0.\\overline{3}` becomes the exact fraction 1/3;
- a mixed number that is the whole answer ("3\\frac{1}{2}", "3 1/2") is 3 + 1/2, the convention
  of competition answers, not 3 times 1/2;
- "and"/"or" between items become commas (also glued: `(11,7)or(7,11)`); an "x \\in" prefix is
  dropped; trailing periods go; `\\mathbb{R}` and ℝ become the set of reals.
"""

from __future__ import annotations

import re
from fractions import Fraction

from rewardsmith.verifiers.math.numwords import number_from_words
from rewardsmith.verifiers.math.prose import _DOUBLE_ESCAPE, _one_backslash, to_ascii
from rewardsmith.verifiers.math.units import parse_unit

_UNICODE = {
    "×": "\\times ",
    "·": "\\cdot ",
    "÷": "\\div ",
    "π": "\\pi ",
    "∞": "\\infty ",
    "√": "\\sqrt",
    "≤": "\\le ",
    "≥": "\\ge ",
    "≠": "\\ne ",
    "≈": "\\approx ",
    "°": "^\\circ",
    "∪": "\\cup ",
    "∩": "\\cap ",
    "±": "\\pm ",
    "∈": "\\in ",
    "∅": "\\emptyset ",
    "ℝ": "\\Reals ",
    "⁄": "/",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
_NUMBER_SETS = re.compile(r"\\(?:mathbb|mathbf|Bbb)\s*\{?\s*([RZNQC])\s*\}?|\\([RZNQC])(?![a-zA-Z])")
_SET_NAMES = {"R": "\\Reals", "Z": "\\Integers", "N": "\\Naturals", "Q": "\\Rationals", "C": "\\Complexes"}
_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|textrm|texttt|textsf|textup|textnormal|emph|mathrm|mathbf|mathit|mathsf|mathtt|mbox|hbox"
    r"|boldsymbol|bm|mathbb|operatorname|mathnormal)\s*\{"
)
_DROP = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![a-zA-Z])"
    r"|\\displaystyle|\\textstyle|\\limits|\\nolimits"
    r"|\\(?:quad|qquad|enspace|thinspace|medspace|thickspace|negthinspace)(?![a-z])"
    r"|(?<!\\)\\[,;:! ]|\\hspace\*?\{[^}]*\}|~"
)
_GLUED_QUAD = re.compile(r"\\(q?quad)(?=[a-zA-Z])")
_FRAC_ALIASES = re.compile(r"\\(?:dfrac|tfrac|cfrac)(?![a-zA-Z])")
_DEGREES = re.compile(
    r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree(?![a-zA-Z])|\^\s*\{\s*o\s*\}|(?<=[\d}])\s*(?:degrees?|deg)\b"
)
_PERCENT_WORDS = re.compile(r"(?<=[\d}).\s])\s*(?:percent(?:age)?s?|pct|per\s*cent)\b\.?", re.IGNORECASE)
_MATH_THOUSANDS = re.compile(r"(?<=\d),\s*\\!\s*(?=\d{3}(?!\d))|(?<=\d)\s*\{\s*,\s*\}\s*(?=\d{3}(?!\d))")
_REPEATING = re.compile(r"(-?)(\d*)\.(\d*)\\overline\s*\{\s*(\d+)\s*\}|(-?)(\d*)\.(\d*)\\dot\s*\{?\s*(\d)\s*\}?")
_UNITS = (
    r"cm|mm|km|meters?|metres?|centimeters?|centimetres?|millimeters?|kilometers?|inches|inch|in|ft|feet|foot|yards?|yd"
    r"|miles?|mi|kg|grams?|kilograms?|milligrams?|mg|lbs?|pounds?|ounces?|oz|tons?|tonnes?|pence|pennies|yen|rmb"
    r"|secs?|seconds?|mins?|minutes?|hrs?|hours?|days?|weeks?|months?|years?"
    r"|ml|milliliters?|liters?|litres?|gallons?|cups?|mph|kph|km/h|m/s"
    r"|dollars?|cents?|euros?|yuan|rupees?|units?|square|sq|cubic|radians?|points?|people|persons?|students?"
    r"|apples?|marbles?|cookies?|books?|pages?|boxes|balls?|cars?|times|ways|numbers?|items?|pieces?|per|degc|degf"
)
_TRAILING_UNIT = re.compile(
    rf"(?<=[\d}}).\s])\s*((?:(?:{_UNITS})(?:\s*\^\s*\{{?[23]\}}?)?(?:\s*(?:/|per)\s*(?:{_UNITS}))?\s*)+)$",
    re.IGNORECASE,
)
# one-letter units (m, s, h, g, l) only after a plain number: in "\pi r^2 h" the h is a variable
_LETTER_UNIT = re.compile(r"^(-?[\d.,]+)\s*([mshgl](?:\s*\^\s*\{?[23]\}?)?)$")
# \text{ of the pizza} after some maths is words, not maths (a whole-answer \text{Tuesday} stays)
_TEXT_WORDS = re.compile(
    r"(?<=\S)\s*\\(?:text|textrm|textnormal|mbox|mathrm|textit)\s*\{\s*([A-Za-z][A-Za-z.\s/]*[A-Za-z.]|[a-z])\s*\}"
    r"((?:\s*\^\s*\{?[23]\}?)?)"
)
_PLAIN_NUMBER = re.compile(r"-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_GROUPED = re.compile(r"^-?[1-9]\d{0,2}(?:(?:,|\{,\})\d{3})+(?:\.\d+)?$|^-?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$")
_MIXED_LATEX = re.compile(r"^(-?)(\d+)\s*\\frac\s*\{(\d+)\}\s*\{(\d+)\}(%?)$|^(-?)(\d+)\s*\\frac(\d)(\d)(%?)$")
_MIXED_PLAIN = re.compile(r"^(-?)(\d+)\s+(\d+)\s*/\s*(\d+)(%?)$")
_IN_PREFIX = re.compile(r"^\s*[a-zA-Z](?:_\{?\w+\}?)?\s*\\in\s*")
_CONJUNCTION = re.compile(
    r"\s+(?:and|or)\s+|\s*,\s*(?:and|or)\s+|(?<=[\d)\]}])\s*(?:and|or)\s*(?=[-\d(\[\\A-Za-z])", re.I
)
_DELIMS = re.compile(r"^\$\$(.*)\$\$$|^\$(.*)\$$|^\\\((.*)\\\)$|^\\\[(.*)\\\]$", re.DOTALL)
#: a currency sign before or after a number: "\\$5", "$5", "€5", "220 $"
_CURRENCY = re.compile(r"^(?:\\?\$|US\\?\$|€|£|₹)\s*(?=[-+\d.])|(?<=[\d.])\s*(?:\\?\$|€|£|₹)$")
_CURRENCY_UNIT = {"$": "dollars", "€": "euros", "£": "gbp", "₹": "rupees"}
#: words that make trailing words a statement about the value, never a droppable noun phrase
_STATEMENT = re.compile(
    r"\b(?:not|no|never|wrong|incorrect|false|isn't|cannot|can't|impossible|maybe|perhaps|probably|possibly|or|nor"
    r"|except|than|least|most|approx\w*|about|around|roughly|nearly|almost|invalid|unsure|guess|if|unless|either"
    r"|neither|correct|right|answer)\b",
    re.IGNORECASE,
)
#: "60^\\circ C", "60°F", "℃": temperatures, a unit of their own (not an angle)
_TEMPERATURE = re.compile(
    r"\s*(?:\^\s*\{?\s*\\circ\s*\}?|\\degree)\s*(?:\\(?:text|mathrm|textrm)\s*\{\s*([CF])\s*\}|([CF])(?![A-Za-z]))"
    r"|\s*(?:degrees?\s+)?(celsius|fahrenheit)\b|\s*([℃℉])",
    re.IGNORECASE,
)
#: the same quantity in two units: "2 hours 30 minutes", "5 ft 6 in", "1 hour and 15 minutes"
_COMPOUND = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]+)\.?\s*(?:,|and)?\s*(\d+(?:\.\d+)?)\s*([a-z]+)\.?$", re.IGNORECASE)
#: "Area = 5", "Total cost = 12": a word naming the value (a single unknown's name is never graded)
_WORD_LABEL = re.compile(r"^[A-Za-z][A-Za-z ]*[A-Za-z]{2}\s*=\s*(?=\S)(?!.*=)")
_APPROX_LEAD = re.compile(
    r"^(?:\\approx|approximately|approx\.?|about|around|roughly|circa|ca\.)\s*(?=[-+\d.\\])", re.I
)
#: thousands written with dots or apostrophes ("1.500.000", "1'500"): at least two dot groups, never a decimal
_DOT_THOUSANDS = re.compile(r"^-?\d{1,3}(?:\.\d{3}){2,}$|^-?\d{1,3}(?:'\d{3})+(?:\.\d+)?$")
#: a French decimal with spaced thousands: "1 234,5" (the decimal comma reading then applies)
_SPACED_DECIMAL = re.compile(r"^(-?\d{1,3}(?: \d{3})+),(\d+)$")
#: French interval brackets: "]1, 2[" is (1, 2), "[1, 2[" is [1, 2)
_FRENCH_INTERVAL = re.compile(r"^([\[\]])\s*([^\[\]]+[,;][^\[\]]+?)\s*([\[\]])$")
_DERIVATIVE = re.compile(r"\\frac\s*\{\s*d\s*([a-zA-Z])\s*\}\s*\{\s*d\s*[a-zA-Z]\s*\}")
_GEOMETRY = re.compile(r"\\(?:angle|measuredangle|triangle)\s*|\bm\s*\\angle\s*")
_OVERLINE_NAME = re.compile(r"\\overline\s*\{\s*([A-Za-z]+)\s*\}")


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


def _wraps(text: str) -> bool:
    """One pair of parentheses around the whole text, with no comma at its top level."""
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and i < len(text) - 1 or depth == 1 and ch == ",":
            return False
    return True


def _repeating(m: re.Match[str]) -> str:
    """0.1\\overline{6} -> \\frac{1}{6}: the exact value of a repeating decimal."""
    groups = [g for g in m.groups()]
    sign, whole, fixed, cycle = groups[:4] if groups[3] is not None else groups[4:]
    fixed = fixed or ""
    value = Fraction(int(whole or "0")) + Fraction(int(fixed or "0"), 10 ** len(fixed))
    value += Fraction(int(cycle), (10 ** len(cycle) - 1) * 10 ** len(fixed))
    return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"


def _text_words(m: re.Match[str]) -> str:
    """`\\text{ cm}^2` after maths is a unit (kept as a word); other words after maths are dropped."""
    word = m.group(1).strip()
    if _STATEMENT.search(word):  # \text{ is not correct}: a statement, kept (the answer is then text)
        return m.group(0)
    if len(word) == 1:  # \mathrm{e}, \text{m}: a letter stays (after a plain number it may be a unit)
        return f" {word}{m.group(2) or ''}"
    if parse_unit(word + (m.group(2) or "")) is not None or re.fullmatch(rf"(?:{_UNITS})", word, re.I):
        return f" {word}{m.group(2) or ''}"
    return " "


def _temperature(m: re.Match[str]) -> str:
    scale = next(g for g in m.groups() if g is not None).lower()
    return " degc" if scale in ("c", "celsius", "℃") else " degf"


def _compound_unit(text: str) -> tuple[str, str] | None:
    """ "2 hours 30 minutes" -> 150 minutes; None unless both are known units of one dimension, larger first."""
    m = _COMPOUND.match(text)
    if m is None:
        return None
    big, small = parse_unit(m.group(2)), parse_unit(m.group(4))
    if big is None or small is None or big.dims != small.dims or big.factor <= small.factor:
        return None
    value = Fraction(m.group(1)) * big.factor / small.factor + Fraction(m.group(3))
    shown = str(value.numerator) if value.denominator == 1 else f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
    return shown, m.group(4)


def split_unit(answer: str) -> tuple[str, str | None]:
    """(normalized text, the unit it ended with or None), see the module docstring for every rule.

    >>> split_unit("3 hours"), split_unit(r"12\\text{ cm}^2"), split_unit("15 apples")
    (('3', 'hours'), ('12', 'cm^2'), ('15', None))
    """
    if _PLAIN_NUMBER.match(answer):  # the common case, GSM8K-style: no string work needed
        return (answer.replace(",", "") if "," in answer and _GROUPED.match(answer) else answer), None
    text = to_ascii(answer)
    if "\\\\" in text:
        text = _DOUBLE_ESCAPE.sub(_one_backslash, text)
    text = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], text)
    text = strip_delimiters(text)
    text = re.sub(r"^\s*[—―]\s*(?=\d)", "-", text)  # "—3": a dash before a number is its minus sign
    currency = None
    m = _CURRENCY.search(text.strip())
    if m:
        currency = _CURRENCY_UNIT[m.group(0).strip().lstrip("US").lstrip("\\")]
        text = text.strip()
        text = text[: m.start()] + text[m.end() :]
    text = text.replace("\\$", " ").replace("$", " ")
    text = text.replace("\\%", "%")
    text = text.replace("\\langle", "(").replace("\\rangle", ")")
    text = _TEMPERATURE.sub(_temperature, text)
    text = _MATH_THOUSANDS.sub("", text)
    text = _GLUED_QUAD.sub(r"\\\1 ", text)
    text = _DROP.sub(" ", text)
    text = _FRAC_ALIASES.sub("\\\\frac", text)
    text = re.sub(r"\\(?:dbinom|tbinom)(?![a-zA-Z])", r"\\binom", text)
    text = _NUMBER_SETS.sub(lambda m: _SET_NAMES[m.group(1) or m.group(2)] + " ", text)
    text = re.sub(r"\\(?:text|mbox|textrm|textnormal)\s*\{\s*(?:and|or)\s*\}", ", ", text)
    text = _TEXT_WORDS.sub(_text_words, text)
    text = _unwrap(text, _WRAPPERS)
    text = _PERCENT_WORDS.sub("%", text)
    text = _DEGREES.sub(" \\\\degree ", text)
    text = _REPEATING.sub(_repeating, text)
    text = _OVERLINE_NAME.sub(r"\1", text)  # \overline{AB}: a segment's name (0.\overline{3} was read above)
    text = _DERIVATIVE.sub(r"\1'", text)  # \frac{dy}{dx}: y'
    text = _GEOMETRY.sub("", text)  # \angle ABC = 30^\circ: the angle's name is a label
    text = text.strip()
    text = re.sub(r"^\\?\$\s*", "", text)  # a leading currency sign
    text = _APPROX_LEAD.sub("", text)  # "\approx 3.14": the value the model gives
    label = _WORD_LABEL.match(text)
    if label and not _STATEMENT.search(label.group(0)) and label.group(0).split()[0].lower() not in ("not", "wrong"):
        text = text[label.end() :]
    text = _IN_PREFIX.sub("", text)
    compound = _compound_unit(re.sub(r"\s+", " ", text).strip())
    if compound is not None:
        return compound
    text = _CONJUNCTION.sub(", ", text)
    text = re.sub(r",\s*(?:,\s*)+", ", ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"(?<!\.)[.;,]+$|^[;,]+|^\.(?!\d)", "", text).strip()  # sentence punctuation
    if text.startswith("(") and text.endswith(")") and "=" in text and _wraps(text):  # "(35 + 70 = 105)"
        text = text[1:-1].strip()
    unit = None
    for _ in range(3):
        m = _TRAILING_UNIT.search(text)
        if m is None:
            break
        stripped = text[: m.start()].strip()
        if not stripped:
            break
        unit = unit or m.group(1).strip()
        text = stripped
    m = _LETTER_UNIT.match(text)
    if m:
        text, unit = m.group(1), m.group(2)
    words = number_from_words(text) if text[:1].isalpha() else None  # only whole answers: "twenty-five"
    text = words or text
    if _GROUPED.match(text):
        text = text.replace("{,}", "").replace(",", "").replace(" ", "")
    elif _DOT_THOUSANDS.match(text):
        text = text.replace(".", "").replace("'", "")
    elif _SPACED_DECIMAL.match(text):
        text = text.replace(" ", "")
    m = _FRENCH_INTERVAL.match(text)
    if m and (m.group(1), m.group(3)) != ("[", "]"):
        text = ("(" if m.group(1) == "]" else "[") + m.group(2) + (")" if m.group(3) == "[" else "]")
    m = _MIXED_LATEX.match(text) or _MIXED_PLAIN.match(text)
    if m:
        sign, whole, num, den, pct = [g for g in m.groups() if g is not None]
        if int(num) < int(den):
            text = f"{sign}({whole}+\\frac{{{num}}}{{{den}}}){pct}"
    unit = unit or currency
    return text.replace("{,}", ","), (unit if unit and parse_unit(unit) is not None else None)


def normalize(answer: str) -> str:
    """Clean an answer string for the parser (see the module docstring for every rule).

    >>> normalize(r"$\\dfrac{1}{2}\\,\\text{cm}$")
    '\\\\frac{1}{2}'
    >>> normalize("1,000,000.")
    '1000000'
    >>> normalize(r"3\\frac{1}{2}")
    '(3+\\\\frac{1}{2})'
    >>> normalize(r"0.\\overline{3}"), normalize(r"10,\\!000"), normalize("33.5 percent")
    ('\\\\frac{1}{3}', '10000', '33.5%')
    """
    return split_unit(answer)[0]
