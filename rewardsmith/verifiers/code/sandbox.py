"""Isolation primitives for the code sandbox: namespaces, rlimits, privilege drop, cleanup.

Everything here runs inside the zygote (the warm supervisor process, see `zygote.py`) or in
the sandboxed child it forks; nothing here is imported by the verifier's own process except
`Limits`. Linux only (the syscalls go through ctypes, so no compiled helper is needed).

What the machine allows is probed, never assumed:

- as root: the zygote enters new network, mount and IPC namespaces once; every run gets its
  own PID namespace (the run is PID 1 there, so when it ends the kernel kills everything it
  started); the run drops to uid/gid 65534 ("nobody"), so RLIMIT_NPROC is enforced and the
  host's files are read-only to it; /tmp, /var/tmp, /dev/shm and /run/lock are private
  tmpfs mounts, renewed after any run that left something there; /proc hides other users'
  processes (hidepid=2); a root-only directory holding the interpreter (/root/.pyenv) is
  replaced by a tmpfs exposing only the interpreter.
- not root, unprivileged user namespaces allowed: the same through a user namespace, except
  that the run keeps the caller's uid (there is no one to drop to) and, since a user
  namespace cannot switch back to its parent's PID namespace, the whole zygote is PID 1 of
  one PID namespace (with its own /proc) instead of one per run; leftovers of a run are
  killed and reaped by the zygote after it.
- no namespaces at all (or `isolation="none"`): rlimits, own session, subreaper cleanup,
  empty environment, temporary working directory; network and filesystem are NOT isolated,
  and the isolation report says so in every Score's details.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import time
from dataclasses import asdict, dataclass
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_BIND = 4096

NOBODY = 65534
#: world-writable places a program could leave files in; private tmpfs mounts under namespaces
SHARED_WRITABLE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one sandboxed run (one program, or one stdin/stdout case).

    Defaults let a legitimate solution use ~1 s and a few hundred MB while bounding attacks.
    `timeout` is wall-clock seconds (the run is killed at it); `cpu_s` defaults to
    `timeout + 1` rounded up; `memory_mb` caps the address space (RLIMIT_AS, which counts
    virtual memory, so keep it well above the resident size you expect); `max_processes`
    is RLIMIT_NPROC (only enforced for non-root uids, hence the drop to "nobody");
    `max_output_kb` caps what is kept of stdout and of stderr (the rest is drained and dropped).
    """

    timeout: float = 5.0
    cpu_s: float | None = None
    memory_mb: int = 1024
    max_processes: int = 64
    max_file_mb: int = 16
    max_open_files: int = 64
    max_output_kb: int = 1024

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), f"unshare({flags:#x})")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), f"setns({nstype:#x})")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


TMPFS_MB = 128
MNT_DETACH = 2


def mount_tmpfs(target: str, size_mb: int = TMPFS_MB) -> None:
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode=1777")


# Private tmpfs mounts made by `private_tmpfs`: target -> (paths bound back in, their O_PATH fds).
_PRIVATE: dict[str, dict[str, int]] = {}
_BASELINE: dict[str, int] = {}


def private_tmpfs(target: str, keep: list[str]) -> None:
    """Cover `target` with a private tmpfs, binding back the paths in `keep` that lie under it
    (a virtualenv under /tmp, as in a CI checkout, must stay importable)."""
    keep = sorted(keep, key=len)
    keep = [p for i, p in enumerate(keep) if not any(p.startswith(q + "/") for q in keep[:i])]
    _PRIVATE[target] = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in keep}
    _fill_tmpfs(target)


def _fill_tmpfs(target: str) -> None:
    mount_tmpfs(target)
    for path, fd in _PRIVATE.get(target, {}).items():
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
    st = os.statvfs(target)
    _BASELINE[target] = st.f_files - st.f_ffree


def tmpfs_baseline(target: str) -> int:
    """Inodes a fresh private tmpfs holds (its root, plus mount points of bound-back paths)."""
    return _BASELINE.get(target, 1)


def renew_tmpfs(target: str) -> None:
    """Replace a private tmpfs by an empty one: O(1) whatever the run left in it (a million
    files, a directory tree deeper than PATH_MAX), where deleting could fail or take long."""
    _check(_libc.umount2(target.encode(), ctypes.c_int(MNT_DETACH)), f"umount {target}")
    _fill_tmpfs(target)


# -- zygote-level setup ---------------------------------------------------------------------


def enter_namespaces(keep_visible: list[str] | None = None) -> dict[str, Any]:
    """Move the calling (zygote) process into fresh network, mount and IPC namespaces.

    Paths in `keep_visible` (the interpreter and its site-packages) that lie under a shared
    writable directory stay visible through its private tmpfs, bound back read-through.

    Returns the part of the isolation report it achieved; raises OSError when the machine
    refuses (the caller then degrades and says so).
    """
    uid, gid = os.getuid(), os.getgid()
    user_ns = uid != 0
    flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC
    if user_ns:
        unshare(flags | CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
    else:
        unshare(flags)
    # Lo stays down: not even 127.0.0.1 is reachable from inside.
    mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    needed = [os.path.realpath(p) for p in keep_visible or [] if os.path.isdir(p)]
    private = []
    for d in SHARED_WRITABLE_DIRS:
        if os.path.isdir(d) and not os.path.islink(d):
            try:
                private_tmpfs(d, [p for p in needed if p.startswith(d + "/")])
                private.append(d)
            except OSError:
                pass
    return {
        "user_namespace": user_ns,
        "private_dirs": private,
        "network": "isolated: own network namespace with no interfaces up (not even loopback)",
        "ipc": "isolated: own IPC namespace",
    }


def blocked_for_others(paths: list[str]) -> dict[str, set[str]]:
    """Root-only directories (no o+x) on the way to `paths`: {blocking dir: paths under it}."""
    blocked: dict[str, set[str]] = {}
    for path in paths:
        try:
            path = os.path.realpath(path)
            os.stat(path)
        except OSError:
            continue
        current = "/"
        for part in [p for p in path.split("/") if p][:-1]:
            current = os.path.join(current, part)
            if not os.stat(current).st_mode & stat.S_IXOTH:
                blocked.setdefault(current, set()).add(path)
                break
    return blocked


def expose_to_nobody(paths: list[str]) -> list[str]:
    """Make the interpreter readable for uid 65534 when it lives under a root-only directory
    (Python under /root/.pyenv is common): in the zygote's private mount namespace, cover
    that directory with an empty tmpfs and bind-mount back only the needed paths. Nothing
    else of it (tokens in /root/.cache, ~/.netrc) becomes visible. Returns the covered dirs."""
    blocked = blocked_for_others(paths)
    for top, needed in blocked.items():
        keep = sorted(needed, key=len)
        keep = [p for i, p in enumerate(keep) if not any(p.startswith(q + "/") for q in keep[:i])]
        fds = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in keep}
        try:
            mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
            for p, fd in fds.items():
                if stat.S_ISDIR(os.fstat(fd).st_mode):
                    os.makedirs(p, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(p), exist_ok=True)
                    open(p, "a").close()
                mount(f"/proc/self/fd/{fd}", p, None, MS_BIND | MS_REC, None)
        finally:
            for fd in fds.values():
                os.close(fd)
    return sorted(blocked)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


class PidNamespaces:
    """Start each run as PID 1 of a fresh PID namespace, without an extra process.

    `unshare(CLONE_NEWPID)` only affects the caller's future children, so the zygote
    unshares, forks (the child is PID 1 of the new namespace), then `setns` back to its
    own namespace for the next run. When PID 1 exits or is killed, the kernel kills every
    process left in its namespace: double-forked daemons cannot outlive their run.
    """

    def __init__(self) -> None:
        self.fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)

    def before_fork(self) -> None:
        unshare(CLONE_NEWPID)

    def after_fork_parent(self) -> None:
        setns(self.fd, CLONE_NEWPID)


def _in_throwaway_child(check: Any) -> bool:
    """Run `check()` in a forked child so a half-failed probe cannot break the caller."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if check() else 1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _pidns_works() -> bool:
    ns = PidNamespaces()
    ns.before_fork()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if os.getpid() == 1 else 1)
    ns.after_fork_parent()  # raises where the machine refuses to switch back
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return False
    pid = os.fork()  # and the next run can be forked again
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return True


def probe_pid_namespaces() -> PidNamespaces | None:
    """Per-run PID namespaces, if this process may create them and switch back."""
    try:
        return PidNamespaces() if _in_throwaway_child(_pidns_works) else None
    except OSError:
        return None


def can_drop_privileges() -> bool:
    """Root may still be unable to become "nobody" (uid 0 of a user namespace without it)."""
    return os.getuid() == 0 and _in_throwaway_child(lambda: (drop_privileges(), True)[1])


def become_subreaper() -> bool:
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        return True
    except OSError:
        return False


# -- in the sandboxed child, before user code --------------------------------------------------


def apply_limits(limits: Limits, *, nproc_base: int = 0) -> None:
    cpu = limits.cpu_s if limits.cpu_s is not None else limits.timeout + 1
    cpu_i = max(1, int(-(-cpu // 1)))
    mem = limits.memory_mb * 1024 * 1024
    fsize = limits.max_file_mb * 1024 * 1024
    for which, soft, hard in (
        (resource.RLIMIT_CPU, cpu_i, cpu_i + 1),
        (resource.RLIMIT_AS, mem, mem),
        (resource.RLIMIT_FSIZE, fsize, fsize),
        (resource.RLIMIT_NOFILE, limits.max_open_files, limits.max_open_files),
        (resource.RLIMIT_NPROC, nproc_base + limits.max_processes, nproc_base + limits.max_processes),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        resource.setrlimit(which, (soft, hard))


def drop_privileges(uid: int = NOBODY, gid: int = NOBODY) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def die_with_parent() -> None:
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def no_new_privileges() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


# -- cleanup, back in the zygote ------------------------------------------------------------


def kill_run(pid: int) -> None:
    """SIGKILL a run's process group (its session leader's pgid is its pid)."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def _children() -> list[int]:
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                            found.append(int(name))
                except (OSError, ValueError, IndexError):
                    pass
        return found


def sweep_children(deadline_s: float = 5.0) -> int:
    """Kill and reap every child of the zygote (it runs one job at a time and is a subreaper,
    so orphans of the finished run are re-parented here). Returns how many were reaped."""
    reaped = 0
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for pid in _children():
            kill_run(pid)
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid:
            reaped += 1
        else:
            time.sleep(0.001)
    return reaped


def wipe(path: str, *, keep_root: bool) -> bool:
    """Remove a tree the sandboxed program may have made hostile (no permissions, symlinks,
    huge or deeper than PATH_MAX). The common case (a few plain files) is done here; any
    subdirectory goes to `rm -rf --one-file-system` (descriptor-based, never follows
    symlinks, handles any depth). Returns whether everything is gone."""
    try:
        os.chmod(path, stat.S_IRWXU)
        with os.scandir(path) as it:
            entries = list(it)
        if not any(e.is_dir(follow_symlinks=False) for e in entries):
            for e in entries:
                os.unlink(e.path)
            if not keep_root:
                os.rmdir(path)
            return True
    except FileNotFoundError:
        return True
    except OSError:
        pass
    import subprocess

    targets = [os.path.join(path, n) for n in os.listdir(path)] if keep_root else [path]
    if targets:
        subprocess.run(["/bin/rm", "-rf", "--one-file-system", "--", *targets], capture_output=True, timeout=120)
    return not os.path.lexists(path) or (keep_root and not os.listdir(path))
