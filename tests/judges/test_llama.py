"""A real model behind a real server: SmolLM2-135M-Instruct on llama.cpp's OpenAI-compatible server.

The 135M model is a poor judge and often answers with broken or off-schema JSON: these tests
do not grade its judgement, they check that everything it says becomes either a number in the
rubric's range or an unscored item with the raw answer kept, never a silent 0, and that the
whole path (format negotiation, parsing, counters, cache) works against a server we did not write.
The emails are in tests/data/judge_emails.jsonl.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import rewardsmith as rs
from rewardsmith.judges import judge_stats, sum_counters
from rewardsmith.judges.client import _learnt_format

pytestmark = pytest.mark.integration
EMAILS = [
    json.loads(line)
    for line in (Path(__file__).resolve().parents[1] / "data" / "judge_emails.jsonl").read_text().splitlines()
]
MODEL = "smollm2-135m"


def assert_scored_or_visibly_unscored(scores):
    for s in scores:
        if s.value is None:
            assert s.status == "unscored" and s.reason
            verdict = s.details["criteria"][0]["verdicts"][0]
            assert verdict["error"] or verdict["raw"] is not None  # the raw answer is kept for inspection
        else:
            assert s.status == "ok" and -3.0 <= s.value <= 0.0
            assert s.details["criteria"][0]["verdicts"][0]["parsed_by"] in ("json", "field", "fallback")


def test_robotic_rubric_end_to_end_on_llama_cpp(llama_server):
    judge = rs.load(f"judge:rubric=robotic,model={MODEL},base_url={llama_server},max_tokens=96,timeout=60")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # unreadable answers warn once; either is fine
        scores = judge.score_batch(EMAILS)
    assert len(scores) == len(EMAILS)
    assert_scored_or_visibly_unscored(scores)
    counters = sum_counters(scores)
    assert counters["requests"] >= len(EMAILS) and counters["prompt_tokens"] > 0 and counters["completion_tokens"] > 0
    assert counters["failures"] == 0  # the server answered every request
    # llama-cpp-python refuses json_schema (with a 500 naming response_format) and takes json_object
    assert _learnt_format[(llama_server, MODEL)] == "json_object"
    stats = judge_stats()["robotic"]
    assert stats["items"] == len(EMAILS) and stats["error_rate"] == sum(s.value is None for s in scores) / len(EMAILS)

    again = judge.score_batch(EMAILS)  # re-scoring is free: every verdict comes from the cache
    assert [s.value for s in again] == [s.value for s in scores]
    assert sum_counters(again)["requests"] == 0 and sum_counters(again)["cache_hits"] == len(EMAILS)


def test_free_text_answers_are_parsed_tolerantly_or_left_unscored(llama_server):
    """Without a JSON response format the 135M model writes prose and half-JSON."""
    judge = rs.load(
        f"judge:rubric=robotic,model={MODEL},base_url={llama_server},response_format=text,max_tokens=96,cache=false,read_prose=true"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # unreadable answers warn once; either is fine
        scores = judge.score_batch(EMAILS)
    assert_scored_or_visibly_unscored(scores)
    c = sum_counters(scores)
    assert c["requests"] == len(EMAILS) and c["failures"] == 0
    readable = sum(s.value is not None for s in scores)
    assert readable + c["unparsed"] == len(EMAILS)  # every answer is either read or counted as unreadable
