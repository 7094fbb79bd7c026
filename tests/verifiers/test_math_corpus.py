"""The labelled corpora: well-formed, and every label reproduced through `score_batch`.

- tests/data/math_cases.jsonl, math_holdout.jsonl: our hand-labelled answer pairs and completions;
- tests/data/math_completions.jsonl: model-output styles of issue 20 (prose, eight languages,
  labels, separators, conventions with their options, multiple choice, near misses);
- tests/data/math_peers.jsonl: the public test suites of Math-Verify and lighteval, converted by
  tests/data/convert_peer_suites.py. Undisputed cases must all be reproduced; a disputed case is
  asserted as *our* documented policy (the opposite of the peer's label, with the reason);
- tests/data/math_redteam.jsonl: every reproducing case of the white-box red team's report (reward
  hacks H1-H11 that must score 0, false negatives N1-N14, held behaviour), the red team's verdict
  as the label and, where we keep a convention they did not expect, `disputed` with the reason.

The quick stage that runs in the caller's process must give exactly `_score`'s verdict on all of them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rewardsmith.core.sample import as_sample
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


@pytest.fixture(scope="module")
def redteam() -> list[dict]:
    return _load("math_redteam.jsonl")


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


def test_redteam_corpus_holds_every_finding(redteam, cases):
    assert len({c["id"] for c in redteam}) == len(redteam)
    assert not {c["id"] for c in redteam} & {c["id"] for c in cases}
    findings = {c["id"].removeprefix("redteam-").split("-")[0] for c in redteam}
    assert {f"H{i}" for i in range(1, 12)} | {f"N{i}" for i in range(1, 15)} <= findings
    for c in redteam:
        assert c["source"].startswith("redteam") and isinstance(c["expected"], bool), c["id"]
        assert ("prediction" in c) != ("completion" in c), c["id"]
    hacks = [c for c in redteam if c["id"].startswith("redteam-H")]
    assert hacks and all(c["expected"] is False for c in hacks if "-ok-" not in c["id"])  # "-ok-": a companion
    assert {c["id"] for c in hacks if c.get("options", {}).get("strict")}  # the "strict too" ones in strict mode
    disputed = [c for c in redteam if c.get("disputed")]
    assert 0 < len(disputed) <= 8 and all(len(c["disputed"]) > 40 for c in disputed)


@pytest.mark.integration
def test_redteam_cases_follow_their_label_or_our_documented_policy(redteam):
    wrong = _mismatches(redteam, _score(redteam), lambda c: c["expected"] != bool(c.get("disputed")))
    assert not wrong, "\n".join(wrong)


def _reward(case: dict):
    return (math_equal if "prediction" in case else math_answer)(**case.get("options", {}))


def _sample(case: dict):
    row = {
        "completion": case.get("prediction", case.get("completion")),
        "answer": case["gold"],
        **case.get("metadata", {}),
    }
    if "prompt" in case:
        row["prompt"] = case["prompt"]
    return as_sample(row)


@pytest.mark.integration
@pytest.mark.parametrize("name", [*OWN, "math_peers.jsonl", "math_redteam.jsonl"])
def test_the_quick_stage_gives_exactly_the_verdict_of_score(name):
    """`_quick_score` runs in the caller's process before the pool: where it decides, it must decide as
    `_score` does (value, status, reason and details), and it must decide the plain cases."""
    decided = 0
    rewards: dict[str, object] = {}
    for case in _load(name):
        key = json.dumps(["prediction" in case, case.get("options", {})], sort_keys=True)
        reward = rewards.setdefault(key, _reward(case))
        sample = _sample(case)
        quick = reward._quick_score(sample)  # type: ignore[attr-defined]
        if quick is None:
            continue
        decided += 1
        full = reward._score(sample)  # type: ignore[attr-defined]
        assert (quick.value, quick.status, quick.reason, quick.details) == (
            full.value,
            full.status,
            full.reason,
            full.details,
        ), case["id"]
    assert decided >= 20, f"the quick stage decided only {decided} cases of {name}"


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
