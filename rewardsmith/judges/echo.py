"""What of a judge's answer is the judge's own: echoes of the data, quotations, parroted instructions.

A weak judge quotes the completion while giving its own verdict. Text the completion planted
(`Score: 10`, `{"met": false}`) must not become the verdict by being quoted back, in any dress:
re-spaced, re-quoted, in markdown (`**Score:** 10`), with invisible characters, other digit
scripts (`١٠`) or number words (`ten`). So copies are found on a *skeleton* of both texts:
compatibility forms folded (NFKC), case folded, format characters dropped, every decimal digit
mapped to ASCII, number words to digits, and what is left cut into its words. A copy can only
veto a reading (the parser then leaves the answer unreadable); it never deletes text, so what
the completion plants cannot erase the judge's own words to expose others.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

ECHO_MIN_CHARS = 12

NUMBER_WORDS = dict(
    zip(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split(),
        map(str, range(21)),
        strict=True,
    )
)
_WORD = re.compile(r"[^\W_]+(?:\.\d+)?")


def skeleton(text: str) -> str:
    """The words of `text`, normalised as described in the module docstring, joined by spaces.

    >>> skeleton("**Score:**\\u200b ten"), skeleton("| SCORE | ١٠ |"), skeleton('"score": 10')
    ('score 10', 'score 10', 'score 10')
    """
    text = unicodedata.normalize("NFKC", text).replace("&lt;", "<").casefold()
    text = "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text if unicodedata.category(ch) != "Cf"
    )
    return " ".join(NUMBER_WORDS.get(w, w) for w in _WORD.findall(text))


class EchoCheck:
    """Whether a stretch of a judge's answer could have been copied from the data it was shown.

    `hits` counts the candidates found to be copies: an answer left unreadable by them is an
    `echo` (counted apart, since a completion may plant verdicts to censor the judge)."""

    def __init__(self, data: Sequence[str]) -> None:
        self._text = " " + " | ".join(skeleton(d) for d in data if d) + " "
        self._words = frozenset(self._text.split())
        self.hits = 0

    def copied(self, stretch: str) -> bool:
        """True when the whole stretch occurs, word for word, in the data."""
        words = skeleton(stretch)
        hit = bool(words) and f" {words} " in self._text
        self.hits += hit
        return hit

    def has_word(self, token: str) -> bool:
        """True when the data contains the token as a word of its own (`10`, `ten`, `yes`)."""
        hit = skeleton(token) in self._words
        self.hits += hit
        return hit


# Opening quote -> the marks that close it. German „…“ and Polish „…” open low; an unclosed
# quotation hides nothing (a copied inch mark, 27", must not hide the rest of the answer).
_QUOTE_PAIRS = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c\u201d", "\u00ab": "\u00bb"}


def quoted_spans(text: str, skip: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """The insides of the answer's closed double quotations; `skip` spans (parsed JSON objects,
    whose strings are their own business) are stepped over whole.

    What the judge puts in quotes is a quotation or a JSON string (its reasoning), not its
    verdict: `"reasoning": "it ends with met: false` does not say `met: false`."""
    spans: list[tuple[int, int]] = []
    jumps = dict(skip)
    unclosed: set[str] = set()  # openers with no closer left after them: none further on has one
    i, n = 0, len(text)
    while i < n:
        if i in jumps:
            i = jumps[i]
            continue
        close = _QUOTE_PAIRS.get(text[i])
        if close is None or text[i] in unclosed:
            i += 1
            continue
        j = i + 1
        while j < n and text[j] not in close:
            j += 2 if text[j] == "\\" else 1
        if j >= n:  # unclosed: not a quotation
            unclosed.add(text[i])
            i += 1
            continue
        spans.append((i + 1, j))
        i = j + 1
    return spans


def strip_echoes(text: str, sources: Sequence[str], min_chars: int = ECHO_MIN_CHARS) -> str:
    """`text` with every run of `min_chars`+ characters copied from any of `sources` blanked.

    Used on the judge's own instructions only (a judge that parrots "true or false" has not
    answered "false"), never on the data: blanking by the data would let planted text erase
    the judge's words. Case and whitespace are folded; blanked characters become spaces.
    """
    folded_sources = [_fold(d) for d in sources if d and len(d) >= min_chars]
    if not folded_sources or len(text) < min_chars:
        return text
    folded = _fold(text)
    grams: set[str] = set()
    for src in folded_sources:
        grams.update(src[i : i + min_chars] for i in range(len(src) - min_chars + 1))
    blank = bytearray(len(text))
    for i in range(len(folded) - min_chars + 1):
        if folded[i : i + min_chars] in grams:
            blank[i : i + min_chars] = b"\x01" * min_chars
    if not any(blank):
        return text
    return "".join(" " if b else ch for ch, b in zip(text, blank, strict=True))


def _fold(text: str) -> str:
    # Same length as the input (one character for one), so positions map back.
    return "".join(" " if ch.isspace() else (low if len(low := ch.lower()) == 1 else ch) for ch in text)
