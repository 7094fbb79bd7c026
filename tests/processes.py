"""Process checks shared by the engine, CLI and math-timeout tests: which processes the engine keeps,
and whether what a reward started was killed and reaped."""

from __future__ import annotations

import time
from collections.abc import Iterable

import psutil


def alive(p: psutil.Process) -> bool:
    """Running or sleeping: a zombie (dead, not yet reaped) or a vanished process is not alive."""
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def alive_pid(pid: int) -> bool:
    try:
        return alive(psutil.Process(pid))
    except psutil.Error:
        return False


def gone(pids: Iterable[int], timeout: float = 5.0) -> bool:
    """True once none of `pids` is alive, False if some still are after `timeout` seconds."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive_pid(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _name(p: psutil.Process) -> str:
    try:
        return p.name()
    except psutil.Error:
        return ""


def pool_processes() -> set[int]:
    """Pids of this process's engine pool supervisors and workers (they stay up between batches)."""
    return {p.pid for p in psutil.Process().children(recursive=True) if _name(p).startswith("rewardsmith-")}


def no_stray_processes(timeout: float = 5.0) -> None:
    """Assert that nothing runs below the pool processes but the pool processes: what rewards started
    (a hung checker, a subprocess) was killed and reaped."""
    deadline = time.monotonic() + timeout
    while True:
        pool = pool_processes()
        stray = []
        for pid in pool:
            try:
                stray += [p for p in psutil.Process(pid).children(recursive=True) if p.pid not in pool and alive(p)]
            except psutil.Error:
                continue
        if not stray or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert stray == []
