"""Class 5 of issue 21: the host is not readable. A run sees an allow-list root: the
interpreter, the standard library, system libraries and declared packages, read-only; not
the dataset on disk, not the checkout (.git/config), not home directories, no host socket."""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from pathlib import Path

import pytest

from rewardsmith.verifiers.code import code_tests, redteam
from tests.verifiers.code_sandbox_helpers import fenced

pytestmark = [
    pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation"),
    pytest.mark.skipif(os.getuid() != 0, reason="the non-root levels have their own test (test_code.py)"),
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=10)


def test_the_dataset_on_disk_is_not_readable(reward, tmp_path):
    secret = uuid.uuid4().hex
    data = tmp_path / "dataset.jsonl"
    data.write_text(json.dumps({"tests": [{"args": [], "expected": secret}], "expected": secret}) + "\n")
    code = f"""
    def f():
        try:
            with open({str(data)!r}) as fh:
                return __import__("json").loads(fh.readline())["expected"]
        except OSError as exc:
            return type(exc).__name__
    """
    s = reward.score({"completion": fenced(code), "tests": [{"args": [], "expected": secret}], "entry_point": "f"})
    assert s.value == 0.0 and "FileNotFoundError" in s.reason, s.reason
    snoop = {"tests": [{"args": [], "expected": secret}], "entry_point": "f"}
    assert reward.score(dict(snoop, completion=redteam.host_snoop(snoop))).value == 0.0


def test_only_the_allow_list_exists(reward):
    # What exists of the checkout is at most the way to its virtualenv (the interpreter's own files).
    hidden = [REPO / ".git", REPO / "pyproject.toml", REPO / "rewardsmith", REPO / "tests"]
    probe = f"""
    import os
    top = sorted(os.listdir("/"))
    etc = sorted(os.listdir("/etc"))
    for p in {[str(h) for h in hidden]!r} + ["/home", "/run", "/opt", "/sys", "/usr/bin", "/srv", "/mnt"]:
        assert not os.path.exists(p), p
    """
    # besides the system's own, the root holds the top folders of the paths the interpreter runs
    # from (the checkout's virtualenv, the base Python): wherever this clone lives (CI: /check/...)
    roots = {os.path.realpath(p).split("/")[1] for p in [*sys.path, sys.prefix, sys.base_prefix] if p}
    system = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "root", "sbin", "tmp", "usr", "var"}
    tests = (
        f"assert set(top) <= set({sorted(system | roots)!r}), top\n"
        "assert set(etc) <= {'passwd', 'group', 'hosts', 'nsswitch.conf', 'localtime', 'ld.so.cache'}, etc\n"
    )
    s = reward.score({"completion": fenced(probe), "tests": tests})
    assert s.value == 1.0, s.reason
    assert s.details["isolation"]["filesystem"].startswith("allow-list root")


def test_the_allow_list_is_read_only_and_imports_work(reward):
    code = """
    import os, json, sqlite3, zoneinfo, decimal
    def f():
        try:
            with open(os.path.join(os.path.dirname(json.__file__), "rs-write-test"), "w"):
                return "wrote into the standard library"
        except OSError as exc:
            return type(exc).__name__
    """
    s = reward.score({"completion": fenced(code), "tests": "assert f() == 'OSError'"})
    assert s.value == 1.0, s.reason


def test_no_host_socket_is_reachable(reward, tmp_path):
    path = str(tmp_path / "host.sock")
    abstract = f"\0rs-{uuid.uuid4().hex}"
    listeners = []
    for address in (path, abstract):
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(address)
        srv.listen(4)
        srv.setblocking(False)
        listeners.append(srv)
    code = f"""
    import socket
    def f():
        reached = []
        for address in ({path!r}, {abstract!r}):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(1)
            try:
                s.connect(address)
                reached.append(address)
            except OSError:
                pass
            s.close()
        return reached
    """
    try:
        s = reward.score({"completion": fenced(code), "tests": "assert f() == []"})
        assert s.value == 1.0, s.reason
        for srv in listeners:
            with pytest.raises(BlockingIOError):
                srv.accept()
    finally:
        for srv in listeners:
            srv.close()


def test_declared_packages_and_paths_become_visible(tmp_path):
    (tmp_path / "table.txt").write_text("42")
    os.chmod(tmp_path, 0o755)  # the run has its own uid: the path must be readable by others
    os.chmod(tmp_path / "table.txt", 0o644)
    code = (
        f"import sympy\ndef f():\n    return int(open({str(tmp_path / 'table.txt')!r}).read()) + int(sympy.Integer(0))"
    )
    tests = "assert f() == 42"
    closed = code_tests(timeout=20).score({"completion": fenced(code), "tests": tests})
    assert closed.value == 0.0 and "No module named 'sympy'" in closed.reason
    opened = code_tests(timeout=20, memory_mb=2048, packages=["sympy"], paths=[str(tmp_path)])
    s = opened.score({"completion": fenced(code), "tests": tests})
    assert s.value == 1.0, s.reason
    assert s.details["isolation"]["packages"] == ["sympy"]
