"""A fault-injecting OpenAI-compatible chat server (FastAPI + uvicorn) for judge tests.

It answers `POST /v1/chat/completions` like a judge model would, and misbehaves on purpose
where a test asks it to: 429 with `Retry-After`, 500s, answers slower than the client's
timeout, 200s with a truncated or garbled body, malformed verdict JSON, refused response
formats. It counts what it sees (requests, statuses, the peak number in flight, response
formats asked for), so tests can assert retries, bounds and cache hits from the server side.

Behaviour is a `Script` (plain data, so a subprocess can take it as JSON):

- `rules`: the first rule whose `match` occurs in the request's user message applies. Its
  `faults` are served to the successive attempts of one prompt (`["429", "500"]`: the first
  try gets a 429, the second a 500, the third the answer); `repeat: true` serves the last
  fault forever. A rule's `reply` replaces the answer's content verbatim; `replies` are
  served in turn, one per request (several samples of one verdict get different answers).
- otherwise the answer is a verdict built from the request (`policy`): `met` is true when
  the completion contains one of `robotic_markers`, `score` is `score`, `correct` is true
  when the completion contains the reference, `winner` prefers the response that contains
  `better_marker` (or always 1 when `winner` is "first": a position-biased judge).
- `latency`: seconds every answer takes; `formats`: the response-format types accepted
  (others get `format_status` with an error naming `response_format`, as servers do).

Run it alone (the benchmark does): `python tests/judges/fake_server.py --port 8123 --latency 0.2`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class Rule:
    match: str
    faults: list[str] = field(default_factory=list)
    repeat: bool = False
    reply: str | None = None
    replies: list[str] = field(default_factory=list)  # served in turn, one per request
    retry_after: str = "1"
    slow_s: float = 5.0
    finish_reason: str = "stop"  # "length": the answer was cut at max_tokens


@dataclass
class Script:
    rules: list[Rule] = field(default_factory=list)
    latency: float = 0.0
    formats: list[str] = field(default_factory=lambda: ["json_schema", "json_object", "text"])
    format_status: int = 400
    robotic_markers: list[str] = field(default_factory=lambda: ["valued customer", "As an AI", "processed"])
    score: int = 7
    better_marker: str = "BETTER"
    winner: str = "content"  # or "first"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Script:
        data = dict(data)
        data["rules"] = [Rule(**r) for r in data.get("rules", [])]
        return cls(**data)


class State:
    """What the server does (`script`) and what it saw (counters), shared with the tests."""

    def __init__(self) -> None:
        self.script = Script()
        self.reset()

    def reset(self, script: Script | None = None) -> None:
        if script is not None:
            self.script = script
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.statuses: Counter[int] = Counter()
        self.formats_seen: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "peak_in_flight": self.peak_in_flight,
            "statuses": dict(self.statuses),
            "formats_seen": dict(self.formats_seen),
        }


def _user_text(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1].get("content", "") if users else ""
    return content if isinstance(content, str) else json.dumps(content)


def _block(text: str, tag: str) -> str:
    m = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", text, re.DOTALL)
    return m.group(1) if m else ""


def _asked_field(body: dict[str, Any], text: str) -> str:
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    for name in ("met", "correct", "score", "winner"):
        if name in (schema.get("properties") or {}) or f'"{name}"' in text:
            return name
    return "score"


def verdict_for(body: dict[str, Any], script: Script) -> str:
    """The content a well-behaved judge would answer with, following `script`'s policy."""
    text = _user_text(body)
    name = _asked_field(body, text)
    completion = _block(text, "completion")
    if name == "met":
        value: Any = any(m.lower() in completion.lower() for m in script.robotic_markers)
    elif name == "correct":
        reference = _block(text, "reference").strip()
        value = bool(reference) and reference.lower() in completion.lower()
    elif name == "winner":
        first, second = _block(text, "response_1"), _block(text, "response_2")
        if script.winner == "first":
            value = 1
        else:
            value = 1 if script.better_marker in first else 2 if script.better_marker in second else 0
    else:
        value = script.score
    return json.dumps({"reasoning": f"fake judge on {len(completion)} characters", name: value})


def completion_response(body: dict[str, Any], content: str, finish_reason: str = "stop") -> dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(content.split()),
            "total_tokens": prompt_tokens + len(content.split()),
        },
    }


def build_app(state: State) -> FastAPI:
    app = FastAPI()

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
        payload = {"error": {"message": message, "type": "fake_error", "code": status}}
        return JSONResponse(payload, status_code=status, headers=headers)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        script = state.script
        state.requests += 1
        state.in_flight += 1
        state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        state.bodies.append(body)
        try:
            fmt = (body.get("response_format") or {}).get("type", "text")
            state.formats_seen[fmt] += 1
            if script.latency:
                await asyncio.sleep(script.latency)
            text = _user_text(body)
            rule = next((r for r in script.rules if r.match in text), None)
            fault = None
            if rule is not None and rule.faults:
                key = hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()
                attempt = state.attempts[key]
                state.attempts[key] += 1
                if attempt < len(rule.faults):
                    fault = rule.faults[attempt]
                elif rule.repeat:
                    fault = rule.faults[-1]
            if fmt not in script.formats:
                state.statuses[script.format_status] += 1
                return error(script.format_status, f"response_format type {fmt!r} is not supported")
            if fault in ("429", "500", "503", "400", "401"):
                state.statuses[int(fault)] += 1
                headers = {"Retry-After": rule.retry_after} if fault == "429" and rule else None
                return error(int(fault), f"injected {fault}", headers)
            if fault == "slow":
                await asyncio.sleep(rule.slow_s if rule else 5.0)
            if rule is not None and rule.replies:
                turn = state.attempts[f"replies:{rule.match}"]
                state.attempts[f"replies:{rule.match}"] += 1
                content = rule.replies[turn % len(rule.replies)]
            elif rule is not None and rule.reply is not None:
                content = rule.reply
            else:
                content = verdict_for(body, script)
            finish = rule.finish_reason if rule is not None else "stop"
            payload = json.dumps(completion_response(body, content, finish))
            state.statuses[200] += 1
            if fault == "truncated_body":
                return Response(payload[: len(payload) // 2], media_type="application/json")
            if fault == "garbage_body":
                return Response("<html>upstream hiccup</html>", media_type="application/json")
            return Response(payload, media_type="application/json")
        finally:
            state.in_flight -= 1

    @app.get("/v1/models")
    async def models() -> Any:
        return {"object": "list", "data": [{"id": "fake-judge", "object": "model", "owned_by": "tests"}]}

    @app.post("/_control/script")
    async def set_script(request: Request) -> Any:
        state.reset(Script.from_dict(await request.json()))
        return {"ok": True}

    @app.get("/_control/stats")
    async def get_stats() -> Any:
        return state.stats()

    return app


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeServer:
    """The server on 127.0.0.1 in a background thread: `with FakeServer() as srv: srv.url`."""

    def __init__(self) -> None:
        self.state = State()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def configure(self, **script: Any) -> FakeServer:
        """Replace the script (fields of `Script`; `rules` as dicts) and zero the counters."""
        self.state.reset(Script.from_dict(script))
        return self

    def start(self) -> FakeServer:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(build_app(self.state), log_level="warning", lifespan="off", timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake judge server did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    import uvicorn

    state = State()
    state.reset(Script(latency=args.latency))
    uvicorn.run(build_app(state), host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
