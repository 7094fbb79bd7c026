"""The zygote: a warm, pre-imported supervisor that forks one sandboxed child per run.

Started by `executor.LocalExecutor` as a fresh interpreter with an empty environment (so
its memory holds no secret of the verifier's process), it enters the namespaces once,
imports what solutions commonly import, then serves jobs over its stdin/stdout pipes:
for each run it forks a child (PID 1 of a new PID namespace where allowed), which sets
up the sandbox and runs `harness.run`; the zygote enforces the wall-clock limit, drains
and caps the output, reads the nonce-tagged verdict lines, kills and reaps everything the
run left, wipes its files, and replies with raw observations. Expected values never come
here: the verifier's process compares them (`tests_formats`).

If the verifier's process dies (even by SIGKILL), the zygote sees the hang-up on its
request pipe, kills the current run and exits; the run's processes also carry
PR_SET_PDEATHSIG, so nothing outlives the verifier.
"""

from __future__ import annotations

import json
import os
import pickle
import secrets
import select
import signal
import struct
import sys
import tempfile
import time
import traceback
from typing import Any

from rewardsmith.verifiers.code import harness, sandbox

PREIMPORT = (
    "array bisect calendar collections copy dataclasses datetime decimal enum fractions functools hashlib "
    "heapq io itertools json math operator random re statistics string sys textwrap typing unicodedata"
).split()

#: The whole environment of a run: nothing of the verifier's. Numerical libraries otherwise
#: reserve memory per core at import, which RLIMIT_AS counts (numpy on a 64-core host).
CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_HDR = struct.Struct("!Q")
MAX_RESULT_BYTES = 8 << 20


def send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HDR.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def recv_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int) -> Any:
    head = recv_exact(fd, _HDR.size)
    if head is None:
        return None
    body = recv_exact(fd, _HDR.unpack(head)[0])
    return None if body is None else pickle.loads(body)


class Zygote:
    def __init__(self, isolation: str, ctrl_in: int, ctrl_out: int) -> None:
        self.ctrl_in, self.ctrl_out = ctrl_in, ctrl_out
        uid = os.getuid()
        self.report: dict[str, Any] = {"requested": isolation, "warnings": []}
        ns_info: dict[str, Any] | None = None
        why = "disabled by isolation='none'"
        python_paths = [p for p in (*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix) if p]
        if isolation != "none":
            try:
                ns_info = sandbox.enter_namespaces(python_paths)
            except OSError as exc:
                why = f"namespaces unavailable ({exc.strerror or exc})"
                if isolation == "namespaces":
                    raise RuntimeError(f"isolation='namespaces' but this machine refuses them: {why}") from exc
        self.pidns = sandbox.probe_pid_namespaces() if ns_info is not None else None
        self.shared_pidns = False
        if ns_info is not None and self.pidns is None:
            self.shared_pidns = self._become_pid1()
        self.subreaper = sandbox.become_subreaper()
        self.drop = uid == 0 and sandbox.can_drop_privileges()
        self.proc_view = "the host's /proc"
        if self.drop and ns_info is None and sandbox.blocked_for_others(python_paths):
            # No mount namespace to expose the interpreter through: as uid 65534 the program
            # could not import a module the zygote did not pre-import, and would silently score 0.
            self.drop = False
            self.report["warnings"].append(
                "RUNS AS ROOT: the interpreter lies under a root-only directory and there is no mount "
                "namespace to expose it to uid 65534"
            )
        if ns_info is not None:
            if self.drop:
                try:
                    covered = sandbox.expose_to_nobody([p for p in python_paths if p])
                    if covered:
                        self.report["hidden_dirs"] = f"{', '.join(covered)}: only the interpreter's files are visible"
                except OSError as exc:
                    self.report["warnings"].append(f"the interpreter may be unreadable for uid 65534 ({exc})")
            self.proc_view = self._private_proc()
        self.private_dirs: list[str] = ns_info["private_dirs"] if ns_info else []
        if "/tmp" in self.private_dirs:
            self.tmp, self.own_tmp = "/tmp", False
        else:
            self.tmp, self.own_tmp = tempfile.mkdtemp(prefix="rewardsmith-sandbox-"), True
            os.chmod(self.tmp, 0o711)
        self.nproc_base = 0 if self.drop else _count_processes(os.getuid())  # as seen from inside
        uid_text = (
            f"{sandbox.NOBODY} (dropped from root)" if self.drop else f"{uid} (same as the verifier: not dropped)"
        )
        r = self.report
        r["user"] = uid_text
        r["session"] = "own session and process group, killed as a whole"
        if ns_info is not None:
            r["mode"] = "namespaces"
            r["network"] = ns_info["network"]
            r["ipc"] = ns_info["ipc"]
        else:
            r["mode"] = "none"
            r["network"] = f"none: {why}; THE PROGRAM CAN REACH THE NETWORK"
            r["warnings"].append(f"network is NOT isolated: {why}")
        r["proc"] = self.proc_view
        if self.pidns is not None:
            r["pid"] = "own PID namespace per run: everything the run starts dies with it"
        elif self.shared_pidns:
            r["pid"] = (
                "the supervisor's own PID namespace (no process outside it can be seen or signalled); "
                "the supervisor, its init, kills and reaps every leftover process after each run"
            )
        else:
            r["pid"] = (
                "no PID namespace: own session, and the supervisor (a child subreaper) kills and reaps "
                "every leftover process after the run"
                if self.subreaper
                else "no PID namespace and no subreaper: double-forked processes may survive"
            )
            whom = "ANY process (it runs as root)" if uid == 0 and not self.drop else "other processes of its user"
            r["warnings"].append(f"no PID namespace: the program can signal {whom}")
        if self.private_dirs and self.drop:
            r["filesystem"] = (
                f"read-only for uid {sandbox.NOBODY} except the work dir and private tmpfs on "
                f"{', '.join(self.private_dirs)}, all wiped after each run"
            )
        elif self.private_dirs:
            r["filesystem"] = (
                f"private tmpfs on {', '.join(self.private_dirs)} (wiped after each run); elsewhere the program "
                "can write wherever the verifier's user can"
            )
            r["warnings"].append("filesystem outside the private temp dirs is writable by the program")
        else:
            r["filesystem"] = "not isolated: the program can write wherever its user can; only its work dir is removed"
            r["warnings"].append("filesystem is NOT isolated")
        r["environment"] = "empty except " + ", ".join(f"{k}=1" for k in CHILD_ENV)
        r["stdin"] = "/dev/null (stdin/stdout cases: a file with the case input)"
        for name in PREIMPORT:
            try:
                __import__(name)
            except ImportError:
                pass

    def _become_pid1(self) -> bool:
        """Where per-run PID namespaces are refused (user namespaces cannot switch back to the
        parent's), put the whole zygote in one: it forks itself as PID 1 of a new namespace and
        the original process only waits. The program then cannot see or signal anything outside
        (the verifier, the trainer), and everything dies with the zygote."""
        try:
            sandbox.unshare(sandbox.CLONE_NEWPID)
            pid = os.fork()
        except OSError:
            return False
        if pid:
            os.close(self.ctrl_in)
            os.close(self.ctrl_out)
            _, status = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        sandbox.die_with_parent()
        return True

    def _private_proc(self) -> str:
        """A /proc that shows the sandbox nothing of the verifier's processes (their command
        lines and environments can hold secrets): a fresh one for the zygote's own PID
        namespace, else hidepid=2 (a non-root program sees only its own processes)."""
        flags = sandbox.MS_NOSUID | sandbox.MS_NODEV | sandbox.MS_NOEXEC
        try:
            if self.shared_pidns:
                sandbox.mount("proc", "/proc", "proc", flags, None)
                return "private: only the supervisor's PID namespace is visible"
            sandbox.mount("proc", "/proc", "proc", flags, "hidepid=2")
            return "hidepid=2: the program sees only its own processes in /proc"
        except OSError as exc:
            self.report["warnings"].append(f"/proc shows the host's processes ({exc.strerror})")
            return "the host's /proc (could not remount)"

    # -- one job ---------------------------------------------------------------------------
    def job(self, job: dict[str, Any]) -> dict[str, Any]:
        limits = sandbox.Limits(**job["limits"])
        spec = {k: job[k] for k in ("mode", "code", "tests", "cases", "entry_point", "guard") if k in job}
        if job["mode"] == "io":
            # Once a case runs out of time the program is not given the rest of the budget:
            # a looping solution would otherwise cost (number of cases x timeout).
            runs: list[dict[str, Any]] = []
            for stdin in job["inputs"]:
                if any(r.get("timed_out") for r in runs):
                    runs.append({"skipped": True})
                else:
                    runs.append(self.run(spec, limits, stdin))
        else:
            runs = [self.run(spec, limits, None)]
        return {"runs": runs, "isolation": self.report}

    def run(self, spec: dict[str, Any], limits: sandbox.Limits, stdin: str | bytes | None) -> dict[str, Any]:
        workdir = tempfile.mkdtemp(prefix="run-", dir=self.tmp)
        stdin_path = None
        if stdin is not None:
            fd, stdin_path = tempfile.mkstemp(prefix="stdin-", dir=self.tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(stdin.encode() if isinstance(stdin, str) else stdin)
        if self.drop:
            os.chown(workdir, sandbox.NOBODY, sandbox.NOBODY)
        nonce = secrets.token_hex(16)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        start = time.monotonic()
        if self.pidns is not None:
            self.pidns.before_fork()
        try:
            pid = os.fork()
        finally:
            if self.pidns is not None and os.getpid() != 1:
                self.pidns.after_fork_parent()
        if pid == 0:
            self._child(dict(spec, nonce=nonce), limits, workdir, stdin_path, out_w, err_w, res_w)
        for fd in (out_w, err_w, res_w):
            os.close(fd)
        try:
            return self._supervise(pid, limits, start, nonce, out_r, err_r, res_r)
        finally:
            sandbox.sweep_children()
            for fd in (out_r, err_r, res_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._clean(workdir, stdin_path)

    def _child(
        self,
        spec: dict[str, Any],
        limits: sandbox.Limits,
        workdir: str,
        stdin_path: str | None,
        out_w: int,
        err_w: int,
        res_w: int,
    ) -> None:
        try:
            os.setsid()
            fd0 = os.open(stdin_path or "/dev/null", os.O_RDONLY)
            os.dup2(fd0, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.dup2(res_w, harness.RESULT_FD)
            os.closerange(harness.RESULT_FD + 1, 1 << 20)
            os.chdir(workdir)
            os.environ.clear()
            os.environ.update(CHILD_ENV)
            os.umask(0o077)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            sandbox.apply_limits(limits, nproc_base=self.nproc_base)
            if self.drop:
                sandbox.drop_privileges()
            # After the uid change, which clears the parent-death signal. If the zygote is
            # already gone, our stdout pipe has no reader any more: stop here.
            sandbox.die_with_parent()
            if any(ev & select.POLLERR for _, ev in _poll_out(1)):
                os._exit(122)
            sandbox.no_new_privileges()
            sys.argv = ["solution.py"]
            harness.run(spec)
        except BaseException:
            try:
                os.write(2, traceback.format_exc().encode()[-4000:])
            except BaseException:
                pass
        os._exit(121)

    def _supervise(
        self, pid: int, limits: sandbox.Limits, start: float, nonce: str, out_r: int, err_r: int, res_r: int
    ) -> dict[str, Any]:
        cap = limits.max_output_kb * 1024
        bufs = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
        dropped = {out_r: 0, err_r: 0, res_r: 0}
        poller = select.poll()
        for fd in bufs:
            poller.register(fd, select.POLLIN)
        try:
            pidfd = os.pidfd_open(pid)
            poller.register(pidfd, select.POLLIN)
        except (AttributeError, OSError):
            pidfd = -1
        poller.register(self.ctrl_in, 0)  # only POLLHUP: the verifier went away
        open_fds = set(bufs)
        status: int | None = None
        timed_out = False
        deadline = start + limits.timeout
        exited_at = 0.0
        while True:
            now = time.monotonic()
            if status is None and not timed_out and now >= deadline:
                timed_out = True
                sandbox.kill_run(pid)
            if status is None and pidfd < 0:
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    sandbox.kill_run(pid)  # the zombie still holds the pid: no risk of killing a stranger
                    _, status = os.waitpid(pid, 0)
                    exited_at = now
            if status is not None:
                if not open_fds or now - exited_at > 1.0:
                    break
                if now - exited_at > 0.05:
                    sandbox.sweep_children(0.5)  # escaped processes holding our pipes
            wait_ms = 20 if (pidfd < 0 or status is not None) else max(1, int((deadline - now) * 1000) + 1)
            if timed_out and status is None:
                wait_ms = 20
            for fd, _ev in poller.poll(wait_ms):
                if fd == self.ctrl_in:
                    sandbox.kill_run(pid)
                    sandbox.sweep_children()
                    os._exit(0)
                if fd == pidfd:
                    poller.unregister(pidfd)
                    os.close(pidfd)
                    pidfd = -2
                    sandbox.kill_run(pid)  # the group's leftovers; the zombie still holds the pid
                    _, status = os.waitpid(pid, 0)
                    exited_at = time.monotonic()
                    continue
                data = os.read(fd, 1 << 16)
                if not data:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                limit = MAX_RESULT_BYTES if fd == res_r else cap
                buf = bufs[fd]
                if fd == err_r:
                    buf += data
                    if len(buf) > 2 * cap:
                        dropped[fd] += len(buf) - cap
                        del buf[: len(buf) - cap]
                else:
                    room = limit - len(buf)
                    buf += data[: max(0, room)]
                    dropped[fd] += max(0, len(data) - max(0, room))
        wall = time.monotonic() - start
        frames, forged = _parse_frames(bytes(bufs[res_r]), nonce)
        err = bytes(bufs[err_r][-cap:])
        return {
            "frames": frames,
            "forged_lines": forged,
            "stdout": bytes(bufs[out_r]).decode("utf-8", "replace"),
            "stdout_truncated": dropped[out_r],
            "stderr": err.decode("utf-8", "replace"),
            "stderr_dropped": dropped[err_r],
            "exit": _describe(status),
            "signal": -os.waitstatus_to_exitcode(status) if os.WIFSIGNALED(status) else None,
            "exit_code": os.waitstatus_to_exitcode(status),
            "timed_out": timed_out,
            "time_s": round(wall, 4),
        }

    def _clean(self, workdir: str, stdin_path: str | None) -> None:
        for d in self.private_dirs:
            expected = sandbox.tmpfs_baseline(d)  # its root and any bound-back mount points
            if d == self.tmp:
                if stdin_path:
                    os.unlink(stdin_path)
                try:
                    os.rmdir(workdir)  # succeeds when the run left its work dir empty
                except OSError:
                    expected = -1  # the work dir is not empty: renew
            st = os.statvfs(d)
            if st.f_files - st.f_ffree != expected:
                sandbox.renew_tmpfs(d)  # something was left: replace the whole tmpfs, O(1)
        if not self.own_tmp:  # the work dir and the stdin file lived in the private /tmp
            return
        if stdin_path:
            try:
                os.unlink(stdin_path)
            except OSError:
                pass
        if not sandbox.wipe(workdir, keep_root=False):
            self.report["workdirs_left_behind"] = self.report.get("workdirs_left_behind", 0) + 1

    def close(self) -> None:
        if self.own_tmp:
            sandbox.wipe(self.tmp, keep_root=False)


def _poll_out(fd: int) -> list[tuple[int, int]]:
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return poller.poll(0)


def _parse_frames(data: bytes, nonce: str) -> tuple[list[tuple[str, int, dict[str, Any]]], int]:
    frames, forged = [], 0
    prefix = (nonce + " ").encode()
    for line in data.split(b"\n"):
        if not line:
            continue
        if not line.startswith(prefix):
            forged += 1
            continue
        try:
            kind, index, payload = line[len(prefix) :].decode().split(" ", 2)
            frames.append((kind, int(index), json.loads(payload)))
        except (ValueError, UnicodeDecodeError):
            forged += 1
    return frames, forged


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by {name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _count_processes(uid: int) -> int:
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def main(argv: list[str]) -> None:
    config = json.loads(argv[0]) if argv else {}
    ctrl_in, ctrl_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        zygote = Zygote(config.get("isolation", "auto"), ctrl_in, ctrl_out)
    except BaseException as exc:
        send(ctrl_out, ("fatal", f"{type(exc).__name__}: {exc}"))
        os._exit(3)
    send(ctrl_out, ("ready", zygote.report))
    try:
        while True:
            msg = recv(ctrl_in)
            if msg is None or msg[0] == "stop":
                break
            try:
                reply: tuple[str, Any] = ("ok", zygote.job(msg[1]))
            except Exception:
                reply = ("error", traceback.format_exc()[-4000:])
            send(ctrl_out, reply)
    except (BrokenPipeError, OSError):
        pass
    finally:
        sandbox.sweep_children(1.0)
        zygote.close()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
