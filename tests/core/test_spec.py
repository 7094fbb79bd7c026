"""SPEC strings resolve the same way in Python as on the command line."""

from __future__ import annotations

import pytest

import rewardsmith as rs
from rewardsmith.core.spec import parse_params


def test_preset_and_params():
    r = rs.load("regex:pattern=^a.c$,mode=fullmatch")
    assert r.spec == "regex:pattern=^a.c$,mode=fullmatch"
    assert r.score("abc").value == 1.0 and r.score("abcd").value == 0.0


def test_param_values_parse_as_json_where_they_can():
    assert parse_params("a=1,b=0.5,c=true,d=null,e=[1,2],f=text,g='x,y'", "s") == {
        "a": 1,
        "b": 0.5,
        "c": True,
        "d": None,
        "e": [1, 2],
        "f": "text",
        "g": "'x,y'",
    }


def test_rebuild_from_spec_string():
    r = rs.load("exact:case_sensitive=true")
    again = rs.load(r.spec)
    assert (
        again.score({"completion": "A", "answer": "a"}).value
        == r.score({"completion": "A", "answer": "a"}).value
        == 0.0
    )


def test_load_passes_rewards_through():
    r = rs.load("exact")
    assert rs.load(r) is r


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "non-empty"),
        ("exakt", "did you mean 'exact'"),
        ("exact:nonsense", "not key=value"),
        ("exact:bogus=1", "no parameter 'bogus'"),
        ("regex", "regex"),  # missing required pattern
        ("os:sep", "expected a rewardsmith.Reward"),
    ],
)
def test_bad_specs(spec, message):
    with pytest.raises(rs.SpecError, match=message):
        rs.load(spec)
