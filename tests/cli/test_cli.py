"""The real `rewardsmith` command in a subprocess: scoring, listing and every bad-input path."""

from __future__ import annotations

import json
import os

import pytest

USER_REWARDS = """
import rewardsmith as rs

@rs.reward
def length(sample):
    return len(sample.text)

def plain(sample):
    return 1.0 if sample.get("answer") in sample.text else 0.0

@rs.reward
def says_yes(sample):
    return "yes"

class _BrokenEngine(rs.Reward):
    name = "broken"

    def _batch(self, samples, opts):
        raise RuntimeError("engine bug")

internal_bug = _BrokenEngine()

def trl_style(prompts, completions, answer, **kwargs):
    # an existing TRL reward function: one call per batch, column lists in, floats out
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [1.0 if t.lower().startswith(a.lower()) else 0.0 for t, a in zip(texts, answer)]
"""


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "my_rewards.py").write_text(USER_REWARDS)
    rows = [
        {"id": 1, "completion": "Paris", "answer": "paris", "lang": "en"},
        {"id": 2, "completion": "Lyon.", "answer": "Paris"},
        {
            "id": 3,
            "prompt": [{"role": "user", "content": "Capital?"}],
            "completion": [{"role": "assistant", "content": "paris"}],
            "answer": "Paris",
        },
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return tmp_path


def test_score_to_file_keeps_rows_and_adds_results(run_cli, workdir):
    out = workdir / "out.jsonl"
    r = run_cli("score", "--reward", "exact", "--input", str(workdir / "in.jsonl"), "--output", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["score"] for row in rows] == [1.0, 0.0, 1.0]
    assert rows[0]["lang"] == "en" and rows[0]["id"] == 1
    assert {"score", "status", "reason", "details"} <= set(rows[1])
    assert rows[1]["status"] == "wrong"
    assert "scored 3 samples" in r.stderr and "mean score 0.6667" in r.stderr and "ok=2" in r.stderr
    assert r.stdout == ""


def test_score_to_stdout_with_preset_params_and_workers(run_cli, workdir):
    r = run_cli(
        "score",
        "--reward",
        "regex:pattern=^[A-Z],mode=search",
        "--input",
        str(workdir / "in.jsonl"),
        "--workers",
        "2",
        "--timeout",
        "5",
    )
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["score"] for line in r.stdout.splitlines()] == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("spec", ["my_rewards.py:length", "my_rewards:length", "my_rewards.py:plain"])
def test_import_paths_to_rewards_and_plain_functions(run_cli, workdir, spec):
    env_cwd = workdir
    r = run_cli("score", "--reward", spec, "--input", "in.jsonl", cwd=env_cwd)
    assert r.returncode == 0, r.stderr
    scores = [json.loads(line)["score"] for line in r.stdout.splitlines()]
    assert scores == ([5.0, 5.0, 5.0] if spec.endswith("length") else [0.0, 0.0, 0.0])


def test_a_trl_reward_function_is_recognised_by_its_signature(run_cli, workdir):
    r = run_cli("score", "--reward", "my_rewards.py:trl_style", "--input", "in.jsonl", cwd=workdir)
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["score"] for line in r.stdout.splitlines()] == [1.0, 0.0, 1.0]


def test_stdin_input(run_cli):
    r = run_cli("score", "--reward", "exact", "--input", "-", input='{"completion": "a", "answer": "a"}\n')
    assert r.returncode == 0 and json.loads(r.stdout)["score"] == 1.0


def test_list_shows_presets_and_parameters(run_cli):
    r = run_cli("list")
    assert r.returncode == 0
    assert "exact" in r.stdout and "regex" in r.stdout and "parameters:" in r.stdout


# -- bad input: exit 2, a message that names the problem, never a traceback ----------------


def _bad(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    for needle in needles:
        assert needle in r.stderr, r.stderr


def test_line_that_is_not_json(run_cli, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"completion": "a"}\n\n{"completion": oops}\n')
    _bad(run_cli("score", "--reward", "exact", "--input", str(f)), "in.jsonl:3", "not valid JSON")


def test_row_without_completion(run_cli, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"completion": "a"}\n{"prompt": "p", "answer": "x"}\n')
    _bad(run_cli("score", "--reward", "exact", "--input", str(f)), "in.jsonl:2", "'completion'")


def test_row_that_is_not_an_object(run_cli, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('["completion"]\n')
    _bad(run_cli("score", "--reward", "exact", "--input", str(f)), "in.jsonl:1", "JSON object")


def test_missing_column_a_reward_needs(run_cli, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"completion": "a", "answer": "a"}\n{"completion": "b"}\n')
    _bad(run_cli("score", "--reward", "exact", "--input", str(f)), "in.jsonl:2", "'answer'")


def test_non_numeric_return_and_nothing_half_written(run_cli, workdir):
    out = workdir / "out.jsonl"
    r = run_cli("score", "--reward", "my_rewards.py:says_yes", "--input", "in.jsonl", "--output", str(out), cwd=workdir)
    _bad(r, "'says_yes' returned str", "must return a number")
    assert not out.exists()
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".out")] == []


def test_unknown_preset_suggests_close_names(run_cli, workdir):
    _bad(
        run_cli("score", "--reward", "exakt", "--input", str(workdir / "in.jsonl")),
        "unknown preset 'exakt'",
        "did you mean 'exact'",
    )


def test_unknown_preset_parameter(run_cli, workdir):
    _bad(
        run_cli("score", "--reward", "exact:tolerance=3", "--input", str(workdir / "in.jsonl")),
        "no parameter 'tolerance'",
        "field",
    )


def test_bad_parameter_type(run_cli, workdir):
    _bad(
        run_cli("score", "--reward", "exact:case_sensitive=maybe", "--input", str(workdir / "in.jsonl")),
        "'case_sensitive' expects bool",
    )


def test_bad_regex_fails_before_scoring(run_cli, workdir):
    _bad(
        run_cli("score", "--reward", "regex:pattern=(unclosed", "--input", str(workdir / "in.jsonl")),
        "not a valid regular expression",
    )


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("no_such_module_xyz.rewards:thing", "cannot import module 'no_such_module_xyz.rewards'"),
        ("my_rewards.py:lenght", "has no attribute 'lenght'"),
        ("missing_file.py:f", "does not exist"),
        ("my_rewards.py", "names no attribute"),
    ],
)
def test_import_path_that_does_not_resolve(run_cli, workdir, spec, needle):
    _bad(run_cli("score", "--reward", spec, "--input", "in.jsonl", cwd=workdir), needle)


def test_unreadable_files(run_cli, workdir):
    _bad(run_cli("score", "--reward", "exact", "--input", str(workdir / "nope.jsonl")), "does not exist")
    _bad(run_cli("score", "--reward", "exact", "--input", str(workdir)), "is a directory")
    binary = workdir / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    _bad(run_cli("score", "--reward", "exact", "--input", str(binary)), "not UTF-8")
    if os.geteuid() != 0:  # root reads anything
        locked = workdir / "locked.jsonl"
        locked.write_text('{"completion": "a"}\n')
        locked.chmod(0)
        _bad(run_cli("score", "--reward", "exact", "--input", str(locked)), "cannot read")


def test_bad_usage(run_cli, workdir):
    _bad(run_cli("score", "--input", "in.jsonl"), "--reward")
    _bad(run_cli("score", "--reward", "exact", "--input", "in.jsonl", "--workers", "0"), "positive integer")
    _bad(run_cli("score", "--reward", "exact", "--input", "in.jsonl", "--timeout", "soon"), "number of seconds")
    _bad(run_cli("frobnicate"), "invalid choice")
    _bad(
        run_cli(
            "score",
            "--reward",
            "exact",
            "--input",
            str(workdir / "in.jsonl"),
            "--output",
            str(workdir / "nodir" / "o.jsonl"),
        ),
        "does not exist",
    )


def test_internal_error_exits_1(run_cli, workdir):
    r = run_cli("score", "--reward", "my_rewards.py:internal_bug", "--input", "in.jsonl", cwd=workdir)
    assert r.returncode == 1
    assert "internal error: RuntimeError: engine bug" in r.stderr
