"""Engine overhead: `score_batch` against a plain Python loop over the same function.

Prints, each against an anchor measured in the same run:
- per-sample overhead of the in-process path (target < 20 µs) against a plain loop;
- the speed-up of the process-pool path on a ~5 ms CPU-bound reward (target ≥ 1.6× on 2 cores);
- per-batch overhead of the pool in a large (3 GB by default) process: a pool forked per batch
  (what the engine did before pools lived across batches) against the persistent pool;
- the CLI's rows/s and peak RSS at 20k and 200k rows (streaming: the peak should not grow).

`--big-gb 0` skips the large-process part; `--no-cli` the CLI part.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rewardsmith as rs
from rewardsmith.core.backends import ProcessBackend
from rewardsmith.core.engine import cpu_count

REPO = Path(__file__).resolve().parents[1]


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


def per_batch_overhead(big_gb: float, cores: int) -> None:
    """A training process is large; forking it costs time proportional to its page tables."""
    ballast = bytearray(int(big_gb * (1 << 30)))
    ballast[:: 1 << 12] = b"\x01" * len(ballast[:: 1 << 12])  # touch every page so it is resident
    tiny = rs.reward(cheap, name="tiny", kind="cpu")
    batch = [rs.Sample(completion="x" * i) for i in range(64)]

    def fork_per_batch() -> None:
        with ProcessBackend() as fresh:  # a new pool, forked for this batch and closed after it
            tiny.score_batch(batch, workers=cores, backend=fresh)

    tiny.score_batch(batch, workers=cores)  # the persistent pool starts once
    before, _ = best_of(5, fork_per_batch)
    after, _ = best_of(20, lambda: tiny.score_batch(batch, workers=cores))
    print(f"\nper-batch overhead in a {big_gb:g} GB process ({len(batch)} cheap items, {cores} workers)")
    print(f"{'':34}{'s/batch':>10}")
    print(f"{'pool forked per batch (anchor)':34}{before:>10.4f}")
    print(f"{'persistent pool':34}{after:>10.4f}")
    print(f"persistent pool is {before / after:.0f}x faster per batch ({(before - after) * 1e3:.0f} ms saved a batch)")
    del ballast


def cli_streaming(cores: int) -> None:
    measure = (
        "import sys\nfrom rewardsmith.cli import main\ncode = main(sys.argv[1:])\n"
        "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0].split()[1]\n"
        "print('MAXRSS_KB', hwm, file=sys.stderr)  # VmHWM, not ru_maxrss: that includes the parent before exec\n"
        "sys.exit(code)\n"
    )
    print("\nCLI streaming (rewardsmith score --reward exact, one process)")
    print(f"{'rows':>10}{'rows/s':>12}{'peak RSS MB':>14}{'input MB':>10}")
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "measure.py")
        script.write_text(measure)
        for n in (20_000, 200_000):
            src = Path(tmp, f"in{n}.jsonl")
            with open(src, "w") as f:
                for i in range(n):
                    f.write(
                        json.dumps({"id": i, "completion": f"answer {i % 97} " + "pad " * 20, "answer": "7"}) + "\n"
                    )
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(script), "score", "--reward", "exact", "--input", str(src)]
                + ["--output", str(Path(tmp, "out.jsonl"))],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                check=True,
            )
            elapsed = time.perf_counter() - started
            peaks[n] = int(done.stderr.split("MAXRSS_KB")[1].split()[0]) / 1024
            print(f"{n:>10}{n / elapsed:>12.0f}{peaks[n]:>14.1f}{src.stat().st_size / 1e6:>10.1f}")
    print(f"peak RSS 200k / 20k rows: {peaks[200_000] / peaks[20_000]:.2f}x (target < 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-gb", type=float, default=3.0, help="size of the large process (0 skips)")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI streaming figures")
    args = parser.parse_args()
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
    if args.big_gb > 0:
        per_batch_overhead(args.big_gb, cores)
    if not args.no_cli:
        cli_streaming(cores)


if __name__ == "__main__":
    main()
