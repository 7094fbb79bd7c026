"""The labelled corpora: well-formed, and every label reproduced through `score_batch`.

- tests/data/math_cases.jsonl, math_holdout.jsonl: our hand-labelled answer pairs and completions;
- tests/data/math_completions.jsonl: model-output styles of issue 20 (prose, eight languages,
  labels, separators, conventions with their options, multiple choice, near misses);
- tests/data/math_peers.jsonl: the public test suites of Math-Verify and lighteval, converted by
  tests/data/convert_peer_suites.py. Undisputed cases must all be reproduced; a disputed case is
  asserted as *our* documented policy (the opposite of the peer's label, with the reason).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rewardsmith.verifiers.math import math_answer, math_equal

DATA = Path(__file__).resolve().parent.parent / "data"
OWN = ["math_cases.jsonl", "math_holdout.jsonl", "math_completions.jsonl"]


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return [c for name in OWN for c in _load(name)]


@pytest.fixture(scope="module")
def peers() -> list[dict]:
    return _load("math_peers.jsonl")


def test_corpus_is_well_formed(cases):
    assert len(_load("math_cases.jsonl")) >= 300
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert isinstance(c["expected"], bool) and c["gold"] and c["category"] and c["source"]
        assert ("prediction" in c) != ("completion" in c), c["id"]
    # both verdicts in every category with more than a handful of cases: no category of freebies
    # (white-box attacks are the exception: each is a completion that must score 0)
    for cat, n in Counter(c["category"] for c in cases).items():
        if n >= 6 and cat != "attack":
            assert {c["expected"] for c in cases if c["category"] == cat} == {True, False}, cat
    sources = " ".join(c["source"] for c in cases)
    assert "Math-Verify issue" in sources and "own near miss" in sources and "issue 20" in sources


def test_peer_corpus_keeps_its_sources(peers):
    assert len(peers) >= 300 and len({c["id"] for c in peers}) == len(peers)
    for c in peers:
        src = c["source"]
        assert src["repo"] in ("huggingface/Math-Verify", "huggingface/lighteval") and len(src["commit"]) == 40
        assert src["path"].startswith("tests/") and isinstance(c["expected"], bool)
    disputed = [c for c in peers if c.get("disputed")]
    assert 0 < len(disputed) <= 10 and all(len(c["disputed"]) > 40 for c in disputed)


def _score(rows: list[dict]) -> list:
    """Every row through score_batch, grouped by the options it asks for (one Reward per options)."""
    out: list = [None] * len(rows)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(rows):
        mode = "equal" if "prediction" in c else "answer"
        groups.setdefault((mode, json.dumps(c.get("options", {}), sort_keys=True)), []).append(i)
    for (mode, options), idx in groups.items():
        reward = (math_equal if mode == "equal" else math_answer)(**json.loads(options))
        samples = []
        for i in idx:
            c = rows[i]
            sample = {
                "completion": c.get("prediction", c.get("completion")),
                "answer": c["gold"],
                **c.get("metadata", {}),
            }
            if "prompt" in c:
                sample["prompt"] = c["prompt"]
            samples.append(sample)
        for i, score in zip(idx, reward.score_batch(samples), strict=True):
            out[i] = score
    return out


def _mismatches(rows: list[dict], scores: list, want) -> list[str]:
    wrong = []
    for case, score in zip(rows, scores, strict=True):
        assert score.value in (0.0, 1.0) and score.status != "timeout", (case["id"], score)
        if (score.value == 1.0) != want(case):
            shown = case.get("prediction", case.get("completion"))
            wrong.append(f"{case['id']}: {case['gold']!r:.60} vs {shown!r:.60} -> {score.reason}")
    return wrong


@pytest.mark.integration
def test_every_label_is_reproduced(cases):
    wrong = _mismatches(cases, _score(cases), lambda c: c["expected"])
    assert not wrong, "\n".join(wrong)


@pytest.mark.integration
def test_peer_suites_undisputed_reproduced_disputed_follow_our_policy(peers):
    """Undisputed peer cases: the peer's label. Disputed ones: the opposite, our documented policy."""
    wrong = _mismatches(peers, _score(peers), lambda c: c["expected"] != bool(c.get("disputed")))
    assert not wrong, "\n".join(wrong)
