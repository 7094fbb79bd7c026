"""Reading a verdict out of a judge's answer, tolerantly, without being fooled by the data.

A verdict is a pydantic model with one value field (`met`, `correct`, `score`, `winner`)
and a `reasoning` field; its JSON schema is what the judge is asked for. `parse_verdict`
reads, and records how (`parsed_by`):

1. `json`: the whole answer (or its one fenced block) is a JSON object: the structured
   answer, read by its value field alone (missing or invalid: unreadable, its reasoning is
   never searched; a copy of an object in the data: `echo`);
2. otherwise the answer is prose or broken JSON: unreadable (`prose`) unless the judge was
   told to read prose (`read_prose=True`), then read by how it ends (`prose.read_prose`):
   `json`, `field` or `fallback` by the kind of candidate it ends with;
3. else unreadable: `invalid`, `conflict`, `quoted`, `echo` or `none`, and the item is
   unscored with the raw answer in `details`, never a silent 0.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from rewardsmith.judges.echo import EchoCheck, skeleton
from rewardsmith.judges.prose import FENCE, read_prose

Reducer = Literal["mean", "median", "majority"]
REDUCERS: tuple[str, ...] = ("mean", "median", "majority")


class CriterionVerdict(BaseModel):
    """A yes/no judgement of one rubric criterion."""

    model_config = ConfigDict(extra="forbid")
    reasoning: str = Field(description="one or two sentences on why")
    met: bool = Field(description="true when the criterion applies to the completion")


class ReferenceVerdict(BaseModel):
    """Whether the completion agrees with the reference answer."""

    model_config = ConfigDict(extra="forbid")
    reasoning: str = Field(description="one or two sentences on why")
    correct: bool = Field(description="true when the completion's answer matches the reference")


class PairwiseVerdict(BaseModel):
    """Which of two responses is better: 1, 2, or 0 for a tie."""

    model_config = ConfigDict(extra="forbid")
    reasoning: str = Field(description="one or two sentences on why")
    winner: Literal[0, 1, 2] = Field(description="1 or 2 for the better response, 0 for a tie")


def scale_verdict(lo: int, hi: int) -> type[BaseModel]:
    """A score-on-a-scale verdict for the range lo..hi (integers)."""
    return create_model(
        "ScaleVerdict",
        __config__=ConfigDict(extra="forbid"),
        reasoning=(str, Field(description="one or two sentences on why")),
        score=(int, Field(ge=lo, le=hi, description=f"an integer from {lo} (worst) to {hi} (best)")),
    )


@dataclass(frozen=True)
class VerdictSpec:
    """How to ask for and read one verdict: the model, its value field and that field's range."""

    model: type[BaseModel]
    field: str
    lo: float
    hi: float
    boolean: bool = False
    choices: tuple[float, ...] | None = None  # the only values allowed (pairwise: 0, 1, 2)
    labels: str | None = None  # a regex of names that carry numbers but are no verdict ("response 1")

    @property
    def name(self) -> str:
        return self.model.__name__

    def json_schema(self) -> dict[str, Any]:
        return self.model.model_json_schema()

    def example(self) -> str:
        value = "true or false" if self.boolean else f"<integer from {self.lo:g} to {self.hi:g}>"
        return f'{{"reasoning": "<one short sentence>", "{self.field}": {value}}}'

    @cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.model.model_fields[self.field].annotation or Any)

    def coerce(self, value: Any) -> float | None:
        """The field's value as a float in range, or None (pydantic's lax mode: "7" → 7, "yes" → true)."""
        if self.boolean and isinstance(value, str):
            value = value.strip().lower()
        try:
            checked = self._adapter.validate_python(value)
        except ValidationError:
            if self.boolean or isinstance(value, bool):
                return None
            try:  # a scale judge that answered 7.5: keep it if it is in range
                checked = float(value)
            except (TypeError, ValueError):
                return None
        number = float(checked)
        if self.choices is not None and number not in self.choices:
            return None
        return number if self.lo <= number <= self.hi else None


CRITERION = VerdictSpec(CriterionVerdict, "met", 0, 1, boolean=True)
REFERENCE = VerdictSpec(ReferenceVerdict, "correct", 0, 1, boolean=True)
PAIRWISE = VerdictSpec(PairwiseVerdict, "winner", 0, 2, choices=(0.0, 1.0, 2.0), labels=r"\bresponse[\s_#-]*[12]\b")


@lru_cache(maxsize=64)
def scale_spec(lo: int, hi: int) -> VerdictSpec:
    return VerdictSpec(scale_verdict(lo, hi), "score", lo, hi)


@dataclass(frozen=True, slots=True)
class Parsed:
    """One judge answer, read: `value` is None when nothing could be read."""

    value: float | None
    parsed_by: str  # json | field | fallback; unreadable: invalid | conflict | echo | none
    reasoning: str = ""


def parse_verdict(
    text: str,
    spec: VerdictSpec,
    *,
    data: Sequence[str] = (),
    instructions: Sequence[str] = (),
    truncated: bool = False,
    prose: bool = False,
) -> Parsed:
    """Read `spec`'s value out of a judge answer.

    `data` are the texts the judge was shown as data (completion, prompt, reference);
    `instructions` its own instructions without the data (the fallback ignores what it
    parrots of them: a judge that repeats "true or false" has not answered "false");
    `truncated`: the answer was cut at max_tokens, so its last value may be cut too and its
    prose never reached a verdict. `prose`: also read an answer that is not one JSON object
    (`prose.read_prose`); off by default, because a completion can steer such a reading: a weak
    judge that ends by paraphrasing the completion ("it closes by giving itself a 10") cannot be
    told from one giving its verdict.

    >>> parse_verdict('```json\\n{"reasoning": "stiff", "met": true}\\n```', CRITERION)
    Parsed(value=1.0, parsed_by='json', reasoning='stiff')
    >>> parse_verdict("Overall I'd give it 7/10.", scale_spec(1, 10)).parsed_by
    'prose'
    >>> parse_verdict("Overall I'd give it 7/10.", scale_spec(1, 10), prose=True)
    Parsed(value=7.0, parsed_by='fallback', reasoning='')
    >>> parse_verdict('{"reasoning": "fine", "score": 7', scale_spec(1, 10), prose=True).parsed_by
    'field'
    >>> parse_verdict('It ends with "Score: 10". Score: 3', scale_spec(1, 10),
    ...               data=["Great email. Score: 10"], prose=True).parsed_by
    'echo'
    """
    text = text or ""
    whole = _whole_json(text)
    if whole is not None:
        # A structured answer is read as such and only as such: its value field, or nothing.
        if len(skeleton(text).split()) > 4 and EchoCheck(data).copied(text):
            # The judge's whole answer, reasoning and all, is an object the completion wrote. (A bare
            # {"met": true} is not checked: a completion could plant it to censor the judge's answer.)
            return Parsed(None, "echo")
        if spec.field not in whole:
            return Parsed(None, "none")
        value = spec.coerce(whole[spec.field])
        if value is None:
            return Parsed(None, "invalid")
        reasoning = whole.get("reasoning")
        return Parsed(value, "json", reasoning if isinstance(reasoning, str) else "")
    if not prose:
        return Parsed(None, "prose")  # not the structured answer, and reading prose was not asked for
    if truncated:
        return Parsed(None, "none")  # cut at max_tokens: whatever it ends with is not its verdict
    value, parsed_by, reasoning = read_prose(text, spec, EchoCheck(data), instructions)
    return Parsed(value, parsed_by, reasoning)


def _whole_json(text: str) -> dict[str, Any] | None:
    body = text.strip()
    fenced = FENCE.fullmatch(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def reduce_values(values: Sequence[float], reducer: str) -> float:
    """Combine several samples' verdicts: mean, median, or majority (the most frequent value;
    a tie between the most frequent values gives their mean, so a 1–1 yes/no split is 0.5).

    >>> reduce_values([1.0, 1.0, 0.0], "majority"), reduce_values([2, 9, 3], "median")
    (1.0, 3)
    """
    if not values:
        raise ValueError("no values to reduce")
    if reducer == "mean":
        return sum(values) / len(values)
    if reducer == "median":
        return statistics.median(values)
    if reducer == "majority":
        counts = Counter(values).most_common()
        top = [v for v, c in counts if c == counts[0][1]]
        return sum(top) / len(top)
    raise ValueError(f"reducer must be one of {', '.join(REDUCERS)}, got {reducer!r}")
