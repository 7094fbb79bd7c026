"""The rubric judge: criteria with points and penalties, each decided by the judge model.

A rubric is a list of yes/no criteria, each with points (negative for a penalty), and a
range the total is clipped to:

    name: robotic
    range: [-3, 0]
    criteria:
      - name: too_robotic
        points: -3
        question: Does the answer sound too robotic?
        guidance: Robotic means stiff, formulaic wording a person would not write ...

Each criterion is one request (all of an item's criteria are asked concurrently); a
criterion "hits" with the judge's yes, or, with several samples, with the share of yes
answers (`reducer=mean`) or the majority. The value is Σ points × hit, clipped to the range
(default: from the sum of the penalties to the sum of the bonuses). One criterion with no
readable verdict makes the item unscored rather than silently dropping its points.

Built-in rubrics (`rubric=NAME`): `robotic`, the seed rule "if the answer sounds too
robotic, subtract 3 points" (range -3 to 0).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError
from rewardsmith.core.reward import SampleLike
from rewardsmith.core.sample import Sample, as_sample
from rewardsmith.core.score import Score
from rewardsmith.core.text import unique_names
from rewardsmith.judges.base import JudgeSettings, LLMJudge, Prompt
from rewardsmith.judges.prompts import CRITERION_TEMPLATE, Template, as_template
from rewardsmith.judges.stats import JudgeCounters
from rewardsmith.judges.verdict import CRITERION


class JudgeCriterion(BaseModel):
    """One rule: `points` are awarded (or, when negative, taken) when the judge answers yes."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    points: float
    question: str = Field(min_length=1, description="a yes/no question about the completion")
    guidance: str = Field(default="", description="what counts as yes, shown to the judge")

    @field_validator("points")
    @classmethod
    def _nonzero(cls, points: float) -> float:
        if points == 0:
            raise ValueError("points must be non-zero (negative for a penalty)")
        return points


class JudgeRubric(BaseModel):
    """A named list of criteria and the range their total is clipped to."""

    model_config = ConfigDict(extra="forbid")
    name: str = "rubric"
    description: str = ""
    criteria: list[JudgeCriterion] = Field(min_length=1)
    range: tuple[float, float] | None = None

    @field_validator("criteria")
    @classmethod
    def _unique(cls, criteria: list[JudgeCriterion]) -> list[JudgeCriterion]:
        return unique_names(criteria)

    @model_validator(mode="after")
    def _ordered_range(self) -> JudgeRubric:
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range must be [low, high] with low ≤ high, got {list(self.range)}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        if self.range is not None:
            return self.range
        return (
            sum(c.points for c in self.criteria if c.points < 0),
            sum(c.points for c in self.criteria if c.points > 0),
        )


ROBOTIC = JudgeRubric(
    name="robotic",
    description="If the answer sounds too robotic, subtract 3 points.",
    range=(-3.0, 0.0),
    criteria=[
        JudgeCriterion(
            name="too_robotic",
            points=-3,
            question="Does the answer sound too robotic?",
            guidance=(
                "Robotic means stiff, mechanical or formulaic wording that a person would not write: "
                "boilerplate phrases, template-like sentences, no warmth or natural flow, filler such as "
                "'As an AI language model' or 'Your request has been processed'. A natural, friendly, "
                "human-sounding answer is not robotic, even when it is short or formal."
            ),
        )
    ],
)

BUILTIN_RUBRICS: dict[str, JudgeRubric] = {"robotic": ROBOTIC}


def load_judge_rubric(source: str | Path | dict[str, Any] | JudgeRubric) -> JudgeRubric:
    """A built-in rubric by name, a YAML/JSON file, a dict of the file's shape, or a JudgeRubric."""
    if isinstance(source, JudgeRubric):
        return source
    where = "judge rubric"
    if isinstance(source, (str, Path)):
        if isinstance(source, str) and source in BUILTIN_RUBRICS:
            return BUILTIN_RUBRICS[source]
        path = Path(source)
        if not path.is_file():
            raise ConfigError(
                f"judge rubric {str(source)!r} is neither a built-in rubric ({', '.join(sorted(BUILTIN_RUBRICS))}) "
                "nor an existing YAML/JSON file"
            )
        import yaml

        where = f"judge rubric file {str(path)!r}"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML/JSON ({exc})") from None
    else:
        data = source
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with 'criteria', got {type(data).__name__}")
    try:
        return JudgeRubric.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        raise ConfigError(f"{where}: {loc}: {err.get('msg', 'invalid').removeprefix('Value error, ')}") from None


class RubricJudge(LLMJudge):
    """See `rubric_judge`."""

    def __init__(
        self, rubric: JudgeRubric, settings: JudgeSettings, *, template: Template, name: str | None = None
    ) -> None:
        super().__init__(settings, name=name or rubric.name)
        self.rubric = rubric
        self.template = template

    def prompts(self, sample: SampleLike) -> list[Prompt]:
        """The requests this judge sends for `sample`, one per criterion (to inspect or replay)."""
        return [
            self.prompt(
                self.template, as_sample(sample), {"question": c.question, "guidance": c.guidance, "format": _format()}
            )
            for c in self.rubric.criteria
        ]

    async def _judge(self, sample: Sample, counters: JudgeCounters) -> Score:
        criteria = self.rubric.criteria
        prompts = self.prompts(sample)
        verdicts = await asyncio.gather(*(self.ask(p, CRITERION, counters) for p in prompts))
        rows: list[dict[str, Any]] = []
        total, missing = 0.0, []
        for c, v in zip(criteria, verdicts, strict=True):
            row: dict[str, Any] = {"name": c.name, "points": 0.0, "hit": v.value, "verdicts": v.details()}
            if v.value is None:
                missing.append(f"{c.name}: {v.problem()}")
            else:
                row["points"] = c.points * v.value + 0.0  # + 0.0: no "-0" for a missed penalty
                total += row["points"]
            rows.append(row)
        lo, hi = self.rubric.bounds
        details: dict[str, Any] = {"criteria": rows, "range": [lo, hi], "model": self.model}
        if missing:
            return self.unscored("; ".join(missing), **details)
        value = min(hi, max(lo, total))
        summary = ", ".join(f"{r['name']} {'✓' if r['hit'] else '✗'} {r['points']:+g}" for r in rows)
        details["points"] = total
        clipped = f" (clipped from {total:g})" if value != total else ""
        return Score(value, f"{value:g} points{clipped}: {summary}", S.OK, details)


def _format() -> str:
    return (
        f'Reply with only this JSON object: {CRITERION.example()}, where "met" is true when the '
        "criterion applies to the completion."
    )


def rubric_judge(
    rubric: str | Path | dict[str, Any] | JudgeRubric,
    *,
    template: str | Template | None = None,
    name: str | None = None,
    **options: Any,
) -> RubricJudge:
    """A judge that scores a completion with a points rubric (see the module docstring).

    `rubric`: a built-in name (`robotic`), a YAML/JSON file, a dict or a JudgeRubric.
    `template`: the per-criterion prompt (fields `{prompt}`, `{completion}`, `{question}`,
    `{guidance}`, `{format}` and any column). `options`: the endpoint and sampling options
    every judge takes (`model`, `base_url`, `api_key_env`, `timeout`, `max_retries`,
    `max_concurrency`, `response_format`, `temperature`, `max_tokens`, `seed`, `samples`,
    `reducer`, `cache`, `offline`, `system_prompt`; see docs/judges.md).

    >>> j = rubric_judge("robotic", model="judge-model", base_url="http://127.0.0.1:9/v1")
    >>> j.name, j.rubric.bounds, j.kind, j.timeout_value
    ('robotic', (-3.0, 0.0), 'io', None)
    """
    spec = load_judge_rubric(rubric)
    settings = JudgeSettings.from_options(options, who=f"rubric judge {spec.name!r}")
    return RubricJudge(spec, settings, template=as_template(template, CRITERION_TEMPLATE), name=name)
