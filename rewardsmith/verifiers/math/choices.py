"""Multiple-choice answers: the row's options, the reference letter, the letter a model chose.

A row is multiple-choice when it says so: a `choices` (or `options`) column holding the option
texts (`["12", "13", "14", "15"]`, `["A) 12", "B) 13"]`, `{"A": "12", ...}`) or just the letters
(`"ABCD"`). Then the reference may be a letter (`D`, `(D)`, `(D) Alina`, `D Alina`) or an option's
text, and a completion is right when it names the letter (`\\textbf{(D) }15`, `D.`, `Option D`)
or writes the option's text. Finding a letter in free prose ("I think it's B") is a guess: the
rule that fired says so and `strict=True` turns it off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rewardsmith.core.errors import InputError
from rewardsmith.verifiers.math.denials import denied_after, negated_clause, qualified_before

_LETTERED = re.compile(r"^\s*\(?([A-Z])\s*[).:：]\s*(.*)$", re.DOTALL)
#: a letter at the start of an answer: "(D) Alina", "D) Alina", "D. because", "D Alina", "\textbf{(D) }15"
_LEADING = re.compile(
    r"^\s*(?:(?i:option|choice)\s*[:：]?\s*)?\(?\s*([A-Z])\s*"
    r"(?:[).,:：。}]|$|\s+(?=[A-Z0-9\\$(])|(?=[^\x00-\x7f]))"
)
_LONE_LOWER = re.compile(r"\s*(?:(?i:option|choice)\s*[:：]?\s*)?\(?([a-z])\)?[.。]?\s*")  # "(d)", "d."
_WRAPPERS = re.compile(r"\\(?:textbf|text|mathrm|mathbf|textrm|mbox)\s*\{([^{}]*)\}")
_STANDALONE = re.compile(r"(?<![A-Za-z\\])\(?([A-Z])\)?(?![A-Za-z'’])")
#: "A careful check", "I think", "A 45-degree turn": English words, not options
_ARTICLE = re.compile(r"[AI]\s+(?!(?:or|and|nor)\b)(?:[a-z]|\d+-[a-z])")
#: what may stand between two letters named together: "A or B", "A, B and C", "D (or C)", "D, maybe C"
_LETTER_JOIN = re.compile(
    r"[\s,/&()（）]*(?:(?:or|and|nor|maybe|perhaps|possibly|probably|either|also|then|ou|et|oder|und|o|y|или|и)"
    r"(?![A-Za-z])[\s,/&()（）]*|或|和|与|أو|या)*",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[.!?。！？\n]+(?=\s|$)|[。！？\n]")


@dataclass(frozen=True, slots=True)
class Letter:
    """An option letter named in a text, and whether the text denies it ("not D", "D is wrong")."""

    letter: str
    start: int
    end: int
    negated: bool


@dataclass(frozen=True, slots=True)
class Choices:
    """The options of a multiple-choice row: letters in order, and their texts when known."""

    letters: str
    texts: tuple[str, ...] = ()

    def text_of(self, letter: str) -> str | None:
        i = self.letters.find(letter)
        return self.texts[i] if 0 <= i < len(self.texts) and self.texts[i] else None


def parse_choices(value: object, *, field: str = "choices") -> Choices | None:
    """The row's options, or None when the row is not multiple-choice.

    >>> parse_choices("ABCD")
    Choices(letters='ABCD', texts=())
    >>> parse_choices(["A) 12", "B) 13"])
    Choices(letters='AB', texts=('12', '13'))
    """
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        letters = re.sub(r"[\s,]", "", value).upper()
        if letters.isalpha() and len(set(letters)) == len(letters) <= 26:
            return Choices(letters)
        raise InputError(f"{field}: give the option letters ('ABCD') or a list of option texts, got {value!r}")
    if isinstance(value, Mapping):
        keys = [str(k).strip().upper() for k in value]
        if not all(len(k) == 1 and k.isalpha() for k in keys):
            raise InputError(f"{field}: the keys of a choices mapping must be letters, got {list(value)}")
        return Choices("".join(keys), tuple(str(v).strip() for v in value.values()))
    if isinstance(value, Sequence):
        texts = [str(v) for v in value]
        if len(texts) > 26:
            raise InputError(f"{field}: at most 26 options, got {len(texts)}")
        lettered = [_LETTERED.match(t) for t in texts]
        if all(lettered) and [m.group(1) for m in lettered if m] == [chr(65 + i) for i in range(len(texts))]:
            return Choices("".join(m.group(1) for m in lettered if m), tuple(m.group(2).strip() for m in lettered if m))
        return Choices("".join(chr(65 + i) for i in range(len(texts))), tuple(t.strip() for t in texts))
    raise InputError(f"{field}: expected a list of options, a mapping or letters, got {type(value).__name__}")


def named_letters(text: str, choices: Choices) -> list[Letter]:
    """Every option letter standing alone in `text` (not "A" or "I" as an English word), each marked
    negated when the words around it deny it: "not D", "it can't be A or B", "A, B and C are wrong"."""
    found = [
        m for m in _STANDALONE.finditer(text) if m.group(1) in choices.letters and not _ARTICLE.match(text, m.start(1))
    ]
    negated = []
    for i, m in enumerate(found):
        before = found[i - 1].end() if i else 0
        after = found[i + 1].start() if i + 1 < len(found) else len(text)
        negated.append(
            qualified_before(text, before, m.start())
            or negated_clause(text, before, m.start())
            or denied_after(text, m.end(), after)
        )
    for i in range(1, len(found)):  # "not A or B": a negation reaches the letters joined to its own
        if negated[i - 1] and _LETTER_JOIN.fullmatch(text, found[i - 1].end(), found[i].start()):
            negated[i] = True
    for i in range(len(found) - 2, -1, -1):  # "A, B and C are wrong"
        if negated[i + 1] and _LETTER_JOIN.fullmatch(text, found[i].end(), found[i + 1].start()):
            negated[i] = True
    return [Letter(m.group(1), m.start(), m.end(), neg) for m, neg in zip(found, negated, strict=True)]


def chosen_letter(text: str, choices: Choices) -> str | bool | None:
    """The one option letter a short answer names; False when it names none for certain (two or more
    letters: a hedge or a list of options; a letter both named and denied); None when it names no
    letter, or only denied ones ("not D": the rest of the answer is then read as words)."""
    letters = named_letters(text, choices)
    named = {x.letter for x in letters if not x.negated}
    if named & {x.letter for x in letters if x.negated}:  # "D, or not D": it says both
        return False
    if len(named) == 1:
        return named.pop()
    if named:
        return False
    if letters:  # only denied letters ("not D", "15 (not A)"): the words decide what else is said
        return None
    m = _LONE_LOWER.fullmatch(text)
    return m.group(1).upper() if m and m.group(1).upper() in choices.letters else None


def leading_letter(text: str, choices: Choices) -> str | None:
    """The letter an answer starts with ("(D) Alina", "D.", "Option D", "\\textbf{(D) }15", "(d)"), when
    it names no other option: "A or B", "D (or C)", "(A) (B) (C) (D)" name none."""
    if "\\" in text:
        text = _WRAPPERS.sub(r"\1 ", text)
    text = text.replace("$", " ").strip()
    m = _LEADING.match(text)
    if m is None or m.group(1) not in choices.letters:
        lone = _LONE_LOWER.fullmatch(text)
        return lone.group(1).upper() if lone and lone.group(1).upper() in choices.letters else None
    if _ARTICLE.match(text, m.start(1)):
        return None
    others = {x.letter for x in named_letters(text[m.end() :], choices) if not x.negated}
    return m.group(1) if others <= {m.group(1)} else None


def reference_letter(gold: str, choices: Choices) -> str | None:
    """The letter a reference names: a letter, "(D) Alina", an option's text, "the answer is (C)"."""
    from rewardsmith.verifiers.math.prose import MARKER

    text = gold.strip()
    for i, option in enumerate(choices.texts):
        if option and option.strip().lower() == text.lower():
            return choices.letters[i]
    letter = leading_letter(text, choices)
    if letter:
        return letter
    marks = list(MARKER.finditer(text))
    if marks:
        return leading_letter(text[marks[-1].end() :], choices)
    return None


def last_letter(text: str, choices: Choices) -> str | None:
    """The option letter a prose conclusion names ("…therefore I think it's B"): a guess.

    None when the prose names three or more options it does not deny ("A, B, C or D?", an echoed
    list of options), or when its last sentence that names a letter names two ("A or B").
    """
    letters = [x for x in named_letters(text, choices) if not x.negated]
    if not letters or len({x.letter for x in letters}) >= 3:
        return None
    bounds = [m.end() for m in _SENTENCE.finditer(text)]
    last = letters[-1]
    begin = max([b for b in bounds if b <= last.start], default=0)
    if len({x.letter for x in letters if x.start >= begin}) > 1:
        return None
    return last.letter
