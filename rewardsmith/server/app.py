"""The reward server's HTTP face (FastAPI, imported only when a server is built): one Reward, three endpoints.

- `POST /get_reward`: OpenRLHF's batch schema, `{"query": [...], "prompts": [...], "labels": [...]}`
  in, `{"rewards": [...], "scores": [...], "extra_logs": {...}}` out (see `trainer_adapter.openrlhf`);
- `POST /score`: JSON Lines rows in, scored rows out, exactly as `rewardsmith score` reads and writes
  them (`?on_bad_row=skip` skips malformed rows instead of refusing the request);
- `GET /health`: the reward, the load, and the running statistics of everything scored.

Bad bodies get a 4xx whose `detail` names the problem (400 not JSON, 413 too large, 422 a missing
or mistyped field, 503 too many requests waiting, with `Retry-After`), and the server keeps serving.
Concurrent requests are merged into engine batches (`server.batcher`).
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rewardsmith.core.errors import InputError, UsageError
from rewardsmith.core.report import Report
from rewardsmith.core.rows import iter_rows, output_line
from rewardsmith.core.sample import Sample
from rewardsmith.server.batcher import Batcher, Busy
from rewardsmith.trainer_adapter.openrlhf import OpenRLHFScorer, openrlhf_samples

if TYPE_CHECKING:
    from rewardsmith.core.backends import Backend
    from rewardsmith.core.reward import Reward

log = logging.getLogger("rewardsmith.server")

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


class BadBody(Exception):
    """A request body the server refuses: its HTTP status and a message that says what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RewardService:
    """What the endpoints share: the reward, the batcher, the limits and the running report."""

    def __init__(
        self,
        reward: Reward,
        *,
        backend: Backend | None = None,
        options: dict[str, Any] | None = None,
        name: str | None = None,
        unscored_value: float = 0.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_batch: int = 512,
        max_batches: int = 2,
        max_pending: int = 1024,
    ) -> None:
        self.reward = reward
        self.backend = backend
        self.openrlhf = OpenRLHFScorer(reward, name=name, unscored_value=unscored_value)
        self.batcher = Batcher(
            reward,
            backend=backend,
            options=options,
            max_batch=max_batch,
            max_batches=max_batches,
            max_pending=max_pending,
        )
        self.max_body_bytes = max_body_bytes
        self.report = Report()
        self.started = time.time()

    async def body(self, request: Request) -> bytes:
        """The request body, refused with 413 as soon as it passes the limit (declared or streamed)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise BadBody(413, self._too_large(int(declared)))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BadBody(413, self._too_large(size))
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, size: int) -> str:
        return (
            f"request body of {size} bytes is over this server's limit of {self.max_body_bytes} bytes: "
            "send fewer samples per request (or start the server with a larger --max-body-mb)"
        )

    async def get_reward(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadBody(
                400, f"body is not valid JSON ({exc}); send {{'query': [...], 'prompts': [...], 'labels': [...]}}"
            ) from None
        if not isinstance(data, dict):
            raise BadBody(
                422, f"body must be a JSON object with 'query', 'prompts', 'labels', got {type(data).__name__}"
            )
        if "query" not in data:
            raise BadBody(422, f"missing required field 'query' (found: {', '.join(sorted(data)) or 'none'})")
        try:
            samples = openrlhf_samples(data["query"], data.get("prompts"), data.get("labels"))
        except InputError as exc:
            raise BadBody(422, str(exc)) from None
        scores = await self._score(samples)
        return self.openrlhf.result(samples, scores)

    async def score_rows(self, body: bytes, on_bad_row: str) -> str:
        import io

        if on_bad_row not in ("fail", "skip"):
            raise BadBody(422, f"on_bad_row must be 'fail' or 'skip', got {on_bad_row!r}")
        rows, samples = [], []
        try:
            for lineno, row in iter_rows(io.BytesIO(body), on_bad_row=on_bad_row):  # type: ignore[arg-type]
                try:
                    samples.append(Sample.from_row(row, where=f"<body>:{lineno}"))
                    rows.append(row)
                except InputError:
                    if on_bad_row == "fail":
                        raise
        except InputError as exc:
            raise BadBody(422, str(exc).replace(" (use --on-bad-row skip", " (use ?on_bad_row=skip")) from None
        scores = await self._score(samples)
        return "".join(output_line(row, s.to_dict()) for row, s in zip(rows, scores, strict=True))

    async def _score(self, samples: list[Sample]) -> list[Any]:
        try:
            scores = await self.batcher.score(samples)
        except Busy as exc:
            raise BadBody(503, f"server busy: {exc}; retry shortly") from None
        except UsageError as exc:
            index = getattr(exc, "sample_index", None)
            where = f"sample {index}: " if index is not None else ""
            raise BadBody(422, f"{where}{exc}") from None
        self.report.extend(scores)
        return scores

    def health(self) -> dict[str, Any]:
        total = self.report.total
        return {
            "status": "ok",
            "reward": self.reward.name,
            "spec": getattr(self.reward, "spec", None),
            "backend": getattr(self.backend, "name", "local"),
            "pending": self.batcher.pending,
            "max_pending": self.batcher.max_pending,
            "batches": self.batcher.batches,
            "scored": total.count,
            "mean": total.mean,
            "statuses": dict(total.statuses),
            "failure_share": self.report.failure_share,
            "uptime_s": round(time.time() - self.started, 3),
        }


def create_app(service: RewardService) -> FastAPI:
    """The FastAPI app of a RewardService; the batcher starts and the backend closes with the app."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, Response

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        service.batcher.start()
        log.info("rewardsmith serve: reward %r ready", service.reward.name)
        try:
            yield
        finally:
            await service.batcher.stop()
            if service.backend is not None:
                service.backend.close()
            for line in service.report.summary_lines():
                log.info("rewardsmith serve: %s", line)

    app = FastAPI(title="rewardsmith", summary=f"reward {service.reward.name!r}", lifespan=lifespan)
    app.state.service = service

    @app.exception_handler(BadBody)
    async def bad_body(request: Request, exc: BadBody) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return service.health()

    @app.post("/get_reward")
    async def get_reward(request: Request) -> dict[str, Any]:
        return await service.get_reward(await service.body(request))

    @app.post("/score")
    async def score(request: Request, on_bad_row: str = "fail") -> Response:
        text = await service.score_rows(await service.body(request), on_bad_row)
        return Response(text, media_type="application/x-ndjson")

    return app
