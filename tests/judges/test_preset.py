"""The `judge` preset: SPEC strings, the OpenAI environment variables, rubric files, the CLI."""

from __future__ import annotations

import json

import pytest

import rewardsmith as rs
from rewardsmith.core.errors import ConfigError
from rewardsmith.judges import BUILTIN_RUBRICS
from rewardsmith.judges.pairwise import PairwiseJudge
from rewardsmith.judges.reference import ReferenceJudge
from rewardsmith.judges.rubric import RubricJudge
from rewardsmith.judges.scale import ScaleJudge


def test_the_spec_reads_the_endpoint_from_the_openai_variables(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    judge = rs.load("judge:rubric=robotic,model=fake-judge,cache=false")
    assert isinstance(judge, RubricJudge) and judge.settings.endpoint.base_url == fake.url
    assert judge.score("Dear valued customer, your request has been processed.").value == -3.0
    assert judge.spec == "judge:rubric=robotic,model=fake-judge,cache=false"


def test_base_url_and_api_key_env_options_win_over_the_environment(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MY_JUDGE_KEY", "k")
    judge = rs.load(f"judge:rubric=robotic,model=m,base_url={fake.url},api_key_env=MY_JUDGE_KEY")
    assert judge.settings.endpoint.base_url == fake.url and judge.settings.endpoint.key() == "k"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("judge:rubric=robotic", "no model given"),
        ("judge:model=m", "say what to judge"),
        ("judge:rubric=robotik,model=m", "neither a built-in rubric \\(robotic\\)"),
        ("judge:rubric=robotic,model=m,base_url=localhost:8000", "not an http\\(s\\) URL"),
        ("judge:rubric=robotic,model=m,samples=0", "samples must be a positive integer"),
        ("judge:rubric=robotic,model=m,reducer=mode", "reducer"),
        ("judge:rubric=robotic,model=m,response_format=xml", "response_format"),
        ("judge:rubric=robotic,model=m,timeout=0", "timeout must be a positive number"),
        ("judge:rubric=robotic,question=Why,model=m", "does not apply"),
        ("judge:rubric=robotic,model=m,modle=x", "no parameter 'modle'"),
        ("judge:rubric=robotic,model=m,offline=true,cache=false", "needs cache=true"),
    ],
)
def test_bad_specs_say_what_to_fix(spec, message, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(rs.UsageError, match=message):  # SpecError for the SPEC's syntax, ConfigError for values
        rs.load(spec)


def test_openais_own_api_needs_a_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"\$OPENAI_API_KEY is not set"):
        rs.load("judge:rubric=robotic,model=gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert rs.load("judge:rubric=robotic,model=gpt-4o-mini").settings.endpoint.base_url == "https://api.openai.com/v1"


def test_the_model_may_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("REWARDSMITH_JUDGE_MODEL", "env-model")
    assert rs.load("judge:rubric=robotic,base_url=http://127.0.0.1:9/v1").model == "env-model"


def test_every_type(fake):
    base = f"model=m,base_url={fake.url}"
    assert isinstance(rs.load(f"judge:type=reference,{base}"), ReferenceJudge)
    assert isinstance(rs.load(f"judge:type=scale,criteria=clarity,{base}"), ScaleJudge)
    assert isinstance(rs.load(f"judge:type=pairwise,baseline_column=ref,{base}"), PairwiseJudge)
    polite = rs.load(f"judge:question='Is the reply polite?',{base},cache=false")
    assert polite.rubric.bounds == (0.0, 1.0)
    fake.configure(rules=[{"match": "polite", "reply": '{"reasoning": "kind", "met": true}'}])
    assert polite.score("Thank you so much!").value == 1.0


def test_a_rubric_file_and_a_template_file(fake, tmp_path):
    rubric = tmp_path / "tone.yaml"
    rubric.write_text(
        "name: tone\ncriteria:\n  - {name: cold, points: -2, question: 'Is the tone cold?'}\n", encoding="utf-8"
    )
    template = tmp_path / "t.txt"
    template.write_text("Recipient: {recipient}\n<completion>{completion}</completion>\n{question}", encoding="utf-8")
    judge = rs.load(f"judge:rubric={rubric},template_file={template},model=m,base_url={fake.url},cache=false")
    assert judge.name == "tone" and judge.rubric.bounds == (-2.0, 0.0)
    assert judge.score({"completion": "Hi", "recipient": "Ana"}).value == 0.0
    sent = fake.state.bodies[-1]["messages"][1]["content"]
    assert sent.startswith("Recipient: Ana\n") and '"met": true or false' in sent  # {format} appended


def test_the_builtin_robotic_rubric_is_the_seed_rule():
    robotic = BUILTIN_RUBRICS["robotic"]
    assert robotic.bounds == (-3.0, 0.0) and [c.points for c in robotic.criteria] == [-3]
    assert "too robotic" in robotic.criteria[0].question and "subtract 3 points" in robotic.description


def test_rubric_file_judge_criteria_use_the_judge_preset(fake, tmp_path):
    path = tmp_path / "reply.yaml"
    path.write_text(
        f"""name: reply
criteria:
  - name: mentions_refund
    points: 1
    check: {{type: contains, keywords: [refund]}}
  - name: warm
    points: 2
    check:
      type: judge
      question: Is the reply warm and friendly?
      options: {{model: fake-judge, base_url: "{fake.url}", cache: false}}
""",
        encoding="utf-8",
    )
    fake.configure(rules=[{"match": "Thanks so much", "reply": '{"reasoning": "warm", "met": true}'}])
    reward = rs.load(f"rubric:path={path}")
    warm, cold = reward.score_batch(["Thanks so much, your refund is on its way!", "Refund issued."])
    assert (warm.value, cold.value) == (3.0, 1.0)
    assert warm.details["judge"]["requests"] == 1  # the judge part's counters, where reports look
    assert rs.judges.judge_stats()["warm"]["items"] == 2


def test_the_cli_scores_with_a_judge_and_reports_unscored_rows(fake, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    fake.configure(rules=[{"match": "row-3", "faults": ["500"], "repeat": True}])
    rows = [
        {"id": 1, "completion": "Dear valued customer, your request has been processed."},
        {"id": 2, "completion": "Hey Ana, thanks a lot, see you soon!"},
        {"id": 3, "completion": "row-3 the judge fails on this one"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    r = run_cli("score", "--reward", "judge:rubric=robotic,model=fake-judge,max_retries=1", "--input", str(source))
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["score"] for o in out] == [-3.0, 0.0, None]
    assert out[2]["status"] == "unscored" and out[2]["details"]["judge"]["failures"] == 1
    assert "unscored" in r.stderr  # the summary's status counts show the judge's failures


def test_building_a_judge_imports_no_http_client():
    """openai, tenacity and diskcache load on the first request, not with the judges package."""
    import subprocess
    import sys

    code = (
        "import sys, rewardsmith as rs; rs.load('judge:rubric=robotic,model=m,base_url=http://127.0.0.1:9/v1'); "
        "print(','.join(m for m in ('openai', 'httpx', 'tenacity', 'diskcache') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
