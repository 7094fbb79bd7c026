"""Engine overhead: `score_batch` against a plain Python loop over the same function.

Prints per-sample overhead of the in-process path (target < 20 µs) and the speed-up of the
process-pool path on a ~5 ms CPU-bound reward (target ≥ 1.6× on 2 cores), both against a
plain loop measured in the same run.
"""

from __future__ import annotations

import os
import statistics
import time

import rewardsmith as rs
from rewardsmith.core.engine import cpu_count


def cheap(sample):
    return len(sample.text) % 3


def burn_5ms(sample):
    end = time.process_time() + 0.005
    x = 0
    while time.process_time() < end:
        x += 1
    return 1.0


def best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    cores = cpu_count()
    print(f"rewardsmith engine benchmark — {cores} cores available, os.cpu_count()={os.cpu_count()}")
    samples = [rs.Sample(completion="x" * (i % 50)) for i in range(20_000)]

    cheap_reward = rs.reward(cheap)
    plain, _ = best_of(5, lambda: [cheap(s) for s in samples])
    engine, _ = best_of(5, lambda: cheap_reward.score_batch(samples))
    overhead_us = (engine - plain) / len(samples) * 1e6
    print("\nin-process path (cheap reward, 20,000 samples)")
    print(f"{'':24}{'total s':>10}{'µs/sample':>12}")
    print(f"{'plain loop (anchor)':24}{plain:>10.4f}{plain / len(samples) * 1e6:>12.2f}")
    print(f"{'score_batch':24}{engine:>10.4f}{engine / len(samples) * 1e6:>12.2f}")
    print(f"overhead per sample: {overhead_us:.2f} µs (target < 20 µs) -> {'PASS' if overhead_us < 20 else 'MISS'}")

    heavy = rs.reward(burn_5ms, kind="cpu")
    batch = samples[:400]
    plain_h, _ = best_of(2, lambda: [burn_5ms(s) for s in batch])
    pool_h, _ = best_of(2, lambda: heavy.score_batch(batch, workers=cores))
    pool_t, _ = best_of(2, lambda: heavy.score_batch(batch, workers=cores, timeout=5))
    print(f"\nprocess-pool path (~5 ms CPU reward, {len(batch)} samples, {cores} workers)")
    print(f"{'':28}{'total s':>10}{'samples/s':>12}{'vs loop':>10}")
    for label, t in [
        ("plain loop (anchor)", plain_h),
        ("score_batch pool", pool_h),
        ("score_batch pool+timeout", pool_t),
    ]:
        print(f"{label:28}{t:>10.3f}{len(batch) / t:>12.1f}{plain_h / t:>9.2f}x")
    speedup = plain_h / pool_h
    target = 1.6 if cores >= 2 else 0.9
    print(
        f"pool speed-up: {speedup:.2f}x (target ≥ {target}x on {cores} cores) -> {'PASS' if speedup >= target else 'MISS'}"
    )


if __name__ == "__main__":
    main()
