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
from rewardsmith.verifiers.math.config import DEFAULT_PRIORITY, EquivalenceConfig, ExtractionConfig
from rewardsmith.verifiers.math.extract import Extraction, extract_answer
from rewardsmith.verifiers.math.pipeline import Check, verify

_GOLD_MARKERS = re.compile(r"\\boxed|\\fbox|####|<answer>")
_GOLD_EXTRACTION = ExtractionConfig(priority=("boxed", "answer_tag", "gsm8k"), bare=False)


def reference_answer(gold: object) -> str:
    """The answer inside a reference: a full worked solution (`\\boxed{}`, `####`) is reduced to it."""
    text = str(gold).strip()
    if _GOLD_MARKERS.search(text):
        found = extract_answer(text, _GOLD_EXTRACTION)
        if found is not None:
            return found.answer
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

    def _prediction(self, sample: Sample) -> Extraction | None:
        if self.extraction is None:
            text = sample.text.strip()
            return Extraction(text, "as_is") if text else None
        return extract_answer(sample.text, self.extraction)

    def _score(self, sample: Sample) -> Score:
        golds = self._references(sample)
        found = self._prediction(sample)
        if found is None:
            looked = ", ".join(self.extraction.priority) if self.extraction else "the completion"
            return Score(0.0, f"no final answer found (looked for: {looked})", S.NO_ANSWER, {"extracted": None})
        details: dict[str, object] = {"extracted": found.answer[:500], "extraction_rule": found.rule}
        last: Check | None = None
        for gold in golds:
            last = verify(gold, found.answer, self.equivalence, timeout=self.timeout)
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


def _equivalence(rel_tol: float, percent: str, symbolic: bool, choices: bool) -> EquivalenceConfig:
    return EquivalenceConfig(rel_tol=rel_tol, percent=percent, symbolic=symbolic, choices=choices)


def math_answer(
    *,
    field: str = "answer",
    priority: str | list[str] = ",".join(DEFAULT_PRIORITY),
    last_number: bool = False,
    bare: bool = True,
    rel_tol: float = 1e-6,
    percent: Literal["lenient", "strict"] = "lenient",
    symbolic: bool = True,
    choices: bool = True,
    timeout: float | None = 5.0,
    name: str = "math",
) -> Reward:
    """Extract the final answer from the completion and compare it with the sample's `answer`.

    Extraction (`priority`, first rule that finds something wins): the last `\\boxed{}`,
    `<answer>` tags, "the answer is …", GSM8K's `#### 42`; `last_number=True` adds the last
    number in the text as a final fallback (off: it rewards any number written last). A short
    one-line completion is its own answer (`bare`). No answer found: 0.0, status `no_answer`.

    A reference that is a worked solution is reduced to its `\\boxed{}`/`####` answer; a list of
    references accepts any of them.

    Ambiguous answers, decided on purpose: "60%" matches 0.6 and 60 (`percent="strict"`:
    only 0.6), but 60 does not match 0.6; a decimal reference sets the precision ("0.33"
    accepts 1/3); an exact reference only accepts decimals within `rel_tol` (1/3 rejects
    0.333); "x = 3" is 3; "(B)" is "B"; units, `^\\circ` and `\\text{}` are dropped; `(1, 2)`
    is an ordered pair or an open interval, `{1, 2}` and "1, 2" are order-free. Every decision
    and the rule that made it are in the Score's details (`rule`, `extracted`, normalized forms).

    >>> r = math_answer()
    >>> r.score({"completion": r"... so the area is \\boxed{\\dfrac{\\pi}{2}}.", "answer": "pi/2"}).value
    1.0
    >>> r.score({"completion": "Natalia sold 72 clips.\\n#### 72", "answer": "72"}).details["extraction_rule"]
    'gsm8k'
    >>> r.score({"completion": "I could not solve it, sorry.\\nNo idea.", "answer": "72"}).status
    'no_answer'
    """
    order = _priority(priority)
    if last_number and "last_number" not in order:
        order = (*order, "last_number")
    extraction = ExtractionConfig(priority=order, bare=bare)
    return MathVerifier(
        extraction=extraction,
        equivalence=_equivalence(rel_tol, percent, symbolic, choices),
        field=field,
        timeout=timeout,
        name=name,
    )


def math_equal(
    *,
    field: str = "answer",
    rel_tol: float = 1e-6,
    percent: Literal["lenient", "strict"] = "lenient",
    symbolic: bool = True,
    choices: bool = True,
    timeout: float | None = 5.0,
    name: str = "math_equal",
) -> Reward:
    """Compare two answer strings: the whole completion *is* the answer (no extraction).

    For datasets that already hold extracted answers, or for grading a column against
    another. The same equivalence rules and policies as the `math` preset.

    >>> math_equal().score({"completion": r"\\frac{\\sqrt{3}}{2}", "answer": r"\\sqrt{3}/2"}).value
    1.0
    >>> math_equal().score({"completion": "[1, 2)", "answer": "[1, 2]"}).details["rule"]
    'interval_ends_open_closed'
    """
    return MathVerifier(
        extraction=None,
        equivalence=_equivalence(rel_tol, percent, symbolic, choices),
        field=field,
        timeout=timeout,
        name=name,
    )
