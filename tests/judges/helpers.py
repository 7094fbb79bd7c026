"""What the judge tests share: options for the fake server, a 1–10 scale, the prose reader."""

from __future__ import annotations

from functools import partial
from typing import Any

from rewardsmith.judges.verdict import parse_verdict, scale_spec

SCALE = scale_spec(1, 10)
THREE = 2 / 9  # a rating of 3 on 1..10, normalized
NOWHERE = "http://127.0.0.1:9/v1"  # prompts only: nothing is sent

# The opt-in prose reader (read_prose=True): the tests that attack or exercise it call this.
parse_prose = partial(parse_verdict, prose=True)


def fake_options(fake: Any, **extra: Any) -> dict[str, Any]:
    """Judge options for the fake server: no cache, fast retries."""
    return {"model": "fake-judge", "base_url": fake.url, "cache": False, "backoff": 0.01, **extra}


def prose_options(fake: Any, **extra: Any) -> dict[str, Any]:
    """`fake_options` for a judge that reads prose answers too."""
    return fake_options(fake, read_prose=True, **extra)


def user_message(judge: Any, completion: str, **columns: Any) -> str:
    """The user message a judge would send for this completion (nothing is sent)."""
    return judge.prompts({"completion": completion, **columns})[0].messages[1]["content"]
