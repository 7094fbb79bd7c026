"""Format verifiers: regex, tagged-block layouts (strict/soft/prefilled), tag counts, JSON output."""

from __future__ import annotations

import json

import pytest

import rewardsmith as rs
from rewardsmith.core.errors import ConfigError
from rewardsmith.verifiers.format import json_format, regex, tag_count, tag_format

GOOD = "<think>\nfirst\nsecond line\n</think>\n<answer>\n42\n</answer>"


# -- regex ---------------------------------------------------------------------------------------


def test_regex_modes_and_flags():
    assert regex(r"\d+").score("abc 12").value == 1.0
    assert regex(r"\d+", mode="fullmatch").score("abc 12").value == 0.0
    assert regex(r"ABC", flags="i").score("abc").value == 1.0
    miss = regex(r"^x$").score("y")
    assert (miss.value, miss.status) == (0.0, "wrong_format")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"pattern": "("}, "pattern"),
        ({"pattern": "a", "flags": "q"}, "flag"),
        ({"pattern": "a", "mode": "scan"}, "mode"),
    ],
)
def test_regex_bad_config_fails_at_construction(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        regex(**kwargs)


# -- tag_format ----------------------------------------------------------------------------------


def test_strict_accepts_the_r1_layout_with_multiline_blocks():
    score = tag_format().score(GOOD)
    assert score.value == 1.0
    assert score.details["blocks"] == {"think": "first\nsecond line", "answer": "42"}
    assert tag_format().score(GOOD + "\n\n").value == 1.0  # trailing whitespace is fine


@pytest.mark.parametrize(
    "text, reason",
    [
        ("<think>\nx\n</think>\n<answer>\n42\n", "missing </answer>"),
        ("<think>\nx\n</think>\n<think>\ny\n</think>\n<answer>\n4\n</answer>", "<think> appears 2 times"),
        ("<answer>\n4\n</answer>\n<think>\nx\n</think>", "tags out of order"),
        ("Sure!\n<think>\nx\n</think>\n<answer>\n4\n</answer>", "text before <think>"),
        (GOOD + "\nHope that helps", "strict layout"),
        ("<think>x</think><answer>42</answer>", "strict layout"),
        ("   ", "empty completion"),
    ],
)
def test_strict_rejects_and_says_why(text, reason):
    score = tag_format().score(text)
    assert score.value == 0.0
    assert reason in score.reason


def test_soft_is_whitespace_insensitive_and_allows_trailing_text():
    soft = tag_format(strict=False)
    assert soft.score("<think>x</think><answer>42</answer>").value == 1.0
    assert soft.score("<think>a\nb</think>\n\n  <answer>42</answer> that is all").value == 1.0
    assert soft.score("<think>x</think> so <answer>42</answer>").value == 0.0  # prose between blocks
    assert soft.score(" <think>x</think><answer>42</answer>").value == 0.0  # must start with the tag
    assert soft.score("<think>x</think><think>y</think><answer>1</answer>").value == 0.0


def test_reasoning_tags_and_prefilled_opening_tag():
    fmt = tag_format(tags=["reasoning", "answer"])
    assert fmt.score("<reasoning>\nx\n</reasoning>\n<answer>\n1\n</answer>").value == 1.0
    prefilled = tag_format(prefilled=True)
    assert prefilled.score("x\n</think>\n<answer>\n1\n</answer>").value == 1.0
    repeated = prefilled.score("<think>\nx\n</think>\n<answer>\n1\n</answer>")
    assert repeated.value == 0.0 and "belongs in the prompt" in repeated.reason
    assert tag_format(prefilled=True, strict=False).score("x</think><answer>1</answer>").value == 1.0


def test_single_tag_soft_format():
    think = tag_format(tags=["think"], strict=False)
    assert think.score("<think>\nplan\n</think>\nThe answer is 4.").value == 1.0
    assert think.score("<think>\nplan\nThe answer is 4.").value == 0.0


@pytest.mark.parametrize("tags", [[], ["think", "think"], ["<think>"], ["a b"]])
def test_tag_format_bad_tags(tags):
    with pytest.raises(ConfigError, match="tags"):
        tag_format(tags=tags)


def test_format_preset_from_spec():
    assert rs.load("format").score(GOOD).value == 1.0
    assert rs.load("format:strict=false").score("<think>x</think><answer>1</answer>").value == 1.0
    custom = rs.load('format:tags=["reasoning","answer"],strict=false')
    assert custom.score("<reasoning>x</reasoning><answer>1</answer>").value == 1.0
    with pytest.raises(ConfigError, match="tags"):
        rs.load("format:tags=[]")


# -- tag_count -----------------------------------------------------------------------------------


def test_tag_count_gives_a_quarter_per_marker():
    count = tag_count()
    assert count.score(GOOD).value == 1.0
    assert count.score("<think>x</think><answer>4").value == 0.75
    assert count.score("<think>x</think><think>y</think><answer>4</answer>").value == 0.5
    assert count.score("no tags").value == 0.0


def test_tag_count_newline_markers_match_the_strict_layout():
    count = tag_count(newlines=True)
    assert count.score(GOOD).value == 1.0
    assert count.score("<think>x</think><answer>4</answer>").value == 0.0
    assert count.score("<think>\nx\n</think><answer>4</answer>").value == 0.25
    assert count.score("<think>\nx\n</think>\n<answer>4</answer>").value == 0.5


def test_tag_count_trailing_penalty_never_goes_below_zero():
    count = tag_count(trailing_penalty=0.01)
    assert count.score(GOOD + "  \n").value == 1.0  # blank trailing text is free
    assert count.score(GOOD + "abcde").value == pytest.approx(0.95)
    assert count.score("<answer>" + "x</answer>" + "y" * 500).value == 0.0
    with pytest.raises(ConfigError, match="trailing_penalty"):
        tag_count(trailing_penalty=-1)


# -- json ----------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}


def test_json_parses_whole_or_fenced():
    plain = json_format()
    assert plain.score('{"a": 1}').value == 1.0
    fenced = plain.score('Here you go:\n```json\n{"a": 1}\n```\nanything else?')
    assert (fenced.value, fenced.details["source"]) == (1.0, "fenced")
    assert json_format(extract="whole").score('Here:\n```json\n{"a": 1}\n```').value == 0.0
    bad = plain.score("{'a': 1}")
    assert bad.value == 0.0 and bad.reason.startswith("not JSON")
    assert plain.score("").status == "no_answer"


def test_json_schema_errors_name_the_path():
    check = json_format(schema=SCHEMA)
    assert check.score('{"name": "Ada", "age": 36}').value == 1.0
    wrong = check.score('{"name": "Ada", "age": "old"}')
    assert wrong.value == 0.0
    assert wrong.reason == "JSON does not validate: at age: 'old' is not of type 'integer'"
    missing = check.score('{"age": 3}')
    assert "'name' is a required property" in missing.reason


def test_json_schema_from_file_and_spec(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA))
    assert json_format(schema=str(path)).score('{"name": "x"}').value == 1.0
    assert rs.load(f"json:schema={path}").score('{"age": 1}').value == 0.0
    inline = rs.load('json:schema={"type":"array","items":{"type":"number"}}')
    assert inline.score("[1, 2.5]").value == 1.0
    assert inline.score('[1, "2"]').value == 0.0


def test_json_pydantic_model_object_and_import_path():
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        age: int

    check = json_format(model=Person)
    assert check.score('{"name": "Ada", "age": 36}').value == 1.0
    wrong = check.score('{"name": "Ada"}')
    assert wrong.reason == "JSON does not validate: at age: Field required"
    dates = json_format(model="datetime:date")
    assert dates.score('"2024-02-29"').value == 1.0
    assert dates.score('"2023-02-29"').value == 0.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"schema": {"type": "nonsense"}}, "not a valid JSON Schema"),
        ({"schema": "no/such/file.json"}, "neither a dict nor an existing"),
        ({"schema": {}, "model": dict}, "not both"),
        ({"model": "no_such_module_xyz:Model"}, "cannot be imported"),
        ({"model": "not an import path"}, "import path"),
        ({"extract": "first"}, "extract"),
    ],
)
def test_json_bad_config_fails_at_construction(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        json_format(**kwargs)


def test_format_rewards_survive_pickling():
    import pickle

    check = pickle.loads(pickle.dumps(json_format(schema=SCHEMA)))  # TRL's async trainer pickles rewards
    assert check.score('{"name": "x"}').value == 1.0
    assert "required" in check.score("{}").reason
    assert pickle.loads(pickle.dumps(tag_format())).score(GOOD).value == 1.0
