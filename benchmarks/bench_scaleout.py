"""Scale-out overheads on one machine: the Ray backend against the local one, the server against
in-process scoring. Both anchors are measured in the same run, interleaved with what they anchor.

1. Code-verifier throughput on N trivial programs (default 1,000): `score_batch` with the default
   local backend vs `RayBackend(num_actors=cores)`, both with the same total sandbox parallelism
   (`workers`, default the verifier's own default). Target: Ray overhead under 15 %.
2. Rows per second of the `math` reward: `rewardsmith serve` over real HTTP on 127.0.0.1 (`POST /score`,
   `--rows-per-request` rows per request, `--clients` requests in flight) vs `score_batch` in-process.

    .venv/bin/python benchmarks/bench_scaleout.py [--programs N] [--repeats R] [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import rewardsmith as rs
from rewardsmith.core.engine import cpu_count
from rewardsmith.verifiers.code.executor import default_workers

REPO = Path(__file__).resolve().parent.parent


def programs(n: int) -> list[dict]:
    return [
        {"completion": f"```python\ndef f(x):\n    return x + {i}\n```", "tests": [f"assert f(1) == {i + 1}"]}
        for i in range(n)
    ]


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_ray(n: int, repeats: int, workers: int, cores: int) -> None:
    import ray

    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, configure_logging=False)
    reward = rs.load("code")
    batch = programs(n)
    backend = rs.RayBackend(num_actors=cores).start()

    def local() -> None:
        scores = reward.score_batch(batch, workers=workers)
        assert all(s.value == 1.0 for s in scores), [s.reason for s in scores if s.value != 1.0][:3]

    def on_ray() -> None:
        scores = reward.score_batch(batch, workers=workers, backend=backend)
        assert all(s.value == 1.0 for s in scores), [s.reason for s in scores if s.value != 1.0][:3]

    local(), on_ray()  # warm: sandboxes, actors, the reward built in each actor
    t_local, t_ray = [], []
    for _ in range(repeats):
        t_local.append(timed(local))
        t_ray.append(timed(on_ray))
    backend.close()
    ray.shutdown()
    lo, ra = statistics.median(t_local), statistics.median(t_ray)
    print(f"\n1. code verifier, {n} trivial programs, {workers} sandboxes in all, median of {repeats}")
    print(f"{'backend':<28} {'seconds':>8} {'programs/s':>11}")
    print(f"{'local (anchor)':<28} {lo:>8.2f} {n / lo:>11.0f}")
    print(f"{f'ray ({cores} actors)':<28} {ra:>8.2f} {n / ra:>11.0f}")
    print(f"ray overhead: {100 * (ra / lo - 1):+.1f} % (target < 15 %)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_server(n: int, per_request: int, clients: int, repeats: int) -> None:
    import httpx

    rows = [{"completion": f"so the answer is \\boxed{{{i % 7}}}", "answer": "3", "id": i} for i in range(n)]
    reward = rs.load("math")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardsmith",
            "serve",
            "--reward",
            "math",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        bodies = [
            "".join(json.dumps(r) + "\n" for r in rows[i : i + per_request]).encode() for i in range(0, n, per_request)
        ]

        async def over_http() -> None:
            limit = asyncio.Semaphore(clients)
            async with httpx.AsyncClient(base_url=url, timeout=120) as client:

                async def one(body: bytes) -> int:
                    async with limit:
                        response = await client.post("/score", content=body)
                        response.raise_for_status()
                        return len(response.text.splitlines())

                done = await asyncio.gather(*(one(b) for b in bodies))
            assert sum(done) == n

        def http() -> None:
            asyncio.run(over_http())

        def in_process() -> None:
            assert len(reward.score_batch(rows)) == n

        http(), in_process()
        t_http, t_local = [], []
        for _ in range(repeats):
            t_local.append(timed(in_process))
            t_http.append(timed(http))
    finally:
        server.terminate()
        server.wait(30)
    lo, ht = statistics.median(t_local), statistics.median(t_http)
    print(f"\n2. math reward, {n} rows, median of {repeats}")
    print(f"{'path':<44} {'seconds':>8} {'rows/s':>8}")
    print(f"{'in-process score_batch (anchor)':<44} {lo:>8.2f} {n / lo:>8.0f}")
    label = f"HTTP POST /score ({per_request} rows/req, {clients} in flight)"
    print(f"{label:<44} {ht:>8.2f} {n / ht:>8.0f}")
    print(f"server / in-process: {lo / ht:.2f}x the rows per second")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--programs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="sandboxes in all (default: the verifier's default)")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rows-per-request", type=int, default=16)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="rewardsmith code sandbox is running with reduced isolation")
    cores = cpu_count()
    workers = args.workers or default_workers()
    print(f"bench_scaleout: {cores} cores, Python {sys.version.split()[0]}, pid {os.getpid()}")
    bench_ray(args.programs, args.repeats, workers, cores)
    bench_server(args.rows, args.rows_per_request, args.clients, args.repeats)
    rs.shutdown()


if __name__ == "__main__":
    main()
