"""The hand-labelled corpus: well-formed, and every label reproduced through `score_batch`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rewardsmith.verifiers.math import math_answer, math_equal

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = ["math_cases.jsonl", "math_holdout.jsonl"]


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return [c for name in FILES for c in _load(name)]


def test_corpus_is_well_formed(cases):
    assert len(_load("math_cases.jsonl")) >= 300
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert isinstance(c["expected"], bool) and c["gold"] and c["category"] and c["source"]
        assert ("prediction" in c) != ("completion" in c), c["id"]
    # both verdicts in every category with more than a handful of cases: no category of freebies
    for cat, n in Counter(c["category"] for c in cases).items():
        if n >= 6:
            assert {c["expected"] for c in cases if c["category"] == cat} == {True, False}, cat
    sources = " ".join(c["source"] for c in cases)
    assert "Math-Verify issue" in sources and "own near miss" in sources


@pytest.mark.integration
def test_every_label_is_reproduced(cases):
    answers = [c for c in cases if "prediction" in c]
    completions = [c for c in cases if "completion" in c]
    got = math_equal().score_batch([{"completion": c["prediction"], "answer": c["gold"]} for c in answers])
    got += math_answer().score_batch([{"completion": c["completion"], "answer": c["gold"]} for c in completions])
    wrong = []
    for case, score in zip(answers + completions, got, strict=True):
        assert score.value in (0.0, 1.0) and score.status != "timeout", (case["id"], score)
        if (score.value == 1.0) != case["expected"]:
            wrong.append(
                f"{case['id']}: {case['gold']!r} vs {case.get('prediction', case.get('completion'))!r:.60} -> {score.reason}"
            )
    assert not wrong, "\n".join(wrong)
