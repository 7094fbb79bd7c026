"""Rubrics: declarative points tables from Python, YAML or JSON, and the `email` preset."""

from __future__ import annotations

from pathlib import Path

import pytest

import rewardsmith as rs
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.core.spec import PresetEntry
from rewardsmith.rewards.rubric import Contains, Criterion, MaxLength, RewardCheck, email, rubric

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rubrics"

SIGNED = "Best,\nSam Lee\n+1 (555) 010-7788\nsam@shop.example\n42 Harbor Street, Springfield"


def email_row(completion, **columns):
    row = {"completion": completion, "keyword": "refund", "recipient": "Dana", "answer": "IDEAL", "max_words": 60}
    row.update(columns)
    return row


def hits(score):
    return {c["name"]: c["hit"] for c in score.details["criteria"]}


def test_email_all_positive_criteria():
    text = f"Hi Dana,\nYour refund was sent today.\n{SIGNED}"
    score = email().score(email_row(text))
    assert score.value == 3.0
    assert hits(score) == {"keyword": True, "ideal": False, "too_long": False, "recipient": True, "signature": True}
    assert [c["points"] for c in score.details["criteria"]] == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert score.details["max_points"] == 4.0


def test_email_ideal_match_and_too_long():
    ideal = "Hi Dana, your refund is on its way."
    assert email().score(email_row(ideal + "  ", answer=ideal)).value == 3.0  # keyword, ideal, recipient
    long_text = "Dana refund " + "word " * 100
    score = email().score(email_row(long_text))
    assert hits(score)["too_long"] is True
    assert score.value == 1.0  # keyword +1, recipient +1, too long -1


def test_email_recipient_is_a_whole_word_and_keyword_lists_need_all():
    assert hits(email().score(email_row("Hi Danae, refund", recipient="Dana")))["recipient"] is False
    assert hits(email().score(email_row("refund and credit", keyword=["refund", "credit"])))["keyword"] is True
    assert hits(email().score(email_row("refund only", keyword=["refund", "credit"])))["keyword"] is False


@pytest.mark.parametrize(
    "signature, present",
    [
        (SIGNED, True),
        ("Sam\n555-010-7788\nsam@shop.example", False),  # no street address
        ("Sam\nsam@shop.example\n42 Harbor Street", False),  # no phone
        ("Sam\n+44 20 7946 0958\n12 Baker St\nsam@x.co.uk", True),
    ],
)
def test_email_signature_block(signature, present):
    assert hits(email().score(email_row("refund\n" + signature)))["signature"] is present


def test_email_columns_points_and_missing_columns():
    row = {"completion": "Hello Kim, about your order", "kw": "order", "to": "Kim", "ideal": "x", "limit": 3}
    custom = email(
        keyword_column="kw", recipient_column="to", ideal_column="ideal", max_words_column="limit", too_long=-2.5
    )
    assert custom.score(row).value == -0.5  # keyword +1, recipient +1, 5 words > 3 → -2.5
    with pytest.raises(InputError, match="'keyword'"):
        email().score({"completion": "hi", "recipient": "A", "answer": "x", "max_words": 5})
    no_limit = {"completion": "hi A refund", "keyword": "refund", "recipient": "A", "answer": "x"}
    with pytest.raises(InputError, match="'max_words'"):
        email().score(no_limit)
    assert email(max_words=2).score(no_limit).value == 1.0  # +1 +1 -1
    with pytest.raises(ConfigError, match="max_words"):
        email(max_words=-1)
    assert rs.load("email:too_long=-3,max_words=1").score(no_limit).value == -1.0


def test_email_yaml_file_equals_the_preset():
    from_file = rs.load(f"rubric:path={EXAMPLES / 'email.yaml'}")
    rows = [
        email_row(f"Hi Dana,\nYour refund was sent.\n{SIGNED}"),
        email_row("IDEAL", answer="ideal"),
        email_row("word " * 80),
        email_row("Dear Dan, no money back"),
    ]
    assert [s.value for s in from_file.score_batch(rows)] == [s.value for s in email().score_batch(rows)]
    assert [s.value for s in email().score_batch(rows)] == [3.0, 1.0, -1.0, 0.0]


def test_json_rubric_file_with_negate_and_normalize():
    support = rubric(str(EXAMPLES / "support_reply.json"))
    good = support.score("Sorry about that! Ticket #123456 is open.")
    assert good.value == 1.0  # 3 of 3 positive points
    blame = support.score("It is your fault. " + "more words " * 50)
    assert blame.value == pytest.approx(-2 / 3)
    assert hits(blame) == {"apologizes": False, "gives_ticket": False, "no_blame": True, "concise": False}


def test_python_criteria_with_reward_checks():
    short = rs.reward(lambda s: 1.0 if len(s.text) < 10 else 0.0, name="short")
    r = rubric(
        criteria=[
            Criterion(name="short", points=2, check=RewardCheck(reward=short)),
            {"name": "exact", "points": 1, "check": {"type": "reward", "spec": "exact", "threshold": 1.0}},
            Criterion(name="hello", points=0.5, check=Contains(keywords="hello")),
        ]
    )
    score = r.score({"completion": "hello", "answer": "Hello!"})
    assert score.value == 3.5
    assert len(r.parts) == 2  # reward checks are parts, scored by the engine
    batch = r.score_batch(
        [{"completion": "hello", "answer": "x"}, {"completion": "a long reply indeed", "answer": "x"}]
    )
    assert [s.value for s in batch] == [2.5, 0.0]


def test_unscored_reward_check_leaves_the_item_unscored():
    down = rs.reward(lambda s: rs.Score.unscored("server down"), name="down")
    r = rubric(criteria=[Criterion(name="judge", points=1, check=RewardCheck(reward=down))])
    score = r.score("x")
    assert score.value is None and "server down" in score.reason


ASKED: list[dict] = []


def polite_judge(**params):
    """Stands in for the `judge` preset: records what the rubric asked it to build."""
    ASKED.append(params)
    return rs.reward(lambda s: 1.0 if "please" in s.text else 0.0, name=params["name"])


def test_judge_checks_are_built_by_the_judge_preset(monkeypatch):
    spec = [{"name": "polite", "points": 1, "check": {"type": "judge", "question": "Is it polite?"}}]
    monkeypatch.delenv("REWARDSMITH_JUDGE_MODEL", raising=False)
    with pytest.raises(ConfigError, match=r"criterion 'polite'.*model"):
        rubric(criteria=spec)  # the real preset: no model given
    monkeypatch.setitem(rs.registry._entries, "judge", PresetEntry("judge", f"{__name__}:polite_judge", "stub"))
    ASKED.clear()
    with_options = [{**spec[0], "check": {**spec[0]["check"], "options": {"model": "m"}}}]
    r = rubric(criteria=with_options)
    assert ASKED == [{"question": "Is it polite?", "name": "polite", "model": "m"}]
    assert [r.score("please").value, r.score("now!").value] == [1.0, 0.0]


@pytest.mark.parametrize(
    "content, message",
    [
        ("criteria:\n  - {name: a, points: 1, check: {type: vibes}}\n", r"criteria\[0\]\.check"),
        (
            "criteria:\n  - {name: a, points: 1, check: {type: regex, pattern: '(unclosed'}}\n",
            "not a valid regular expression",
        ),
        (
            "criteria:\n  - {name: a, points: 1, check: {type: max_length, limit: -5}}\n",
            r"criteria\[0\]\.check\.max_length\.limit",
        ),
        ("criteria:\n  - {name: a, points: 1, check: {type: contains}}\n", "give keywords or column"),
        ("criteria:\n  - {name: a, points: 1, check: {type: contains, keywords: x}, bonus: 2}\n", "bonus"),
        ("criteria:\n  - {name: a, points: 1, check: {type: regex, pattern: a, flags: q}}\n", "unknown regex flag"),
        ("criteria:\n  - {name: a, points: 1, check: {type: reward, spec: nope_preset}}\n", "nope_preset"),
        ("criteria: []\n", "criteria"),
        (
            "criteria:\n  - {name: a, points: 1, check: {type: contains, keywords: x}}\n  - {name: a, points: 2, check: {type: contains, keywords: y}}\n",
            "unique",
        ),
        ("[1, 2]\n", "expected a mapping"),
        ("criteria: [\n", "not valid YAML"),
    ],
)
def test_bad_rubric_files_fail_at_construction(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        rs.load(f"rubric:path={path}")


def test_rubric_needs_exactly_one_source():
    with pytest.raises(ConfigError, match="path"):
        rubric()
    with pytest.raises(ConfigError, match="does not exist"):
        rubric("no/such/rubric.yaml")
    with pytest.raises(ConfigError, match="positive points"):
        rubric(criteria=[Criterion(name="x", points=-1, check=MaxLength(limit=1))], normalize=True)


async def test_async_reward_checks_run_on_asyncio():
    import asyncio

    @rs.reward
    async def slow_yes(sample):
        await asyncio.sleep(0.01)
        return 1.0 if "yes" in sample.text else 0.0

    r = rubric(criteria=[Criterion(name="judged", points=2, check=RewardCheck(reward=slow_yes))])
    assert r.is_async and r.kind == "io"
    assert (await r.ascore("yes")).value == 2.0
    assert [s.value for s in await r.ascore_batch(["yes", "no", "yes"])] == [2.0, 0.0, 2.0]
    assert [s.value for s in r.score_batch(["no", "yes"])] == [0.0, 2.0]


def test_cli_names_the_line_of_a_row_missing_a_rubric_column(run_cli, tmp_path):
    import json

    good = email_row(f"Hi Dana, refund.\n{SIGNED}")
    bad = {k: v for k, v in good.items() if k != "recipient"}
    path = tmp_path / "emails.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    failed = run_cli("score", "--reward", "email", "--input", str(path))
    assert failed.returncode == 2
    assert f"{path}:2:" in failed.stderr and "'recipient'" in failed.stderr
    path.write_text(json.dumps(good) + "\n")
    ok = run_cli("score", "--reward", f"rubric:path={EXAMPLES / 'email.yaml'}", "--input", str(path))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["score"] == 3.0
