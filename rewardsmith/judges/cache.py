"""A persistent disk cache of judge answers, so re-scoring is free and tests replay offline.

The key is a SHA-256 of the model name, the exact messages, the sampling parameters, the
requested response format and the sample index (for several samples per verdict); the base
URL is deliberately not part of it, so answers recorded against one server replay against
another serving the same model, or against none (`offline=True`). Only answers the endpoint
actually gave are stored (a failed request is never cached); the raw text is stored, not
the parsed verdict, so a better parser applies to old answers too.

The store is `diskcache` (SQLite underneath, safe across threads and processes) in
`$REWARDSMITH_CACHE/judges` (the variable the training cache reads too), else the user cache
directory (`~/.cache/rewardsmith/judges` on Linux). A judge's `cache=` option takes false
(no cache) or another directory.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from rewardsmith.judges.client import ChatResult

# Bump when the stored value's shape changes, so old entries are simply missed.
_VERSION = 1
_lock = threading.Lock()
_open: dict[str, JudgeCache] = {}


def default_cache_dir() -> Path:
    """`$REWARDSMITH_CACHE/judges`, else the platform's user cache directory (`core.paths.cache_root`)."""
    from rewardsmith.core.paths import cache_root

    return cache_root() / "judges"


def cache_key(
    *, model: str, messages: list[dict[str, str]], sampling: dict[str, Any], response_format: str, index: int
) -> str:
    payload = {
        "v": _VERSION,
        "model": model,
        "messages": messages,
        "sampling": sampling,
        "response_format": response_format,
        "index": index,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    """Judge answers on disk (use `open_cache` to share one per directory in a process)."""

    def __init__(self, directory: str | Path) -> None:
        import diskcache

        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._store = diskcache.Cache(str(self.directory))

    def get(self, key: str) -> ChatResult | None:
        value = self._store.get(key)
        if not isinstance(value, dict):
            return None
        return ChatResult(
            text=value.get("text", ""),
            finish_reason=value.get("finish_reason"),
            response_format=value.get("response_format", "text"),
        )

    def set(self, key: str, result: ChatResult) -> None:
        self._store.set(
            key,
            {"text": result.text, "finish_reason": result.finish_reason, "response_format": result.response_format},
        )

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        self._store.clear()

    def close(self) -> None:
        self._store.close()


def open_cache(directory: str | Path | None = None) -> JudgeCache:
    """The process's JudgeCache for `directory` (default: `default_cache_dir()`)."""
    path = str(Path(directory).expanduser().resolve()) if directory is not None else str(default_cache_dir())
    with _lock:
        cache = _open.get(path)
        if cache is None:
            cache = _open[path] = JudgeCache(path)
        return cache
