"""Helpers shared by the code sandbox's adversarial test modules (one module per attack class)."""

from __future__ import annotations

import textwrap
import time
import uuid

import psutil

from rewardsmith.verifiers.code.executor import pool_for


def fenced(code: str) -> str:
    return "```python\n" + textwrap.dedent(code).strip("\n") + "\n```"


def marker() -> str:
    """A unique number for a sleeper's command line: leftover processes give themselves away."""
    return f"{int(time.time()) % 1000 + 100}.{uuid.uuid4().int % 10**6:06d}"


def sleeper(mark: str) -> str:
    """Python source that replaces the process by a long sleep marked with `mark`."""
    return f'os.execv(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(60)", "{mark}"])'


def marked(mark: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if mark in " ".join(p.info["cmdline"] or []):
            found.append(p)
    return found


def wait_gone(mark: str, seconds: float = 3.0) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while marked(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    return marked(mark)


def leftovers(isolation: str = "auto", **config) -> list[str]:
    """Processes still under the warm supervisors besides their templates: there must be none."""
    left = []
    for z in list(pool_for(isolation, **config)._all):
        try:
            proc = psutil.Process(z.proc.pid)
            left += [f"{c.pid}:{c.status()}" for c in proc.children(recursive=True) if c.pid != z.template_pid]
        except psutil.NoSuchProcess:
            left.append(f"zygote {z.proc.pid} died")
    return left


def legit_still_scores(reward) -> None:
    """The verifier is undisturbed: a correct program scores 1.0 and a wrong one 0.0 right after."""
    good = reward.score({"completion": fenced("def f():\n    return 1"), "tests": "assert f() == 1"})
    bad = reward.score({"completion": fenced("def f():\n    return 2"), "tests": "assert f() == 1"})
    assert (good.value, bad.value) == (1.0, 0.0), (good.reason, bad.reason)
