"""The CLI under the faults real pipelines meet: signals, piped callers, rows that misbehave, long inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import gone

REPO = Path(__file__).resolve().parents[2]

REWARDS = '''
import os, sys, time
from pathlib import Path
import rewardsmith as rs

def _record(kind):
    where = os.environ.get("RS_TEST_PIDS")
    if where:
        Path(where, f"{kind}-{os.getpid()}").touch()

@rs.reward(kind="cpu")
def slow(sample):
    """Records the worker's pid, starts a grandchild that records its own, then takes its time."""
    _record("worker")
    if sample.get("spawn"):
        import subprocess
        code = "import os, sys, time; open(os.path.join(sys.argv[1], 'child-%d' % os.getpid()), 'w'); time.sleep(300)"
        subprocess.Popen([sys.executable, "-c", code, os.environ["RS_TEST_PIDS"]])
    time.sleep(float(sample.get("sleep", 0.01)))
    return float(len(sample.text))

@rs.reward
def misbehaves(sample):
    if sample.text == "exit":
        sys.exit(0)
    if sample.text == "interrupt":
        raise KeyboardInterrupt
    if sample.text == "lambda":
        return rs.Score(1.0, "holds a lambda", "ok", {"fn": lambda: 1})
    return 1.0

pooled_misbehaves = rs.reward(misbehaves.fn, name="pooled", kind="cpu")

@rs.reward
def always_raises(sample):
    raise ValueError("bug in the reward")

@rs.reward
def sometimes_raises(sample):
    if sample.text == "boom":
        raise ValueError("bug in the reward")
    return 1.0

@rs.reward(timeout=1.0)
async def never_answers(sample):
    import asyncio
    if sample.text == "never":
        await asyncio.Event().wait()
    return 1.0

@rs.reward
def prints(sample):
    print("debug output from the reward")
    return 1.0
'''


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "rw.py").write_text(REWARDS)
    (tmp_path / "pids").mkdir()
    return tmp_path


def _write_rows(path: Path, rows) -> Path:
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def _cli(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RS_TEST_PIDS": str(cwd / "pids")}
    return subprocess.Popen(
        [sys.executable, "-m", "rewardsmith", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = _cli(*args, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _recorded_pids(workdir: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in (workdir / "pids").iterdir()]


def _wait_for(predicate, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the CLI ended early ({proc.returncode}): {err[-2000:]}")
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


# -- killed CLI: no orphan, a piped caller sees EOF ----------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGHUP])
def test_killed_cli_leaves_no_process_and_piped_caller_reaches_eof(workdir, sig):
    rows = [{"completion": "x" * (i % 5), "spawn": i < 4, "sleep": 0.05} for i in range(400)]
    _write_rows(workdir / "in.jsonl", rows)
    proc = _cli("score", "--reward", "rw.py:slow", "--input", "in.jsonl", "--workers", "2", cwd=workdir)
    _wait_for(lambda: len([p for p in (workdir / "pids").iterdir() if p.name.startswith("child-")]) >= 2, proc=proc)
    proc.send_signal(sig)
    started = time.monotonic()
    out, err = proc.communicate(timeout=20)  # reads stdout and stderr to EOF: an orphan holding them hangs here
    assert time.monotonic() - started < 10
    assert gone(_recorded_pids(workdir), timeout=10), "a worker or a process it started outlived the CLI"
    if sig != signal.SIGKILL:
        assert proc.returncode == 128 + sig and "interrupted" in err


def test_sigterm_keeps_a_partial_file_that_resume_completes(workdir):
    rows = [{"id": i, "completion": "y" * (i % 7), "sleep": 0.02} for i in range(300)]
    _write_rows(workdir / "in.jsonl", rows)
    args = ("score", "--reward", "rw.py:slow", "--input", "in.jsonl", "--output", "out.jsonl", "--chunk-size", "20")
    proc = _cli(*args, "--workers", "2", cwd=workdir)
    partial = workdir / "out.jsonl.partial"
    _wait_for(lambda: partial.exists() and partial.stat().st_size > 0, proc=proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "--resume" in err
    assert not (workdir / "out.jsonl").exists()
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".")] == []  # no hidden temporary left
    done = len(partial.read_text().splitlines())
    assert 0 < done < 300
    with open(partial, "a") as f:
        f.write('{"id": 999, "compl')  # a torn last line, as a SIGKILL mid-write leaves
    resumed = _run(*args, "--resume", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    out_rows = [json.loads(line) for line in (workdir / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in out_rows] == list(range(300))
    assert [r["score"] for r in out_rows] == [float(i % 7) for i in range(300)]
    assert not partial.exists()
    assert "scored 300 samples" in resumed.stderr and f"resumed after {done} rows" in resumed.stderr
    again = _run(*args, "--resume", cwd=workdir)
    assert again.returncode == 0 and "nothing to resume" in again.stderr


def test_resume_refuses_a_partial_file_of_another_input(workdir):
    _write_rows(workdir / "in.jsonl", [{"id": i, "completion": "a"} for i in range(3)])
    (workdir / "out.jsonl.partial").write_text(json.dumps({"id": 7, "completion": "b", "score": 1.0}) + "\n")
    r = _run("score", "--reward", "exact", "--input", "in.jsonl", "--output", "out.jsonl", "--resume", cwd=workdir)
    assert r.returncode == 2 and "does not match input line 1" in r.stderr


def test_resume_needs_an_output(workdir):
    _write_rows(workdir / "in.jsonl", [{"completion": "a"}])
    r = _run("score", "--reward", "exact", "--input", "in.jsonl", "--resume", cwd=workdir)
    assert r.returncode == 2 and "--output" in r.stderr


# -- one row cannot sink the run ------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["rw.py:misbehaves", "rw.py:pooled_misbehaves"])
def test_exit_interrupt_and_unpicklable_details_cost_one_row(workdir, spec):
    texts = ["a"] * 2000
    texts[10], texts[500], texts[1500] = "exit", "interrupt", "lambda"
    _write_rows(workdir / "in.jsonl", [{"completion": t} for t in texts])
    r = _run("score", "--reward", spec, "--input", "in.jsonl", "--output", "out.jsonl", cwd=workdir)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in (workdir / "out.jsonl").read_text().splitlines()]
    assert len(out) == 2000
    assert out[10]["status"] == "error" and "SystemExit" in out[10]["reason"]
    assert out[500]["status"] == "error" and "KeyboardInterrupt" in out[500]["reason"]
    assert out[1500]["score"] == 1.0
    assert sum(row["status"] == "ok" for row in out) == 1998
    assert "raised SystemExit on 1 rows" in r.stderr and "in.jsonl:11" in r.stderr  # loud, with where


def test_a_reward_that_always_raises_fails_the_run(workdir):
    _write_rows(workdir / "in.jsonl", [{"completion": "a"}] * 5)
    r = _run("score", "--reward", "rw.py:always_raises", "--input", "in.jsonl", cwd=workdir)
    assert r.returncode == 1
    assert "raised on every row" in r.stderr and "bug in the reward" in r.stderr and "Traceback" in r.stderr


def test_a_sometimes_raising_reward_warns_with_the_traceback(workdir):
    _write_rows(workdir / "in.jsonl", [{"completion": t} for t in ["a", "boom", "b", "boom"]])
    r = _run("score", "--reward", "rw.py:sometimes_raises", "--input", "in.jsonl", cwd=workdir)
    assert r.returncode == 0
    assert "raised ValueError on 2 rows (50.0%)" in r.stderr and 'raise ValueError("bug in the reward")' in r.stderr


def test_async_row_that_never_answers_is_unscored_not_a_hang(workdir):
    _write_rows(workdir / "in.jsonl", [{"completion": t} for t in ["a", "never", "b"]])
    started = time.monotonic()
    r = _run("score", "--reward", "rw.py:never_answers", "--input", "in.jsonl", cwd=workdir, timeout=60)
    assert r.returncode == 0 and time.monotonic() - started < 30
    statuses = [json.loads(line)["status"] for line in r.stdout.splitlines()]
    assert statuses == ["ok", "unscored", "ok"]


def test_a_reward_printing_to_stdout_does_not_corrupt_the_output(workdir):
    _write_rows(workdir / "in.jsonl", [{"completion": "a"}, {"completion": "b"}])
    r = _run("score", "--reward", "rw.py:prints", "--input", "in.jsonl", cwd=workdir)
    assert r.returncode == 0
    assert [json.loads(line)["score"] for line in r.stdout.splitlines()] == [1.0, 1.0]
    assert "debug output from the reward" in r.stderr


# -- streaming: memory flat in the input size -------------------------------------------------------

_MEASURE = """
import sys
from rewardsmith.cli import main
code = main(sys.argv[1:])
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
print("MAXRSS_KB", hwm, file=sys.stderr)  # VmHWM: ru_maxrss would include the parent's size before exec
sys.exit(code)
"""


@pytest.mark.integration
def test_peak_memory_is_flat_in_the_input_size(tmp_path):
    (tmp_path / "measure.py").write_text(_MEASURE)
    peaks = {}
    for n in (20_000, 200_000):
        src = tmp_path / f"in{n}.jsonl"
        with open(src, "w") as f:
            for i in range(n):
                f.write(json.dumps({"id": i, "completion": f"answer {i % 97} " + "pad " * 20, "answer": "7"}) + "\n")
        done = subprocess.run(
            [sys.executable, str(tmp_path / "measure.py"), "score", "--reward", "exact", "--input", str(src)]
            + ["--output", str(tmp_path / f"out{n}.jsonl")],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        peaks[n] = int(done.stderr.split("MAXRSS_KB")[1].split()[0])
        assert sum(1 for _ in open(tmp_path / f"out{n}.jsonl")) == n
    assert peaks[200_000] < 1.5 * peaks[20_000], peaks


# -- CLI habits ----------------------------------------------------------------------------------


def test_output_file_keeps_the_usual_mode(workdir):
    _write_rows(workdir / "in.jsonl", [{"completion": "a", "answer": "a"}])
    old = os.umask(0o022)
    try:
        r = _run("score", "--reward", "exact", "--input", "in.jsonl", "--output", "new.jsonl", cwd=workdir)
        assert r.returncode == 0 and (workdir / "new.jsonl").stat().st_mode & 0o777 == 0o644
        existing = workdir / "existing.jsonl"
        existing.write_text("old\n")
        existing.chmod(0o640)
        r = _run("score", "--reward", "exact", "--input", "in.jsonl", "--output", "existing.jsonl", cwd=workdir)
        assert r.returncode == 0 and existing.stat().st_mode & 0o777 == 0o640
        assert json.loads(existing.read_text())["score"] == 1.0
    finally:
        os.umask(old)


def test_symlinked_output_writes_its_target(workdir):
    _write_rows(workdir / "in.jsonl", [{"completion": "a", "answer": "a"}])
    (workdir / "real").mkdir()
    target = workdir / "real" / "scores.jsonl"
    target.write_text("")
    (workdir / "link.jsonl").symlink_to(target)
    r = _run("score", "--reward", "exact", "--input", "in.jsonl", "--output", "link.jsonl", cwd=workdir)
    assert r.returncode == 0
    assert (workdir / "link.jsonl").is_symlink() and json.loads(target.read_text())["score"] == 1.0


def test_version_and_bare_invocation(workdir):
    from rewardsmith import __version__

    r = _run("--version", cwd=workdir)
    assert r.returncode == 0 and __version__ in r.stdout
    r = _run(cwd=workdir)
    assert r.returncode == 0 and "score" in r.stdout and "usage" in r.stdout.lower()


def test_bad_rows_can_be_skipped_and_are_counted(workdir):
    (workdir / "in.jsonl").write_text(
        '{"completion": "a", "answer": "a"}\nnot json\n{"prompt": "p"}\n{"completion": 3}\n'
    )
    r = _run("score", "--reward", "exact", "--input", "in.jsonl", cwd=workdir)
    assert r.returncode == 2 and "in.jsonl:2" in r.stderr and "--on-bad-row skip" in r.stderr
    r = _run("score", "--reward", "exact", "--input", "in.jsonl", "--on-bad-row", "skip", cwd=workdir)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1
    assert "skipped 3 bad rows" in r.stderr and "in.jsonl:2" in r.stderr and "in.jsonl:4" in r.stderr


def test_other_formats_get_a_message_that_says_what_was_expected(workdir):
    (workdir / "rows.json").write_text('[\n  {"completion": "a"}\n]\n')
    r = _run("score", "--reward", "exact", "--input", "rows.json", cwd=workdir)
    assert r.returncode == 2 and "JSON array" in r.stderr and "JSON Lines" in r.stderr
    (workdir / "rows.parquet").write_bytes(b"PAR1\x00\x00binary")
    r = _run("score", "--reward", "exact", "--input", "rows.parquet", cwd=workdir)
    assert r.returncode == 2 and "Parquet" in r.stderr
    (workdir / "latin1.jsonl").write_bytes('{"completion": "a"}\n{"completion": "caf\xe9"}\n'.encode("latin-1"))
    r = _run("score", "--reward", "exact", "--input", "latin1.jsonl", cwd=workdir)
    assert r.returncode == 2 and "latin1.jsonl:2" in r.stderr and "UTF-8" in r.stderr
