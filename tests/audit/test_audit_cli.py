"""The real `rewardsmith audit` command in a subprocess: exit codes, the report, JSON, the PNG."""

from __future__ import annotations

import json

import pytest

from tests.audit.audit_helpers import gsm8k_rows

WEAK = """
import rewardsmith as rs

@rs.reward
def contains(sample):
    return 1.0 if str(sample.answer) in sample.text else 0.0
"""


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "weak.py").write_text(WEAK)
    rows = gsm8k_rows("boxed", problems=10)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_a_hack_found_exits_1_with_the_evidence(run_cli, workdir):
    r = run_cli("audit", "--reward", "weak.py:contains", "--input", "in.jsonl", "--no-plot", cwd=workdir)
    assert r.returncode == 1, r.stderr
    assert "FAIL: 2 hack(s) at or above 80%: answer_spam, conflicting_boxed" in r.stdout
    assert "HACK answer_spam (exploit)" in r.stdout
    assert "in.jsonl:" in r.stdout and "→ 1 [ok]; genuine 1, empty 0" in r.stdout
    assert not (workdir / "audit.png").exists()


def test_a_sound_reward_exits_0_and_writes_json_and_the_histogram(run_cli, workdir):
    r = run_cli("audit", "--reward", "math", "--input", "in.jsonl", "--json", "report.json", cwd=workdir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and "histograms: audit.png" in r.stdout
    assert (workdir / "audit.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((workdir / "report.json").read_text())
    assert data["passed"] is True and data["findings"] == []
    assert data["references"]["audited"] == 10
    spam = next(h for h in data["hacks"] if h["name"] == "answer_spam")
    assert spam["verdict"] == "resisted" and spam["reach"] == 0.0 and spam["example"]["genuine_score"] == 1.0
    assert data["signal"]["groups"] == 10 and 0 <= data["signal"]["zero_std_share"] <= 1


def test_json_to_stdout_keeps_the_human_report_on_stderr(run_cli, workdir):
    args = ["audit", "--reward", "weak.py:contains", "--input", "in.jsonl", "--json", "-", "--no-plot"]
    r = run_cli(*args, cwd=workdir)
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["findings"] == ["answer_spam", "conflicting_boxed"] and data["passed"] is False
    assert "HACK answer_spam" in r.stderr


def test_threshold_and_hack_selection(run_cli, workdir):
    r = run_cli(
        "audit", "--reward", "weak.py:contains", "--input", "in.jsonl", "--hacks", "format_only,prompt_echo",
        "--no-plot", cwd=workdir,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout
    r = run_cli(
        "audit", "--reward", "math", "--input", "in.jsonl", "--require-lower", "no_reasoning", "--no-plot",
        cwd=workdir,
    )  # fmt: skip
    assert r.returncode == 1 and "no_reasoning" in r.stdout


def test_max_zero_std_makes_dead_signal_fail(run_cli, workdir):
    base = ["audit", "--reward", "math", "--input", "in.jsonl", "--no-plot", "--hacks", "prompt_echo"]
    assert run_cli(*base, "--max-zero-std", "1", cwd=workdir).returncode == 0
    r = run_cli(*base, "--max-zero-std", "0", cwd=workdir)
    assert r.returncode == 1 and "zero reward variance" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "in.jsonl"], "audit needs --reward"),
        (["--reward", "math", "--input", "in.jsonl", "--hacks", "nope"], "unknown hack(s) nope"),
        (["--reward", "math", "--input", "in.jsonl", "--threshold", "2"], "between 0 and 1"),
        (["--reward", "math", "--input", "missing.jsonl"], "does not exist"),
        (["--reward", "no_such_preset", "--input", "in.jsonl"], "no_such_preset"),
        (["--reward", "math", "--input", "in.jsonl", "--plot", "nodir/x.png"], "does not exist"),
    ],
)
def test_bad_usage_exits_2_with_a_message(run_cli, workdir, args, message):
    r = run_cli("audit", *args, cwd=workdir)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr


def test_a_bad_row_names_its_line(run_cli, workdir):
    (workdir / "bad.jsonl").write_text('{"completion": "x", "answer": "1"}\n{"answer": "1"}\n')
    r = run_cli("audit", "--reward", "math", "--input", "bad.jsonl", cwd=workdir)
    assert r.returncode == 2 and "bad.jsonl:2: missing required field 'completion'" in r.stderr


def test_list_hacks(run_cli):
    r = run_cli("audit", "--list-hacks")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names[:3] == ["wrong_answer", "answer_spam", "conflicting_boxed"] and "test_tampering" in names
    assert "audit" in run_cli("--help").stdout
