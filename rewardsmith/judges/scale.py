"""The scale judge: a free-form score from 1 to 10 (or another integer range), normalized.

The judge rates the completion for `criteria` ("overall quality" by default) on lo..hi;
the value is `(score - lo) / (hi - lo)`, in [0, 1], unless `normalize=False` keeps the raw
score. With several samples the scores are reduced (mean, median, majority) first.
"""

from __future__ import annotations

from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.judges.base import JudgeSettings, LLMJudge
from rewardsmith.judges.prompts import SCALE_TEMPLATE, Template, as_template
from rewardsmith.judges.stats import JudgeCounters
from rewardsmith.judges.verdict import VerdictSpec, scale_spec


class ScaleJudge(LLMJudge):
    """See `scale_judge`."""

    def __init__(
        self,
        settings: JudgeSettings,
        *,
        template: Template,
        criteria: str,
        lo: int,
        hi: int,
        normalize: bool,
        name: str = "scale_judge",
    ) -> None:
        super().__init__(settings, name=name)
        self.template, self.criteria, self.lo, self.hi, self.normalize = template, criteria, lo, hi, normalize

    @property
    def verdict_spec(self) -> VerdictSpec:
        return scale_spec(self.lo, self.hi)

    async def _judge(self, sample: Sample, counters: JudgeCounters) -> Score:
        spec = self.verdict_spec
        fmt = f"Reply with only this JSON object: {spec.example()}."
        fields = {"criteria": self.criteria, "lo": self.lo, "hi": self.hi, "format": fmt}
        verdict = await self.ask(self.prompt(self.template, sample, fields), spec, counters)
        details: dict[str, Any] = {"verdicts": verdict.details(), "model": self.model, "scale": [self.lo, self.hi]}
        if verdict.value is None:
            return self.unscored(verdict.problem(), **details)
        details["rating"] = verdict.value
        value = (verdict.value - self.lo) / (self.hi - self.lo) if self.normalize else verdict.value
        return Score(value, f"rated {verdict.value:g} on {self.lo}–{self.hi} for {self.criteria}", S.OK, details)


def scale_judge(
    *,
    criteria: str = "overall quality",
    lo: int = 1,
    hi: int = 10,
    normalize: bool = True,
    template: str | Template | None = None,
    name: str = "scale_judge",
    **options: Any,
) -> ScaleJudge:
    """A judge that rates the completion for `criteria` from `lo` to `hi` (integers).

    The value is the rating mapped onto [0, 1] (`normalize=False`: the rating itself).
    `template` fields: `{prompt}`, `{completion}`, `{criteria}`, `{lo}`, `{hi}`, `{format}`
    and any column. `options`: the endpoint and sampling options (see `rubric_judge`).

    >>> j = scale_judge(criteria="helpfulness", model="m", base_url="http://127.0.0.1:9/v1")
    >>> j.verdict_spec.lo, j.verdict_spec.hi, j.verdict_spec.field
    (1, 10, 'score')
    """
    if not (isinstance(lo, int) and isinstance(hi, int) and lo < hi):
        raise ConfigError(f"scale judge: lo and hi must be integers with lo < hi, got {lo!r} and {hi!r}")
    settings = JudgeSettings.from_options(options, who=f"scale judge {name!r}")
    return ScaleJudge(
        settings,
        template=as_template(template, SCALE_TEMPLATE),
        criteria=criteria,
        lo=lo,
        hi=hi,
        normalize=normalize,
        name=name,
    )
