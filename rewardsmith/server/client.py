"""`RemoteReward`: a reward that a `rewardsmith serve` process computes, so that TRL, verl and
OpenRLHF runs can share one scoring fleet.

It is an ordinary async Reward (kind "io"): `score_batch`, `to_trl`, composition and the verl adapter
take it as they take any other. Each sample is one `POST /score` row; the server merges concurrent
requests into engine batches, and `max_concurrency` bounds how many this client has in flight.

A server that cannot be reached, answers 5xx, stays busy (503) after the retries, or runs past the
time limit leaves the sample *unscored* (value None, status `unscored`, the cause in `details`), never
a fake 0. A 4xx answer means the request itself is wrong (the server names what), and is raised.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.errors import UsageError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

DEFAULT_TIMEOUT_S = 120.0


class RemoteReward(Reward):
    """Score with the reward a `rewardsmith serve` process runs at `url` (`http://HOST:PORT`).

    `max_concurrency`: requests in flight from this client (default 32). `timeout`: seconds one
    request may take (connect, queue at the server and scoring included). `retries`: further tries
    after a connection failure, a 5xx or a 503 (with a short backoff). `name`: what logs call it
    (default: the server's reward name, read from `/health` on first use, else "remote").
    """

    kind = "io"
    timeout_value = None  # a slow or absent server is the infrastructure's fault: unscored

    def __init__(
        self,
        url: str,
        *,
        max_concurrency: int = 32,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = 2,
        name: str | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UsageError(f"RemoteReward(url=...) must be an http(s) URL such as http://127.0.0.1:8000, got {url!r}")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise UsageError(f"RemoteReward(max_concurrency=...) must be a positive integer, got {max_concurrency!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise UsageError(f"RemoteReward(timeout=...) must be a positive number of seconds, got {timeout!r}")
        self.url = url.rstrip("/")
        for suffix in ("/score", "/get_reward", "/health"):
            if self.url.endswith(suffix):
                self.url = self.url[: -len(suffix)]
        self.max_concurrency = max_concurrency
        self.request_timeout = float(timeout)
        self.retries = max(0, int(retries))
        # the engine's deadline per item covers every try and the waits between them
        self.timeout = self.request_timeout * (self.retries + 1) + 2.0 * self.retries + 1.0
        self.name = name or "remote"

    async def _client(self) -> Any:
        from rewardsmith.judges.loops import get_or_create

        return await get_or_create(lambda r: r.clients, ("rewardsmith.remote", self.url), self._new_client)

    def _new_client(self) -> _Client:
        import httpx

        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
        return _Client(httpx.AsyncClient(base_url=self.url, timeout=self.request_timeout, limits=limits))

    async def _ascore(self, sample: Sample) -> Score:
        import httpx

        body = json.dumps(sample_row(sample), ensure_ascii=False, default=_jsonable).encode()
        client = (await self._client()).http
        cause = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(min(2.0, 0.25 * 2**attempt))
            try:
                response = await client.post("/score", content=body, headers={"content-type": "application/x-ndjson"})
            except httpx.TransportError as exc:
                cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if response.status_code == 503 or response.status_code >= 500:
                cause = f"HTTP {response.status_code}: {_detail(response)}"
                continue
            if response.status_code >= 400:
                raise UsageError(
                    f"reward server {self.url} refused the sample: HTTP {response.status_code}: {_detail(response)}"
                )
            return _score_of(response.text, self.url)
        return Score(
            None,
            f"{self.name}: reward server {self.url} failed after {self.retries + 1} tries ({cause}); unscored",
            S.UNSCORED,
            {"cause": "server", "url": self.url, "error": cause},
        )

    def __reduce__(self) -> Any:
        options = {
            "max_concurrency": self.max_concurrency,
            "timeout": self.request_timeout,
            "retries": self.retries,
            "name": self.name,
        }
        return (_rebuild, (self.url, options))

    def __repr__(self) -> str:
        return f"<RemoteReward {self.url}>"


def _rebuild(url: str, options: dict[str, Any]) -> RemoteReward:
    return RemoteReward(url, **options)


class _Client:
    """An httpx client with the `close()` the per-loop resource table calls at loop shutdown."""

    def __init__(self, http: Any) -> None:
        self.http = http

    async def close(self) -> None:
        await self.http.aclose()


def sample_row(sample: Sample) -> dict[str, Any]:
    """The input row of a Sample, as `rewardsmith score` reads it."""
    row: dict[str, Any] = dict(sample.metadata)
    row["completion"] = sample.completion
    for key in ("prompt", "answer", "tests"):
        value = getattr(sample, key)
        if value is not None:
            row[key] = value
    return row


def _jsonable(value: Any) -> Any:
    """numpy values and other array-likes as lists or numbers; anything else by its str."""
    for method in ("tolist", "item"):
        convert = getattr(value, method, None)
        if callable(convert):
            return convert()
    return str(value)


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail", response.text))[:500]
    except Exception:
        return response.text[:500]


def _score_of(text: str, url: str) -> Score:
    try:
        row = json.loads(text.splitlines()[0])
        return Score(row["score"], row.get("reason", ""), row.get("status") or S.OK, row.get("details") or {})
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        return Score(
            None, f"reward server {url} sent an unreadable answer ({exc}); unscored", S.UNSCORED, {"cause": "server"}
        )
