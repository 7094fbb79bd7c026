"""The pairwise judge: is the completion better than a baseline, asked in both orders.

Judges prefer whichever response they read first (or second) more often than quality
explains, so every comparison is asked twice, completion first and baseline first, and
the two verdicts are averaged: 1.0 when the completion wins both, 0.0 when the baseline
wins both, 0.5 for a tie or for verdicts that flip with the order (position bias, recorded
as `consistent: false` in details). The baseline comes from a column of the row
(`baseline_column`, default `baseline`), e.g. the reference model's or last checkpoint's
response.
"""

from __future__ import annotations

from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.errors import InputError
from rewardsmith.core.sample import Sample, message_text
from rewardsmith.core.score import Score
from rewardsmith.judges.base import JudgeSettings, LLMJudge
from rewardsmith.judges.prompts import PAIRWISE_TEMPLATE, Template, as_template, completion_text
from rewardsmith.judges.stats import JudgeCounters
from rewardsmith.judges.verdict import PAIRWISE, reduce_values

# The completion's share of the win for each verdict, by order: winner 0 = tie.
_WIN_SHOWN_FIRST = {1.0: 1.0, 2.0: 0.0, 0.0: 0.5}
_WIN_SHOWN_SECOND = {1.0: 0.0, 2.0: 1.0, 0.0: 0.5}


class PairwiseJudge(LLMJudge):
    """See `pairwise_judge`."""

    def __init__(
        self,
        settings: JudgeSettings,
        *,
        template: Template,
        criteria: str,
        baseline_column: str,
        name: str = "pairwise_judge",
    ) -> None:
        super().__init__(settings, name=name)
        self.template, self.criteria, self.baseline_column = template, criteria, baseline_column

    async def _judge(self, sample: Sample, counters: JudgeCounters) -> Score:
        import asyncio

        baseline = sample.get(self.baseline_column)
        if baseline is None:
            raise InputError(
                f"judge {self.name!r}: the sample has no {self.baseline_column!r} column to compare with "
                "(add the baseline response, or pass baseline_column=NAME)"
            )
        baseline_text = message_text(baseline) if isinstance(baseline, list) else str(baseline)
        fmt = f"Reply with only this JSON object: {PAIRWISE.example()}."
        first = {
            "response_1": completion_text(sample),
            "response_2": baseline_text,
            "criteria": self.criteria,
            "format": fmt,
        }
        second = {**first, "response_1": baseline_text, "response_2": completion_text(sample)}
        v1, v2 = await asyncio.gather(
            self.ask(self.prompt(self.template, sample, first), PAIRWISE, counters),
            self.ask(self.prompt(self.template, sample, second), PAIRWISE, counters),
        )
        details: dict[str, Any] = {
            "completion_first": v1.details(),
            "baseline_first": v2.details(),
            "model": self.model,
        }
        if v1.value is None or v2.value is None:
            problem = v1.problem() if v1.value is None else v2.problem()
            return self.unscored(f"one order has no verdict: {problem}", **details)
        # Reduce the completion's wins, not the raw labels (whose mean means nothing).
        wins = [_WIN_SHOWN_FIRST[a.value] for a in v1.answers if a.value is not None]
        wins += [_WIN_SHOWN_SECOND[a.value] for a in v2.answers if a.value is not None]
        value = reduce_values(wins, self.settings.reducer)
        details["consistent"] = len(set(wins)) == 1
        if value > 0.5:
            reason = "better than the baseline"
        elif value < 0.5:
            reason = "worse than the baseline"
        else:
            reason = "a tie with the baseline" if details["consistent"] else "verdicts flip with the order (tie)"
        return Score(value, f"{reason} ({value:.2f} of the comparisons won)", S.OK, details)


def pairwise_judge(
    *,
    baseline_column: str = "baseline",
    criteria: str = "the user",
    template: str | Template | None = None,
    name: str = "pairwise_judge",
    **options: Any,
) -> PairwiseJudge:
    """A judge that compares the completion with the row's `baseline_column`, in both orders.

    Value: the completion's wins over the 2 × `samples` comparisons (a tie counts half),
    reduced by `reducer` (mean: the share won). `criteria` completes "Which one is better for …?". `template` fields:
    `{prompt}`, `{response_1}`, `{response_2}`, `{criteria}`, `{format}` and any column.
    `options`: the endpoint and sampling options (see `rubric_judge`).

    >>> pairwise_judge(model="m", base_url="http://127.0.0.1:9/v1").baseline_column
    'baseline'
    """
    settings = JudgeSettings.from_options(options, who=f"pairwise judge {name!r}")
    return PairwiseJudge(
        settings,
        template=as_template(template, PAIRWISE_TEMPLATE),
        criteria=criteria,
        baseline_column=baseline_column,
        name=name,
    )
