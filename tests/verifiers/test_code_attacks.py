"""Adversarial suite for the code sandbox: each attack scores 0 (or its legitimate value),
leaves no process, file or connection behind, and does not disturb the verifier.

Every attack is bounded (a few hundred processes, a few GB of address space, a few hundred
MB of output) so that it cannot harm the machine even if the sandbox failed.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid

import psutil
import pytest

from rewardsmith.verifiers.code import code_tests
from rewardsmith.verifiers.code.executor import pool_for
from tests.verifiers.code_sandbox_helpers import fenced, leftovers, marked, marker

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")


def zygote_leftovers(isolation: str) -> list[str]:
    """Children (or zombies) still under the warm supervisors after a run: there must be none."""
    return leftovers(isolation)


@pytest.fixture(scope="module")
def sandboxed():
    # generous: attacks that are not about time must not time out on a loaded CI machine
    return code_tests(timeout=10)


@pytest.fixture(scope="module")
def looping():
    return code_tests(timeout=1.5)


@pytest.fixture(scope="module")
def degraded():
    return code_tests(timeout=10, isolation="none")


def attack(reward, code: str, tests, *, mark: str | None = None, **extra):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    score = reward.score({"completion": fenced(code), "tests": tests, **extra})
    isolation = "none" if reward.executor.isolation == "none" else "auto"
    assert zygote_leftovers(isolation) == []
    if mark:
        deadline = time.monotonic() + 2
        while marked(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marked(mark) == []
    after = psutil.Process().children(recursive=True)
    zombies = [p.pid for p in after if p.pid not in before and p.status() == psutil.STATUS_ZOMBIE]
    assert zombies == []
    # the verifier is undisturbed: a legitimate program still scores 1.0 right after
    ok = reward.score({"completion": fenced("def f():\n    return 1"), "tests": "assert f() == 1"})
    assert ok.value == 1.0, ok.reason
    return score


def test_infinite_loop_times_out(looping):
    t = time.monotonic()
    s = attack(looping, "def f():\n    while True:\n        pass", "assert f() == 1")
    assert s.value == 0.0 and s.status == "timeout"
    assert time.monotonic() - t < 10


def test_sigterm_ignored_still_killed(looping):
    code = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass"
    s = attack(looping, code, "assert True")
    assert s.value == 0.0 and s.status == "timeout"


@pytest.mark.parametrize("mode", ["sandboxed", "degraded"])
def test_double_fork_daemon_dies_with_the_run(mode, request):
    reward = request.getfixturevalue(mode)
    mark = marker()
    code = f"""
    import os, sys
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(60)", "{mark}"])
        os._exit(0)
    os.wait()
    def f():
        return 1
    """
    s = attack(reward, code, "assert f() == 1", mark=mark)
    assert s.value == 1.0  # its legitimate value: the tests pass, the daemon is gone


def test_bounded_fork_bomb(sandboxed):
    mark = marker()
    code = f"""
    import os, sys
    forks = 0
    for _ in range(300):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(60)", "{mark}"])
        forks += 1
    """
    s = attack(sandboxed, code, "assert forks == 300", mark=mark)
    assert s.value == 0.0  # the process limit stopped it
    assert "AssertionError" in s.reason


def test_bounded_memory_bomb(sandboxed):
    code = """
    hog = []
    for _ in range(40):  # 4 GB at most, stopped at the 1 GB address-space limit
        hog.append(bytearray(100 * 1024 * 1024))
    """
    s = attack(sandboxed, code, "assert len(hog) == 40")
    assert s.value == 0.0 and s.status == "runtime_error"
    assert "MemoryError" in s.reason


def test_output_flood_is_capped(sandboxed):
    code = """
    import sys
    chunk = "x" * (1 << 20)
    for _ in range(200):
        sys.stdout.write(chunk)
        sys.stderr.write(chunk)
    def f():
        return 1
    """
    rss = psutil.Process().memory_info().rss
    s = attack(sandboxed, code, "assert f() == 1")
    assert s.value == 1.0
    assert len(s.details["stdout_tail"]) <= 2000 and len(s.details["stderr_tail"]) <= 2000
    assert psutil.Process().memory_info().rss - rss < 50 << 20


def test_disk_filler_is_stopped_and_removed(sandboxed):
    code = """
    with open("filler.bin", "wb") as f:
        for _ in range(100):  # 100 MB, stopped at the 16 MB file-size limit
            f.write(b"0" * (1 << 20))
    """
    s = attack(sandboxed, code, "assert True")
    assert s.value == 0.0
    assert "SIGXFSZ" in s.details["exit"] or "File too large" in s.reason


@pytest.mark.parametrize("mode", ["sandboxed", "degraded"])
def test_deep_and_wide_trees_are_removed(mode, request):
    """Deeper than PATH_MAX and thousands of files: cleanup must neither fail nor linger."""
    code = """
    import os
    top = os.getcwd()
    print(top)
    for i in range(500):
        open(f"f{i}", "w").close()
    for _ in range(40):  # 40 x 200 characters: deeper than PATH_MAX
        os.mkdir("d" * 200)
        os.chdir("d" * 200)
    os.chmod(".", 0)
    def f():
        return 1
    """
    s = attack(request.getfixturevalue(mode), code, "assert f() == 1")
    assert s.value == 1.0, s.reason
    top = s.details["stdout_tail"].strip()
    assert top and not (mode == "degraded" and os.path.exists(top))
    assert "workdirs_left_behind" not in s.details["isolation"]


@pytest.mark.skipif(os.getuid() != 0, reason="a non-root sandbox can write where its user can (docs/code.md)")
def test_files_written_outside_the_work_dir_do_not_survive(sandboxed):
    name = f"rs-attack-{uuid.uuid4().hex}"
    targets = [f"/tmp/{name}", f"/var/tmp/{name}", f"/dev/shm/{name}", f"/root/{name}", f"{os.getcwd()}/{name}"]
    code = f"""
    import os
    wrote = []
    for path in {targets!r}:
        try:
            with open(path, "w") as f:
                f.write("x")
            wrote.append(path)
        except OSError:
            pass
    def f():
        return 1
    """
    s = attack(sandboxed, code, "assert f() == 1")
    assert s.value == 1.0
    assert [t for t in targets if os.path.exists(t)] == []
    # nor do they reach the next run: its /tmp holds only its own work dir (besides the mount
    # point of a virtualenv or checkout that lives under /tmp, as in CI), /dev/shm nothing
    bound = sorted(
        {os.path.realpath(p).split("/")[2] for p in [*sys.path, sys.prefix] if os.path.realpath(p).startswith("/tmp/")}
    )
    probe = {
        "completion": fenced("import os\nseen = sorted(os.listdir('/tmp')) + os.listdir('/dev/shm')"),
        "tests": f"assert [n for n in seen if n not in {bound!r}] == ['work'], seen",
    }
    zygotes = len(pool_for("auto")._all)
    later = sandboxed.score_batch([probe] * 4 * zygotes, workers=zygotes)  # reaches every warm zygote
    assert [x.reason for x in later if x.value != 1.0] == []


def test_parent_environment_is_invisible(sandboxed, monkeypatch):
    secret = f"sk-{uuid.uuid4().hex}"
    monkeypatch.setenv("RS_TEST_API_KEY", secret)
    code = f"""
    import os
    def f():
        found = [v for v in os.environ.values() if v.startswith("sk-")]
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{{pid}}/environ", "rb") as fh:
                        if b"RS_TEST_API_KEY" in fh.read():
                            found.append("{secret}")
                except OSError:
                    pass
        try:  # the verifier's command line (often holds tokens) must not be readable either
            with open("/proc/{os.getpid()}/cmdline", "rb"):
                found.append("{secret}")
        except OSError:
            pass
        return found[0] if found else ""
    """
    tests = [{"args": [], "expected": secret}]
    s = attack(sandboxed, code, tests, entry_point="f")
    assert s.value == 0.0  # nothing found
    assert secret not in s.details["stdout_tail"] + s.details["stderr_tail"]


def test_no_connection_to_a_local_listener(sandboxed):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    port = server.getsockname()[1]
    code = f"""
    import socket
    def f():
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
            return "connected"
        except OSError as exc:
            return "refused"
    """
    try:
        s = attack(sandboxed, code, [{"args": [], "expected": "connected"}], entry_point="f")
        assert s.value == 0.0
        with pytest.raises(BlockingIOError):
            server.accept()
        assert [c for c in psutil.net_connections("tcp") if c.raddr and c.raddr.port == port] == []
    finally:
        server.close()


def test_degraded_mode_says_network_is_open(degraded):
    pool_for("none").close()  # the warning comes with a pool's first zygote
    with pytest.warns(RuntimeWarning, match="reduced isolation.*network is NOT isolated"):
        s = degraded.score({"completion": fenced("def f():\n    return 1"), "tests": "assert f() == 1"})
    assert s.value == 1.0
    iso = s.details["isolation"]
    assert iso["mode"] == "none" and iso["network"].startswith("none:")
    assert any("network is NOT isolated" in w for w in iso["warnings"])


def test_killing_the_parent_fails_and_harms_nothing(sandboxed):
    zygote_pids = {z.proc.pid for z in pool_for("auto")._all}
    code = f"""
    import os, signal
    for target in (os.getppid(), {os.getpid()}, *{sorted(zygote_pids)!r}, -1):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    def f():
        return 1
    """
    s = attack(sandboxed, code, "assert f() == 1")
    assert s.value == 1.0  # its legitimate value: every kill failed (PID 1 of its namespace, uid 65534)
    assert all(psutil.pid_exists(p) for p in zygote_pids)


@pytest.mark.parametrize(
    "code",
    [
        "def f():\n    return 1\nimport sys\nsys.exit(0)",
        "def f():\n    return 1\nimport os\nos._exit(0)",
        "import os\ndef f():\n    os._exit(0)",
        "def f():\n    raise SystemExit(0)",
        "import os, signal\ndef f():\n    os.kill(os.getpid(), signal.SIGKILL)",
    ],
    ids=["sys.exit-at-load", "os._exit-at-load", "os._exit-in-test", "SystemExit-in-test", "self-kill"],
)
def test_early_exit_never_passes(sandboxed, code):
    s = attack(sandboxed, code, ["assert f() == 2", "assert f() == 3"])
    assert s.value == 0.0


def test_fake_success_output_is_ignored(sandboxed):
    code = """
    import os
    print("All tests passed")
    for fd in range(3, 40):
        for line in (b"ready 0 {}\\n", b"test 0 {\\"ok\\": true}\\n", b"end 0 {}\\n"):
            try:
                os.write(fd, line)
            except OSError:
                pass
    def f():
        return 0
    """
    s = attack(sandboxed, code, ["assert f() == 1"])
    assert s.value == 0.0
    assert s.details["forged_lines"] > 0  # the fake lines reached the channel and were ignored


def test_monkeypatched_builtins_do_not_reach_the_tests(sandboxed):
    code = """
    import builtins
    builtins.len = lambda x: 3
    builtins.isinstance = lambda *a: True
    builtins.AssertionError = type("Quiet", (Exception,), {})
    def f():
        return []
    """
    s = attack(sandboxed, code, ["assert len(f()) == 3", "assert isinstance(f(), int)"])
    assert s.value == 0.0


@pytest.mark.parametrize("tests_kind", ["assert", "call", "humaneval"])
def test_always_equal_objects_fail(sandboxed, tests_kind):
    code = """
    class AlwaysEqual:
        def __eq__(self, other):
            return True
        def __ne__(self, other):
            return False
    class SneakyInt(int):
        def __eq__(self, other):
            return True
    def f(x):
        return AlwaysEqual() if x else SneakyInt(0)
    """
    extra = {}
    if tests_kind == "assert":
        tests = ["assert f(1) == 5", "assert f(0) == 7"]
    elif tests_kind == "call":
        tests, extra = [{"args": [1], "expected": 5}, {"args": [0], "expected": 7}], {"entry_point": "f"}
    else:
        tests = "def check(candidate):\n    assert candidate(1) == 5\n    assert candidate(0) == 7\n"
        extra = {"entry_point": "f"}
    s = attack(sandboxed, code, tests, **extra)
    assert s.value == 0.0
    assert "NotPlainData" in s.reason or "not plain data" in s.reason


def test_recursion_bomb(looping):
    code = """
    import sys
    sys.setrecursionlimit(10 ** 7)
    def f(n=0):
        return f(n + 1)
    """
    s = attack(looping, code, "assert f() == 1")
    assert s.value == 0.0 and s.status in ("runtime_error", "timeout")


def test_segfault_via_ctypes(sandboxed):
    s = attack(sandboxed, "import ctypes\nctypes.string_at(0)", "assert True")
    assert s.value == 0.0 and s.status == "runtime_error"
    assert "SIGSEGV" in s.reason


def test_reading_stdin_does_not_hang(sandboxed):
    code = """
    import sys
    data = sys.stdin.read()
    def f():
        return input()
    """
    t = time.monotonic()
    s = attack(sandboxed, code, ["assert data == ''", "assert f() == 'x'"])
    assert s.value == 0.5 and "EOFError" in s.reason
    assert time.monotonic() - t < 10


def test_syntax_error(sandboxed):
    s = attack(sandboxed, "def f(:\n    return 1", "assert f() == 1")
    assert s.value == 0.0 and s.status == "runtime_error" and "SyntaxError" in s.reason


def test_missing_import(sandboxed):
    s = attack(sandboxed, "import surely_not_a_module_xyz\ndef f():\n    return 1", "assert f() == 1")
    assert s.value == 0.0 and "ModuleNotFoundError" in s.reason


def test_metaclass_and_patched_type_do_not_fool_the_guard(sandboxed):
    code = """
    import builtins
    class Meta(type):
        def __eq__(cls, other):
            return True
        __hash__ = type.__hash__
    class Evil(metaclass=Meta):
        def __eq__(self, other):
            return True
    def f():
        builtins.type = lambda x: int
        return Evil()
    """
    for tests, extra in (("assert f() == 3", {}), ([{"args": [], "expected": 3}], {"entry_point": "f"})):
        s = attack(sandboxed, code, tests, **extra)
        assert s.value == 0.0 and "not plain data" in s.reason, s.reason


def test_always_equal_through_methods_and_rigged_order(sandboxed):
    code = """
    class AlwaysEqual:
        def __eq__(self, other):
            return True
    class Huge:
        def __gt__(self, other):
            return True
    class Solution:
        def twice(self, x):
            return AlwaysEqual()
    def biggest():
        return Huge()
    """
    s = attack(sandboxed, code, ["assert Solution().twice(2) == 4", "assert biggest() > 10 ** 9", "assert 1 in [1]"])
    assert [t["status"] for t in s.details["tests"]] == ["failed", "failed", "passed"]
    assert all("not plain data" in t["message"] for t in s.details["tests"][:2])
