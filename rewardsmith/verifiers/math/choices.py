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

_LETTERED = re.compile(r"^\s*\(?([A-Z])\s*[).:：]\s*(.*)$", re.DOTALL)
#: a letter at the start of an answer: "(D) Alina", "D) Alina", "D. because", "D Alina", "\textbf{(D) }15"
_LEADING = re.compile(
    r"^\s*(?:(?i:option|choice)\s*[:：]?\s*)?\(?\s*([A-Z])\s*"
    r"(?:[).,:：。}]|$|\s+(?=[A-Z0-9\\$(])|(?=[^\x00-\x7f]))"
)
_WRAPPERS = re.compile(r"\\(?:textbf|text|mathrm|mathbf|textrm|mbox)\s*\{([^{}]*)\}")
_STANDALONE = re.compile(r"(?<![A-Za-z\\])\(?([A-Z])\)?(?![A-Za-z])")
_MORE_LETTERS = re.compile(r"\s*(?:[,/&]|\bor\b|\band\b)?\s*\(?[A-Z]\)?\s*(?:[,.)/&]|\bor\b|\band\b|$)")
_ARTICLE = re.compile(r"[AI]\s+(?!(?:or|and|nor)\b)[a-z]")  # "A careful check", "I think": English words, not options


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


def leading_letter(text: str, choices: Choices) -> str | None:
    """The letter an answer starts with: "(D) Alina", "D.", "Option D", "\\textbf{(D) }15"."""
    if "\\" in text:
        text = _WRAPPERS.sub(r"\1 ", text)
    text = text.replace("$", " ").strip()
    m = _LEADING.match(text)
    if m is None or m.group(1) not in choices.letters:
        return None
    if _MORE_LETTERS.match(text, m.end()):  # "A, B, C, D" or "A or B" names no single option
        return None
    return m.group(1)


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
    """The last option letter standing alone in prose ("…therefore I think it's B"): a guess.

    None when the prose lists the options ("A, B, C or D?") or hedges ("A or B"): no choice is made.
    """
    found = [
        m for m in _STANDALONE.finditer(text) if m.group(1) in choices.letters and not _ARTICLE.match(text, m.start(1))
    ]
    if not found or len({m.group(1) for m in found}) >= 3:
        return None
    if len(found) >= 2 and re.fullmatch(
        r"\)?\s*(?:,|or|and|/)\s*\(?", text[found[-2].end(1) : found[-1].start(1)], re.I
    ):
        return None
    return found[-1].group(1)
