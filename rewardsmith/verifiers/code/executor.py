"""The executor interface ("run this program against these tests with these limits, return
per-test outcomes") and `LocalExecutor`, which runs programs in a pool of warm zygotes.

A remote executor (a SandboxFusion or Piston service, a Ray cluster) implements the same
`Executor` protocol: it runs `program.code` against `program.suite.untrusted()` however it
likes, then judges the observations with `tests_formats.judge` (or its own checker) and
returns a `ProgramResult`. Extraction and scoring (`CodeTests`) never change.

Failure policy: if the sandbox itself fails (cannot start, its supervisor dies or stops
answering twice in a row), the result carries `infra_error` and the verifier returns an
unscored Score (value None); everything the *program* does wrong is a per-test outcome.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import json
import os
import select
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rewardsmith.core.backends import on_shutdown
from rewardsmith.core.engine import cpu_count
from rewardsmith.core.errors import WorkerError
from rewardsmith.verifiers.code.sandbox import Limits
from rewardsmith.verifiers.code.tests_formats import TestOutcome, TestSuite, judge
from rewardsmith.verifiers.code.zygote import recv, send

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from rewardsmith.verifiers.code import zygote; zygote.main(sys.argv[2:])"
)
START_TIMEOUT_S = 60.0


@dataclass(slots=True)
class Program:
    """One program to run: its code, its tests, its limits."""

    code: str
    suite: TestSuite
    limits: Limits = field(default_factory=Limits)
    type_check: bool = True
    float_tolerance: float = 1e-6


@dataclass(slots=True)
class ProgramResult:
    outcomes: list[TestOutcome]
    infra_error: str | None = None
    stdout: str = ""
    stderr: str = ""
    exit: str = ""
    time_s: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)
    #: stretches of the result channel without the run's nonce (attempts to fake verdicts)
    forged_lines: int = 0
    #: "out-of-process" when no verdict was decided in the program's process, else "in-process"
    verdict: str = "out-of-process"
    #: the in-process tests and why each needs the program's interpreter
    in_process: dict[str, str] = field(default_factory=dict)


class Executor(Protocol):
    def run(self, program: Program) -> ProgramResult: ...

    def run_many(
        self, programs: Sequence[Program], *, workers: int | None = None, on_result: Callable[[], None] | None = None
    ) -> list[ProgramResult]: ...


def default_workers() -> int:
    """Programs in flight at once: twice the core count. A run spends part of its time in
    fork, pipe round trips and namespace teardown rather than on a core, so 2x measured
    ~35% more throughput on trivial programs than 1x; CPU-bound programs just share cores
    (their CPU-time limit is unaffected, their wall-clock limit has a 5x margin by default)."""
    return 2 * cpu_count()


class SandboxUnavailable(WorkerError):
    """The zygote could not start (or refused the requested isolation)."""


class _Zygote:
    """The verifier's handle on one zygote process."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.jobs = 0  # programs run, for recycling
        try:
            self._start(config)
        except OSError as exc:
            raise SandboxUnavailable(f"cannot start the sandbox supervisor: {exc}") from None

    def _start(self, config: dict[str, Any]) -> None:
        config = dict(config, parent_pid=os.getpid())
        self.slot = config["slot"]
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, _PACKAGE_ROOT, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            start_new_session=True,
            close_fds=True,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        try:
            msg = self.recv(START_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError) as exc:
            self.kill()
            raise SandboxUnavailable(f"the sandbox supervisor did not start ({exc})") from None
        if msg[0] != "ready":
            self.kill()
            raise SandboxUnavailable(str(msg[1]))
        self.report: dict[str, Any] = msg[1]
        #: the template every run is cloned from (the supervisor's one long-lived child)
        self.template_pid: int = msg[2]["template_pid"]

    def recv(self, timeout: float) -> Any:
        ready, _, _ = select.select([self.rfd], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no answer within {timeout:g} s")
        msg = recv(self.rfd)
        if msg is None:
            raise EOFError(f"the sandbox supervisor died ({self._exit()})")
        return msg

    def _exit(self) -> str:
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "still running"
        return f"signal {-code}" if code < 0 else f"exit code {code}"

    def job(self, payload: dict[str, Any], timeout: float) -> Any:
        send(self.wfd, ("job", payload))
        return self.recv(timeout)

    def stop(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()  # EOF: the zygote cleans up and exits
            except OSError:
                pass

    def kill(self) -> None:
        try:
            self.proc.kill()  # its runs die with it (PR_SET_PDEATHSIG)
        except OSError:
            pass
        self.stop()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def forget(self) -> None:
        """In a forked child: drop the inherited pipe ends without touching the process."""
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass


_SLOTS: set[int] = set()
_SLOTS_LOCK = threading.Lock()


def _take_slot() -> int:
    """A slot number unique among this process's supervisors (each slot runs as its own uid
    when root); offset by the pid so that two verifier processes rarely share one."""
    with _SLOTS_LOCK:
        local = next(i for i in range(1 << 20) if i not in _SLOTS)
        _SLOTS.add(local)
    return (os.getpid() % 1024) * 1024 + local % 1024


def _free_slot(slot: int) -> None:
    with _SLOTS_LOCK:
        _SLOTS.discard(slot % 1024)


class ZygotePool:
    """Warm supervisors shared by every verifier of this process with the same sandbox
    configuration (isolation, declared packages and paths)."""

    MAX = 4 * cpu_count()

    def __init__(
        self, isolation: str, packages: tuple[str, ...] = (), paths: tuple[str, ...] = (), ablate: tuple[str, ...] = ()
    ) -> None:
        self.isolation, self.packages, self.paths, self.ablate = isolation, packages, paths, ablate
        self.pid = os.getpid()
        self._idle: list[_Zygote] = []
        self._all: set[_Zygote] = set()
        self._starting = 0
        self._warned = False
        self._cond = threading.Condition()

    #: a supervisor is replaced after this many programs (a slow leak cannot grow without bound)
    RECYCLE_AFTER = 5000

    def acquire(self) -> _Zygote:
        while True:
            dead = None
            with self._cond:
                while not self._idle and len(self._all) + self._starting >= self.MAX:
                    self._cond.wait()
                if self._idle:
                    z = self._idle.pop()
                    if z.proc.poll() is None:
                        return z
                    self._all.discard(z)  # died while idle (killed from outside): start another
                    dead = z
                else:
                    self._starting += 1
                    break
            if dead is not None:
                dead.kill()
                _free_slot(dead.slot)
        slot = _take_slot()
        try:
            z = _Zygote(
                {
                    "isolation": self.isolation,
                    "packages": list(self.packages),
                    "paths": list(self.paths),
                    "slot": slot,
                    "ablate": list(self.ablate),
                }
            )
        except BaseException:
            _free_slot(slot)
            raise
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
        with self._cond:
            self._all.add(z)
            first, self._warned = not self._warned, True
        if first and z.report.get("warnings"):
            warnings.warn(
                "rewardsmith code sandbox is running with reduced isolation: "
                + "; ".join(z.report["warnings"])
                + " (see details['isolation'] of each Score and docs/code.md)",
                RuntimeWarning,
                stacklevel=2,
            )
        return z

    def release(self, z: _Zygote, *, broken: bool = False) -> None:
        z.jobs += 1
        broken = broken or z.jobs >= self.RECYCLE_AFTER
        if broken:
            z.kill()
            _free_slot(z.slot)
        with self._cond:
            if broken:
                self._all.discard(z)
            else:
                self._idle.append(z)
            self._cond.notify()

    def isolation_report(self) -> dict[str, Any]:
        z = self.acquire()
        self.release(z)
        return z.report

    def close(self) -> None:
        with self._cond:
            zs, self._idle, self._all = list(self._all), [], set()
            self._warned = False
        for z in zs:
            z.stop()
        for z in zs:
            try:
                z.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                z.kill()
            _free_slot(z.slot)

    def forget(self) -> None:
        for z in list(self._all):
            z.forget()
        self._idle, self._all = [], set()


_POOLS: dict[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ZygotePool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(
    isolation: str, packages: tuple[str, ...] = (), paths: tuple[str, ...] = (), ablate: tuple[str, ...] = ()
) -> ZygotePool:
    key = (isolation, tuple(packages), tuple(paths), tuple(ablate))
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool.pid != os.getpid():
            pool = _POOLS[key] = ZygotePool(*key)
        return pool


def shutdown() -> None:
    """Stop every zygote of this process (also runs at interpreter exit)."""
    with _POOLS_LOCK:
        pools = [p for p in _POOLS.values() if p.pid == os.getpid()]
        _POOLS.clear()
    for p in pools:
        p.close()


def _after_fork_in_child() -> None:
    # A forked child (e.g. a core pool worker) must not share the parent's zygotes, and must
    # not hold their pipes open (the zygotes notice their verifier's death by EOF).
    for p in _POOLS.values():
        p.forget()
    _POOLS.clear()
    _SLOTS.clear()
    globals()["_POOLS_LOCK"] = threading.Lock()
    globals()["_SLOTS_LOCK"] = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(shutdown)
on_shutdown(shutdown)  # `rewardsmith.shutdown()` stops the warm sandboxes too


class LocalExecutor:
    """Run programs on this machine in sandboxed runs cloned from warm templates.

    `isolation`: "auto" (namespaces where the machine allows them, degrading loudly),
    "namespaces" (refuse to run without them: every result is unscored) or "none"
    (rlimits, sessions and cleanup only). `packages`: import or distribution names the
    programs may import besides the standard library (with their requirements); `paths`:
    other host paths they may read. Both only matter with namespaces (the allow-list root).
    `ablate` switches layers off, for `benchmarks/bench_code.py` to price each one (never in
    production): "seccomp", "cgroup", "run_namespaces" (no per-run PID/IPC/mount namespaces).
    """

    def __init__(
        self,
        *,
        isolation: str = "auto",
        packages: Sequence[str] = (),
        paths: Sequence[str] = (),
        ablate: Sequence[str] = (),
    ) -> None:
        self.isolation = isolation
        self.packages, self.paths, self.ablate = tuple(sorted(packages)), tuple(sorted(paths)), tuple(sorted(ablate))

    def run(self, program: Program) -> ProgramResult:
        payload = dict(
            program.suite.untrusted(type_check=program.type_check), code=program.code, limits=program.limits.to_dict()
        )
        tests = program.suite.trusted()
        if tests is not None:
            payload["tests"] = tests  # for the tests' process only: the supervisor never gives it to the program
        budget = program.suite.runs * (program.limits.timeout + 3.0) + 10.0
        pool = pool_for(self.isolation, self.packages, self.paths, self.ablate)
        last = ""
        for _attempt in range(2):
            try:
                z = pool.acquire()
            except SandboxUnavailable as exc:
                return ProgramResult([], infra_error=str(exc))
            try:
                reply = z.job(payload, budget)
            except (OSError, EOFError, TimeoutError) as exc:
                pool.release(z, broken=True)
                last = str(exc)
                continue
            except BaseException:  # e.g. KeyboardInterrupt mid-job: the zygote is in an unknown state
                pool.release(z, broken=True)
                raise
            pool.release(z)
            if reply[0] != "ok":
                return ProgramResult([], infra_error=f"sandbox supervisor error: {reply[1]}", isolation=z.report)
            runs = reply[1]["runs"]
            outcomes, infra = judge(program.suite, runs, float_tolerance=program.float_tolerance)
            runs = [r for r in runs if not r.get("skipped")]
            verdict = program.suite.verdict if program.suite.mode == "assert" else "out-of-process"
            in_process = program.suite.in_process() if program.suite.mode == "assert" else {}
            return ProgramResult(
                outcomes,
                infra_error=infra,
                stdout=runs[-1]["stdout"],
                stderr=runs[-1]["stderr"],
                exit=runs[-1]["exit"],
                time_s=round(sum(r["time_s"] for r in runs), 4),
                isolation=reply[1]["isolation"],
                forged_lines=sum(r["forged_lines"] for r in runs),
                verdict=verdict,
                in_process=in_process,
            )
        return ProgramResult([], infra_error=f"the sandbox supervisor failed twice on this program (last: {last})")

    def run_many(
        self, programs: Sequence[Program], *, workers: int | None = None, on_result: Callable[[], None] | None = None
    ) -> list[ProgramResult]:
        """Run programs concurrently (threads each driving one zygote); results in input order."""
        workers = max(1, min(workers or default_workers(), len(programs) or 1, ZygotePool.MAX))

        def one(p: Program) -> ProgramResult:
            try:
                r = self.run(p)
            except Exception as exc:  # a bug of ours must not sink the whole batch
                r = ProgramResult([], infra_error=f"executor error: {type(exc).__name__}: {exc}")
            if on_result:
                on_result()
            return r

        if workers == 1:
            return [one(p) for p in programs]
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="rewardsmith-sandbox") as ex:
            return list(ex.map(one, programs))
