"""JSON Lines in and out: read rows one at a time with errors that name the line, and write an
output file that appears only when complete, with a visible partial file a later run can resume.

Streaming keeps memory flat however long the input is; the partial file means a run killed at 90 %
of a long judge run loses nothing: `--resume` scores only what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from rewardsmith.core.errors import InputError

OnBadRow = Literal["fail", "skip"]
PARTIAL_SUFFIX = ".partial"


@dataclass
class BadRows:
    """Rows skipped under `--on-bad-row skip`: how many, and the first few with their reason."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(message)


def iter_rows(
    path: str | IO[bytes], *, on_bad_row: OnBadRow = "fail", bad: BadRows | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each row of a JSONL file ('-' for stdin, or an open binary stream such
    as a request body), read one line at a time.

    A line that is not a JSON object with a `completion` raises InputError naming `path:line`
    (or, with `on_bad_row="skip"`, is counted in `bad` and skipped). Blank lines are ignored.
    """
    if not isinstance(path, str):
        handle, name = path, str(getattr(path, "name", "<body>"))
    else:
        handle, name = _open_input(path), "<stdin>" if path == "-" else path
    with handle:
        for lineno, raw in enumerate(handle, 1):
            if lineno == 1:
                _refuse_other_formats(raw, name)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                message = f"{name}:{lineno}: not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                _bad_row(message, on_bad_row, bad)
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                _bad_row(f"{name}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})", on_bad_row, bad)
                continue
            if not isinstance(row, dict):
                _bad_row(f"{name}:{lineno}: expected a JSON object, got {_json_type(row)}", on_bad_row, bad)
                continue
            if "completion" not in row:
                keys = ", ".join(sorted(row)) or "none"
                _bad_row(f"{name}:{lineno}: missing required field 'completion' (found keys: {keys})", on_bad_row, bad)
                continue
            yield lineno, row


def _bad_row(message: str, on_bad_row: OnBadRow, bad: BadRows | None) -> None:
    if on_bad_row == "fail":
        raise InputError(message + " (use --on-bad-row skip to skip such rows)")
    if bad is not None:
        bad.add(message)


def _open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"--input: file {path!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"--input: {path!r} is a directory, not a JSONL file") from None
    except OSError as exc:
        raise InputError(f"--input: cannot read {path!r} ({exc.strerror})") from None


def _refuse_other_formats(first: bytes, name: str) -> None:
    if first.startswith(b"PAR1"):
        raise InputError(
            f"{name}:1: is a Parquet file; rewardsmith reads JSON Lines (one JSON object per line). Convert it with "
            "python -c \"import pandas as pd; pd.read_parquet('IN.parquet').to_json('IN.jsonl', orient='records', "
            'lines=True)"'
        )
    if first.lstrip().startswith(b"[") and not _parses(first):  # a whole-file array, not an array row
        raise InputError(
            f"{name}:1: looks like a JSON array; rewardsmith reads JSON Lines (one JSON object per line). "
            "Convert it with jq -c '.[]' IN.json > IN.jsonl"
        )


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def output_line(row: dict[str, Any], score: dict[str, Any]) -> str:
    """The output row: the input row plus `score`, `status`, `reason`, `details`."""
    return json.dumps({**row, **score}, ensure_ascii=False, default=str) + "\n"


class OutputFile:
    """`--output PATH`: rows go to `PATH.partial` as they are scored; `commit()` renames it to PATH.

    The finished file appears whole or not at all. An interrupted run leaves `PATH.partial`
    (visible, never a hidden temporary), which `resume=True` continues. A file that already
    existed keeps its permissions; a new one gets the umask's; a symlink is written through.
    """

    def __init__(self, path: str, *, resume: bool = False) -> None:
        target = Path(path)
        if target.is_dir():
            raise InputError(f"--output: {path!r} is a directory; give a file path")
        if target.is_symlink():
            target = target.resolve()
        directory = target.parent
        if not directory.is_dir():
            raise InputError(f"--output: directory {str(directory)!r} does not exist")
        self.target = target
        self.partial = target.with_name(target.name + PARTIAL_SUFFIX)
        self.resume = resume
        self._handle: IO[str] | None = None

    def done_rows(self) -> Iterator[dict[str, Any]]:
        """With `resume`: the rows already in the partial file (a torn last line is cut off first)."""
        if not self.resume or not self.partial.exists():
            return
        _truncate_torn_tail(self.partial)
        with open(self.partial, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise InputError(
                        f"--resume: {self.partial}:{lineno} is not valid JSON; delete the partial file to start over"
                    ) from None

    def open(self) -> IO[str]:
        mode = "a" if self.resume and self.partial.exists() else "w"
        self._handle = open(self.partial, mode, encoding="utf-8")
        return self._handle

    def commit(self) -> None:
        """Flush, then move the finished file into place (keeping an existing file's mode)."""
        self.close()
        if self.target.exists():
            try:
                shutil.copymode(self.target, self.partial)
            except OSError:
                pass
        os.replace(self.partial, self.target)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None


def _truncate_torn_tail(path: Path) -> None:
    """Cut a last line that a killed run left without its newline."""
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        step = 65536
        pos = size
        while pos > 0:
            start = max(0, pos - step)
            f.seek(start)
            chunk = f.read(pos - start)
            if pos == size and chunk.endswith(b"\n"):
                return
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                f.truncate(start + newline + 1)
                return
            pos = start
        f.truncate(0)
