"""LLM judges over any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp, Ollama, TGI).

Four judges, each an async Reward (`kind = "io"`) built by a factory with keyword options:

- `rubric_judge(rubric, ...)`: criteria with points and penalties, e.g. the built-in
  `robotic` ("if the answer sounds too robotic, subtract 3 points", range -3 to 0);
- `reference_judge(...)`: does the completion agree with the `answer` column;
- `scale_judge(...)`: a 1–10 rating, normalized to [0, 1];
- `pairwise_judge(...)`: better than a baseline column, asked in both orders.

The `judge` preset builds any of them from a SPEC (`judge:rubric=robotic,model=NAME`).
Modules: `client` (endpoint, retries, in-flight bound), `prompts` (templates), `verdict`
(structured answers, tolerant parsing), `cache` (disk cache), `stats` (counters), `base`
(what the judges share). `judge_stats()` returns the process-wide counters per judge.
"""

from __future__ import annotations

from rewardsmith.judges.base import JudgeSettings, LLMJudge
from rewardsmith.judges.cache import default_cache_dir, open_cache
from rewardsmith.judges.client import Endpoint
from rewardsmith.judges.loops import aclose_all as aclose
from rewardsmith.judges.pairwise import pairwise_judge
from rewardsmith.judges.preset import judge
from rewardsmith.judges.prompts import Template
from rewardsmith.judges.reference import reference_judge
from rewardsmith.judges.rubric import BUILTIN_RUBRICS, JudgeCriterion, JudgeRubric, rubric_judge
from rewardsmith.judges.scale import scale_judge
from rewardsmith.judges.stats import COUNTER_KEYS, JudgeCounters, judge_stats, reset_judge_stats, sum_counters
from rewardsmith.judges.verdict import parse_verdict

__all__ = [
    "BUILTIN_RUBRICS",
    "COUNTER_KEYS",
    "Endpoint",
    "JudgeCounters",
    "JudgeCriterion",
    "JudgeRubric",
    "JudgeSettings",
    "LLMJudge",
    "Template",
    "aclose",
    "default_cache_dir",
    "judge",
    "judge_stats",
    "open_cache",
    "pairwise_judge",
    "parse_verdict",
    "reference_judge",
    "reset_judge_stats",
    "rubric_judge",
    "scale_judge",
    "sum_counters",
]
