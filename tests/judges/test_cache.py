"""The judge cache: re-scoring is free, recorded verdicts replay offline, failures are not kept."""

from __future__ import annotations

import pytest

from rewardsmith.judges import default_cache_dir, rubric_judge
from rewardsmith.judges.cache import cache_key
from tests.judges.fake_server import free_port

ROWS = [
    "Dear valued customer, your request has been processed.",
    "Hi Ana! Loved your draft, just two small notes below.",
    "As an AI language model, I acknowledge receipt of your message.",
    "Thanks Leo, Thursday works. I'll bring the slides.",
]
EXPECTED = [-3.0, 0.0, -3.0, 0.0]


def test_a_second_run_is_served_from_the_cache_with_zero_requests(fake, robotic):
    first = robotic().score_batch(ROWS)
    assert [s.value for s in first] == EXPECTED and fake.state.requests == 4
    fake.state.reset()
    second = robotic().score_batch(ROWS)  # a new judge, same settings: same keys
    assert [s.value for s in second] == EXPECTED
    assert fake.state.requests == 0
    assert [s.details["judge"]["cache_hits"] for s in second] == [1, 1, 1, 1]
    assert all(s.details["judge"]["requests"] == 0 for s in second)


def test_recorded_verdicts_replay_offline_against_no_server(fake, robotic):
    robotic().score_batch(ROWS)
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    replay = rubric_judge("robotic", model="fake-judge", base_url=dead, offline=True)
    assert [s.value for s in replay.score_batch(ROWS)] == EXPECTED
    with pytest.warns(RuntimeWarning, match="not in the judge cache"):
        miss = replay.score("A row nobody recorded.")
    assert miss.value is None and miss.details["judge"]["requests"] == 0


def test_the_base_url_is_not_part_of_the_key_but_the_model_and_sampling_are(fake, robotic):
    robotic().score_batch(ROWS)
    fake.state.reset()
    robotic(base_url=fake.url.replace("127.0.0.1", "localhost")).score_batch(ROWS)
    assert fake.state.requests == 0
    robotic(temperature=0.3).score_batch(ROWS)
    robotic(model="another-judge").score_batch(ROWS)
    assert fake.state.requests == 8


def test_failed_requests_are_not_cached(fake, robotic):
    fake.configure(rules=[{"match": "Leo", "faults": ["500"], "repeat": True}])
    with pytest.warns(RuntimeWarning):
        assert robotic(max_retries=0).score(ROWS[3]).value is None
    fake.configure()
    again = robotic().score(ROWS[3])
    assert again.value == 0.0 and again.details["judge"]["requests"] == 1


def test_unreadable_answers_are_cached_as_answered(fake, robotic):
    """The judge did answer; re-asking at temperature 0 would only pay for the same text."""
    fake.configure(rules=[{"match": "Ana", "reply": "hmm"}])
    with pytest.warns(RuntimeWarning, match="no readable verdict"):
        assert robotic().score(ROWS[1]).value is None
    fake.state.reset()
    again = robotic().score(ROWS[1])
    assert again.value is None and again.details["judge"]["cache_hits"] == 1 and fake.state.requests == 0


def test_cache_locations(fake, robotic, tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "cache" / "judges"  # $REWARDSMITH_CACHE/judges (conftest)
    robotic().score(ROWS[0])
    assert (tmp_path / "cache" / "judges").is_dir()
    elsewhere = tmp_path / "elsewhere"
    robotic(cache=str(elsewhere)).score(ROWS[0])
    assert elsewhere.is_dir() and fake.state.requests == 2
    robotic(cache=False).score(ROWS[0])
    assert fake.state.requests == 3


def test_keys_are_stable_and_specific():
    base = {"model": "m", "messages": [{"role": "user", "content": "x"}], "sampling": {"temperature": 0.0}}
    key = cache_key(**base, response_format="auto", index=0)
    assert key == cache_key(**base, response_format="auto", index=0) and len(key) == 64
    assert key != cache_key(**base, response_format="auto", index=1)
    assert key != cache_key(**base, response_format="text", index=0)
    assert key != cache_key(**{**base, "messages": [{"role": "user", "content": "y"}]}, response_format="auto", index=0)
