"""The `judge` preset: every judge from one SPEC, e.g. `judge:rubric=robotic,model=NAME`.

The endpoint is read from `base_url=` / `OPENAI_BASE_URL` and the key from the variable
named by `api_key_env` (default `OPENAI_API_KEY`), so `--reward judge:rubric=robotic,model=X`
works against any OpenAI-compatible server once those variables are set. Rubric files'
`judge` criteria (`rewardsmith.rewards.rubric`) are built through this preset too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from rewardsmith.core.errors import ConfigError
from rewardsmith.judges.base import LLMJudge

JudgeType = Literal["rubric", "question", "reference", "scale", "pairwise"]


def judge(
    *,
    rubric: str | None = None,
    question: str | None = None,
    type: JudgeType | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 60.0,
    max_retries: int = 4,
    max_concurrency: int | None = None,
    response_format: Literal["auto", "json_schema", "json_object", "text"] = "auto",
    temperature: float = 0.0,
    max_tokens: int = 512,
    seed: int | None = None,
    samples: int = 1,
    reducer: Literal["mean", "median", "majority"] = "mean",
    cache: bool | str = True,
    offline: bool = False,
    read_prose: bool = False,
    guidance: str = "",
    criteria: str | None = None,
    lo: int = 1,
    hi: int = 10,
    reference_column: str = "answer",
    baseline_column: str = "baseline",
    template_file: str | None = None,
    name: str | None = None,
) -> LLMJudge:
    """An LLM judge over an OpenAI-compatible endpoint.

    What it judges (`type`, inferred from `rubric=` or `question=` when not given):
    - `rubric`: a points rubric, a built-in name (`robotic`) or a YAML/JSON file;
    - `question`: one yes/no question (value 1.0 for yes), with optional `guidance`;
    - `reference`: agreement with `reference_column` (1.0 / 0.0);
    - `scale`: a `lo`..`hi` rating for `criteria`, normalized to [0, 1];
    - `pairwise`: better than `baseline_column`, asked in both orders (1.0 / 0.5 / 0.0).
    `template_file` replaces the judge's prompt template (see docs/judges.md for fields).
    `read_prose` also reads answers that are not the JSON object (a completion can steer
    such readings: docs/judges.md). The other options are the endpoint, retries, sampling and
    cache settings.

    >>> j = judge(rubric="robotic", model="smol", base_url="http://127.0.0.1:9/v1")
    >>> type(j).__name__, j.name, j.settings.endpoint.base_url
    ('RubricJudge', 'robotic', 'http://127.0.0.1:9/v1')
    """
    from rewardsmith.judges.pairwise import pairwise_judge
    from rewardsmith.judges.reference import reference_judge
    from rewardsmith.judges.rubric import JudgeCriterion, JudgeRubric, rubric_judge
    from rewardsmith.judges.scale import scale_judge

    kind = type or ("rubric" if rubric is not None else "question" if question is not None else None)
    if kind is None:
        raise ConfigError(
            "judge: say what to judge: rubric=NAME_OR_FILE (built-in: robotic), question=TEXT, "
            "or type=reference|scale|pairwise"
        )
    given = {"rubric": rubric, "question": question}
    needed = {"rubric": "rubric", "question": "question"}.get(kind)
    if needed and given[needed] is None:
        raise ConfigError(f"judge: type={kind} needs {needed}=...")
    extra = [k for k, v in given.items() if v is not None and k != needed]
    if extra:
        raise ConfigError(f"judge: {', '.join(extra)}= does not apply to type={kind}")
    options: dict[str, Any] = {
        "model": model,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "timeout": timeout,
        "max_retries": max_retries,
        "max_concurrency": max_concurrency,
        "response_format": response_format,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
        "samples": samples,
        "reducer": reducer,
        "cache": cache,
        "offline": offline,
        "read_prose": read_prose,
    }
    if template_file is not None:
        path = Path(template_file)
        if not path.is_file():
            raise ConfigError(f"judge: template_file {template_file!r} does not exist")
        options["template"] = path.read_text(encoding="utf-8")
    if kind == "rubric":
        return rubric_judge(rubric or "", name=name, **options)
    if kind == "question":
        single = JudgeRubric(
            name=name or "judge",
            criteria=[JudgeCriterion(name="question", points=1, question=question or "", guidance=guidance)],
            range=(0.0, 1.0),
        )
        return rubric_judge(single, name=name, **options)
    if kind == "reference":
        return reference_judge(reference_column=reference_column, name=name or "reference_judge", **options)
    if kind == "scale":
        return scale_judge(criteria=criteria or "overall quality", lo=lo, hi=hi, name=name or "scale_judge", **options)
    return pairwise_judge(
        baseline_column=baseline_column,
        criteria=criteria or "the user",
        name=name or "pairwise_judge",
        **options,
    )
