"""Units of length shared by the length and repetition rewards: words, characters or tokens.

Token counts come from the `completion_ids` column when the row has one (TRL passes the
ids it generated, so lengths match the trainer's own count exactly), else from a
tokenizer given at construction. A tokenizer named by a string is loaded from local files
only: nothing is downloaded while scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.core.sample import Sample
from rewardsmith.core.text import words

Unit = Literal["words", "chars", "tokens"]
UNITS = ("words", "chars", "tokens")
IDS_COLUMN = "completion_ids"


class Tokenizer(Protocol):
    def encode(self, text: str, *args: Any, **kwargs: Any) -> Sequence[int]: ...


def load_tokenizer(tokenizer: str | Tokenizer | None, *, what: str) -> Tokenizer | None:
    """A tokenizer object, a local path / cached model id (loaded offline), or None."""
    if tokenizer is None or not isinstance(tokenizer, str):
        if tokenizer is not None and not callable(getattr(tokenizer, "encode", None)):
            raise ConfigError(f"{what}: tokenizer must have an encode(text) method, got {type(tokenizer).__name__}")
        return tokenizer
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ConfigError(
            f"{what}: tokenizer={tokenizer!r} needs transformers: pip install 'rewardsmith[train]', "
            "or pass unit='words' / unit='chars'"
        ) from None
    try:
        return AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    except Exception as exc:
        raise ConfigError(
            f"{what}: cannot load tokenizer {tokenizer!r} from local files ({type(exc).__name__}); "
            "give a local directory or a model already in the Hugging Face cache"
        ) from None


def check_unit(unit: str, *, what: str) -> None:
    if unit not in UNITS:
        raise ConfigError(f"{what}: unit must be one of {', '.join(UNITS)}, got {unit!r}")


def pieces(sample: Sample, unit: str, tokenizer: Tokenizer | None, *, what: str) -> Sequence[Any]:
    """The completion cut into units: words, characters, or token ids."""
    if unit == "words":
        return words(sample.text)
    if unit == "chars":
        return sample.text
    ids = sample.get(IDS_COLUMN)
    if ids is not None:
        return list(ids)
    if tokenizer is not None:
        return list(_encode(tokenizer, sample.text))
    raise InputError(
        f"{what}: unit='tokens' needs a {IDS_COLUMN!r} column (TRL passes it) or tokenizer=...; "
        "or use unit='words' / unit='chars'"
    )


def _encode(tokenizer: Tokenizer, text: str) -> Sequence[int]:
    try:
        return tokenizer.encode(text, add_special_tokens=False)
    except TypeError:  # a plain encode(text) without the transformers keyword
        return tokenizer.encode(text)


def length(sample: Sample, unit: str, tokenizer: Tokenizer | None, *, what: str) -> int:
    return len(pieces(sample, unit, tokenizer, what=what))
