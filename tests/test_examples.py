"""The shipped example files score as documented."""

from __future__ import annotations

import json


def test_demo_reward_scores_the_demo_file(run_cli):
    r = run_cli("score", "--reward", "examples/demo_reward.py:demo_reward", "--input", "examples/demo.jsonl")
    assert r.returncode == 0, r.stderr
    rows = {row["id"]: row for row in map(json.loads, r.stdout.splitlines())}
    assert {k: v["score"] for k, v in rows.items()} == {
        "q1": 1.5,
        "q2": 0.5,
        "q3": 0.0,
        "q4": 1.5,
        "q5": 0.0,
        "q6": 1.5,
    }
    assert rows["q3"]["details"]["parts"]["tagged_answer"]["status"] == "no_answer"
