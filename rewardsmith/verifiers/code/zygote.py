"""The supervisor of one sandbox slot, its template, and the setup of every run.

Three kinds of processes per slot, so that no run ever starts from memory that held another
run's data (a copycat program must not find its neighbour's code or output in its heap):

- the **supervisor** (`Supervisor`, started by `executor.LocalExecutor` as a fresh
  interpreter with an empty environment and no stdout/stderr of the caller): talks to the
  verifier over pipes, enters the slot's namespaces, owns the slot's cgroup, enforces each
  run's wall-clock limit, drains its output, decodes its reports within limits, and reaps
  everything it left. It holds run data, and is never forked for a run.
- the **template** (`Template`, forked by the supervisor before its first job): imports what
  programs commonly use, builds the allow-list root and pivots into it, then only ever receives
  "spawn" requests carrying four pipe descriptors, never any job data. For each it clones a
  run with CLONE_PARENT (so the supervisor is the run's parent and reads its real exit status)
  and, where allowed, new PID, IPC and mount namespaces.
- the **run** (`run_child`): PID 1 of its own PID namespace, with its own IPC namespace (SysV
  and POSIX IPC objects die with it) and mount namespace (fresh tmpfs /tmp and /dev/shm and its
  own /proc, gone when it ends). It reads its job from a pipe, limits itself (rlimits, the
  slot's uid or no capabilities, no_new_privs, seccomp) and runs `harness.run`.

If the verifier dies (even by SIGKILL) the supervisor sees the hang-up on its request pipe,
or the verifier's pidfd, kills the current run and exits; the template and runs carry
PR_SET_PDEATHSIG, so nothing outlives the verifier.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import secrets
import select
import signal
import socket
import stat
import struct
import sys
import tempfile
import time
import traceback
from typing import Any

from rewardsmith.verifiers.code import allowlist, codec, harness, rpc, sandbox

PREIMPORT = (
    "array ast bisect calendar collections copy dataclasses datetime decimal enum fractions functools hashlib "
    "heapq io itertools json math operator random re statistics string sys textwrap typing unicodedata "
    "unittest unittest.mock difflib pprint traceback linecache"
).split()

#: The whole environment of a run: nothing of the verifier's. Numerical libraries otherwise
#: reserve memory per core at import, which RLIMIT_AS counts (numpy on a 64-core host).
CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_HDR = struct.Struct("!Q")
_FRAME = struct.Struct("!I")
MAX_RESULT_BYTES = codec.MAX_BYTES
WORK_DIR = "/tmp/work"


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
    """A message from the trusted side (verifier -> supervisor, supervisor -> run)."""
    head = recv_exact(fd, _HDR.size)
    if head is None:
        return None
    body = recv_exact(fd, _HDR.unpack(head)[0])
    return None if body is None else pickle.loads(body)


# -- the run ----------------------------------------------------------------------------------


class RunContext:
    """What a run inherits from the template (by memory, not by message)."""

    def __init__(self) -> None:
        self.namespaces = False
        self.uid: int | None = None  # drop to this uid (root); None: keep the uid
        self.userns = False  # inside our own user namespace: drop capabilities instead
        self.seccomp: bytes | None = None
        self.nproc_base = 0
        self.kept_under_tmp: list[str] = []  # allowed paths under /tmp (a CI checkout's venv)
        self.links_under_tmp: dict[str, str] = {}  # and its symlinks (bin/python -> the interpreter)


def run_child(ctx: RunContext, fds: list[int]) -> None:
    """In a freshly cloned run: set up the sandbox, then run the harness. Never returns."""
    try:
        os.setsid()
        # stdout, stderr, the result channel, the job, and for the two runs of a job with a tests'
        # process the channel between them (rpc.READ_FD, rpc.WRITE_FD). Moved out of the way
        # first: a received descriptor may already sit on one of the target numbers.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
        targets = (1, 2, harness.RESULT_FD, 4, rpc.READ_FD, rpc.WRITE_FD)
        for src, dst in zip(high, targets, strict=False):
            os.dup2(src, dst)
        os.closerange(len(fds) + 1, 1 << 16)  # everything else, the received ones included (one syscall)
        job = recv(4)
        os.close(4)
        if job is None:
            os._exit(120)  # the supervisor went away before sending the job
        limits = sandbox.Limits(**job["limits"])
        if job["mode"] == "tests":
            os.chdir("/")  # the tests' process writes nothing (tests that use files run in-process)
        elif ctx.namespaces:
            _private_mounts(ctx, job.get("uid", ctx.uid))
        else:
            os.chdir(job["workdir"] or "/")
        stdin = job.get("stdin")
        if stdin is None:
            fd0 = os.open("/dev/null", os.O_RDONLY)
        else:
            fd0 = os.memfd_create("stdin")
            data = stdin.encode() if isinstance(stdin, str) else stdin
            view = memoryview(data)
            while view:
                view = view[os.write(fd0, view) :]
            os.lseek(fd0, 0, os.SEEK_SET)
        os.dup2(fd0, 0)
        if fd0 != 0:
            os.close(fd0)
        os.closerange(rpc.WRITE_FD + 1, 1 << 16)
        os.environ.clear()
        os.environ.update(CHILD_ENV)
        os.umask(0o077)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        sandbox.apply_limits(limits, nproc_base=ctx.nproc_base)
        if ctx.uid is not None:
            sandbox.drop_privileges(ctx.uid, ctx.uid)
        elif ctx.userns or os.getuid() == 0:
            # in a user namespace; or root that must stay uid 0 to read its interpreter: without
            # capabilities it cannot open undumpable processes (the tests', the supervisor)
            sandbox.drop_capabilities()
        sandbox.no_new_privileges()
        # The uid change cleared it; the program may read /proc/self. The tests' process stays
        # undumpable: without a PID namespace between them, the program (same uid) must not
        # open its /proc/<pid>/mem or descriptors.
        sandbox.set_dumpable(job["mode"] != "tests")
        # After the uid change, which clears the parent-death signal. If the supervisor is
        # already gone, our stdout pipe has no reader any more: stop here.
        sandbox.die_with_parent()
        poller = select.poll()
        poller.register(1, select.POLLOUT)
        if any(ev & select.POLLERR for _, ev in poller.poll(0)):
            os._exit(122)
        if ctx.seccomp is not None:
            sandbox.load_seccomp(ctx.seccomp)
        sys.argv = ["solution.py"]
        sys.modules["__main__"].__dict__.pop("zygote", None)  # the boot script's handle on us
        harness.run(job)
    except BaseException:
        try:
            os.write(2, traceback.format_exc().encode()[-4000:])
        except BaseException:
            pass
    os._exit(121)


def _private_mounts(ctx: RunContext, uid: int | None) -> None:
    """This run's own /proc (its PID namespace only), /tmp and /dev/shm (fresh tmpfs)."""
    flags = sandbox.MS_NOSUID | sandbox.MS_NODEV
    try:
        sandbox.mount("proc", "/proc", "proc", flags | sandbox.MS_NOEXEC, None)
    except OSError:  # cannot mount a proc here: show none rather than the host's
        sandbox.mount("tmpfs", "/proc", "tmpfs", flags | sandbox.MS_NOEXEC, "size=4k,mode=0555")
    # Allowed paths under /tmp (a virtualenv in a CI checkout) are bound back into the fresh
    # tmpfs, from descriptors opened in this mount namespace before it is covered.
    kept = {p: os.open(p, os.O_PATH) for p in ctx.kept_under_tmp if os.path.exists(p)}
    sandbox.mount("tmpfs", "/tmp", "tmpfs", flags, f"size={sandbox.TMPFS_MB}m,mode=1777")
    sandbox.mount("tmpfs", "/dev/shm", "tmpfs", flags, f"size={sandbox.SHM_MB}m,mode=1777")
    for path, fd in sorted(kept.items()):  # parents before what they contain
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.makedirs(path, exist_ok=True)
        elif not os.path.exists(path):  # a file (pyvenv.cfg): its mount point is an empty file
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
        sandbox.mount(f"/proc/self/fd/{fd}", path, None, sandbox.MS_BIND | sandbox.MS_REC, None)
        os.close(fd)
    for link, target in sorted(ctx.links_under_tmp.items()):
        if not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(target, link)
    os.mkdir(WORK_DIR, 0o700)
    if uid is not None:
        os.chown(WORK_DIR, uid, uid)
    os.chdir(WORK_DIR)


# -- the template -------------------------------------------------------------------------------


class Template:
    """The process every run is cloned from (see the module docstring)."""

    def __init__(self, ctx: RunContext, spec: allowlist.RootSpec | None, sock: socket.socket) -> None:
        self.ctx, self.sock = ctx, sock
        self.clone_flags = (sandbox.CLONE_NEWPID | sandbox.CLONE_NEWIPC | sandbox.CLONE_NEWNS) if spec else 0
        self.spec = spec

    def prepare(self) -> None:
        sandbox.die_with_parent()
        if self.spec is not None:
            sandbox.build_root(self.spec.binds, self.spec.symlinks, self.spec.files, list(allowlist.DEVICES))
            self.ctx.kept_under_tmp = [p for p in self.spec.binds if p.startswith("/tmp/")]
            self.ctx.links_under_tmp = {p: t for p, t in self.spec.symlinks.items() if p.startswith("/tmp/")}
            import importlib

            sys.path_importer_cache.clear()
            importlib.invalidate_caches()

    def serve(self) -> None:
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.sock, 16, 8)
            except OSError:
                os._exit(0)
            if not msg:
                os._exit(0)
            try:  # b"t": the tests' process, which needs no namespaces of its own (see Supervisor.run)
                pid = sandbox.clone_sibling(0 if msg[:1] == b"t" else self.clone_flags)
            except OSError as exc:
                pid = -(exc.errno or 1)
            if pid == 0:
                self.sock.close()
                run_child(self.ctx, fds)
            for fd in fds:
                os.close(fd)
            self.sock.sendall(struct.pack("!q", pid))


# -- the supervisor ---------------------------------------------------------------------------------


class Supervisor:
    def __init__(self, config: dict[str, Any], ctrl_in: int, ctrl_out: int) -> None:
        self.ctrl_in, self.ctrl_out = ctrl_in, ctrl_out
        isolation = config.get("isolation", "auto")
        slot = int(config.get("slot", 0))
        ablate = set(config.get("ablate") or ())  # benchmarks only: price each layer
        self.report: dict[str, Any] = {"requested": isolation, "warnings": []}
        r, warn = self.report, self.report["warnings"].append
        uid = os.getuid()
        if not sandbox.can_clone():
            import platform

            raise RuntimeError(f"the code sandbox supports Linux on x86_64 and aarch64, not {platform.machine()}")
        ns_ok, why = False, "disabled by isolation='none'"
        userns = uid != 0
        if isolation != "none":
            try:
                self._enter_namespaces(userns)
                ns_ok = True
            except OSError as exc:
                why = f"namespaces unavailable ({exc.strerror or exc})"
                if isolation == "namespaces":
                    raise RuntimeError(f"isolation='namespaces' but this machine refuses them: {why}") from exc
        self.subreaper = sandbox.become_subreaper()
        ctx = RunContext()
        ctx.namespaces = ns_ok
        ctx.userns = ns_ok and userns
        self.ctx = ctx
        slot_uid = sandbox.SLOT_UID_BASE + slot
        if uid == 0 and (ctx.namespaces or not sandbox_blocked()):
            ctx.uid = slot_uid
            r["user"] = f"{slot_uid} (this slot's own uid, dropped from root)"
        else:
            r["user"] = f"{uid} (same as the verifier: not dropped)"
            if uid == 0:
                warn(
                    "RUNS AS ROOT (without capabilities): the interpreter lies under a root-only directory and "
                    "there is no mount "
                    "namespace to expose it to another uid"
                )
        # Limits shared across runs: a cgroup per slot where allowed, else the slot's own uid.
        self.cgroup, cg_why = sandbox.Cgroup.create(f"z{os.getpid()}") if "cgroup" not in ablate else (None, "ablated")
        if self.cgroup is not None:
            r["accounting"] = self.cgroup.description
        elif ctx.uid is not None:
            r["accounting"] = (
                f"no cgroup ({cg_why}): processes counted per slot uid (RLIMIT_NPROC), memory per process "
                "(RLIMIT_AS: tmpfs and memfd pages are not counted)"
            )
        else:
            ctx.nproc_base = _count_processes(uid)
            r["accounting"] = (
                f"no cgroup ({cg_why}) and no uid of its own: RLIMIT_NPROC counts every process of uid {uid}"
            )
            warn("process and memory limits are per process only and shared with your user's processes")
        ctx.seccomp, r["seccomp"] = sandbox.seccomp_program() if "seccomp" not in ablate else (None, "ablated")
        if ctx.seccomp is None:
            warn(f"seccomp {r['seccomp']}")
        r["session"] = "own session and process group, killed as a whole"
        if ctx.namespaces:
            r["mode"] = "namespaces"
            r["network"] = "isolated: own network namespace with no interfaces up (not even loopback)"
            r["ipc"] = "isolated: own IPC namespace per run (SysV and POSIX IPC objects die with the run)"
            r["pid"] = "own PID namespace per run: everything the run starts dies with it"
            r["proc"] = "private: the run's own PID namespace only"
            r["filesystem"] = (
                "allow-list root, read-only: the interpreter, its standard library, system shared libraries, "
                "declared packages and paths; private tmpfs /tmp and /dev/shm per run"
            )
            r["template"] = "every run is cloned from a template process that never held another run's data"
        else:
            r["mode"] = "none"
            reason = why
            r["network"] = f"none: {reason}; THE PROGRAM CAN REACH THE NETWORK"
            r["ipc"] = "shared with the host"
            r["pid"] = (
                "no PID namespace: own session, and the supervisor (a child subreaper) kills and reaps every "
                "leftover process after the run"
            )
            r["proc"] = "the host's /proc"
            r["filesystem"] = "not isolated: the program can read what its user can; only its work dir is removed"
            r["template"] = "every run is cloned from a template process that never held another run's data"
            warn(f"network is NOT isolated: {reason}")
            warn("filesystem is NOT isolated")
            whom = "ANY process (it runs as root)" if ctx.uid is None and uid == 0 else "other processes of its user"
            warn(f"no PID namespace: the program can signal {whom}")
            warn("no IPC namespace: SysV/POSIX IPC objects are shared with the host")
        r["tests"] = (
            "assert tests that need an interpreter run in a tests' process of their own, cloned from the same "
            "template, never running the program's code"
            + (" (own PID namespace)" if ctx.namespaces else " (not dumpable: same uid, no PID namespace)")
        )
        r["environment"] = "empty except " + ", ".join(f"{k}=1" for k in CHILD_ENV)
        r["stdin"] = "/dev/null (stdin/stdout cases: the case input)"
        for name in PREIMPORT:
            try:
                __import__(name)
            except ImportError:
                pass
        spec = None
        if ctx.namespaces:
            names = {slot_uid: "sandbox"} if ctx.uid is not None else {}
            spec = allowlist.root_spec(list(config.get("packages") or []), list(config.get("paths") or []), names)
            if spec.missing_packages:
                warn(f"declared packages not installed here: {', '.join(spec.missing_packages)}")
            r["packages"] = sorted(config.get("packages") or [])
        if ablate:
            warn(f"layers switched off for a benchmark: {', '.join(sorted(ablate))}")
        self.template_pid, self.spawn_sock = self._start_template(spec, "run_namespaces" in ablate)

    @staticmethod
    def _enter_namespaces(userns: bool) -> None:
        uid, gid = os.getuid(), os.getgid()
        flags = sandbox.CLONE_NEWNET | sandbox.CLONE_NEWNS
        if userns:
            sandbox.unshare(flags | sandbox.CLONE_NEWUSER)
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        else:
            sandbox.unshare(flags)
        sandbox.mount(None, "/", None, sandbox.MS_REC | sandbox.MS_PRIVATE, None)

    def _start_template(self, spec: allowlist.RootSpec | None, shared: bool) -> tuple[int, socket.socket]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                mine.close()
                os.close(ready_r)
                os.close(self.ctrl_in)
                os.close(self.ctrl_out)
                template = Template(self.ctx, spec, theirs)
                if shared:  # benchmark only: runs share the template's namespaces and /tmp
                    template.clone_flags, self.ctx.namespaces = 0, False
                template.prepare()
                os.write(ready_w, b"ok")
                os.close(ready_w)
                template.serve()
            except BaseException:
                try:
                    os.write(ready_w, traceback.format_exc().encode()[-2000:])
                except BaseException:
                    pass
            os._exit(1)
        theirs.close()
        os.close(ready_w)
        status = b""
        while chunk := os.read(ready_r, 4096):
            status += chunk
        os.close(ready_r)
        if status != b"ok":
            raise RuntimeError(f"the sandbox template failed to start: {status.decode(errors='replace')}")
        return pid, mine

    def spawn(self, fds: list[int], *, own_namespaces: bool = True) -> int:
        socket.send_fds(self.spawn_sock, [b"s" if own_namespaces else b"t"], fds)
        data = b""
        while len(data) < 8:
            chunk = self.spawn_sock.recv(8 - len(data))
            if not chunk:
                raise RuntimeError("the sandbox template died")
            data += chunk
        pid = struct.unpack("!q", data)[0]
        if pid < 0:
            raise OSError(-pid, f"cloning a run failed: {os.strerror(-pid)}")
        return pid

    # -- one job ---------------------------------------------------------------------------
    def job(self, job: dict[str, Any]) -> dict[str, Any]:
        limits = sandbox.Limits(**job["limits"])
        spec = {k: v for k, v in job.items() if k not in ("limits", "inputs", "tests")}
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
            runs = [self.run(spec, limits, None, job.get("tests"))]
        return {"runs": runs, "isolation": self.report}

    def run(
        self,
        spec: dict[str, Any],
        limits: sandbox.Limits,
        stdin: str | bytes | None,
        tests: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One run of the program, and with `tests` (the job of a tests' process) that process
        too. The program's run waits for the tests' process's first message before it loads the
        solution, so that nothing the program does can keep that process from starting (which
        would read as a broken sandbox). The tests' process gets no namespaces of its own: the
        program's run is PID 1 of its own PID namespace, from where it is invisible, and the
        tests' process needs no private /tmp or /proc (tests that use files run in-process)."""
        workdir = None
        if not self.ctx.namespaces:
            workdir = tempfile.mkdtemp(prefix="rewardsmith-run-")
            os.chmod(workdir, 0o700)
            if self.ctx.uid is not None:
                os.chown(workdir, self.ctx.uid, self.ctx.uid)
        children: list[_Child] = []
        channel: list[int] = []
        oom_before = 0
        try:
            if self.cgroup is not None:
                self.cgroup.configure(limits)
                oom_before = self.cgroup.oom_kills()
            program_ends: list[int] = []
            if tests is not None:
                request_r, request_w = os.pipe()  # tests -> program
                reply_r, reply_w = os.pipe()  # program -> tests
                channel = [request_r, request_w, reply_r, reply_w]
                start = time.monotonic()
                tester = self._start("tests", dict(tests, workdir=None), limits, None, [reply_r, request_w])
                children.append(tester)
                program_ends = [request_r, reply_w]
            else:
                start = time.monotonic()
            program = self._start("program", dict(spec, workdir=workdir), limits, stdin, program_ends)
            children.insert(0, program)
            for fd in channel:
                os.close(fd)
            channel = []
            result = self._supervise(children, limits, start)
            if self.cgroup is not None and self.cgroup.oom_kills() > oom_before:
                result["oom"] = True
                result["exit"] += " (memory limit of the run's cgroup)"
            return result
        finally:
            for child in children:
                if child.status is None:  # (once reaped, its pid may belong to a stranger)
                    sandbox.kill_run(child.pid)
                child.close()
            for fd in channel:
                os.close(fd)
            sandbox.sweep_children(keep=frozenset({self.template_pid}))
            if workdir is not None and not sandbox.wipe(workdir):
                self.report["workdirs_left_behind"] = self.report.get("workdirs_left_behind", 0) + 1

    def _start(
        self, role: str, spec: dict[str, Any], limits: sandbox.Limits, stdin: str | bytes | None, extra: list[int]
    ) -> _Child:
        """Clone a run, put it in the slot's cgroup, send it its job (with a fresh nonce)."""
        nonce = secrets.token_bytes(16)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        job_r, job_w = os.pipe()
        try:
            pid = self.spawn([out_w, err_w, res_w, job_r, *extra], own_namespaces=role != "tests")
        except BaseException:
            for fd in (out_r, err_r, res_r, job_w):
                os.close(fd)
            raise
        finally:
            for fd in (out_w, err_w, res_w, job_r):
                os.close(fd)
        child = _Child(pid, role, nonce, {out_r: "out", err_r: "err", res_r: "res"})
        try:
            # The tests' process stays out of the run's cgroup: it is bounded by its rlimits, and
            # nothing the program does to the cgroup's memory or process count can touch it.
            if self.cgroup is not None and role != "tests":
                self.cgroup.add(pid)
            try:
                send(job_w, dict(spec, nonce=nonce, limits=limits.to_dict(), stdin=stdin))
            except BrokenPipeError:
                pass  # the run died first: reported by its exit status
        except BaseException:
            sandbox.kill_run(pid)
            child.close()
            raise
        finally:
            os.close(job_w)
        return child

    def _supervise(self, children: list[_Child], limits: sandbox.Limits, start: float) -> dict[str, Any]:
        """Drain every stream of the run's processes until they end (or the wall-clock limit
        kills them all); when the tests' process ends, the program's is no longer needed."""
        cap = limits.max_output_kb * 1024
        poller = select.poll()
        streams: dict[int, _Child] = {}
        pidfds: dict[int, _Child] = {}
        for child in children:
            for fd in child.streams:
                poller.register(fd, select.POLLIN)
                streams[fd] = child
            pidfd = os.pidfd_open(child.pid)
            poller.register(pidfd, select.POLLIN)
            pidfds[pidfd] = child
        poller.register(self.ctrl_in, 0)  # only POLLHUP: the verifier went away
        timed_out = False
        deadline = start + limits.timeout
        last_exit = 0.0
        try:
            while True:
                now = time.monotonic()
                alive = [c for c in children if c.status is None]
                if alive and not timed_out and now >= deadline:
                    timed_out = True
                    for c in alive:
                        sandbox.kill_run(c.pid)
                if not alive:
                    if not streams or now - last_exit > 1.0:
                        break
                    if now - last_exit > 0.05:
                        sandbox.sweep_children(0.5, keep=frozenset({self.template_pid}))
                wait_ms = 20 if not alive or timed_out else max(1, int((deadline - now) * 1000) + 1)
                for fd, _ev in poller.poll(wait_ms):
                    if fd == self.ctrl_in:
                        for c in children:
                            sandbox.kill_run(c.pid)
                        sandbox.sweep_children(keep=frozenset({self.template_pid}))
                        os._exit(0)
                    if fd in pidfds:
                        child = pidfds.pop(fd)
                        poller.unregister(fd)
                        os.close(fd)
                        sandbox.kill_run(child.pid)  # the group's leftovers; the zombie still holds the pid
                        _, child.status = os.waitpid(child.pid, 0)
                        last_exit = time.monotonic()
                        if child.role == "tests":
                            for c in children:
                                if c.status is None:
                                    c.stopped = True
                                    sandbox.kill_run(c.pid)
                        continue
                    owner = streams.get(fd)
                    if owner is None:
                        continue
                    data = os.read(fd, 1 << 16)
                    if not data:
                        poller.unregister(fd)
                        del streams[fd]
                        continue
                    owner.keep(owner.streams[fd], data, cap)
        finally:
            for fd in pidfds:
                os.close(fd)
        wall = time.monotonic() - start
        program = children[0]
        result = program.observations(cap, timed_out)
        result["time_s"] = round(wall, 4)
        if len(children) > 1:
            result["tests"] = children[1].observations(cap, timed_out)
        return result

    def close(self) -> None:
        try:
            self.spawn_sock.close()
        except OSError:
            pass
        sandbox.kill_run(self.template_pid)
        try:
            os.waitpid(self.template_pid, 0)
        except ChildProcessError:
            pass
        if self.cgroup is not None:
            self.cgroup.remove()


def parse_frames(data: bytes, nonce: bytes) -> tuple[list[bytes], int]:
    """The run's reports: `nonce | length | body`, split but not decoded (the verifier decodes
    them within limits: work a program can make expensive is never done here, where it would
    hold up the slot and read as a broken sandbox). Bytes that are not such a frame (a program
    writing on the channel) are skipped up to the next nonce and counted."""
    frames: list[bytes] = []
    forged = 0
    pos, end, n = 0, len(data), len(nonce)
    while pos < end:
        if data[pos : pos + n] != nonce:
            forged += 1
            nxt = data.find(nonce, pos + 1)
            pos = end if nxt < 0 else nxt
            continue
        if pos + n + _FRAME.size > end:
            forged += 1
            break
        (length,) = _FRAME.unpack_from(data, pos + n)
        start = pos + n + _FRAME.size
        if start + length > end:
            forged += 1
            break
        frames.append(data[start : start + length])
        pos = start + length
    return frames, forged


class _Child:
    """One process of a run as its supervisor sees it: its streams, what they carried, how it ended."""

    def __init__(self, pid: int, role: str, nonce: bytes, streams: dict[int, str]) -> None:
        self.pid, self.role, self.nonce, self.streams = pid, role, nonce, streams
        self.bufs = {name: bytearray() for name in streams.values()}
        self.dropped = dict.fromkeys(streams.values(), 0)
        self.status: int | None = None
        self.stopped = False  # killed because its work was done (the tests' process ended)

    def keep(self, name: str, data: bytes, cap: int) -> None:
        buf = self.bufs[name]
        if name == "err":  # the tail matters (the traceback): keep the last `cap` bytes
            buf += data
            if len(buf) > 2 * cap:
                self.dropped[name] += len(buf) - cap
                del buf[: len(buf) - cap]
            return
        room = (MAX_RESULT_BYTES if name == "res" else cap) - len(buf)
        buf += data[: max(0, room)]
        self.dropped[name] += max(0, len(data) - max(0, room))

    def observations(self, cap: int, timed_out: bool) -> dict[str, Any]:
        assert self.status is not None
        status = self.status
        frames, forged = parse_frames(bytes(self.bufs["res"]), self.nonce)
        exit_ = "stopped after its tests finished" if self.stopped else _describe(status)
        return {
            "frames": frames,
            "forged_lines": forged,
            "result_truncated": self.dropped["res"],
            "stdout": bytes(self.bufs["out"]).decode("utf-8", "replace"),
            "stdout_truncated": self.dropped["out"],
            "stderr": bytes(self.bufs["err"][-cap:]).decode("utf-8", "replace"),
            "stderr_dropped": self.dropped["err"],
            "exit": exit_,
            "signal": None if self.stopped or not os.WIFSIGNALED(status) else -os.waitstatus_to_exitcode(status),
            "exit_code": 0 if self.stopped else os.waitstatus_to_exitcode(status),
            "timed_out": timed_out,
        }

    def close(self) -> None:
        for fd in self.streams:
            try:
                os.close(fd)
            except OSError:
                pass
        self.streams = {}


def sandbox_blocked() -> bool:
    """Without a mount namespace, may another uid read the interpreter?"""
    import stat

    for path in sandbox.python_paths():
        current = "/"
        for part in [p for p in os.path.realpath(path).split("/") if p][:-1]:
            current = os.path.join(current, part)
            try:
                if not os.stat(current).st_mode & stat.S_IXOTH:
                    return True
            except OSError:
                break
    return False


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
    import json

    config = json.loads(argv[0]) if argv else {}
    ctrl_in, ctrl_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = config.get("parent_pid")
    try:
        supervisor = Supervisor(config, ctrl_in, ctrl_out)
    except BaseException as exc:
        send(ctrl_out, ("fatal", f"{type(exc).__name__}: {exc}"))
        os._exit(3)
    # Not dumpable (once its user namespace is set up): without namespaces a program of the same
    # uid could otherwise open its /proc/<pid>/fd (the tests' result pipes) or read its memory.
    sandbox.set_dumpable(False)
    send(ctrl_out, ("ready", supervisor.report, {"template_pid": supervisor.template_pid}))
    watch = select.poll()
    watch.register(ctrl_in, select.POLLIN)
    try:  # the verifier's death, even if another process still holds our request pipe
        parent_fd = os.pidfd_open(parent) if parent else -1
        if parent_fd >= 0:
            watch.register(parent_fd, select.POLLIN)
    except OSError:
        parent_fd = -1
    try:
        while True:
            events = watch.poll()
            if any(fd == parent_fd for fd, _ in events):
                break
            msg = recv(ctrl_in)
            if msg is None or msg[0] == "stop":
                break
            try:
                reply: tuple[str, Any] = ("ok", supervisor.job(msg[1]))
            except Exception:
                reply = ("error", traceback.format_exc()[-4000:])
            send(ctrl_out, reply)
    except (BrokenPipeError, OSError):
        pass
    finally:
        sandbox.sweep_children(1.0, keep=frozenset({supervisor.template_pid}))
        supervisor.close()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
