"""Where rewardsmith keeps files between runs: one root for every cache (judge verdicts, converted models)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_root() -> Path:
    """`$REWARDSMITH_CACHE`, else the platform's user cache directory plus `rewardsmith`
    (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows).

    >>> import os
    >>> os.environ["REWARDSMITH_CACHE"] = "/tmp/rs-cache"
    >>> str(cache_root())
    '/tmp/rs-cache'
    >>> del os.environ["REWARDSMITH_CACHE"]
    """
    root = os.environ.get("REWARDSMITH_CACHE")
    if root:
        return Path(root).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "rewardsmith"
