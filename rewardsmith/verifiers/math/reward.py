"""The `math` and `math_equal` presets: the pipeline stages wired into Rewards.

Both are kind "cpu" with a default 5 s hard limit per item: `score_batch` runs them in the
core's killable worker processes, and a single `score()` outside a worker runs the SymPy
stage in a forked child that is killed at the deadline. Running out of time is status
`timeout` with value 0.0 (a model that writes 10^{10^{10}} is not rewarded for it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.verifiers.math.choices import Choices, leading_letter, parse_choices, reference_letter
from rewardsmith.verifiers.math.config import DEFAULT_PRIORITY, EquivalenceConfig, ExtractionConfig
from rewardsmith.verifiers.math.extract import Extraction, extract_answer, extract_reference
from rewardsmith.verifiers.math.pipeline import Check, quick_check, verify

_GOLD_MARKERS = re.compile(r"\\boxed|\\fbox|####|<answer>|answer", re.IGNORECASE)
_CHOICE_FIELDS = ("choices", "options")
Convention = Literal["lenient", "strict"]


_QUICK_MAX_CHARS = 4000


class _NeedsSympy(Exception):
    """The quick stage cannot decide this answer."""


def reference_answer(gold: object) -> str:
    """The answer inside a reference: a worked solution (`\\boxed{}`, `####`, "The answer is") is
    reduced to it (maths spans joined by words, "$1$ and $2$", are read as one list later).

    >>> reference_answer(r"so the total is $\\boxed{14{,}916}$.")
    '14{,}916'
    >>> reference_answer("Natalia sold 48+24 = 72 clips.\\n#### 72")
    '72'
    """
    text = str(gold).strip()
    if _GOLD_MARKERS.search(text):
        found = extract_reference(text)
        if found is not None:
            return found
    return text


def _priority(value: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p for p in re.split(r"[\s,+|\[\]]+", value) if p)
    return tuple(value)


class MathVerifier(Reward):
    """1.0 when the answer in the completion equals the reference `answer`, else 0.0."""

    kind = "cpu"

    def __init__(
        self,
        *,
        extraction: ExtractionConfig | None,
        equivalence: EquivalenceConfig,
        field: str,
        timeout: float | None,
        name: str,
    ) -> None:
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"{name}: timeout must be a positive number of seconds (or None), got {timeout!r}")
        self.extraction, self.equivalence = extraction, equivalence
        self.field, self.timeout, self.name = field, timeout, name

    def _references(self, sample: Sample) -> list[str]:
        gold = sample.get(self.field)
        if gold is None:
            raise InputError(
                f"{self.name}: the sample has no {self.field!r}; add a {self.field!r} column with the reference answer"
            )
        golds = gold if isinstance(gold, (list, tuple)) else [gold]
        return [reference_answer(g) for g in golds]

    def _choices(self, sample: Sample) -> Choices | None:
        for key in _CHOICE_FIELDS:
            value = sample.get(key)
            if value is not None:
                return parse_choices(value, field=f"{self.name}: {key}")
        return None

    def _prediction(self, sample: Sample, choices: Choices | None) -> Extraction | None:
        if self.extraction is None:
            text = sample.text.strip()
            return Extraction(text, "as_is") if text else None
        prompt = sample.prompt if isinstance(sample.prompt, str) else None
        return extract_answer(sample.text, self.extraction, prompt=prompt, choices=choices)

    def _verify(self, gold: str, answer: str, quick: bool) -> Check:
        if not quick:
            return verify(gold, answer, self.equivalence, timeout=self.timeout)
        found = quick_check(gold, answer, self.equivalence)
        if found is None:
            raise _NeedsSympy
        return found

    def _check(self, gold: str, answer: str, choices: Choices | None, quick: bool = False) -> Check:
        if choices is not None:
            letter = reference_letter(gold, choices)
            if letter is not None:
                return self._choice_check(letter, answer, choices, quick)
        return self._verify(gold, answer, quick)

    def _choice_check(self, letter: str, answer: str, choices: Choices, quick: bool = False) -> Check:
        """A letter answers by its letter; an option's text ("15" for D) answers by value."""
        got = leading_letter(answer, choices)
        if got is not None:
            return Check(got == letter, "choice", letter, got)
        option = choices.text_of(letter)
        if option:
            check = self._verify(option, answer, quick)
            if check.status == S.TIMEOUT:
                return check
            return Check(check.equal, "choice_text+" + check.rule, f"{letter}: {option}", check.pred)
        return Check(False, "choice", letter, answer[:200])

    def _quick_score(self, sample: Sample) -> Score | None:
        """The answer decided without SymPy (plain numbers, letters, same text), in the caller's process;
        None when it needs the parser and SymPy, which run in the killable pool. A long completion goes
        to the pool too: the quick stage has no deadline, so it only takes what is cheap for certain."""
        if len(sample.text) > _QUICK_MAX_CHARS:
            return None
        try:
            return self._score(sample, quick=True)
        except _NeedsSympy:
            return None

    def _score(self, sample: Sample, quick: bool = False) -> Score:
        golds = self._references(sample)
        choices = self._choices(sample)
        found = self._prediction(sample, choices)
        if found is None:
            looked = ", ".join(self.extraction.priority) if self.extraction else "the completion"
            return Score(0.0, f"no final answer found (looked for: {looked})", S.NO_ANSWER, {"extracted": None})
        details: dict[str, object] = {
            "extracted": found.answer[:500],
            "extraction_rule": found.rule,
            "guessed": found.guessed,
        }
        last: Check | None = None
        for gold in golds:
            last = self._check(gold, found.answer, choices, quick)
            if last.status == S.TIMEOUT:
                details.update(last.details(), answer=gold)
                return Score(
                    0.0,
                    f"comparing {found.answer[:60]!r} with {gold[:60]!r} ran past {self.timeout:g} s",
                    S.TIMEOUT,
                    details,
                )
            if last.equal:
                details.update(last.details(), answer=gold)
                return Score(1.0, f"{found.answer[:60]!r} equals {gold[:60]!r} ({last.rule})", S.OK, details)
        assert last is not None
        details.update(last.details(), answer=golds[-1] if len(golds) == 1 else golds)
        status = S.ERROR if last.status == S.ERROR else S.WRONG
        wanted = " or ".join(repr(g[:60]) for g in golds)
        return Score(0.0, f"{found.answer[:60]!r} does not equal {wanted} ({last.rule})", status, details)


_EQUIVALENCE_OPTIONS: tuple[str, ...] = (
    "rel_tol",
    "abs_tol",
    "percent",
    "degrees",
    "sets",
    "intervals",
    "imaginary",
    "units",
)
_EQUIVALENCE_OPTIONS += ("text", "symbolic", "choices")


def _equivalence(options: dict[str, object]) -> EquivalenceConfig:
    """The factory's equivalence options (its locals) as a config; strict drops the comma reading."""
    picked = {k: options[k] for k in _EQUIVALENCE_OPTIONS}
    return EquivalenceConfig(decimal_comma=not options["strict"], **picked)  # type: ignore[arg-type]


def math_answer(
    *,
    field: str = "answer",
    strict: bool = False,
    priority: str | list[str] = ",".join(DEFAULT_PRIORITY),
    prefer: Literal["last", "priority"] = "last",
    bare: bool = True,
    rel_tol: float = 1e-12,
    abs_tol: float = 0.0,
    percent: Convention = "lenient",
    degrees: Convention = "lenient",
    sets: Convention = "lenient",
    intervals: Convention = "lenient",
    imaginary: Literal["i", "j", "both"] = "i",
    units: Literal["convert", "ignore"] = "convert",
    text: Convention = "lenient",
    symbolic: bool = True,
    choices: bool = True,
    timeout: float | None = 5.0,
    name: str = "math",
) -> Reward:
    """Extract the final answer from the completion and compare it with the sample's `answer`.

    Extraction: the explicit answer written last wins (`prefer="last"`; `"priority"` follows the
    `priority` order): the last `\\boxed{}` (boxes joined by "and" are one list), `<answer>` tags,
    "the answer is …" / "Final Answer:" / "Réponse :" / "答案：" …, GSM8K's `#### 42`; a short
    one-line completion that is maths is its own answer (`bare`). With nothing explicit, the
    answer is *guessed* from the prose (the value of the final sentence, a bold `**92**`, on a
    multiple-choice row an option letter); `details["guessed"]` and `extraction_rule` say so,
    and `strict=True` turns guessing off (and the "1,5 may be 1.5" reading). No answer: 0.0,
    status `no_answer`. The sample's `prompt` keeps a guess out of sentences that restate it.

    A row with a `choices` (or `options`) column is multiple-choice: the reference letter (or
    option text) is matched by the letter, `\\textbf{(D) }15`, or the option's text.

    A reference that is a worked solution is reduced to its `\\boxed{}`/`####` answer; a list of
    references accepts any of them.

    Numbers: exact values compare exactly; a decimal reference sets the precision ("0.33" accepts
    1/3, "2.7" rejects 2.72); a decimal for an exact reference must be within `rel_tol` (1e-12) or
    `abs_tol` (0): 3.14159 is not \\pi. Conventions, each an option with a documented default
    (docs/math.md): `percent` ("60%" matches 0.6 and 60), `degrees` (45° matches 45 and π/4),
    `sets` ({2} matches 2), `intervals` (|x| < 2 matches (-2, 2)), `imaginary` ("i"), `units`
    (3 hours matches 180 minutes), `text` ("DNE" matches "does not exist"). "x = 3" is 3;
    "(B)" is "B"; `(1, 2)` is an ordered pair or an open interval; lists and sets are order-free.
    Every decision and the rule that made it are in the Score's details.

    >>> r = math_answer()
    >>> r.score({"completion": r"... so the area is \\boxed{\\dfrac{\\pi}{2}}.", "answer": "pi/2"}).value
    1.0
    >>> r.score({"completion": "Natalia sold 72 clips.\\n#### 72", "answer": "72"}).details["extraction_rule"]
    'gsm8k'
    >>> s = r.score({"completion": "所以一共有3 + 10 = 13只鸟。", "answer": "13"})
    >>> s.value, s.details["extraction_rule"], s.details["guessed"]
    (1.0, 'last_number', True)
    >>> math_answer(strict=True).score({"completion": "So the result is 15.\\nDone.", "answer": "15"}).status
    'no_answer'
    >>> r.score({"completion": "I think it's B", "answer": "B", "choices": "ABCD"}).value
    1.0
    """
    extraction = ExtractionConfig(priority=_priority(priority), prefer=prefer, guess=not strict, bare=bare)
    equivalence = _equivalence(locals())
    return MathVerifier(extraction=extraction, equivalence=equivalence, field=field, timeout=timeout, name=name)


def math_equal(
    *,
    field: str = "answer",
    strict: bool = False,
    rel_tol: float = 1e-12,
    abs_tol: float = 0.0,
    percent: Convention = "lenient",
    degrees: Convention = "lenient",
    sets: Convention = "lenient",
    intervals: Convention = "lenient",
    imaginary: Literal["i", "j", "both"] = "i",
    units: Literal["convert", "ignore"] = "convert",
    text: Convention = "lenient",
    symbolic: bool = True,
    choices: bool = True,
    timeout: float | None = 5.0,
    name: str = "math_equal",
) -> Reward:
    """Compare two answer strings: the whole completion *is* the answer (no extraction).

    For datasets that already hold extracted answers, or for grading a column against
    another. The same equivalence rules, options and policies as the `math` preset.

    >>> math_equal().score({"completion": r"\\frac{\\sqrt{3}}{2}", "answer": r"\\sqrt{3}/2"}).value
    1.0
    >>> math_equal().score({"completion": "[1, 2)", "answer": "[1, 2]"}).details["rule"]
    'interval_ends_open_closed'
    """
    equivalence = _equivalence(locals())
    return MathVerifier(extraction=None, equivalence=equivalence, field=field, timeout=timeout, name=name)
