"""LLM-judge throughput: rewardsmith's judge against sequential `openai` calls, and its cache.

The server is our fault-injecting OpenAI-compatible test server (tests/judges/fake_server.py)
in its own process on 127.0.0.1, answering every request after an injected latency (200 ms by
default), so the figures measure request handling, not a model. The anchor, measured in the
same run, is the plain way: one `openai.OpenAI().chat.completions.create` after another, with
the very messages the judge sends. rewardsmith scores the same rows with the built-in
`robotic` rubric judge at several bounds on requests in flight (target: ≥ 10x the anchor at
16), then scores them again from its disk cache.

    .venv/bin/python benchmarks/bench_judges.py [--requests 256] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

from rewardsmith.core.engine import cpu_count
from rewardsmith.judges import rubric_judge

REPO = Path(__file__).resolve().parent.parent
MODEL = "fake-judge"


def start_server(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    sys.path.insert(0, str(REPO / "tests" / "judges"))
    from fake_server import free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests" / "judges" / "fake_server.py"),
            "--port",
            str(port),
            "--latency",
            str(latency),
        ]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/v1/models", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fake judge server did not start") from None
            time.sleep(0.1)


def server_stats(url: str) -> dict:
    return json.loads(urllib.request.urlopen(f"{url}/_control/stats").read())


def reset_server(url: str, latency: float) -> None:
    body = json.dumps({"latency": latency}).encode()
    request = urllib.request.Request(f"{url}/_control/script", body, {"content-type": "application/json"})
    urllib.request.urlopen(request).read()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=256)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds the server takes per answer")
    ap.add_argument("--bounds", default="8,16,32", help="requests in flight to try")
    args = ap.parse_args()
    bounds = [int(b) for b in args.bounds.split(",")]
    warnings.simplefilter("ignore", RuntimeWarning)
    rows = [f"Email {i}: Dear valued customer, your request #{i} has been processed." for i in range(args.requests)]
    proc, root = start_server(args.latency)
    base_url = f"{root}/v1"
    print(
        f"judge benchmark — {cpu_count()} cores, {args.requests} requests, {args.latency * 1000:.0f} ms latency "
        f"per answer (fake OpenAI-compatible server on 127.0.0.1)"
    )
    results: list[tuple[str, float, str]] = []
    try:
        import openai

        probe = rubric_judge("robotic", model=MODEL, base_url=base_url, cache=False)
        messages = [probe.prompts(r)[0].messages for r in rows]  # exactly what the judge sends

        client = openai.OpenAI(base_url=base_url, api_key="EMPTY")
        started = time.perf_counter()
        for m in messages:
            client.chat.completions.create(
                model=MODEL, messages=m, temperature=0.0, max_tokens=512, response_format={"type": "json_object"}
            )
        anchor = time.perf_counter() - started
        client.close()
        results.append(("sequential openai calls (anchor)", anchor, "1 in flight"))

        for bound in bounds:
            reset_server(root, args.latency)
            judge = rubric_judge(
                "robotic",
                model=MODEL,
                base_url=base_url,
                cache=False,
                max_concurrency=bound,
                response_format="json_object",
            ).named(f"robotic_{bound}")
            started = time.perf_counter()
            scores = judge.score_batch(rows)
            elapsed = time.perf_counter() - started
            assert all(s.value == -3.0 for s in scores), [s.reason for s in scores if s.value != -3.0][:3]
            peak = server_stats(root)["peak_in_flight"]
            results.append((f"rewardsmith, max_concurrency={bound}", elapsed, f"{peak} in flight at peak"))

        with tempfile.TemporaryDirectory() as cache_dir:
            judge = rubric_judge(
                "robotic",
                model=MODEL,
                base_url=base_url,
                cache=cache_dir,
                max_concurrency=16,
                response_format="json_object",
            ).named("robotic_cached")
            started = time.perf_counter()
            judge.score_batch(rows)
            first = time.perf_counter() - started
            reset_server(root, args.latency)
            started = time.perf_counter()
            again = judge.score_batch(rows)
            rerun = time.perf_counter() - started
            hits = sum(s.details["judge"]["cache_hits"] for s in again)
            sent = server_stats(root)["requests"]
            results.append(("rewardsmith, 16 in flight, filling the cache", first, "cache writes"))
            results.append(("rewardsmith re-run from the cache", rerun, f"{hits} hits, {sent} requests"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    width = max(len(name) for name, _, _ in results)
    print(f"\n{'run':<{width}}  {'seconds':>8}  {'req/s':>8}  {'speed-up':>9}  notes")
    for name, seconds, note in results:
        print(f"{name:<{width}}  {seconds:8.2f}  {args.requests / seconds:8.1f}  {anchor / seconds:8.1f}x  {note}")
    at16 = next((s for n, s, _ in results if n.endswith("max_concurrency=16")), None)
    if at16 is not None:
        print(f"\nspeed-up at 16 in flight: {anchor / at16:.1f}x the sequential anchor (target ≥ 10x)")
    print(f"cache re-run: {first / rerun:.0f}x faster than the run that filled it ({rerun * 1000:.0f} ms, 0 requests)")


if __name__ == "__main__":
    main()
