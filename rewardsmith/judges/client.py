"""The judge's transport: one chat request to an OpenAI-compatible endpoint, made robust.

`Endpoint` says where (base URL, model, key) and how (timeout, retries, requests in flight,
response format); `chat()` sends one request through the official `openai.AsyncOpenAI`
client with a per-request deadline, tenacity retries (see `retry`), the endpoint's in-flight
limiter and structured-output negotiation, and counts everything it does.

Endpoint resolution follows the openai client's conventions: `base_url=` or
`OPENAI_BASE_URL` (else OpenAI's own API), and the key from the variable named by
`api_key_env` (default `OPENAI_API_KEY`). A local server (vLLM, llama.cpp, Ollama, TGI)
needs no key; OpenAI's API does, and a missing one is an error when the judge is built.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

from rewardsmith.core.errors import ConfigError, RewardsmithError
from rewardsmith.judges import loops
from rewardsmith.judges.retry import Backoff, JudgeTimeout, RetryAfterTooLong, is_transient, retry_after_seconds
from rewardsmith.judges.stats import JudgeCounters

ResponseFormat = Literal["auto", "json_schema", "json_object", "text"]
RESPONSE_FORMATS: tuple[str, ...] = ("auto", "json_schema", "json_object", "text")
OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_CONCURRENCY = 16
# When the server says "too many requests, come back in N s", wait up to this long.
DEFAULT_MAX_RETRY_AFTER = 60.0
# A key for servers that want none: the openai client insists on a non-empty one.
NO_KEY = "EMPTY"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a judge sends its requests and how hard it tries (see `Endpoint.resolve`)."""

    model: str
    base_url: str = OPENAI_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 4
    max_concurrency: int | None = None  # None: the endpoint's shared bound (default 16) decides
    response_format: ResponseFormat = "auto"
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def resolve(
        cls,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        max_concurrency: int | None = None,
        response_format: str = "auto",
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
    ) -> Endpoint:
        """An Endpoint from options and the environment, or a ConfigError that says what to set."""
        model = model or os.environ.get("REWARDSMITH_JUDGE_MODEL")
        if not model:
            raise ConfigError(
                "judge: no model given: pass model=NAME (the model the endpoint serves, e.g. "
                "judge:rubric=robotic,model=gpt-4o-mini) or set REWARDSMITH_JUDGE_MODEL"
            )
        url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip("/")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(
                f"judge: base_url {url!r} is not an http(s) URL; give the server's OpenAI-compatible root, "
                "e.g. base_url=http://127.0.0.1:8000/v1 (or set OPENAI_BASE_URL)"
            )
        if api_key is None and not os.environ.get(api_key_env) and url == OPENAI_BASE_URL:
            raise ConfigError(
                f"judge: OpenAI's API needs a key and ${api_key_env} is not set: export it, name another "
                "variable with api_key_env=VAR, or point base_url= (or OPENAI_BASE_URL) at your own server"
            )
        if response_format not in RESPONSE_FORMATS:
            raise ConfigError(
                f"judge: response_format must be one of {', '.join(RESPONSE_FORMATS)}, got {response_format!r}"
            )
        checks = (
            ("timeout", timeout, timeout > 0, "a positive number of seconds"),
            ("max_retries", max_retries, isinstance(max_retries, int) and max_retries >= 0, "an integer ≥ 0"),
            ("max_concurrency", max_concurrency, max_concurrency is None or max_concurrency >= 1, "an integer ≥ 1"),
            ("max_retry_after", max_retry_after, max_retry_after >= 0, "a number of seconds ≥ 0"),
            ("backoff", backoff, backoff >= 0, "a number of seconds ≥ 0"),
            ("max_backoff", max_backoff, max_backoff >= backoff, "a number of seconds ≥ backoff"),
        )
        for name, value, ok, wanted in checks:
            if not ok:
                raise ConfigError(f"judge: {name} must be {wanted}, got {value!r}")
        return cls(
            model=model,
            base_url=url,
            api_key_env=api_key_env,
            api_key=api_key,
            timeout=float(timeout),
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            response_format=response_format,  # type: ignore[arg-type]
            max_retry_after=float(max_retry_after),
            backoff=Backoff(float(backoff), float(max_backoff)),
        )

    def key(self) -> str:
        return self.api_key or os.environ.get(self.api_key_env) or NO_KEY


@dataclass(slots=True)
class ChatResult:
    """The judge model's answer to one request."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    response_format: str = "text"


class JudgeRequestError(RewardsmithError):
    """A judge request failed for good: after its retries, or on a permanent error."""


class FormatRejected(RewardsmithError):
    """The server refused the requested response format (some say so with a 500)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(_describe(cause))
        self.cause = cause


def _mentions_format(exc: BaseException) -> bool:
    text = f"{exc} {getattr(exc, 'body', '')}".lower()
    return "response_format" in text or "json_schema" in text or "json_object" in text


# Which structured format each (server, model) accepted, learnt once per process in auto mode.
_format_lock = threading.Lock()
_learnt_format: dict[tuple[str, str], str] = {}
_FALLBACK = {"json_schema": "json_object", "json_object": "text"}


def response_format_param(kind: str, schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    if kind == "json_object":
        return {"type": "json_object"}
    return None


async def chat(
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    *,
    sampling: dict[str, Any],
    schema: dict[str, Any],
    schema_name: str,
    counters: JudgeCounters,
) -> ChatResult:
    """One judge answer, or JudgeRequestError once every retry is spent.

    In `auto` mode a request first asks for `json_schema`; a server that rejects the format
    (a 400/422, or any error that names the response format: llama.cpp's Python server
    answers 500) is asked again at once with `json_object`, then plain text, and the first
    that works is remembered for that server and model.
    """
    import openai

    server_model = (endpoint.base_url, endpoint.model)
    kind = endpoint.response_format
    if kind == "auto":
        with _format_lock:
            kind = _learnt_format.get(server_model, "json_schema")  # type: ignore[assignment]
    while True:
        try:
            result = await _send_with_retries(endpoint, messages, sampling, kind, schema, schema_name, counters)
        except (FormatRejected, openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            if endpoint.response_format != "auto" or kind not in _FALLBACK:
                counters.failures += 1
                raise JudgeRequestError(_describe(exc)) from exc
            kind = _FALLBACK[kind]  # type: ignore[assignment]
            continue
        except Exception as exc:
            counters.failures += 1
            raise JudgeRequestError(_describe(exc)) from exc
        if endpoint.response_format == "auto":
            with _format_lock:
                _learnt_format[server_model] = kind
        return result


async def _send_with_retries(
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    sampling: dict[str, Any],
    kind: str,
    schema: dict[str, Any],
    schema_name: str,
    counters: JudgeCounters,
) -> ChatResult:
    import openai
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

    client = await loops.get_or_create(
        lambda r: r.clients, (endpoint.base_url, endpoint.key()), lambda: _new_client(endpoint)
    )
    limiter: loops.Limiter = await loops.get_or_create(
        lambda r: r.limiters, endpoint.base_url, lambda: loops.Limiter(endpoint.base_url, DEFAULT_MAX_CONCURRENCY)
    )
    request: dict[str, Any] = {"model": endpoint.model, "messages": messages, **sampling}
    fmt = response_format_param(kind, schema, schema_name)
    if fmt is not None:
        request["response_format"] = fmt

    def count_retry(_: Any) -> None:
        counters.retries += 1

    retrying = AsyncRetrying(
        stop=stop_after_attempt(endpoint.max_retries + 1),
        wait=endpoint.backoff,
        retry=retry_if_exception(is_transient),
        before_sleep=count_retry,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            counters.requests += 1
            async with limiter:
                try:
                    response = await asyncio.wait_for(
                        client.chat.completions.create(**request, timeout=endpoint.timeout + 5.0),
                        endpoint.timeout,
                    )
                except asyncio.TimeoutError:
                    raise JudgeTimeout(f"no answer within the {endpoint.timeout:g} s request timeout") from None
                except openai.APIStatusError as exc:
                    if fmt is not None and _mentions_format(exc):
                        raise FormatRejected(exc) from exc
                    wait = retry_after_seconds(exc)
                    if wait is not None and wait > endpoint.max_retry_after:
                        raise RetryAfterTooLong(
                            f"{_describe(exc)}; the server asked to retry after {wait:g} s, more than "
                            f"max_retry_after={endpoint.max_retry_after:g}"
                        ) from exc
                    raise
    choice = response.choices[0] if response.choices else None
    usage = getattr(response, "usage", None)
    counters.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
    counters.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
    return ChatResult(
        text=(choice.message.content or "") if choice is not None and choice.message is not None else "",
        finish_reason=getattr(choice, "finish_reason", None),
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        response_format=kind,
    )


def _new_client(endpoint: Endpoint) -> Any:
    import openai

    # max_retries=0: retries are ours (counted, Retry-After aware); see rewardsmith.judges.retry
    return openai.AsyncOpenAI(
        base_url=endpoint.base_url, api_key=endpoint.key(), max_retries=0, timeout=endpoint.timeout + 5.0
    )


def _describe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    text = str(exc) or type(exc).__name__
    if len(text) > 300:
        text = text[:300] + "…"
    return f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"


def forget_learnt_formats() -> None:
    """Forget which response format each server accepted (tests, or after a server upgrade)."""
    with _format_lock:
        _learnt_format.clear()
