"""`rewardsmith serve` (rewardsmith/server/) over real HTTP on 127.0.0.1: OpenRLHF's request shape,
rows like the CLI, bad bodies answered with a 4xx that says why while the server keeps serving, the
bound on waiting requests, graceful shutdown, and the same server behind a Ray backend."""

from __future__ import annotations

import asyncio
import json
import signal
import threading

import httpx
import pytest

pytestmark = pytest.mark.integration

SLOW = "tests/scaleout/scaleout_helpers.py:slow"
# uvicorn re-raises the signal once its graceful shutdown is done, so the exit status reports it
STOPPED = (0, -signal.SIGTERM)


def openrlhf_post(url: str, queries, prompts, labels) -> dict:
    """The request OpenRLHF's SingleTurnAgentExecor sends to --reward.remote_url."""
    payload = {"query": queries, "prompts": prompts, "labels": labels}
    response = httpx.post(url, json=payload, timeout=60)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def math_server():
    from scaleout_servers import Server

    server = Server("--reward", "math", "--max-body-mb", "0.05")
    yield server
    assert server.stop() in STOPPED


def healthy(server) -> dict:
    response = httpx.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 200
    return response.json()


def test_openrlhf_batch_schema(math_server):
    prompt = "<|im_start|>user\nHalf of one?<|im_end|>\n<|im_start|>assistant\n"
    out = openrlhf_post(
        f"{math_server.url}/get_reward",
        [prompt + "It is \\boxed{\\frac{1}{2}}<|im_end|>", prompt + "It is 2<|im_end|>"],
        [prompt, prompt],
        ["0.5", "0.5"],
    )
    assert out["rewards"] == [1.0, 0.0] and out["scores"] == [1.0, 0.0]
    assert out["extra_logs"]["rewards/math/status/ok"] == 0.5
    assert all(isinstance(v, float) for v in out["extra_logs"].values())


def test_score_rows_exactly_like_the_cli(math_server, run_cli, tmp_path):
    rows = [
        {"id": 1, "completion": "\\boxed{2}", "answer": "2", "extra": [1, 2]},
        {"id": 2, "completion": "three", "answer": "3"},
        {"completion": [{"role": "assistant", "content": "\\boxed{4}"}], "answer": "4"},
    ]
    body = "".join(json.dumps(r) + "\n" for r in rows)
    response = httpx.post(f"{math_server.url}/score", content=body, timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    (tmp_path / "in.jsonl").write_text(body)
    cli = run_cli("score", "--reward", "math", "--input", str(tmp_path / "in.jsonl"))
    assert cli.returncode == 0, cli.stderr
    assert response.text == cli.stdout


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/get_reward", b'{"query": ["a"', 400, "not valid JSON"),
        ("/get_reward", b'{"prompts": ["a"], "labels": ["b"]}', 422, "missing required field 'query'"),
        ("/get_reward", b'{"query": "just a string"}', 422, "'query' must be a list"),
        ("/get_reward", b'{"query": ["a", "b"], "labels": ["x"]}', 422, "'labels' has 1 items but 'query' has 2"),
        ("/get_reward", b"[1, 2]", 422, "must be a JSON object"),
        ("/score", b'{"answer": "1"}\n', 422, "<body>:1: missing required field 'completion'"),
        ("/score", b"not json\n", 422, "<body>:1: not valid JSON"),
        ("/score", b'[{"completion": "x"}]', 422, "expected a JSON object, got an array"),
        ("/score", b'{"completion": 5}\n', 422, "field 'completion' must be a string"),
        ("/get_reward", json.dumps({"query": ["x" * 60_000]}).encode(), 413, "over this server's limit"),
    ],
    ids=[
        "malformed",
        "missing-field",
        "wrong-type",
        "lengths",
        "not-object",
        "row-field",
        "row-json",
        "array",
        "row-type",
        "oversized",
    ],
)
def test_bad_bodies_get_a_4xx_that_says_why_and_the_server_keeps_serving(math_server, path, body, status, message):
    response = httpx.post(f"{math_server.url}{path}", content=body, timeout=30)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert healthy(math_server)["status"] == "ok"
    again = openrlhf_post(f"{math_server.url}/get_reward", ["\\boxed{1}"], [""], ["1"])
    assert again["rewards"] == [1.0]


def test_oversized_streamed_body_is_refused_without_reading_it_all(math_server):
    def chunks():
        for _ in range(100):
            yield b"x" * 10_000

    response = httpx.post(f"{math_server.url}/score", content=chunks(), timeout=30)
    assert response.status_code == 413


def test_bad_rows_can_be_skipped(math_server):
    body = b'{"answer": "1"}\n{"completion": "\\\\boxed{1}", "answer": "1"}\n'
    response = httpx.post(f"{math_server.url}/score?on_bad_row=skip", content=body, timeout=30)
    assert response.status_code == 200
    assert [json.loads(line)["score"] for line in response.text.splitlines()] == [1.0]


def test_concurrent_requests_share_engine_batches(math_server):
    before = healthy(math_server)

    async def many():
        async with httpx.AsyncClient(base_url=math_server.url, timeout=60) as client:
            payloads = [{"query": [f"\\boxed{{{i}}}"], "prompts": [""], "labels": ["7"]} for i in range(64)]
            return await asyncio.gather(*(client.post("/get_reward", json=p) for p in payloads))

    responses = asyncio.run(many())
    assert [r.json()["rewards"] for r in responses] == [[1.0 if i == 7 else 0.0] for i in range(64)]
    after = healthy(math_server)
    assert after["scored"] - before["scored"] == 64
    assert after["batches"] - before["batches"] < 64  # waiting requests were merged


def slow_request_in_flight(server, value: str, delay: float) -> tuple[threading.Thread, dict]:
    """Send one slow /score request from a thread; return once the server has admitted it."""
    results: dict = {}
    body = json.dumps({"completion": value, "delay": delay}).encode() + b"\n"

    def send():
        results["slow"] = httpx.post(f"{server.url}/score", content=body, timeout=30)

    thread = threading.Thread(target=send)
    thread.start()
    for _ in range(200):
        if healthy(server)["pending"] == 1:
            break
        threading.Event().wait(0.02)
    return thread, results


def test_requests_past_the_bound_get_503_with_retry_after(serve):
    server = serve("--reward", SLOW, "--max-pending", "1", "--max-batches", "1")
    thread, results = slow_request_in_flight(server, "1", 1.5)
    busy = httpx.post(f"{server.url}/score", content=b'{"completion": "2"}\n', timeout=30)
    thread.join()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert "server busy" in busy.json()["detail"]
    assert results["slow"].status_code == 200


def test_sigterm_lets_the_requests_in_flight_finish(serve):
    server = serve("--reward", SLOW)
    thread, results = slow_request_in_flight(server, "5", 1.0)
    assert server.stop(signal.SIGTERM) in STOPPED
    thread.join()
    assert results["slow"].status_code == 200 and json.loads(results["slow"].text)["score"] == 5.0


def test_serve_needs_a_spec(run_cli, monkeypatch):
    monkeypatch.delenv("REWARDSMITH_REWARD", raising=False)
    out = run_cli("serve", "--port", "1")
    assert out.returncode == 2 and "REWARDSMITH_REWARD" in out.stderr


def test_serve_reads_the_spec_from_the_environment(serve):
    server = serve(env={"REWARDSMITH_REWARD": "exact"})
    assert healthy(server)["reward"] == "exact"
    assert openrlhf_post(f"{server.url}/get_reward", ["Q: Paris"], ["Q: "], ["paris"])["rewards"] == [1.0]


def test_serve_with_the_ray_backend(serve, ray_cluster):
    address = ray_cluster.get_runtime_context().gcs_address
    server = serve("--reward", "math", "--backend", "ray", "--ray-address", address)
    assert healthy(server)["backend"] == "ray"
    out = openrlhf_post(f"{server.url}/get_reward", ["\\boxed{3}", "4"], ["", ""], ["3", "3"])
    assert out["rewards"] == [1.0, 0.0]
