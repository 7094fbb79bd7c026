"""`LLMJudge`: what every judge shares: settings, asking (cache, samples), reading, counting.

A judge is an async Reward (`kind = "io"`): the batch engine runs many items concurrently on
asyncio, and the endpoint's limiter bounds the requests in flight. One verdict is asked
`samples` times (separate requests, each cached under its own index) and the readable
answers are combined by `reducer`; answers that cannot be read are counted and left out. An
item with no readable answer at all is unscored (value None, the raw answers in `details`),
never a silent 0, and so is an item whose requests failed for good.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError, UsageError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.judges.cache import JudgeCache, cache_key, open_cache
from rewardsmith.judges.client import DEFAULT_MAX_CONCURRENCY, Endpoint, JudgeRequestError, chat
from rewardsmith.judges.loops import state_bound
from rewardsmith.judges.prompts import NO_PROMPT, SYSTEM_PROMPT, Template, sample_fields
from rewardsmith.judges.stats import JudgeCounters, first_time, judge_stats, record_item
from rewardsmith.judges.verdict import REDUCERS, VerdictSpec, parse_verdict, reduce_values

log = logging.getLogger("rewardsmith.judges")
RAW_LIMIT = 2000  # characters of each raw judge answer kept in details

# The options every judge takes, with their defaults (the factories document them).
ENDPOINT_OPTIONS = (
    "model",
    "base_url",
    "api_key_env",
    "api_key",
    "timeout",
    "max_retries",
    "max_concurrency",
    "response_format",
    "max_retry_after",
    "backoff",
    "max_backoff",
)


@dataclass(frozen=True)
class JudgeSettings:
    """How a judge asks: the endpoint, sampling, samples per verdict, cache, system prompt."""

    endpoint: Endpoint
    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = None
    samples: int = 1
    reducer: str = "mean"
    cache: bool = True
    cache_dir: str | None = None
    offline: bool = False
    system_prompt: str = SYSTEM_PROMPT
    read_prose: bool = False  # also read answers that are not the JSON object (steerable: docs/judges.md)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, who: str) -> JudgeSettings:
        """Settings from keyword options; an unknown or bad option is a ConfigError naming it."""
        _require_extra(who)
        names = {f.name for f in dataclasses.fields(cls)} - {"endpoint", "cache_dir"}  # cache=DIR sets cache_dir
        unknown = sorted(set(options) - names - set(ENDPOINT_OPTIONS))
        if unknown:
            raise ConfigError(
                f"{who}: unknown option {', '.join(map(repr, unknown))}; options: "
                f"{', '.join(sorted(names | set(ENDPOINT_OPTIONS)))}"
            )
        endpoint = Endpoint.resolve(**{k: v for k, v in options.items() if k in ENDPOINT_OPTIONS})
        rest = {k: v for k, v in options.items() if k in names}
        cache = rest.get("cache", True)
        if isinstance(cache, str):  # cache=/some/dir (a path) from a SPEC or from Python
            rest["cache"], rest["cache_dir"] = True, cache
        settings = cls(endpoint=endpoint, **rest)
        settings.check(who)
        return settings

    def check(self, who: str) -> None:
        if not isinstance(self.samples, int) or self.samples < 1:
            raise ConfigError(f"{who}: samples must be a positive integer, got {self.samples!r}")
        if self.reducer not in REDUCERS:
            raise ConfigError(f"{who}: reducer must be one of {', '.join(REDUCERS)}, got {self.reducer!r}")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ConfigError(f"{who}: max_tokens must be a positive integer, got {self.max_tokens!r}")
        if not 0 <= self.temperature <= 2:
            raise ConfigError(f"{who}: temperature must be between 0 and 2, got {self.temperature!r}")
        if not isinstance(self.read_prose, bool):
            raise ConfigError(f"{who}: read_prose must be true or false, got {self.read_prose!r}")
        if self.offline and not self.cache:
            raise ConfigError(f"{who}: offline=true replays the cache, so it needs cache=true")
        if self.samples > 1 and self.temperature == 0:
            warnings.warn(
                f"{who}: samples={self.samples} at temperature 0 asks the same question {self.samples} times "
                "and most servers answer identically; set temperature (e.g. 0.7) for independent samples",
                stacklevel=4,
            )

    def sampling(self, index: int) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            params["seed"] = self.seed + index
        return params

    def open_cache(self) -> JudgeCache | None:
        return open_cache(self.cache_dir) if self.cache else None


def _require_extra(who: str) -> None:
    import importlib.util

    missing = [m for m in ("openai", "tenacity", "diskcache") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"{who}: LLM judges need the `judges` extra ({', '.join(missing)} not installed): "
            "pip install 'rewardsmith[judges]'"
        )


@dataclass(slots=True)
class Answer:
    """One sample of one verdict: its value (None if unusable) and how it was obtained."""

    value: float | None
    parsed_by: str
    raw: str | None = None
    error: str | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        raw = self.raw if self.raw is None or len(self.raw) <= RAW_LIMIT else self.raw[:RAW_LIMIT] + "…"
        return {
            "value": self.value,
            "parsed_by": self.parsed_by,
            "raw": raw,
            "error": self.error,
            "cached": self.cached,
        }


@dataclass(slots=True)
class Verdict:
    """A verdict's samples and their reduction: `value` None when no sample was usable."""

    value: float | None
    answers: list[Answer]

    def problem(self) -> str:
        """Why there is no value: the first failure, and/or the first unreadable answer."""
        errors = [a.error for a in self.answers if a.error]
        unread = [a for a in self.answers if a.error is None and a.value is None]
        parts = []
        if errors:
            parts.append(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
        if unread:
            why = _UNREAD_WHY.get(unread[0].parsed_by, "")
            parts.append(f"the judge's answer has no readable verdict{why}: {(unread[0].raw or '')[:160]!r}")
        read = sum(a.value is not None for a in self.answers)
        if read:
            parts.append(f"only {read} of {len(self.answers)} samples readable (a verdict needs more than half)")
        return "; ".join(parts) or "no answer"

    def details(self) -> list[dict[str, Any]]:
        return [a.to_dict() for a in self.answers]


@dataclass(slots=True)
class Prompt:
    """The messages of one verdict request, and the sample texts it shows as data."""

    messages: list[dict[str, str]]
    data: list[str]
    instructions: list[str] = field(default_factory=list)  # the system prompt and the template, data left out


class LLMJudge(Reward):
    """Base of the judges: subclasses implement `_judge(sample, counters) -> Score`."""

    kind = "io"
    timeout = None  # each request has its own timeout and bounded retries
    timeout_value = None  # a judge that does not answer is an infrastructure failure

    def __init__(self, settings: JudgeSettings, *, name: str) -> None:
        self.settings = settings
        self.name = name
        #: items in flight the batch engine allows this judge; requests in flight are bounded
        #: per endpoint as well (the smallest max_concurrency of the judges sharing it)
        self.max_concurrency: int | None = settings.endpoint.max_concurrency or DEFAULT_MAX_CONCURRENCY
        state_bound(settings.endpoint.base_url, self, settings.endpoint.max_concurrency)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # unpickled in another process (TRL's async trainer): state the endpoint bound there too
        self.__dict__.update(state)
        state_bound(self.settings.endpoint.base_url, self, self.settings.endpoint.max_concurrency)

    @property
    def model(self) -> str:
        return self.settings.endpoint.model

    @property
    def stats(self) -> dict[str, Any]:
        """This judge's process-wide counters (see `rewardsmith.judges.judge_stats`)."""
        return judge_stats().get(self.name, {})

    async def _judge(self, sample: Sample, counters: JudgeCounters) -> Score:
        raise NotImplementedError

    async def _ascore(self, sample: Sample) -> Score:
        counters = JudgeCounters()
        try:
            score = await self._judge(sample, counters)
        except UsageError:
            raise
        except BaseException:
            record_item(self.name, counters, scored=False)  # cancelled (engine timeout) or crashed
            raise
        score.details["judge"] = counters.as_dict()
        record_item(self.name, counters, scored=score.value is not None)
        if score.value is None:
            self._warn_unscored(score)
        return score

    # -- asking ---------------------------------------------------------------------------------
    def prompt(self, template: Template, sample: Sample, judge_fields: Mapping[str, Any]) -> Prompt:
        """Render `template` for `sample` (judge fields override nothing of the sample's)."""
        values = sample_fields(template, sample, judge_fields)
        data_fields = frozenset(values) - (set(judge_fields) - DATA_JUDGE_FIELDS)
        user = template.render(values, data_fields=data_fields)
        messages = [{"role": "system", "content": self.settings.system_prompt}, {"role": "user", "content": user}]
        # The judge's own instructions, without the data (what the completion wrote is no instruction)
        own_words = template.render({**values, **dict.fromkeys(data_fields, "")}, data_fields=data_fields)
        data = [str(values[f]) for f in data_fields if values[f] != NO_PROMPT]  # the placeholder is ours
        return Prompt(messages, data, [self.settings.system_prompt, own_words])

    async def ask(self, prompt: Prompt, spec: VerdictSpec, counters: JudgeCounters) -> Verdict:
        """Ask one verdict `samples` times and reduce the readable answers.

        A verdict needs a quorum: more than half of its samples readable. Otherwise the one
        answer that could be read (perhaps the one a completion's text steered) would decide
        alone for all the judge's failures."""
        answers = await asyncio.gather(
            *(self._ask_once(prompt, spec, i, counters) for i in range(self.settings.samples))
        )
        values = [a.value for a in answers if a.value is not None]
        value = reduce_values(values, self.settings.reducer) if 2 * len(values) > len(answers) else None
        return Verdict(value, list(answers))

    async def _ask_once(self, prompt: Prompt, spec: VerdictSpec, index: int, counters: JudgeCounters) -> Answer:
        s = self.settings
        messages = prompt.messages
        sampling = s.sampling(index)
        cache = s.open_cache()
        key = None
        result = None
        if cache is not None:
            key = cache_key(
                model=s.endpoint.model,
                messages=messages,
                sampling=sampling,
                response_format=s.endpoint.response_format,
                index=index,
            )
            result = cache.get(key)
            if result is not None:
                counters.cache_hits += 1
        cached = result is not None
        if result is None:
            if s.offline:
                counters.failures += 1
                return Answer(None, "none", error="offline: this verdict is not in the judge cache")
            try:
                result = await chat(
                    s.endpoint,
                    messages,
                    sampling=sampling,
                    schema=spec.json_schema(),
                    schema_name=spec.name,
                    counters=counters,
                )
            except JudgeRequestError as exc:
                return Answer(None, "none", error=f"judge request failed: {exc}")
            if cache is not None and key is not None:
                cache.set(key, result)
        truncated = result.finish_reason == "length"
        parsed = parse_verdict(
            result.text,
            spec,
            data=prompt.data,
            instructions=prompt.instructions,
            truncated=truncated,
            prose=s.read_prose,
        )
        if parsed.value is None:
            counters.unparsed += 1
            counters.echoes += parsed.parsed_by == "echo"
        elif parsed.parsed_by == "fallback":
            counters.fallbacks += 1
        return Answer(parsed.value, parsed.parsed_by, raw=result.text, cached=cached)

    # -- reporting ------------------------------------------------------------------------------
    def unscored(self, reason: str, **details: Any) -> Score:
        return Score(None, f"{self.name}: {reason}", S.UNSCORED, dict(details))

    def _warn_unscored(self, score: Score) -> None:
        kind = "request" if "request failed" in score.reason or "offline" in score.reason else "unreadable"
        if not first_time(self.name, kind):
            log.debug("unscored: %s", score.reason)
            return
        warnings.warn(
            f"judge {self.name!r} left an item unscored ({score.reason}). Further items unscored for the same "
            "kind of reason are not warned again: they are counted in Score.details['judge'] and in "
            "rewardsmith.judges.judge_stats() (error_rate).",
            RuntimeWarning,
            stacklevel=2,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} model={self.model!r} at {self.settings.endpoint.base_url}>"


# Judge-side fields whose values are sample text all the same (pairwise responses).
_UNREAD_WHY = {
    "echo": " (what it could be read by is also in the sample's text: a quote?)",
    "prose": (
        " (it is not the JSON object asked for; read_prose=true reads prose too, where a completion"
        " can steer the reading: docs/judges.md)"
    ),
}
DATA_JUDGE_FIELDS = frozenset({"response_1", "response_2", "answer"})  # text from the row
