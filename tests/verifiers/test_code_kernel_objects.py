"""Class 6 of issue 21: kernel objects must not outlive the run. One IPC namespace per run
(SysV shared memory, message queues, semaphores and POSIX message queues die with it), and a
seccomp filter refuses keyrings, ptrace, mount, bpf, namespaces and the like."""

from __future__ import annotations

import os

import pytest

from rewardsmith.verifiers.code import code_tests
from tests.verifiers.code_sandbox_helpers import fenced, leftovers

pytestmark = [
    pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation"),
    pytest.mark.skipif(os.getuid() != 0, reason="the non-root levels have their own test (test_code.py)"),
]

PLANT = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
rt = ctypes.CDLL("librt.so.1", use_errno=True)
KEY = 0x52534D32
made = {}
shm = libc.shmget(KEY, 32 << 20, 0o1666)  # 32 MB, touched below
if shm >= 0:
    libc.shmat.restype = ctypes.c_void_p
    addr = libc.shmat(shm, None, 0)
    ctypes.memset(addr, 1, 32 << 20)
made["shm"] = shm >= 0
made["msg"] = libc.msgget(KEY, 0o1666) >= 0
made["sem"] = libc.semget(KEY, 1, 0o1666) >= 0
made["mq"] = rt.mq_open(b"/rs-leftover", os.O_CREAT | os.O_RDWR, 0o666, None) >= 0
with open("/dev/shm/rs-leftover", "wb") as fh:
    fh.write(b"x" * 1024)
def f():
    return made
"""

LOOK = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
rt = ctypes.CDLL("librt.so.1", use_errno=True)
KEY = 0x52534D32
def f():
    return {
        "shm": libc.shmget(KEY, 0, 0) >= 0,
        "msg": libc.msgget(KEY, 0) >= 0,
        "sem": libc.semget(KEY, 0, 0) >= 0,
        "mq": rt.mq_open(b"/rs-leftover", os.O_RDWR, 0, None) >= 0,
        "file": os.path.exists("/dev/shm/rs-leftover"),
        "sysvipc": open("/proc/sysvipc/shm").read().count("\\n") - 1,
    }
"""

SYSCALLS = """
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def err(ret):
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno())) if ret == -1 else "allowed"
def f():
    return {
        "add_key": err(libc.syscall(248, b"user", b"rs", b"x", 1, -3)),
        "keyctl": err(libc.syscall(250, 0, -3, 0, 0, 0)),
        "ptrace": err(libc.ptrace(0, 0, None, None)),
        "mount": err(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
        "unshare": err(libc.unshare(0x10000000)),
        "bpf": err(libc.syscall(321, 0, None, 0)),
        "clone_newuser": err(libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)),
        "io_uring_setup": err(libc.syscall(425, 1, None)),
    }
"""


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=10, memory_mb=512)


def _sysv_count() -> int:
    with open("/proc/sysvipc/shm") as f:
        return sum(1 for _ in f) - 1


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="raw syscall numbers are x86_64's")
def test_ipc_objects_die_with_the_run_and_the_filter_refuses_kernel_calls(reward):
    before = _sysv_count()
    expect_made = "{'shm': True, 'msg': True, 'sem': True, 'mq': True}"
    expect_gone = "{'shm': False, 'msg': False, 'sem': False, 'mq': False, 'file': False, 'sysvipc': 0}"
    plant = {"completion": fenced(PLANT), "tests": f"assert f() == {expect_made}"}
    look = {"completion": fenced(LOOK), "tests": f"assert f() == {expect_gone}"}
    scores = reward.score_batch([plant, look, plant, look], workers=1)  # the same warm supervisor
    assert [s.value for s in scores] == [1.0] * 4, [s.reason for s in scores]
    assert _sysv_count() == before  # nothing reached the host's IPC namespace either
    blocked = {"add_key", "keyctl", "ptrace", "mount", "unshare", "bpf", "clone_newuser", "io_uring_setup"}
    tests = f"assert f() == {dict.fromkeys(sorted(blocked), 'EPERM')!r}"
    s = reward.score({"completion": fenced(SYSCALLS), "tests": tests})
    assert s.value == 1.0, s.reason
    assert s.details["isolation"]["seccomp"].startswith("libseccomp filter")
    assert s.details["isolation"]["ipc"].startswith("isolated: own IPC namespace per run")
    assert leftovers() == []
