"""Throughput of the format, shaping and preset rewards, in-process, against `exact` measured in the same run."""

from __future__ import annotations

import random
import time

import rewardsmith as rs
from rewardsmith.core.engine import cpu_count

SPECS = [
    "exact",
    "format",
    "tag_count",
    "json",
    "proximity",
    "repetition",
    "too_long",
    "email",
    "gsm8k",
    "gsm8k:compat=true",
    "unsloth",
    "unsloth:compat=true",
]


def make_rows(n: int = 2000) -> list[dict]:
    rng = random.Random(0)
    words = ["six", "times", "twelve", "is", "72", "so", "the", "answer"]
    rows = []
    for _ in range(n):
        body = " ".join(rng.choice(words) for _ in range(rng.randint(20, 200)))
        answer = rng.choice(["72", "71", "$72"])
        rows.append(
            {
                "completion": f"<reasoning>\n{body}\n</reasoning>\n<answer>\n{answer}\n</answer>\n",
                "answer": "72",
                "keyword": "six",
                "recipient": "Dana",
                "max_words": 100,
            }
        )
    return rows


def main() -> None:
    rows = make_rows()
    rate = {}
    for spec in SPECS:
        reward = rs.load(spec)
        reward.score_batch(rows[:50])  # warm caches and lazy imports
        best = min(_timed(reward, rows) for _ in range(3))
        rate[spec] = len(rows) / best
    print(f"cores: {cpu_count()}  samples: {len(rows)}  (best of 3, in-process; anchor: exact)")
    print(f"{'reward':<22}{'samples/s':>12}{'vs exact':>10}")
    for spec, value in rate.items():
        print(f"{spec:<22}{value:>12,.0f}{value / rate['exact']:>10.2f}")


def _timed(reward: rs.Reward, rows: list[dict]) -> float:
    started = time.perf_counter()
    reward.score_batch(rows)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
