"""Process plumbing for the worker pools: Linux facilities where they exist, portable fallbacks elsewhere.

Why each piece exists:
- `set_child_subreaper`: a process started by a reward and orphaned (double fork, `setsid`) is
  re-parented to the nearest subreaper instead of init, so we can still find and kill it;
- `set_parent_death_signal`: a worker dies with its supervisor even when the supervisor is SIGKILLed;
- `descendants` / `kill_descendants`: everything an item started is reaped when the item ends;
- `scrub_inherited_fds`: a forked worker must not keep the caller's pipes and sockets open, or a caller
  reading our stdout never sees EOF and a peer never sees its connection close;
- `pid_watch`: a worker's death is seen from its pid (a pidfd), not from EOF on a pipe that a
  grandchild may still hold.
"""

from __future__ import annotations

import ctypes
import os
import signal
import stat
import sys
import time
from typing import Any

_PR_SET_NAME = 15
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

_prctl_fn: Any = None


def prepare() -> None:
    """Resolve prctl(2) in the parent, before it forks.

    A forked child of a multi-threaded process must not load libraries or spawn helpers (ctypes'
    `find_library` runs ldconfig; `dlopen` takes a lock another thread may have held at fork time),
    so everything a child calls is looked up here first.
    """
    global _prctl_fn
    if _prctl_fn is not None or not sys.platform.startswith("linux"):
        return
    try:
        fn = ctypes.CDLL(None, use_errno=True).prctl
        fn.restype = ctypes.c_int
        _prctl_fn = fn
    except (OSError, AttributeError):
        _prctl_fn = False


def _prctl(option: int, arg: Any) -> bool:
    """Call prctl(2); False where it is unavailable (not Linux, or `prepare` found no libc)."""
    if not _prctl_fn:
        return False
    try:
        return int(_prctl_fn(option, arg, 0, 0, 0)) == 0
    except Exception:
        return False


def set_child_subreaper() -> bool:
    return _prctl(_PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1))


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    return _prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(int(sig)))


def set_process_name(name: str) -> None:
    """The name `ps` and `top` show (15 bytes), so pool processes are recognisable."""
    _prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]))


def children(pid: int | None = None) -> list[int]:
    """Direct children of `pid` (default: this process), from /proc; [] where /proc cannot tell."""
    pid = os.getpid() if pid is None else pid
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
    return found


def descendants(pid: int | None = None) -> list[int]:
    """Every live descendant of `pid` (default: this process), parents before children."""
    out: list[int] = []
    frontier = children(pid)
    while frontier:
        out.extend(frontier)
        frontier = [c for p in frontier for c in children(p)]
    return out


def kill_descendants(*, rounds: int = 50) -> int:
    """SIGKILL and reap every descendant of this process; returns how many were killed.

    Meant for a subreaper: descendants orphaned while we kill their parents come back to us, so we
    repeat until nothing is left (bounded, so a fork bomb cannot keep us here forever).
    """
    killed = 0
    for _ in range(rounds):
        found = descendants()
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        reap_children(wait_s=0.5)
    reap_children(wait_s=0.0)
    return killed


def reap_children(*, wait_s: float = 0.0) -> None:
    """Collect exited children (no zombies); waits up to `wait_s` while children remain."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)


def scrub_inherited_fds(keep: set[int], stdout_fd: int | None) -> None:
    """In a freshly forked child: stdin from /dev/null, stdout and stderr to `stdout_fd` (or /dev/null),
    and every other inherited pipe or socket pointed at /dev/null.

    Pointing instead of closing keeps the descriptor numbers taken, so a Python object of the parent
    that still owns one can never close a descriptor we open later under the same number. Regular
    files (log files, mmaps) stay open: they hold nobody's EOF.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd in keep or fd == devnull or fd <= 2:
            continue
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            try:
                os.dup2(devnull, fd, inheritable=False)
            except OSError:
                pass
    os.dup2(devnull, 0)
    target = devnull if stdout_fd is None else stdout_fd
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(devnull)


def pid_watch(pid: int) -> int | None:
    """A descriptor that becomes readable when process `pid` exits (Linux pidfd), or None."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


def exit_description(status: int | None) -> str:
    """Human words for a wait status decoded by our supervisor (see `encode_exit`)."""
    if status is None:
        return "unknown exit status"
    if status >= 128 and status - 128 in _SIGNAL_NAMES:
        return f"killed by signal {status - 128} ({_SIGNAL_NAMES[status - 128]})"
    return f"exit code {status}"


def encode_exit(wait_status: int) -> int:
    """An exit code that carries a child's fate: its own code, or 128 + the signal that killed it."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    if os.WIFEXITED(wait_status):
        return os.WEXITSTATUS(wait_status)
    return 255


_SIGNAL_NAMES = {int(s): s.name for s in signal.Signals}


def rss_kb() -> int:
    """Resident memory of this process in KiB (0 where unknown)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        try:
            import resource

            return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        except Exception:
            return 0
