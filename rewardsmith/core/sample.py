"""`Sample`: one thing to score, built by hand, from a JSONL row, or from a TRL call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core.errors import InputError

# Keys of an input row that map onto Sample fields; every other key becomes metadata.
SAMPLE_FIELDS = ("prompt", "completion", "answer", "tests")
Messages = list[dict[str, Any]]


@dataclass(slots=True)
class Sample:
    """A completion to score, with what is known about it.

    `prompt` and `completion` are strings or chat messages (lists of {"role", "content"}).
    `answer` is the reference (optional), `tests` the tests for code, `metadata` every
    other dataset column.
    """

    completion: str | Messages
    prompt: str | Messages | None = None
    answer: Any = None
    tests: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The completion as plain text (the content of the last assistant message for chats)."""
        return message_text(self.completion)

    @property
    def prompt_text(self) -> str:
        return message_text(self.prompt) if self.prompt is not None else ""

    def get(self, key: str, default: Any = None) -> Any:
        """A field or a metadata column by name: rewards read row columns through this."""
        if key in SAMPLE_FIELDS:
            value = getattr(self, key)
            return default if value is None else value
        return self.metadata.get(key, default)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, where: str = "row") -> Sample:
        """Build a Sample from a JSON object; `where` names the row in error messages."""
        if not isinstance(row, Mapping):
            raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
        if "completion" not in row:
            raise InputError(
                f"{where}: missing required field 'completion' (found keys: {', '.join(sorted(row)) or 'none'})"
            )
        completion = row["completion"]
        _check_text_or_messages(completion, f"{where}: field 'completion'")
        prompt = row.get("prompt")
        if prompt is not None:
            _check_text_or_messages(prompt, f"{where}: field 'prompt'")
        metadata = {k: v for k, v in row.items() if k not in SAMPLE_FIELDS}
        return cls(
            completion=completion,
            prompt=prompt,
            answer=row.get("answer"),
            tests=row.get("tests"),
            metadata=metadata,
        )


def as_sample(obj: Sample | Mapping[str, Any] | str) -> Sample:
    """Accept a Sample, a row dict, or a bare completion string."""
    if isinstance(obj, Sample):
        return obj
    if isinstance(obj, str):
        return Sample(completion=obj)
    if isinstance(obj, Mapping):
        return Sample.from_row(obj)
    raise InputError(
        f"cannot score a {type(obj).__name__}: pass a rewardsmith.Sample, a dict with a "
        "'completion' key, or a completion string"
    )


def message_text(value: str | Messages | None) -> str:
    """Plain text of a string or of chat messages (the last assistant turn, else the last turn)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    messages = [m for m in value if isinstance(m, Mapping)]
    if not messages:
        return ""
    assistant = [m for m in messages if m.get("role") == "assistant"]
    content = (assistant or messages)[-1].get("content", "")
    if isinstance(content, list):  # multimodal content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _check_text_or_messages(value: Any, what: str) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, list) and all(isinstance(m, Mapping) and "content" in m for m in value):
        return
    raise InputError(
        f"{what} must be a string or a list of chat messages "
        f'({{"role": ..., "content": ...}}), got {type(value).__name__}'
    )
