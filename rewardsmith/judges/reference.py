"""The reference judge: is the completion's answer the same as the `answer` column's?

For answers a string or SymPy check cannot compare (free-form facts, paraphrases, units in
words), the judge model decides. Value 1.0 (agrees) or 0.0; with several samples the mean
(the share of "correct" answers), median or majority. A row without a reference is bad
input (an InputError naming the column), not a score.
"""

from __future__ import annotations

from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.errors import InputError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.judges.base import JudgeSettings, LLMJudge
from rewardsmith.judges.prompts import REFERENCE_TEMPLATE, Template, as_template
from rewardsmith.judges.stats import JudgeCounters
from rewardsmith.judges.verdict import REFERENCE


class ReferenceJudge(LLMJudge):
    """See `reference_judge`."""

    def __init__(
        self, settings: JudgeSettings, *, template: Template, reference_column: str, name: str = "reference_judge"
    ) -> None:
        super().__init__(settings, name=name)
        self.template = template
        self.reference_column = reference_column

    async def _judge(self, sample: Sample, counters: JudgeCounters) -> Score:
        reference = sample.get(self.reference_column)
        if reference is None:
            raise InputError(
                f"judge {self.name!r}: the sample has no {self.reference_column!r} column to compare with "
                "(add it, or pass reference_column=NAME)"
            )
        fmt = (
            f'Reply with only this JSON object: {REFERENCE.example()}, where "correct" is true when the '
            "completion's answer agrees with the reference."
        )
        prompt = self.prompt(self.template, sample, {"answer": reference, "format": fmt})
        verdict = await self.ask(prompt, REFERENCE, counters)
        details: dict[str, Any] = {"verdicts": verdict.details(), "model": self.model}
        if verdict.value is None:
            return self.unscored(verdict.problem(), **details)
        reason = "agrees with the reference" if verdict.value >= 0.5 else "disagrees with the reference"
        if 0 < verdict.value < 1:
            reason += f" ({verdict.value:.0%} of samples said correct)"
        return Score(verdict.value, reason, S.OK if verdict.value >= 0.5 else S.WRONG, details)


def reference_judge(
    *,
    reference_column: str = "answer",
    template: str | Template | None = None,
    name: str = "reference_judge",
    **options: Any,
) -> ReferenceJudge:
    """A judge that compares the completion's answer with the reference in `reference_column`.

    Value 1.0 when the judge says they agree, else 0.0 (status `wrong`). `template` fields:
    `{prompt}`, `{completion}`, `{answer}` (the reference), `{format}` and any column.
    `options`: the endpoint and sampling options every judge takes (see `rubric_judge`).

    >>> reference_judge(model="judge-model", base_url="http://127.0.0.1:9/v1").reference_column
    'answer'
    """
    settings = JudgeSettings.from_options(options, who=f"reference judge {name!r}")
    return ReferenceJudge(
        settings, template=as_template(template, REFERENCE_TEMPLATE), reference_column=reference_column, name=name
    )
