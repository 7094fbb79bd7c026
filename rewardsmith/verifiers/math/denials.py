"""Values a text writes but does not assert: denied, qualified, conditional or retracted.

A reward that reads "the answer is 3" must not read "the answer is not 3", "less than 3",
"suppose the answer is 3", "3, which is wrong" or "\\boxed{3} Wait, that's wrong." as 3: each
would pay a model for writing the right number next to words that take it back. Extraction
(`extract.py`) and the multiple-choice reader (`choices.py`) ask these questions of every
path (markers, boxes, option letters, guesses):

- `qualified_before(text, start, end)`: a negation or qualifier just before a value
  ("not", "cannot be", "less than", "at least", "a multiple of", "anything except", "≠");
- `denied_after(text, start, end)`: a denial just after it, in the same clause
  ("…, which is wrong", "… is impossible", "… or more", "… can be ruled out");
- `conditional(text, marker_start)`: a marker inside a conditional or attributed clause
  ("Suppose the answer is 3", "If the answer is 3, then…", "a naive student might think the
  answer is 3");
- `retracted(text)`: a retraction of what came before ("Wait, that's wrong.", "I made a mistake");
- `alternative(text)`: another answer offered after one ("the answer could also be 5").

Each is a bounded regular expression over a short window, so the cost does not grow with the
completion.
"""

from __future__ import annotations

import re

_WINDOW = 80  # characters before / after a value that are read

_NEGATIONS = (
    r"not|never|no\s+longer|nor|neither|cannot|can't|isn't|aren't|wasn't|won't|couldn't|shouldn't|doesn't|don't"
    r"|except|excluding|exclude[sd]?|other\s+than|anything\s+but|rather\s+than|instead\s+of|unlike|besides"
    r"|rules?\s+out|ruled\s+out|eliminate[sd]?|reject(?:s|ed)?"
    r"|(?:less|more|greater|fewer|smaller|larger|bigger|higher|lower)\s+than(?:\s+or\s+equal\s+to)?"
    r"|at\s+(?:least|most)|up\s+to|no\s+(?:more|less|fewer)\s+than|exceeds?|exceeding|beyond"
    r"|between|multiples?\s+of|divisors?\s+of|factors?\s+of|divisible\s+by|nearly|almost|close\s+to"
    r"|pas|non|nicht|kein|keine|não|no\s+es|не"
)
#: a negation or qualifier, then at most two words ("not equal to", "cannot be"), then the value
_BEFORE = re.compile(
    rf"(?:(?<![A-Za-z])(?:{_NEGATIONS})(?![A-Za-z])|n't|[≠<>≤≥]|!=|\\(?:neq?|leq?|geq?|lt|gt|not)(?![a-zA-Z])"
    r"|不是|不等于|不|ليس|غير|لا|नहीं)"
    r"[\W_]*(?:[A-Za-z]+[\W_]+){0,2}$",
    re.IGNORECASE,
)
_AFTER_QUALIFIER = re.compile(
    r"^[\s,]*(?:or\s+(?:more|less|fewer|greater|higher|lower|larger|smaller|above|below|so|thereabouts|fewer)"
    r"|and\s+(?:above|up|over|below|more|less)|at\s+(?:least|most)|(?:is|was)\s+not\b|isn't\b|n'est\s+pas)",
    re.IGNORECASE,
)
_DENIAL_WORDS = (
    r"wrong|incorrect|impossible|invalid|false|ruled\s+out|excluded|rejected|eliminated|a\s+contradiction"
    r"|(?:does\s+not|doesn't|did\s+not|didn't)\s+work|fails?|a\s+mistake|an\s+error|not\s+(?:correct|right|valid"
    r"|possible|true|it|the\s+answer|an?\s+(?:answer|option|solution))|too\s+(?:big|large|small|high|low|many|few|much"
    r"|little)|faux|falsch|erróneo|incorrecto|错误|不对|不正确|خطأ|गलत"
)
_DENIAL = re.compile(rf"(?<![A-Za-z])(?:{_DENIAL_WORDS})(?![A-Za-z])", re.IGNORECASE)
_STARTS_NEGATED = re.compile(r"\W*(?:not|none\s+of)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;!?。；\n]|,\s*(?:so|hence|thus|therefore)\b", re.IGNORECASE)

_NEGATION = re.compile(
    r"(?<![A-Za-z])(?:not|never|cannot|neither|nor|except|rules?\s+out|ruled\s+out|eliminate[sd]?|exclude[sd]?"
    r"|non|pas|nicht|kein|keine|не)(?![A-Za-z])|n't|不是|不|ليس|नहीं",
    re.IGNORECASE,
)
_SENTENCE_START = re.compile(r"[.;!?。；\n]")
_CLAUSE_PUNCT = re.compile(r"[,.;:!?。，；]")

_MODALS = re.compile(r"(?<![A-Za-z])(?:might|may|could)(?![A-Za-z])", re.IGNORECASE)
_CONDITIONS = (
    r"if|suppose|supposing|assume|assuming|assumed|whether|unless|naive|naively|wrongly"
    r"|mistakenly|incorrectly|erroneously|claims?|claimed|pretend|hypothetically|let's\s+say|let\s+us\s+say"
    r"|what\s+if|even\s+if|si|supposons|angenommen|wenn|falls|假设|如果|若|إذا|لو|यदि|अगर"
)
_CONDITION = re.compile(rf"(?<![A-Za-z])(?:{_CONDITIONS})(?![A-Za-z])", re.IGNORECASE)
#: where the clause that holds a marker begins: punctuation, or "but" ("…might be wrong but the answer is 3")
_CLAUSE_START = re.compile(r"[.;:!?,。，；\n]|\bbut\b|\bthen\b", re.IGNORECASE)

_ALTERNATIVE = re.compile(
    r"\b(?:could|might|may|can)\s+also\s+be\s+(?!written|expressed|simplified|rewritten|shown|seen|checked|verified"
    r"|obtained|found|computed|derived|confirmed|solved)"
    r"|\balternatively,?\s+(?:the\s+answer|it)\s+(?:is|could\s+be|might\s+be|may\s+be)\b"
    r"|^[\s$.,)}]*\(?\s*or\s+(?:maybe|perhaps|possibly)\b",
    re.IGNORECASE,
)
_RETRACTION = re.compile(
    r"\b(?:wait|hmm+|oops|no)\b[\s,.!:]*(?:that|this|it)(?:'s|\s+is|\s+was)\s+(?:wrong|incorrect|not\s+(?:right|correct))"
    r"|\b(?:that|this|the\s+(?:above|previous)\s+answer|my\s+(?:previous\s+)?answer)\s*(?:'s|\s+is|\s+was)\s+"
    r"(?:(?:definitely|clearly|actually|probably|still)\s+)?(?:wrong|incorrect|not\s+(?:right|correct))\b"
    r"|\bI\s+made\s+an?\s+(?:mistake|error)\b|\blet\s+me\s+(?:redo|recompute|recalculate|start\s+over|try\s+again)\b",
    re.IGNORECASE,
)


def alternative(text: str) -> bool:
    """Whether `text` (what follows an answer) offers another one: "the answer could also be 5",
    "Alternatively, the answer is 5", "or perhaps 5" (a hedge, not a second way to write it)."""
    return _ALTERNATIVE.search(text[:300]) is not None


def qualified_before(text: str, start: int, end: int) -> bool:
    """Whether text[start:end], the words just before a value, deny or qualify it ("not", "≠", "at least")."""
    return _BEFORE.search(text, max(start, end - _WINDOW), end) is not None


def negated_clause(text: str, start: int, end: int) -> bool:
    """Whether the clause that ends at `end` (from its last comma or full stop after `start`) holds a
    negation anywhere: "it doesn't make sense for it to be A" denies A."""
    clause = _CLAUSE_PUNCT.split(text[max(start, end - _WINDOW) : end])[-1]
    return _NEGATION.search(clause) is not None


def denied_after(text: str, start: int, end: int) -> bool:
    """Whether the words after a value (text[start:end], cut at the end of its clause) deny or qualify it:
    "4, which is wrong", "4 is impossible", "3 or more", "D is not correct"."""
    window = text[start : min(end, start + _WINDOW)]
    if _AFTER_QUALIFIER.match(window):
        return True
    stop = _CLAUSE_END.search(window)
    return _DENIAL.search(window[: stop.start()] if stop else window) is not None


def denies(text: str) -> bool:
    """Whether a short text says that something is wrong ("The answer is wrong", "incorrect")."""
    return _DENIAL.search(text[:_WINDOW]) is not None or _STARTS_NEGATED.match(text) is not None


def conditional(text: str, marker_start: int, floor: int = 0, modals: bool = True) -> bool:
    """Whether the clause that holds an answer marker (or a value) at `marker_start`, not reaching back
    before `floor`, is a condition or another's claim: "Suppose the answer is 3", "If the answer is 3,
    then", "one might think the answer is 3". `modals=False` lets "might"/"could" pass: "it might be 3"
    is the model's own (hedged) value, graded as written."""
    begin = max(floor, marker_start - 100)
    clause_start = begin
    for m in _CLAUSE_START.finditer(text, begin, marker_start):
        clause_start = m.end()
    if _CONDITION.search(text, clause_start, marker_start) is not None:
        return True
    return modals and _MODALS.search(text, clause_start, marker_start) is not None


def counterfactual(text: str, marker: re.Match[str]) -> bool:
    """Whether a marker in the conditional mood follows a condition in its sentence: "If the question
    meant pairs, the answer would be 5" (the comma would otherwise end the condition)."""
    if "would" not in marker.group(0).lower():
        return False
    begin = max(0, marker.start() - 150)
    start = max((m.end() for m in _SENTENCE_START.finditer(text, begin, marker.start())), default=begin)
    return _CONDITION.search(text, start, marker.start()) is not None


def retracted(text: str) -> bool:
    """Whether `text` (what follows an answer) takes it back: "Wait, that's wrong.", "I made a mistake"."""
    return _RETRACTION.search(text[:400]) is not None
